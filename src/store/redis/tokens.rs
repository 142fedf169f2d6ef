//! Redis backend: refresh tokens (rotation with reuse detection, family and user
//! revocation) and signing keys (one initial key across instances, rotation).
//!
//! A refresh token is a hash `rec` (the record as JSON) + `state` + `exp` + `user`, so
//! that the scripts read and change those without re-encoding JSON. Its TTL is its lifetime
//! (`expires_at - issued_at`), counted from the write: Redis expires it on its own
//! clock, while expiry decisions use the caller's `now`.

use std::sync::LazyLock;

use redis::Script;

use super::keys::{PoolKeys, enc};
use super::users::LUA_ENC;
use super::{RedisStore, UnexpectedReply, from_json, script, to_json};
use crate::model::{RefreshState, RefreshTokenRecord, SigningKeyRecord};
use crate::store::{RotateOutcome, StoreError, StoreResult};

/// Lua helpers: TTL extension of an index set, and revocation of one family.
pub(super) const LUA_HELPERS: &str = r"
local function extend(k, ttl)
  if redis.call('TTL', k) < tonumber(ttl) then redis.call('EXPIRE', k, ttl) end
end
-- Revokes the family's tokens (only those of `user` when given); drops members whose
-- token expired.
local function revoke_family(p, fk, user)
  local n = 0
  for _, h in ipairs(redis.call('SMEMBERS', fk)) do
    local tk = p .. 'rt:' .. h
    local f = redis.call('HMGET', tk, 'state', 'user')
    if not f[1] then
      redis.call('SREM', fk, h)
    elseif f[1] ~= 'revoked' and (not user or f[2] == user) then
      redis.call('HSET', tk, 'state', 'revoked')
      n = n + 1
    end
  end
  return n
end
local function insert(tk, fk, uk, rec, state, exp, ttl, h, f, user)
  redis.call('HSET', tk, 'rec', rec, 'state', state, 'exp', exp, 'user', user)
  redis.call('EXPIRE', tk, ttl)
  redis.call('SADD', fk, h)
  extend(fk, ttl)
  redis.call('SADD', uk, f)
  extend(uk, ttl)
end
";

fn with_helpers(body: &str) -> Script {
    script(&format!("{LUA_ENC}{LUA_HELPERS}{body}"))
}

/// KEYS: token, family, user families. ARGV: record, state, expires_at, ttl, hash
/// member, family member, user id.
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
insert(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return 1",
    )
});

/// KEYS: old token, new token, new family, new user families. ARGV: pool prefix, now,
/// new record, new expires_at, new ttl, new hash member, new family member, new user.
static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
local st = redis.call('HMGET', KEYS[1], 'state', 'exp', 'rec')
if not st[1] then return {'invalid'} end
if st[1] == 'active' then
  if tonumber(st[2]) <= tonumber(ARGV[2]) then return {'invalid'} end
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'exists'} end
  redis.call('HSET', KEYS[1], 'state', 'used')
  insert(KEYS[2], KEYS[3], KEYS[4], ARGV[3], 'active', ARGV[4], ARGV[5], ARGV[6], ARGV[7],
    ARGV[8])
  return {'rotated', st[3], 'used'}
end
if st[1] == 'used' then
  local fam = cjson.decode(st[3])['family_id']
  revoke_family(ARGV[1], ARGV[1] .. 'rtfam:' .. enc(fam), nil)
  return {'reused', st[3], 'revoked'}
end
return {'invalid'}",
    )
});

/// KEYS: family. ARGV: pool prefix.
static REVOKE_FAMILY: LazyLock<Script> =
    LazyLock::new(|| with_helpers("return revoke_family(ARGV[1], KEYS[1], nil)"));

/// KEYS: user families. ARGV: pool prefix, user id.
static REVOKE_USER: LazyLock<Script> = LazyLock::new(|| {
    with_helpers(
        r"
local n = 0
for _, f in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + revoke_family(ARGV[1], ARGV[1] .. 'rtfam:' .. f, ARGV[2])
end
return n",
    )
});

