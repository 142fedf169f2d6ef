//! Redis backend: users, identity links and their indexes (username, email, provider,
//! creation order), each kept by the same Lua script that writes the records.

use std::sync::LazyLock;

use redis::Script;

use super::keys::PoolKeys;
use super::{RedisStore, UnexpectedReply, from_json, from_json_all, script, to_json};
use crate::model::{IdentityLink, User};
use crate::store::{CreateUserOutcome, LinkOutcome, StoreError, StoreResult, UserPatch};

/// The key escaping of `keys::enc`, for scripts that derive keys from stored fields.
pub(super) const LUA_ENC: &str = r"
local function enc(s)
  return (string.gsub(s, '[^A-Za-z0-9._%-]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end
";

/// KEYS: identity, username, user, users, links, provider index, [email index].
/// ARGV: user id, created_at, user JSON, link JSON, link member.
static CREATE_USER: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = redis.call('GET', KEYS[1])
if cur then return {'taken', cjson.decode(cur)['user_id']} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'username'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'id'} end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[5], ARGV[5])
redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1])
if KEYS[7] then redis.call('ZADD', KEYS[7], ARGV[2], ARGV[1]) end
return {'created'}",
    )
});

/// KEYS: user, identity, links, provider index, users, user's pending links. ARGV: user
/// id, link JSON, link member, max links (counting pending links).
static LINK: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local user = redis.call('GET', KEYS[1])
if not user then return {'no_user'} end
if cjson.decode(user)['enabled'] == false then return {'disabled'} end
local cur = redis.call('GET', KEYS[2])
if cur then
  local owner = cjson.decode(cur)['user_id']
  if owner == ARGV[1] then return {'already'} end
  return {'other', owner}
end
if redis.call('SCARD', KEYS[3]) + redis.call('SCARD', KEYS[6]) >= tonumber(ARGV[4]) then
  return {'limit'}
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], redis.call('ZSCORE', KEYS[5], ARGV[1]) or 0, ARGV[1])
return {'linked'}",
    )
});

/// Unlinks one provider's identities from up to ARGV[3] users of its index, and answers
/// how many users the index still holds. KEYS: provider index. ARGV: pool prefix,
/// `provider:` member prefix, batch size.
static UNLINK_PROVIDER_BATCH: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_ENC}{}",
        r"
local p, mp = ARGV[1], ARGV[2]
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)) do
  local lk = p .. 'links:' .. enc(id)
  for _, m in ipairs(redis.call('SMEMBERS', lk)) do
    if string.sub(m, 1, #mp) == mp then
      redis.call('DEL', p .. 'ident:' .. m)
      redis.call('SREM', lk, m)
    end
  end
  redis.call('ZREM', KEYS[1], id)
end
return redis.call('ZCARD', KEYS[1])"
    ))
});

/// KEYS: identity, links, provider index. ARGV: user id, link member, `provider:` prefix.
static UNLINK: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur or cjson.decode(cur)['user_id'] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if string.sub(m, 1, #ARGV[3]) == ARGV[3] then return 1 end
end
redis.call('ZREM', KEYS[3], ARGV[1])
return 1",
    )
});

/// KEYS: user, users, links, user's refresh families, user's groups. ARGV: pool
/// prefix, user id.
static DELETE_USER: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_ENC}{}",
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local u = cjson.decode(cur)
local p, id = ARGV[1], ARGV[2]
local uk = p .. 'uname:' .. enc(u['username'])
if redis.call('GET', uk) == id then redis.call('DEL', uk) end
if type(u['email_norm']) == 'string' then
  redis.call('ZREM', p .. 'email:' .. enc(u['email_norm']), id)
end
redis.call('ZREM', KEYS[2], id)
for _, m in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('DEL', p .. 'ident:' .. m)
  redis.call('ZREM', p .. 'prov:' .. string.match(m, '^[^:]*'), id)
