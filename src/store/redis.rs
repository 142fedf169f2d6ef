//! The Redis backend of the store traits, shared by many stateless gateway instances.
//! One node, a Cluster or a Sentinel-managed master ([`conn`]), reconnected
//! automatically; every command is bounded by a timeout, so an unreachable Redis is
//! `Unavailable` quickly. Multi-key invariants are kept by Lua scripts over keys of one
//! pool (one hash tag, one Cluster slot). The key layout is documented in docs/redis.md.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::{Cmd, FromRedisValue, RedisError, Script, ScriptInvocation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{StoreError, StoreResult};

mod cache;
mod conn;
mod credentials;
mod flows;
mod groups;
mod imports;
mod invalidate;
mod keys;
mod listing;
mod pending_links;
mod records;
mod redeem;
mod store_impl;
mod tokens;
mod users;

/// Default bound on one command (or script) round trip, reconnection included.
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on establishing the first connection at start.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound on how long a copy of a cached record may outlive a missed invalidation
/// (`cache_ttl_ms` in the store URL; docs/redis.md).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);
/// The store URL's own query parameter (removed before the URL reaches the client).
const CACHE_TTL_PARAM: &str = "cache_ttl_ms";

/// The Redis backend. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: conn::Conn,
    op_timeout: Duration,
    /// Sign-ins in progress per pool at most.
    flow_cap: usize,
    /// In-process copies of configuration records ([`cache`]).
    cache: Arc<cache::ConfigCache>,
    /// The deployment's invalidation channel.
    channel: Arc<str>,
}

impl std::fmt::Debug for RedisStore {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("op_timeout", &self.op_timeout)
            .finish_non_exhaustive()
    }
}

/// A command did not complete in time (Redis unreachable, or reconnecting).
#[derive(Debug, thiserror::Error)]
#[error("redis did not answer within {0:?}")]
struct TimedOut(Duration);

/// A script answered something this code never returns: a bug or a foreign writer.
#[derive(Debug, thiserror::Error)]
#[error("unexpected redis script reply: {0}")]
pub(crate) struct UnexpectedReply(String);

impl RedisStore {
    /// Connects to `redis://HOST:PORT/DB` or `rediss://...` (TLS), a Cluster
    /// (`redis+cluster://H1:P1,H2:P2`) or a Sentinel-managed master
    /// (`redis+sentinel://S1:P1,S2:P2/MASTER`) and pings, so that a wrong or unreachable
    /// URL fails at start. `?cache_ttl_ms=N` bounds how long a
    /// cached record can outlive a missed invalidation (default 5000; 0: no copies).
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with_timeout(url, DEFAULT_OP_TIMEOUT).await
    }

    /// As [`RedisStore::open`], with another bound on each command.
    pub async fn open_with_timeout(url: &str, op_timeout: Duration) -> StoreResult<Self> {
        let (url, cache_ttl) = split_cache_ttl(url)?;
        // The parse error can quote the URL, password included: keep only its kind.
        let target = conn::parse(&url)
            .map_err(|what| StoreError::Conflict(format!("invalid redis store URL ({what})")))?;
        let opened = tokio::time::timeout(OPEN_TIMEOUT, conn::Conn::open(&target, op_timeout));
        let (conn, source, db) = match opened.await {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) if e.kind() == redis::ErrorKind::InvalidClientConfig => {
                return Err(StoreError::Conflict(format!(
                    "invalid redis store URL ({:?})",
                    e.kind()
                )));
            }
            Ok(Err(e)) => return Err(map_err(e)),
            Err(_) => return Err(StoreError::unavailable(TimedOut(OPEN_TIMEOUT))),
        };
        let channel: Arc<str> = invalidate::channel(db).into();
        let cache = Arc::new(cache::ConfigCache::new(cache_ttl));
        let store = Self {
            conn,
            op_timeout,
            flow_cap: flows::DEFAULT_FLOW_CAP,
            cache,
            channel: channel.clone(),
        };
        store.ping_once().await?;
        if !cache_ttl.is_zero() {
            invalidate::spawn(source, &store.cache, channel, op_timeout);
        }
        Ok(store)
    }

    /// The same store with another cap on sign-ins in progress per pool.
    pub fn with_flow_cap(mut self, cap: usize) -> Self {
        self.flow_cap = cap;
        self
    }

    async fn ping_once(&self) -> StoreResult<()> {
        let pong: String = self.query(&mut redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::unavailable(UnexpectedReply(pong)))
        }
    }

    /// Bounds a Redis future by the command timeout and maps its error.
    async fn bounded<T>(&self, fut: impl Future<Output = Result<T, RedisError>>) -> StoreResult<T> {
        match tokio::time::timeout(self.op_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_err(e)),
            Err(_) => {
                self.conn.timed_out();
                Err(StoreError::unavailable(TimedOut(self.op_timeout)))
            }
        }
    }

    /// Runs one command on the node owning `key`'s slot (on a Cluster; elsewhere as
    /// [`RedisStore::query`]): a `SCAN` over the keys of one pool.
    pub(crate) async fn query_on_node_of<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        key: &str,
    ) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        let value = self.bounded(conn.query_on_node_of(cmd, key)).await?;
        T::from_redis_value(value).map_err(|e| map_err(e.into()))
    }

    /// Runs one command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &mut Cmd) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        self.bounded(cmd.query_async(&mut conn)).await
    }

    /// Runs a pipeline (not a transaction: for reads of several keys).
    pub(crate) async fn pipe<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        self.bounded(pipe.query_async(&mut conn)).await
    }

    /// Runs a Lua script (EVALSHA, loading it on `NOSCRIPT`, as after a Redis restart).
    pub(crate) async fn eval<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        self.bounded(invocation.invoke_async(&mut conn)).await
    }
}

/// The URL without its `cache_ttl_ms` parameter, and that TTL.
fn split_cache_ttl(url: &str) -> StoreResult<(String, Duration)> {
    let bad = || StoreError::Conflict("invalid redis store URL".to_owned());
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), DEFAULT_CACHE_TTL));
    };
    let mut ttl = DEFAULT_CACHE_TTL;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some((CACHE_TTL_PARAM, v)) => {
                ttl = Duration::from_millis(v.parse().map_err(|_| bad())?);
            }
            _ => kept.push(pair),
        }
    }
    if kept.is_empty() {
        Ok((base.to_owned(), ttl))
    } else {
        Ok((format!("{base}?{}", kept.join("&")), ttl))
    }
}

/// Builds a script once; callers keep it in a `LazyLock`.
pub(crate) fn script(src: &str) -> Script {
    Script::new(src)
}

fn map_err(e: RedisError) -> StoreError {
    match e.kind() {
        redis::ErrorKind::UnexpectedReturnType | redis::ErrorKind::Parse => StoreError::corrupt(e),
        _ => StoreError::unavailable(e),
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(StoreError::corrupt)
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

/// Decodes every present value, skipping `None` (a key deleted between two reads).
pub(crate) fn from_json_all<T: DeserializeOwned>(
    texts: Vec<Option<String>>,
) -> StoreResult<Vec<T>> {
    texts.into_iter().flatten().map(|t| from_json(&t)).collect()
}

/// A Redis TTL in milliseconds from a duration: at least 1 (`PX 0` is an error).
pub(crate) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
