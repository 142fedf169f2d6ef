//! Redis backend: an authorization code exchanged in one script. The code, its
//! used-mark, the refresh token with its family and user indexes, and the family's
//! revocation mark are all keys of the code's pool (one hash tag, one Cluster slot), so
//! a concurrent replay of the code sees either nothing done or everything done.

use std::sync::LazyLock;

use redis::Script;

use super::keys::{PoolKeys, enc};
use super::tokens::{LUA_HELPERS, lifetime, state_str};
use super::users::LUA_ENC;
use super::{RedisStore, UnexpectedReply, script, to_json, ttl_ms};
use crate::store::{Redeemed, Redemption, StoreError, StoreResult};

/// KEYS: code, used-mark, token, family, user families, the family's revocation mark.
/// ARGV: family member (raw: the used-mark's value), used-mark TTL ms, record, state,
/// expires_at, token TTL s, hash member, escaped family member, user id, pool prefix.
///
/// Replies `{'missing'}` (nothing changed), `{'exists'}` (the token hash is taken:
/// nothing changed), `{'revoked'}` (stored, but the family was revoked: the token is
/// revoked too) or `{'ok', grant}`.
static REDEEM: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_ENC}{LUA_HELPERS}{}",
        r"
if redis.call('EXISTS', KEYS[2]) == 1 then return {'missing'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'exists'} end
local grant = redis.call('GETDEL', KEYS[1])
if not grant then return {'missing'} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
insert(KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8],
  ARGV[9])
if redis.call('EXISTS', KEYS[6]) == 1 then
  revoke_family(ARGV[10], KEYS[4], nil)
  return {'revoked'}
end
return {'ok', grant}"
    ))
});

pub(super) async fn redeem_code(s: &RedisStore, r: &Redemption<'_>) -> StoreResult<Redeemed> {
    let token = r.refresh;
    if token.pool_id != r.pool {
        return Err(StoreError::Invalid(
            "the refresh token names another pool than the code".into(),
        ));
    }
    let k = PoolKeys::new(r.pool);
    let family = token.family_id.as_str();
    let reply: Vec<Vec<u8>> = s
        .eval(
            REDEEM
                .key(k.ephemeral(r.code_kind, r.code_key))
                .key(k.ephemeral(r.used_kind, r.code_key))
                .key(k.refresh(&token.token_hash))
                .key(k.family(family))
                .key(k.user_families(&token.user_id))
                .key(k.ephemeral(r.revoked_kind, family))
                .arg(family)
                .arg(ttl_ms(r.used_ttl))
                .arg(to_json(token)?)
                .arg(state_str(token.state))
                .arg(token.expires_at)
                .arg(lifetime(token))
                .arg(enc(&token.token_hash))
                .arg(enc(family))
                .arg(&token.user_id)
                .arg(k.prefix()),
        )
        .await?;
    match reply.as_slice() {
        [tag] if tag == b"missing" => Ok(Redeemed::NotFound),
        [tag] if tag == b"exists" => Err(StoreError::AlreadyExists("refresh token exists".into())),
        [tag] if tag == b"revoked" => Ok(Redeemed::RevokedMeanwhile),
        [tag, grant] if tag == b"ok" => Ok(Redeemed::Redeemed(grant.clone())),
        _ => Err(StoreError::unavailable(UnexpectedReply(format!(
            "{} items",
            reply.len()
        )))),
    }
}