end
-- Refresh tokens of the user (a family is one user's, but check each token anyway).
for _, f in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local fk = p .. 'rtfam:' .. f
  for _, h in ipairs(redis.call('SMEMBERS', fk)) do
    local tk = p .. 'rt:' .. h
    local owner = redis.call('HGET', tk, 'user')
    if not owner or owner == id then
      redis.call('DEL', tk)
      redis.call('SREM', fk, h)
    end
  end
end
-- Group memberships: the user leaves each group's member set.
for _, g in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('SREM', p .. 'gmembers:' .. enc(g), id)
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], p .. 'cred:' .. enc(id))
return 1"
    ))
});

/// KEYS: user, users, links. ARGV: pool prefix, user id, user JSON, username, has
/// email (`1`/`0`), email_norm, created_at, expected current JSON (empty: any).
static UPDATE_USER: LazyLock<Script> = LazyLock::new(|| {
    script(&format!(
        "{LUA_ENC}{}",
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return {'missing'} end
if ARGV[8] ~= '' and cur ~= ARGV[8] then return {'changed'} end
local u = cjson.decode(cur)
local p, id = ARGV[1], ARGV[2]
if u['username'] ~= ARGV[4] then
  local nk = p .. 'uname:' .. enc(ARGV[4])
  if redis.call('EXISTS', nk) == 1 then return {'username'} end
  local ok = p .. 'uname:' .. enc(u['username'])
  if redis.call('GET', ok) == id then redis.call('DEL', ok) end
  redis.call('SET', nk, id)
end
-- Index scores follow created_at, which the caller may have changed too.
if type(u['email_norm']) == 'string' then
  redis.call('ZREM', p .. 'email:' .. enc(u['email_norm']), id)
end
redis.call('ZADD', KEYS[2], ARGV[7], id)
if ARGV[5] == '1' then redis.call('ZADD', p .. 'email:' .. enc(ARGV[6]), ARGV[7], id) end
for _, m in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('ZADD', p .. 'prov:' .. string.match(m, '^[^:]*'), ARGV[7], id)
end
redis.call('SET', KEYS[1], ARGV[3])
return {'ok'}"
    ))
});

fn unexpected(reply: &[String]) -> StoreError {
    StoreError::unavailable(UnexpectedReply(format!("{reply:?}")))
}

pub(super) async fn get_user(s: &RedisStore, pool: &str, id: &str) -> StoreResult<Option<User>> {
    let text: Option<String> = s
        .query(redis::cmd("GET").arg(PoolKeys::new(pool).user(id)))
        .await?;
    text.as_deref().map(from_json).transpose()
}

pub(super) async fn get_user_by_username(
    s: &RedisStore,
    pool: &str,
    username: &str,
) -> StoreResult<Option<User>> {
    let k = PoolKeys::new(pool);
    let id: Option<String> = s.query(redis::cmd("GET").arg(k.username(username))).await?;
    match id {
        Some(id) => get_user(s, pool, &id).await,
        None => Ok(None),
    }
}

/// Reads users by id, in the given order, skipping ids deleted meanwhile.
pub(super) async fn users_by_ids(
    s: &RedisStore,
    k: &PoolKeys,
    ids: &[String],
) -> StoreResult<Vec<User>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| k.user(id)).collect();
    let texts: Vec<Option<String>> = s.query(redis::cmd("MGET").arg(keys)).await?;
    from_json_all(texts)
}

pub(super) async fn find_users_by_email(
    s: &RedisStore,
    pool: &str,
    email_norm: &str,
) -> StoreResult<Vec<User>> {
    let k = PoolKeys::new(pool);
    let ids: Vec<String> = s
        .query(redis::cmd("ZRANGE").arg(k.email(email_norm)).arg(0).arg(-1))
        .await?;
    users_by_ids(s, &k, &ids).await
}

pub(super) async fn update_user(s: &RedisStore, user: &User) -> StoreResult<bool> {
    match write_user(s, user, "").await? {
        Written::Ok => Ok(true),
        Written::Missing => Ok(false),
        Written::Changed => Err(StoreError::unavailable(UnexpectedReply(
            "an unconditional user update reported a change".into(),
        ))),
    }
}

/// How many times `patch_user` reads again after a concurrent write.
const PATCH_ATTEMPTS: usize = 16;

