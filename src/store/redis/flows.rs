//! Redis backend: sign-ins in progress (`flow` entries) counted per pool, so a flood of
//! one pool's abandoned sign-ins is refused at a cap instead of filling Redis for every
//! pool. A sorted set per pool holds each live flow key with its expiry (ms, Redis
//! time); entries past it are dropped by the next write, a flow taken leaves at once.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::keys::PoolKeys;
use super::{RedisStore, script, ttl_ms};
use crate::store::{StoreError, StoreResult};

/// Sign-ins in progress per pool at most, by default (each lives at most 5 minutes and
/// takes about a kilobyte).
pub const DEFAULT_FLOW_CAP: usize = 100_000;

/// The pool holds as many sign-ins in progress as it may.
#[derive(Debug, thiserror::Error)]
#[error("too many sign-ins in progress in this pool ({0}); try again later")]
struct Full(usize);

/// KEYS: flow key, the pool's flow set. ARGV: value, TTL ms, cap.
static PUT_FLOW: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZSCORE', KEYS[2], KEYS[1]) == false
   and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  return redis.call('ZCARD', KEYS[2])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), KEYS[1])
return -1",
    )
});

/// KEYS: flow key, the pool's flow set. Returns the flow's value (taken) or nil.
static TAKE_FLOW: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
redis.call('ZREM', KEYS[2], KEYS[1])
return redis.call('GETDEL', KEYS[1])",
    )
});

pub(super) async fn put(
    s: &RedisStore,
    pool: &str,
    key: &str,
    value: &[u8],
    ttl: Duration,
) -> StoreResult<()> {
    let k = PoolKeys::new(pool);
    let held: i64 = s
        .eval(
            PUT_FLOW
                .key(k.ephemeral(crate::store::EphemeralKind::Flow, key))
                .key(k.flows())
                .arg(value)
                .arg(ttl_ms(ttl))
                .arg(s.flow_cap),
        )
        .await?;
    match usize::try_from(held) {
        Err(_) => Ok(()),
        Ok(n) => Err(StoreError::unavailable(Full(n))),
    }
}

pub(super) async fn take(s: &RedisStore, pool: &str, key: &str) -> StoreResult<Option<Vec<u8>>> {
    let k = PoolKeys::new(pool);
    s.eval(
        TAKE_FLOW
            .key(k.ephemeral(crate::store::EphemeralKind::Flow, key))
            .key(k.flows()),
    )
    .await
}

/// Forgets a flow key taken by another script (a sign-in replaced by its code).
pub(super) async fn forget(s: &RedisStore, pool: &str, key: &str) -> StoreResult<()> {
    let k = PoolKeys::new(pool);
    let _: i64 = s
        .query(
            redis::cmd("ZREM")
                .arg(k.flows())
                .arg(k.ephemeral(crate::store::EphemeralKind::Flow, key)),
        )
        .await?;
    Ok(())
}
