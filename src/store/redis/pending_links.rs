//! Pending identity links in Redis: `pend:{provider}` hashes each provider's pending
//! links by attribute and value, `pendattr:{provider}` counts them by attribute name
//! (the attributes a sign-in through the provider reads), and `pendu:{user}` lists a
//! user's (for the limit and for its deletion). Every script keeps the three together.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::Script;

use super::keys::{PoolKeys, enc};
use super::users::LUA_ENC;
use super::{RedisStore, UnexpectedReply, from_json, script, to_json};
use crate::model::IdentityLink;
use crate::store::pending_links::{ClaimOutcome, PendingLink, PendingLinkStore, PendingOutcome};
use crate::store::{StoreError, StoreResult};

/// KEYS: user, provider's pending hash, its attribute counts, user's pending set, user's
/// links. ARGV: pool prefix, field, pending JSON, attribute, member, user id, max links.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_ENC}{}",
        r"
local user = redis.call('GET', KEYS[1])
if not user then return {'no_user'} end
if cjson.decode(user)['enabled'] == false then return {'disabled'} end
local p = ARGV[1]
local cur = redis.call('HGET', KEYS[2], ARGV[2])
local orphan = nil
if cur then
  local owner = cjson.decode(cur)['user_id']
  if owner == ARGV[6] then return {'already'} end
  if redis.call('EXISTS', p .. 'user:' .. enc(owner)) == 1 then return {'other', owner} end
  -- Left by a user deleted meanwhile: replaced.
  orphan = owner
end
if redis.call('SCARD', KEYS[5]) + redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[7]) then
  return {'limit'}
end
if orphan then
  redis.call('SREM', p .. 'pendu:' .. enc(orphan), ARGV[5])
else
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[5])
return {'created'}"
    ))
});

/// KEYS: identity, provider's pending hash, its attribute counts, user's pending set,
/// user's links, provider index, users, user. ARGV: field, user id, link JSON, link
/// member, pending member, attribute, max links.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = redis.call('GET', KEYS[1])
if cur then return {'taken', cjson.decode(cur)['user_id']} end
local pend = redis.call('HGET', KEYS[2], ARGV[1])
if not pend or cjson.decode(pend)['user_id'] ~= ARGV[2] then return {'gone'} end
local function drop()
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[5])
  if redis.call('HINCRBY', KEYS[3], ARGV[6], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[6]) end
end
local user = redis.call('GET', KEYS[8])
if not user then
  drop()
  return {'gone'}
end
if cjson.decode(user)['enabled'] == false then return {'disabled'} end
-- The pending link being claimed is counted already and becomes the new link.
if redis.call('SCARD', KEYS[5]) + redis.call('SCARD', KEYS[4]) > tonumber(ARGV[7]) then
  return {'limit'}
end
drop()
redis.call('SET', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('ZADD', KEYS[6], redis.call('ZSCORE', KEYS[7], ARGV[2]) or 0, ARGV[2])
return {'linked'}",
    )
});

/// KEYS: provider's pending hash, its attribute counts. ARGV: pool prefix, field,
/// attribute, member, owner (empty: any). Answers the removed JSON, or nil.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_ENC}{}",
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if not cur then return false end
local owner = cjson.decode(cur)['user_id']
if ARGV[5] ~= '' and owner ~= ARGV[5] then return false end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('SREM', ARGV[1] .. 'pendu:' .. enc(owner), ARGV[4])
if redis.call('HINCRBY', KEYS[2], ARGV[3], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[3]) end
return cur"
    ))
});

/// A user's pending links, removed before the user (`delete_user`). KEYS: user's
/// pending set. ARGV: pool prefix, user id.
static FORGET_USER: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local p = ARGV[1]
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local prov, field = string.match(m, '^([^:]*):(.*)$')
  if prov then
    local hk = p .. 'pend:' .. prov
    local cur = redis.call('HGET', hk, field)
    if cur then
      local r = cjson.decode(cur)
      if r['user_id'] == ARGV[2] then
        redis.call('HDEL', hk, field)
        local ak = p .. 'pendattr:' .. prov
        if redis.call('HINCRBY', ak, r['attribute_name'], -1) <= 0 then
          redis.call('HDEL', ak, r['attribute_name'])
        end
      end
    end
  end
end
redis.call('DEL', KEYS[1])
return 1",
    )
});

