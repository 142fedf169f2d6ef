//! Short-lived state in SQLite (the `Ephemeral` capability): one table keyed by (pool,
//! kind, key) with an absolute expiry. Expired rows are invisible to every read and purged from time to time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

use async_trait::async_trait;

use super::{SqliteStore, db_err, exec};
use crate::store::memory::Swap;
use crate::store::{Ephemeral, EphemeralKind, StoreError, StoreResult};

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(super) fn expiry(now_ms: i64, ttl: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// A write of one entry; `now_ms` and `expires_at_ms` are computed by the caller.
pub(super) struct Entry {
    pub pool: String,
    pub kind: String,
    pub key: String,
    pub value: Vec<u8>,
    pub now_ms: i64,
    pub expires_at_ms: i64,
}

pub(super) fn put(conn: &Connection, e: &Entry) -> StoreResult<()> {
    exec(
        conn,
        "INSERT INTO ephemeral (pool_id, kind, key, value, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (pool_id, kind, key) DO UPDATE
         SET value = excluded.value, expires_at_ms = excluded.expires_at_ms",
        params![e.pool, e.kind, e.key, e.value, e.expires_at_ms],
    )
    .map(drop)
}

pub(super) fn put_if_absent(conn: &Connection, e: &Entry) -> StoreResult<bool> {
    // One statement: an existing row is overwritten only when it has expired, so the
    // number of changed rows says whether this call stored the entry.
    let n = exec(
        conn,
        "INSERT INTO ephemeral (pool_id, kind, key, value, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (pool_id, kind, key) DO UPDATE
         SET value = excluded.value, expires_at_ms = excluded.expires_at_ms
         WHERE ephemeral.expires_at_ms <= ?6",
        params![e.pool, e.kind, e.key, e.value, e.expires_at_ms, e.now_ms],
    )?;
    Ok(n > 0)
}

pub(super) fn take(
    conn: &Connection,
    pool: &str,
    kind: &str,
    key: &str,
    now_ms: i64,
) -> StoreResult<Option<Vec<u8>>> {
    conn.prepare_cached(
        "DELETE FROM ephemeral
         WHERE pool_id = ?1 AND kind = ?2 AND key = ?3 AND expires_at_ms > ?4
         RETURNING value",
    )
    .map_err(db_err)?
    .query_row(params![pool, kind, key, now_ms], |row| row.get(0))
    .optional()
    .map_err(db_err)
}

pub(super) fn get(
    conn: &Connection,
    pool: &str,
    kind: &str,
    key: &str,
    now_ms: i64,
) -> StoreResult<Option<Vec<u8>>> {
    conn.prepare_cached(
        "SELECT value FROM ephemeral
         WHERE pool_id = ?1 AND kind = ?2 AND key = ?3 AND expires_at_ms > ?4",
    )
    .map_err(db_err)?
    .query_row(params![pool, kind, key, now_ms], |row| row.get(0))
    .optional()
    .map_err(db_err)
}

/// `take` of `kind`/`key` and `put_if_absent` of `entry` in one transaction. Rolled
/// back, nothing changed, unless the take and the put both succeed; returns what was
/// taken.
pub(super) fn take_and_put(
    conn: &mut Connection,
    kind: &str,
    key: &str,
    entry: &Entry,
) -> StoreResult<Option<Vec<u8>>> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let Some(taken) = take(&tx, &entry.pool, kind, key, entry.now_ms)? else {
        return Ok(None);
    };
    if !put_if_absent(&tx, entry)? {
        return Ok(None);
    }
    tx.commit().map_err(db_err)?;
    Ok(Some(taken))
}

/// Removes every expired row; returns how many.
pub(super) fn purge(conn: &Connection, now_ms: i64) -> StoreResult<usize> {
    exec(
        conn,
        "DELETE FROM ephemeral WHERE expires_at_ms <= ?1",
        [now_ms],
    )
}

impl SqliteStore {
    fn entry(&self, pool: &str, kind: &str, key: &str, value: &[u8], ttl: Duration) -> Entry {
        let now_ms = now_ms();
        Entry {
            pool: pool.to_owned(),
            kind: kind.to_owned(),
            key: key.to_owned(),
            value: value.to_vec(),
            now_ms,
            expires_at_ms: expiry(now_ms, ttl),
        }
    }
}

#[async_trait]
impl Ephemeral for SqliteStore {
    async fn put(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<()> {
        let (sign_in, kind) = (kind.is_sign_in(), kind.as_str());
        if sign_in {
            return self.volatile.put(pool, kind, key, value, ttl);
        }
        let entry = self.entry(pool, kind, key, value, ttl);
        let purge_now = self.purge_due();
        self.run(move |c| {
            if purge_now {
                purge(c, entry.now_ms)?;
            }
            put(c, &entry)
        })
        .await
    }
    async fn put_if_absent(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        let (sign_in, kind) = (kind.is_sign_in(), kind.as_str());
        if sign_in {
            return self.volatile.put_if_absent(pool, kind, key, value, ttl);
        }
        let entry = self.entry(pool, kind, key, value, ttl);
        let purge_now = self.purge_due();
        self.run(move |c| {
            if purge_now {
                purge(c, entry.now_ms)?;
            }
            put_if_absent(c, &entry)
        })
        .await
    }
    async fn take(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        let (sign_in, kind) = (kind.is_sign_in(), kind.as_str());
        if sign_in {
            return self.volatile.take(pool, kind, key);
        }
        let (now, args) = (now_ms(), [pool, kind, key].map(str::to_owned));
        self.run(move |c| take(c, &args[0], &args[1], &args[2], now))
            .await
    }
    async fn get(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        let (sign_in, kind) = (kind.is_sign_in(), kind.as_str());
        if sign_in {
            return self.volatile.get(pool, kind, key);
        }
        let (now, args) = (now_ms(), [pool, kind, key].map(str::to_owned));
        self.read(move |c| get(c, &args[0], &args[1], &args[2], now))
            .await
    }
    async fn take_and_put(
        &self,
        pool: &str,
        take_kind: EphemeralKind,
        take_key: &str,
        put_kind: EphemeralKind,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>> {
        let sign_in = (take_kind.is_sign_in(), put_kind.is_sign_in());
        let (take_kind, put_kind) = (take_kind.as_str(), put_kind.as_str());
        match sign_in {
            (true, true) => {
                let swap = Swap {
                    pool,
                    take: (take_kind, take_key),
                    put: (put_kind, put_key),
                    value,
                };
                return Ok(self.volatile.swap(&swap, ttl)?.map(|t| t.value));
            }
            (false, false) => {}
            // Not one atomic step across memory and the file; no flow asks for it.
            _ => {
                return Err(StoreError::Invalid(format!(
                    "take_and_put from {take_kind:?} to {put_kind:?}: one is sign-in state held in memory, the other is not"
                )));
            }
        }
        let entry = self.entry(pool, put_kind, put_key, value, ttl);
        let (kind, key) = (take_kind.to_owned(), take_key.to_owned());
        self.run(move |c| take_and_put(c, &kind, &key, &entry))
            .await
    }
}