/// KEYS: kids, key. ARGV: kid member, record, active, visible_until (or '').
static INSERT_INITIAL_KEY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('SCARD', KEYS[1]) > 0 then return 0 end
redis.call('HSET', KEYS[2], 'rec', ARGV[2], 'active', ARGV[3], 'vu', ARGV[4])
redis.call('SADD', KEYS[1], ARGV[1])
return 1",
    )
});

/// KEYS: kids, new key. ARGV: pool prefix, new kid member, record, visible_until of
/// retired keys, now.
static ROTATE_KEY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
for _, kid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local kk = ARGV[1] .. 'key:' .. kid
  local f = redis.call('HMGET', kk, 'active', 'vu')
  if f[1] == '1' then
    redis.call('HSET', kk, 'active', '0', 'vu', ARGV[4])
  elseif not f[1] or f[2] == '' or tonumber(f[2]) <= tonumber(ARGV[5]) then
    redis.call('DEL', kk)
    redis.call('SREM', KEYS[1], kid)
  end
end
redis.call('HSET', KEYS[2], 'rec', ARGV[3], 'active', '1', 'vu', '')
redis.call('SADD', KEYS[1], ARGV[2])
return 1",
    )
});

pub(super) fn state_str(state: RefreshState) -> &'static str {
    match state {
        RefreshState::Active => "active",
        RefreshState::Used => "used",
        RefreshState::Revoked => "revoked",
    }
}

fn parse_state(s: &str) -> StoreResult<RefreshState> {
    match s {
        "active" => Ok(RefreshState::Active),
        "used" => Ok(RefreshState::Used),
        "revoked" => Ok(RefreshState::Revoked),
        other => Err(StoreError::corrupt(UnexpectedReply(format!(
            "refresh state {other}"
        )))),
    }
}

/// The record as stored, with the state kept beside it.
fn record_with_state(rec: &str, state: &str) -> StoreResult<RefreshTokenRecord> {
    let mut record: RefreshTokenRecord = from_json(rec)?;
    record.state = parse_state(state)?;
    Ok(record)
}

/// Seconds the token's keys live: its lifetime, at least one second and at most ten
/// years (Cognito's longest refresh-token validity; Redis refuses huge TTLs).
pub(super) fn lifetime(token: &RefreshTokenRecord) -> i64 {
    const MAX_LIFETIME: i64 = 3650 * 86_400;
    token
        .expires_at
        .saturating_sub(token.issued_at)
        .clamp(1, MAX_LIFETIME)
}

pub(super) async fn insert_refresh(s: &RedisStore, token: &RefreshTokenRecord) -> StoreResult<()> {
    let k = PoolKeys::new(&token.pool_id);
    let stored: i64 = s
        .eval(
            INSERT
                .key(k.refresh(&token.token_hash))
                .key(k.family(&token.family_id))
                .key(k.user_families(&token.user_id))
                .arg(to_json(token)?)
                .arg(state_str(token.state))
                .arg(token.expires_at)
                .arg(lifetime(token))
                .arg(enc(&token.token_hash))
                .arg(enc(&token.family_id))
                .arg(&token.user_id),
        )
        .await?;
    if stored == 1 {
        Ok(())
    } else {
        Err(StoreError::AlreadyExists("refresh token exists".into()))
    }
}

pub(super) async fn get_refresh(
    s: &RedisStore,
    pool: &str,
    token_hash: &str,
) -> StoreResult<Option<RefreshTokenRecord>> {
    let k = PoolKeys::new(pool);
    let (rec, state): (Option<String>, Option<String>) = s
        .query(
            redis::cmd("HMGET")
                .arg(k.refresh(token_hash))
                .arg("rec")
                .arg("state"),
        )
        .await?;
    match (rec, state) {
        (Some(rec), Some(state)) => record_with_state(&rec, &state).map(Some),
        _ => Ok(None),
    }
}