/// Removes the given fields of a provider's pending hash (its deletion). KEYS: pending
/// hash, attribute counts. ARGV: pool prefix, escaped provider, fields...
static DELETE_FIELDS: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_ENC}{}",
        r"
local p = ARGV[1]
for i = 3, #ARGV do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur then
    local r = cjson.decode(cur)
    redis.call('SREM', p .. 'pendu:' .. enc(r['user_id']), ARGV[2] .. ':' .. ARGV[i])
    redis.call('HDEL', KEYS[1], ARGV[i])
    if redis.call('HINCRBY', KEYS[2], r['attribute_name'], -1) <= 0 then
      redis.call('HDEL', KEYS[2], r['attribute_name'])
    end
  end
end
return 1"
    ))
});

fn unexpected(reply: &[String]) -> StoreError {
    StoreError::unavailable(UnexpectedReply(format!("{reply:?}")))
}

/// Removes a user's pending links; called before the user itself is deleted. A
/// pending link created in between names a user that is gone, which every script
/// treats as absent.
pub(super) async fn forget_user(s: &RedisStore, pool: &str, user_id: &str) -> StoreResult<()> {
    let k = PoolKeys::new(pool);
    let _: i64 = s
        .eval(
            FORGET_USER
                .key(k.user_pending(user_id))
                .arg(k.prefix())
                .arg(user_id),
        )
        .await?;
    Ok(())
}

/// Fields removed per script run when a provider goes.
const BATCH: usize = 200;

