//! Redis backend: pools and domains (global keys), app clients, identity providers and
//! resource servers (one hash per pool), and short-lived state (strings with a TTL).

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{self, PoolKeys};
use super::{RedisStore, UnexpectedReply, from_json, from_json_all, script, to_json, ttl_ms};
use crate::model::{DomainRecord, Pool};
use crate::store::{CasOutcome, EphemeralKind, StoreError, StoreResult};

/// Replaces a hash field only when it exists. KEYS: hash. ARGV: field, value.
static HSET_IF_EXISTS: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1",
    )
});

/// Compare-and-set of a hash field. KEYS: hash. ARGV: field, expected value, new value.
/// Answers `{1, ''}` when written, `{0, ''}` when the field is missing, `{2, current}`
/// when it holds another value (nothing written).
static HSET_IF_EQUAL: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return {0, ''} end
if cur ~= ARGV[2] then return {2, cur} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {1, ''}",
    )
});

/// Claims a domain for a pool. KEYS: domains. ARGV: domain, pool, record JSON. Owner and
/// record are in one hash: one key, so one atomic step on Cluster too.
static PUT_DOMAIN: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local owner = cjson.decode(cur)['pool_id']
  if owner ~= ARGV[2] then return {'owned', owner} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {'ok'}",
    )
});

/// Removes a domain when the pool owns it. KEYS: domains. ARGV: domain, pool.
static DELETE_DOMAIN: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or cjson.decode(cur)['pool_id'] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1",
    )
});

/// Removes every domain of a pool. KEYS: domains. ARGV: pool.
static DELETE_POOL_DOMAINS: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1])['pool_id'] == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    n = n + 1
  end
end
return n",
    )
});

// Pools.

pub(super) async fn create_pool(s: &RedisStore, pool: &Pool) -> StoreResult<()> {
    let created: bool = s
        .query(
            redis::cmd("HSETNX")
                .arg(keys::pools())
                .arg(&pool.id)
                .arg(to_json(pool)?),
        )
        .await?;
    if created {
        Ok(())
    } else {
        Err(StoreError::AlreadyExists(format!(
            "pool {} exists",
            pool.id
        )))
    }
}

pub(super) async fn get_pool(s: &RedisStore, id: &str) -> StoreResult<Option<Pool>> {
    hash_get(s, &keys::pools(), id).await
}

pub(super) async fn list_pools(s: &RedisStore) -> StoreResult<Vec<Pool>> {
    let mut pools: Vec<Pool> = hash_values(s, &keys::pools()).await?;
    pools.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(pools)
}

pub(super) async fn update_pool(s: &RedisStore, pool: &Pool) -> StoreResult<bool> {
    let n: i64 = s
        .eval(
            HSET_IF_EXISTS
                .key(keys::pools())
                .arg(&pool.id)
                .arg(to_json(pool)?),
        )
        .await?;
    Ok(n == 1)
}

/// Compares the stored pool with `expected` as records (not as text: the stored JSON
/// may have been written by another version), then swaps the exact stored text for
/// the new record in one script: a write that lands between the two steps is seen.
pub(super) async fn update_pool_if(
    s: &RedisStore,
    expected: &Pool,
    new: &Pool,
) -> StoreResult<CasOutcome> {
    if expected.id != new.id {
        return Err(StoreError::Invalid(
            "a compare-and-set cannot change a pool's id".to_owned(),
        ));
    }
    let raw: Option<String> = s
        .query(redis::cmd("HGET").arg(keys::pools()).arg(&expected.id))
        .await?;
    let Some(raw) = raw else {
        return Ok(CasOutcome::Missing);
    };
    let stored: Pool = from_json(&raw)?;
    if stored != *expected {
        return Ok(CasOutcome::Changed(Box::new(stored)));
    }
    let (status, current): (i64, String) = s
        .eval(
            HSET_IF_EQUAL
                .key(keys::pools())
                .arg(&expected.id)
                .arg(&raw)
                .arg(to_json(new)?),
        )
        .await?;
    match status {
        1 => Ok(CasOutcome::Written),
        0 => Ok(CasOutcome::Missing),
        _ => Ok(CasOutcome::Changed(Box::new(from_json(&current)?))),
    }
}