/// Reads the user, applies the patch, and writes only when the stored JSON is still
/// the one read (compare-and-set on the whole value), else reads again.
pub(super) async fn patch_user(
    s: &RedisStore,
    pool: &str,
    id: &str,
    patch: &UserPatch,
) -> StoreResult<Option<User>> {
    let key = PoolKeys::new(pool).user(id);
    for _ in 0..PATCH_ATTEMPTS {
        let text: Option<String> = s.query(redis::cmd("GET").arg(&key)).await?;
        let Some(text) = text else { return Ok(None) };
        let mut user: User = from_json(&text)?;
        patch.apply(&mut user);
        match write_user(s, &user, &text).await? {
            Written::Ok => return Ok(Some(user)),
            Written::Missing => return Ok(None),
            Written::Changed => continue,
        }
    }
    Err(StoreError::Conflict(
        "the user kept changing during the update; try again".into(),
    ))
}

enum Written {
    Ok,
    Missing,
    /// The stored value is no longer the expected one.
    Changed,
}

async fn write_user(s: &RedisStore, user: &User, expected: &str) -> StoreResult<Written> {
    let k = PoolKeys::new(&user.pool_id);
    let reply: Vec<String> = s
        .eval(
            UPDATE_USER
                .key(k.user(&user.id))
                .key(k.users())
                .key(k.links(&user.id))
                .arg(k.prefix())
                .arg(&user.id)
                .arg(to_json(user)?)
                .arg(&user.username)
                .arg(if user.email_norm.is_some() { "1" } else { "0" })
                .arg(user.email_norm.as_deref().unwrap_or(""))
                .arg(user.created_at)
                .arg(expected),
        )
        .await?;
    match reply.first().map(String::as_str) {
        Some("ok") => Ok(Written::Ok),
        Some("missing") => Ok(Written::Missing),
        Some("changed") => Ok(Written::Changed),
        Some("username") => Err(StoreError::AlreadyExists(format!(
            "username {} exists",
            user.username
        ))),
        _ => Err(unexpected(&reply)),
    }
}

pub(super) async fn delete_user(s: &RedisStore, pool: &str, id: &str) -> StoreResult<bool> {
    let k = PoolKeys::new(pool);
    let n: i64 = s
        .eval(
            DELETE_USER
                .key(k.user(id))
                .key(k.users())
                .key(k.links(id))
                .key(k.user_families(id))
                .key(k.user_groups(id))
                .arg(k.prefix())
                .arg(id),
        )
        .await?;
    Ok(n == 1)
}

pub(super) async fn find_identity(
    s: &RedisStore,
    pool: &str,
    provider: &str,
    subject: &str,
) -> StoreResult<Option<IdentityLink>> {
    let key = PoolKeys::new(pool).identity(provider, subject);
    let text: Option<String> = s.query(redis::cmd("GET").arg(key)).await?;
    text.as_deref().map(from_json).transpose()
}

pub(super) async fn list_identities(
    s: &RedisStore,
    pool: &str,
    user_id: &str,
) -> StoreResult<Vec<IdentityLink>> {
    let k = PoolKeys::new(pool);
    let members: Vec<String> = s
        .query(redis::cmd("SMEMBERS").arg(k.links(user_id)))
        .await?;
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = members.iter().map(|m| k.identity_of_member(m)).collect();
    let texts: Vec<Option<String>> = s.query(redis::cmd("MGET").arg(keys)).await?;
    let mut links: Vec<IdentityLink> = from_json_all(texts)?;
    links.sort_by(|a, b| {
        (a.created_at_ms, &a.provider_name, &a.subject).cmp(&(
            b.created_at_ms,
            &b.provider_name,
            &b.subject,
        ))
    });
    Ok(links)
}