/// Removes every pending link of one provider, a page of its hash per script run.
pub(super) async fn forget_provider(s: &RedisStore, pool: &str, provider: &str) -> StoreResult<()> {
    let k = PoolKeys::new(pool);
    let (hash, attrs) = (k.pending(provider), k.pending_attributes(provider));
    let mut cursor: u64 = 0;
    loop {
        // HSCAN answers field, value, field, value...
        let (next, flat): (u64, Vec<String>) = s
            .query(
                redis::cmd("HSCAN")
                    .arg(&hash)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(BATCH),
            )
            .await?;
        let fields: Vec<&String> = flat.iter().step_by(2).collect();
        for chunk in fields.chunks(BATCH) {
            let mut inv = DELETE_FIELDS.prepare_invoke();
            inv.key(&hash)
                .key(&attrs)
                .arg(k.prefix())
                .arg(enc(provider));
            for f in chunk {
                inv.arg(f.as_str());
            }
            let _: i64 = s.eval(&inv).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

#[async_trait]
impl PendingLinkStore for RedisStore {
    async fn create_pending_link(
        &self,
        link: &PendingLink,
        max_links: usize,
    ) -> StoreResult<PendingOutcome> {
        let k = PoolKeys::new(&link.pool_id);
        let (a, v) = (&link.attribute_name, &link.attribute_value);
        let reply: Vec<String> = self
            .eval(
                CREATE
                    .key(k.user(&link.user_id))
                    .key(k.pending(&link.provider_name))
                    .key(k.pending_attributes(&link.provider_name))
                    .key(k.user_pending(&link.user_id))
                    .key(k.links(&link.user_id))
                    .arg(k.prefix())
                    .arg(PoolKeys::pending_field(a, v))
                    .arg(to_json(link)?)
                    .arg(a)
                    .arg(PoolKeys::pending_member(&link.provider_name, a, v))
                    .arg(&link.user_id)
                    .arg(max_links),
            )
            .await?;
        match reply.first().map(String::as_str) {
            Some("created") => Ok(PendingOutcome::Created),
            Some("already") => Ok(PendingOutcome::AlreadyPending),
            Some("limit") => Ok(PendingOutcome::LimitReached),
            Some("no_user") => Ok(PendingOutcome::NoSuchUser),
            Some("disabled") => Ok(PendingOutcome::Disabled),
            Some("other") => match reply.get(1) {
                Some(owner) => Ok(PendingOutcome::PendingForOther(owner.clone())),
                None => Err(unexpected(&reply)),
            },
            _ => Err(unexpected(&reply)),
        }
    }

    async fn pending_link_attributes(
        &self,
        pool: &str,
        provider: &str,
    ) -> StoreResult<Vec<String>> {
        let key = PoolKeys::new(pool).pending_attributes(provider);
        let mut names: Vec<String> = self.query(redis::cmd("HKEYS").arg(key)).await?;
        names.sort();
        Ok(names)
    }

    async fn find_pending_link(
        &self,
        pool: &str,
        provider: &str,
        attribute: &str,
        value: &str,
    ) -> StoreResult<Option<PendingLink>> {
        let key = PoolKeys::new(pool).pending(provider);
        let text: Option<String> = self
            .query(
                redis::cmd("HGET")
                    .arg(key)
                    .arg(PoolKeys::pending_field(attribute, value)),
            )
            .await?;
        text.as_deref().map(from_json).transpose()
    }

    async fn list_pending_links(&self, pool: &str, user_id: &str) -> StoreResult<Vec<PendingLink>> {
        let k = PoolKeys::new(pool);
        let members: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(k.user_pending(user_id)))
            .await?;
        let mut out: Vec<PendingLink> = Vec::with_capacity(members.len());
        for m in members {
            let Some((provider, field)) = m.split_once(':') else {
                continue;
            };
            let hash = format!("{}pend:{provider}", k.prefix());
            let text: Option<String> = self.query(redis::cmd("HGET").arg(hash).arg(field)).await?;
            if let Some(t) = text {
                out.push(from_json(&t)?);
            }
        }
        out.retain(|p| p.user_id == user_id);
        out.sort_by(|a, b| {
            (
                a.created_at_ms,
                &a.provider_name,
                &a.attribute_name,
                &a.attribute_value,
            )
                .cmp(&(
                    b.created_at_ms,
                    &b.provider_name,
                    &b.attribute_name,
                    &b.attribute_value,
                ))
        });
        Ok(out)
    }

    async fn delete_pending_link(
        &self,
        pool: &str,
        provider: &str,
        attribute: &str,
        value: &str,
        owner: Option<&str>,
    ) -> StoreResult<Option<PendingLink>> {
        let k = PoolKeys::new(pool);
        let text: Option<String> = self
            .eval(
                DELETE
                    .key(k.pending(provider))
                    .key(k.pending_attributes(provider))
                    .arg(k.prefix())
                    .arg(PoolKeys::pending_field(attribute, value))
                    .arg(attribute)
                    .arg(PoolKeys::pending_member(provider, attribute, value))
                    .arg(owner.unwrap_or("")),
            )
            .await?;
        text.as_deref().map(from_json).transpose()
    }

    async fn claim_pending_link(
        &self,
        pending: &PendingLink,
        link: &IdentityLink,
        max_links: usize,
    ) -> StoreResult<ClaimOutcome> {
        if link.pool_id != pending.pool_id
            || link.user_id != pending.user_id
            || link.provider_name != pending.provider_name
        {
            return Err(StoreError::Invalid(
                "the identity link does not match the pending link".into(),
            ));
        }
        let k = PoolKeys::new(&link.pool_id);
        let (p, a, v) = (
            &pending.provider_name,
            &pending.attribute_name,
            &pending.attribute_value,
        );
        let reply: Vec<String> = self
            .eval(
                CLAIM
                    .key(k.identity(&link.provider_name, &link.subject))
                    .key(k.pending(p))
                    .key(k.pending_attributes(p))
                    .key(k.user_pending(&link.user_id))
                    .key(k.links(&link.user_id))
                    .key(k.provider_users(p))
                    .key(k.users())
                    .key(k.user(&link.user_id))
                    .arg(PoolKeys::pending_field(a, v))
                    .arg(&link.user_id)
                    .arg(to_json(link)?)
                    .arg(PoolKeys::link_member(&link.provider_name, &link.subject))
                    .arg(PoolKeys::pending_member(p, a, v))
                    .arg(a)
                    .arg(max_links),
            )
            .await?;
        match reply.first().map(String::as_str) {
            Some("linked") => Ok(ClaimOutcome::Linked),
            Some("gone") => Ok(ClaimOutcome::Gone),
            Some("limit") => Ok(ClaimOutcome::LimitReached),
            Some("disabled") => Ok(ClaimOutcome::Disabled),
            Some("taken") => match reply.get(1) {
                Some(owner) => Ok(ClaimOutcome::IdentityTaken(owner.clone())),
                None => Err(unexpected(&reply)),
            },
            _ => Err(unexpected(&reply)),
        }
    }
}