/// Deletes the pool's domains, then every key of its slot, then the pool record last:
/// an interrupted delete leaves the pool in place, and deleting it again finishes. Keys
/// of a pool that no longer exists (orphans) are removed as well.
pub(super) async fn delete_pool(s: &RedisStore, id: &str) -> StoreResult<bool> {
    let _: i64 = s
        .eval(DELETE_POOL_DOMAINS.key(keys::domains()).arg(id))
        .await?;
    let pattern = PoolKeys::new(id).pattern();
    let mut cursor: u64 = 0;
    loop {
        // On a Cluster, SCAN runs on the node that owns the pool's slot.
        let (next, found): (u64, Vec<String>) = s
            .query_on_node_of(
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(500),
                &pattern,
            )
            .await?;
        if !found.is_empty() {
            let _: i64 = s.query(redis::cmd("UNLINK").arg(&found)).await?;
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let n: i64 = s
        .query(redis::cmd("HDEL").arg(keys::pools()).arg(id))
        .await?;
    Ok(n == 1)
}

// Domains.

pub(super) async fn put_domain(s: &RedisStore, d: &DomainRecord) -> StoreResult<()> {
    let reply: Vec<String> = s
        .eval(
            PUT_DOMAIN
                .key(keys::domains())
                .arg(&d.domain)
                .arg(&d.pool_id)
                .arg(to_json(d)?),
        )
        .await?;
    match reply.first().map(String::as_str) {
        Some("ok") => Ok(()),
        Some("owned") => Err(StoreError::Conflict(format!(
            "domain {} belongs to another pool",
            d.domain
        ))),
        _ => Err(StoreError::unavailable(UnexpectedReply(format!(
            "{reply:?}"
        )))),
    }
}

pub(super) async fn get_domain(s: &RedisStore, domain: &str) -> StoreResult<Option<DomainRecord>> {
    hash_get(s, &keys::domains(), domain).await
}

pub(super) async fn list_domains(
    s: &RedisStore,
    pool: Option<&str>,
) -> StoreResult<Vec<DomainRecord>> {
    let mut all: Vec<DomainRecord> = hash_values(s, &keys::domains()).await?;
    if let Some(pool) = pool {
        all.retain(|d| d.pool_id == pool);
    }
    all.sort_by(|a, b| a.domain.cmp(&b.domain));
    Ok(all)
}

pub(super) async fn delete_domain(s: &RedisStore, pool: &str, domain: &str) -> StoreResult<bool> {
    let n: i64 = s
        .eval(DELETE_DOMAIN.key(keys::domains()).arg(domain).arg(pool))
        .await?;
    Ok(n == 1)
}

// Records kept as one hash per pool (clients, providers, resource servers).

/// KEYS: hash. ARGV: field, new JSON, expected `updated_at` of the stored JSON.
static HSET_IF_VERSION: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local v = cjson.decode(cur)['version']
if type(v) ~= 'string' then v = '' end
if v ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1",
    )
});

/// Replaces a hash record only while its stored `version` is `expected` (a record
/// without one counts as the empty version).
pub(super) async fn hash_replace_if_version<T: Serialize>(
    s: &RedisStore,
    key: &str,
    field: &str,
    value: &T,
    expected: &str,
) -> StoreResult<bool> {
    let n: i64 = s
        .eval(
            HSET_IF_VERSION
                .key(key)
                .arg(field)
                .arg(to_json(value)?)
                .arg(expected),
        )
        .await?;
    Ok(n == 1)
}

/// Compare-and-set of a hash record: compared with `expected` as a record (the stored
/// text may come from another version), then the exact stored text swapped for `new`
/// in one script, so a write landing between the two steps is seen.
pub(super) async fn hash_replace_if_equal<T: Serialize + DeserializeOwned + PartialEq>(
    s: &RedisStore,
    key: &str,
    field: &str,
    expected: &T,
    new: &T,
) -> StoreResult<CasOutcome<T>> {
    let raw: Option<String> = s.query(redis::cmd("HGET").arg(key).arg(field)).await?;
    let Some(raw) = raw else {
        return Ok(CasOutcome::Missing);
    };
    let stored: T = from_json(&raw)?;
    if stored != *expected {
        return Ok(CasOutcome::Changed(Box::new(stored)));
    }
    let (status, current): (i64, String) = s
        .eval(
            HSET_IF_EQUAL
                .key(key)
                .arg(field)
                .arg(&raw)
                .arg(to_json(new)?),
        )
        .await?;
    match status {
        1 => Ok(CasOutcome::Written),
        0 => Ok(CasOutcome::Missing),
        _ => Ok(CasOutcome::Changed(Box::new(from_json(&current)?))),
    }
}