pub(super) async fn create_user_with_identity(
    s: &RedisStore,
    user: &User,
    link: &IdentityLink,
) -> StoreResult<CreateUserOutcome> {
    if link.pool_id != user.pool_id || link.user_id != user.id {
        return Err(StoreError::Invalid(
            "the link does not name the new user".into(),
        ));
    }
    let k = PoolKeys::new(&user.pool_id);
    let mut inv = CREATE_USER.prepare_invoke();
    inv.key(k.identity(&link.provider_name, &link.subject))
        .key(k.username(&user.username))
        .key(k.user(&user.id))
        .key(k.users())
        .key(k.links(&user.id))
        .key(k.provider_users(&link.provider_name));
    if let Some(email) = &user.email_norm {
        inv.key(k.email(email));
    }
    inv.arg(&user.id)
        .arg(user.created_at)
        .arg(to_json(user)?)
        .arg(to_json(link)?)
        .arg(PoolKeys::link_member(&link.provider_name, &link.subject));
    let reply: Vec<String> = s.eval(&inv).await?;
    match reply.first().map(String::as_str) {
        Some("created") => Ok(CreateUserOutcome::Created),
        Some("taken") => match reply.get(1) {
            Some(owner) => Ok(CreateUserOutcome::IdentityTaken(owner.clone())),
            None => Err(unexpected(&reply)),
        },
        Some("username") => Err(StoreError::AlreadyExists(format!(
            "username {} exists",
            user.username
        ))),
        Some("id") => Err(StoreError::AlreadyExists(format!(
            "user {} exists",
            user.id
        ))),
        _ => Err(unexpected(&reply)),
    }
}

pub(super) async fn link_identity(
    s: &RedisStore,
    link: &IdentityLink,
    max_links: usize,
) -> StoreResult<LinkOutcome> {
    let k = PoolKeys::new(&link.pool_id);
    let reply: Vec<String> = s
        .eval(
            LINK.key(k.user(&link.user_id))
                .key(k.identity(&link.provider_name, &link.subject))
                .key(k.links(&link.user_id))
                .key(k.provider_users(&link.provider_name))
                .key(k.users())
                .key(k.user_pending(&link.user_id))
                .arg(&link.user_id)
                .arg(to_json(link)?)
                .arg(PoolKeys::link_member(&link.provider_name, &link.subject))
                .arg(max_links),
        )
        .await?;
    match reply.first().map(String::as_str) {
        Some("linked") => Ok(LinkOutcome::Linked),
        Some("already") => Ok(LinkOutcome::AlreadyLinked),
        Some("limit") => Ok(LinkOutcome::LimitReached),
        Some("no_user") => Ok(LinkOutcome::NoSuchUser),
        Some("disabled") => Ok(LinkOutcome::Disabled),
        Some("other") => match reply.get(1) {
            Some(owner) => Ok(LinkOutcome::LinkedToOther(owner.clone())),
            None => Err(unexpected(&reply)),
        },
        _ => Err(unexpected(&reply)),
    }
}

pub(super) async fn unlink_identity(
    s: &RedisStore,
    pool: &str,
    user_id: &str,
    provider: &str,
    subject: &str,
) -> StoreResult<bool> {
    let k = PoolKeys::new(pool);
    let prefix = format!("{}:", super::keys::enc(provider));
    let n: i64 = s
        .eval(
            UNLINK
                .key(k.identity(provider, subject))
                .key(k.links(user_id))
                .key(k.provider_users(provider))
                .arg(user_id)
                .arg(PoolKeys::link_member(provider, subject))
                .arg(prefix),
        )
        .await?;
    Ok(n == 1)
}

/// Removes every identity link of one provider, a batch of its users per script run (a
/// provider with many users never blocks Redis for long). Returns when the provider's
/// index is empty.
pub(super) async fn unlink_provider(s: &RedisStore, pool: &str, provider: &str) -> StoreResult<()> {
    let k = PoolKeys::new(pool);
    let member_prefix = format!("{}:", super::keys::enc(provider));
    loop {
        let left: i64 = s
            .eval(
                UNLINK_PROVIDER_BATCH
                    .key(k.provider_users(provider))
                    .arg(k.prefix())
                    .arg(&member_prefix)
                    .arg(200),
            )
            .await?;
        if left == 0 {
            return Ok(());
        }
    }
}