pub(super) async fn rotate_refresh(
    s: &RedisStore,
    token_hash: &str,
    new: &RefreshTokenRecord,
    now: i64,
) -> StoreResult<RotateOutcome> {
    // The presented token is looked for in the new one's pool: one slot, one script.
    let k = PoolKeys::new(&new.pool_id);
    let reply: Vec<String> = s
        .eval(
            ROTATE
                .key(k.refresh(token_hash))
                .key(k.refresh(&new.token_hash))
                .key(k.family(&new.family_id))
                .key(k.user_families(&new.user_id))
                .arg(k.prefix())
                .arg(now)
                .arg(to_json(new)?)
                .arg(new.expires_at)
                .arg(lifetime(new))
                .arg(enc(&new.token_hash))
                .arg(enc(&new.family_id))
                .arg(&new.user_id),
        )
        .await?;
    match reply.as_slice() {
        [tag] if tag == "invalid" => Ok(RotateOutcome::Invalid),
        [tag] if tag == "exists" => Err(StoreError::AlreadyExists("refresh token exists".into())),
        [tag, rec, state] if tag == "rotated" => {
            record_with_state(rec, state).map(RotateOutcome::Rotated)
        }
        [tag, rec, state] if tag == "reused" => {
            record_with_state(rec, state).map(RotateOutcome::Reused)
        }
        _ => Err(StoreError::unavailable(UnexpectedReply(format!(
            "{} items",
            reply.len()
        )))),
    }
}

pub(super) async fn revoke_refresh_family(
    s: &RedisStore,
    pool: &str,
    family_id: &str,
) -> StoreResult<u64> {
    let k = PoolKeys::new(pool);
    s.eval(REVOKE_FAMILY.key(k.family(family_id)).arg(k.prefix()))
        .await
}

pub(super) async fn revoke_user_refresh(
    s: &RedisStore,
    pool: &str,
    user_id: &str,
) -> StoreResult<u64> {
    let k = PoolKeys::new(pool);
    s.eval(
        REVOKE_USER
            .key(k.user_families(user_id))
            .arg(k.prefix())
            .arg(user_id),
    )
    .await
}

// Signing keys.

pub(super) async fn list_keys(s: &RedisStore, pool: &str) -> StoreResult<Vec<SigningKeyRecord>> {
    let k = PoolKeys::new(pool);
    let kids: Vec<String> = s.query(redis::cmd("SMEMBERS").arg(k.kids())).await?;
    if kids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for kid in &kids {
        pipe.cmd("HMGET")
            .arg(k.key_of_member(kid))
            .arg("rec")
            .arg("active")
            .arg("vu");
    }
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> = s.pipe(&pipe).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if let (Some(rec), Some(active), vu) = row {
            let mut key: SigningKeyRecord = from_json(&rec)?;
            key.active = active == "1";
            key.visible_until = match vu.as_deref() {
                None | Some("") => None,
                Some(v) => Some(v.parse().map_err(|_| {
                    StoreError::corrupt(UnexpectedReply(format!("visible_until {v}")))
                })?),
            };
            out.push(key);
        }
    }
    out.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
    Ok(out)
}

pub(super) async fn insert_initial_key(
    s: &RedisStore,
    key: &SigningKeyRecord,
) -> StoreResult<bool> {
    let k = PoolKeys::new(&key.pool_id);
    let n: i64 = s
        .eval(
            INSERT_INITIAL_KEY
                .key(k.kids())
                .key(k.signing_key(&key.kid))
                .arg(enc(&key.kid))
                .arg(to_json(key)?)
                .arg(if key.active { "1" } else { "0" })
                .arg(key.visible_until.map(|v| v.to_string()).unwrap_or_default()),
        )
        .await?;
    Ok(n == 1)
}

pub(super) async fn rotate_key(
    s: &RedisStore,
    key: &SigningKeyRecord,
    old_visible_until: i64,
    now: i64,
) -> StoreResult<()> {
    let k = PoolKeys::new(&key.pool_id);
    let _: i64 = s
        .eval(
            ROTATE_KEY
                .key(k.kids())
                .key(k.signing_key(&key.kid))
                .arg(k.prefix())
                .arg(enc(&key.kid))
                .arg(to_json(key)?)
                .arg(old_visible_until)
                .arg(now),
        )
        .await?;
    Ok(())
}