pub(super) async fn hash_put<T: Serialize>(
    s: &RedisStore,
    key: &str,
    field: &str,
    value: &T,
) -> StoreResult<()> {
    let _: i64 = s
        .query(redis::cmd("HSET").arg(key).arg(field).arg(to_json(value)?))
        .await?;
    Ok(())
}

pub(super) async fn hash_get<T: DeserializeOwned>(
    s: &RedisStore,
    key: &str,
    field: &str,
) -> StoreResult<Option<T>> {
    let text: Option<String> = s.query(redis::cmd("HGET").arg(key).arg(field)).await?;
    text.as_deref().map(from_json).transpose()
}

pub(super) async fn hash_values<T: DeserializeOwned>(
    s: &RedisStore,
    key: &str,
) -> StoreResult<Vec<T>> {
    let texts: Vec<String> = s.query(redis::cmd("HVALS").arg(key)).await?;
    from_json_all(texts.into_iter().map(Some).collect())
}

pub(super) async fn hash_delete(s: &RedisStore, key: &str, field: &str) -> StoreResult<bool> {
    let n: i64 = s.query(redis::cmd("HDEL").arg(key).arg(field)).await?;
    Ok(n == 1)
}

// Short-lived state.

pub(super) async fn put(
    s: &RedisStore,
    pool: &str,
    kind: EphemeralKind,
    key: &str,
    value: &[u8],
    ttl: Duration,
) -> StoreResult<()> {
    if kind == EphemeralKind::Flow {
        return super::flows::put(s, pool, key, value, ttl).await;
    }
    let k = PoolKeys::new(pool).ephemeral(kind, key);
    let _: () = s
        .query(
            redis::cmd("SET")
                .arg(k)
                .arg(value)
                .arg("PX")
                .arg(ttl_ms(ttl)),
        )
        .await?;
    Ok(())
}

pub(super) async fn put_if_absent(
    s: &RedisStore,
    pool: &str,
    kind: EphemeralKind,
    key: &str,
    value: &[u8],
    ttl: Duration,
) -> StoreResult<bool> {
    let k = PoolKeys::new(pool).ephemeral(kind, key);
    let reply: Option<String> = s
        .query(
            redis::cmd("SET")
                .arg(k)
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms(ttl)),
        )
        .await?;
    Ok(reply.is_some())
}

pub(super) async fn take(
    s: &RedisStore,
    pool: &str,
    kind: EphemeralKind,
    key: &str,
) -> StoreResult<Option<Vec<u8>>> {
    if kind == EphemeralKind::Flow {
        return super::flows::take(s, pool, key).await;
    }
    let k = PoolKeys::new(pool).ephemeral(kind, key);
    s.query(redis::cmd("GETDEL").arg(k)).await
}

/// KEYS: the key taken, the key put. ARGV: the value put, its TTL in ms. Returns the
/// taken value, or nil with nothing changed (nothing to take, or the put key exists).
static TAKE_AND_PUT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local v = redis.call('GETDEL', KEYS[1])
if not v then return false end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return v
",
    )
});

pub(super) async fn take_and_put(
    s: &RedisStore,
    pool: &str,
    (take_kind, take_key): (EphemeralKind, &str),
    (put_kind, put_key): (EphemeralKind, &str),
    value: &[u8],
    ttl: Duration,
) -> StoreResult<Option<Vec<u8>>> {
    let k = PoolKeys::new(pool);
    let mut inv = TAKE_AND_PUT.prepare_invoke();
    inv.key(k.ephemeral(take_kind, take_key))
        .key(k.ephemeral(put_kind, put_key))
        .arg(value)
        .arg(ttl_ms(ttl));
    let taken: Option<Vec<u8>> = s.eval(&inv).await?;
    if taken.is_some() && take_kind == EphemeralKind::Flow {
        // Counted until it expires otherwise: a failure here only delays its slot.
        if let Err(e) = super::flows::forget(s, pool, take_key).await {
            tracing::debug!(error = %e, "a finished sign-in stays counted until it expires");
        }
    }
    Ok(taken)
}

pub(super) async fn get(
    s: &RedisStore,
    pool: &str,
    kind: EphemeralKind,
    key: &str,
) -> StoreResult<Option<Vec<u8>>> {
    let k = PoolKeys::new(pool).ephemeral(kind, key);
    s.query(redis::cmd("GET").arg(k)).await
}
