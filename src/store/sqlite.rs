//! The embedded SQLite backend: one file, one connection behind a mutex; a statement
//! runs on the calling thread when the connection is free, else in the blocking pool.
//! One gateway process per database file: sign-in state (minutes-long) is kept in the
//! process's memory, everything else in the file.
//! Records are stored as a few indexed columns (lookups, uniqueness) plus a JSON column
//! holding the whole record.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::memory::Volatile;
use super::{StoreError, StoreResult};
use crate::model::{AppClient, ProviderRecord};
use cache::RecordCache;

mod cache;
mod credentials;
mod ephemeral;
mod groups;
mod imports;
mod pending_links;
mod records;
mod schema;
mod store_impl;
mod tokens;
mod users;

pub use schema::SCHEMA_VERSION;

/// How long a statement waits for a lock held by another connection (another process
/// on the same file) before failing with `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Expired ephemeral rows are purged once every this many writes.
const PURGE_EVERY: u64 = 256;

/// The embedded backend. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Read-only connections for lookups while the writer is busy: with WAL they read
    /// alongside it, so two threads rarely wait for one connection.
    readers: Arc<[Mutex<Connection>]>,
    puts: Arc<AtomicU64>,
    /// The sign-in kinds ([`EphemeralKind::is_sign_in`](crate::store::EphemeralKind::is_sign_in)) live here, not in the
    /// file: one gateway process serves a database file, and they are needed for
    /// minutes only. Two of a sign-in's three writes were these (its start, and its
    /// code replacing it), each a WAL commit.
    volatile: Arc<Volatile>,
    /// App clients and providers as last read or written (see [`cache`]).
    clients: Arc<RecordCache<AppClient>>,
    providers: Arc<RecordCache<ProviderRecord>>,
    /// Held for the store's life: see [`lock_file`].
    _lock: Arc<std::fs::File>,
}

/// Read-only connections per store.
const READERS: usize = 3;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// The connection mutex was poisoned by a panic while it was held.
#[derive(Debug, thiserror::Error)]
#[error("sqlite connection lock poisoned")]
struct Poisoned;

impl SqliteStore {
    /// Opens (creating when needed) the database at `path` and brings its schema up to
    /// date.
    pub async fn open(path: &str) -> StoreResult<Self> {
        if path.is_empty() {
            return Err(StoreError::Invalid("empty sqlite database path".into()));
        }
        let path = path.to_owned();
        let opened = path.clone();
        let (lock, conn, readers) = tokio::task::spawn_blocking(move || {
            ensure_parent(&opened)?;
            let lock = lock_file(&opened)?;
            let conn = open_blocking(&opened)?;
            let readers = (0..READERS)
                .map(|_| open_reader(&opened).map(Mutex::new))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok::<_, StoreError>((lock, conn, readers))
        })
        .await
        .map_err(StoreError::unavailable)??;
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
            readers: readers.into(),
            puts: Arc::new(AtomicU64::new(0)),
            volatile: Arc::new(Volatile::new(crate::store::memory::DEFAULT_CAPACITY)),
            clients: Arc::new(RecordCache::new()),
            providers: Arc::new(RecordCache::new()),
            _lock: Arc::new(lock),
        };
        start_checkpointer(&path, Arc::downgrade(&store.conn));
        store
            .run(|c| ephemeral::purge(c, ephemeral::now_ms()))
            .await?;
        Ok(store)
    }

    /// Runs `f` on the connection. When the connection is free, `f` runs right here: a
    /// statement on this private, WAL-mode connection takes microseconds, far less than
    /// handing it to another thread and back (two context switches per statement were
    /// the largest cost of a token response after its signatures). When another task
    /// holds the connection, `f` waits for it in the blocking pool instead of blocking
    /// this runtime thread.
    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        if let Ok(mut guard) = self.conn.try_lock() {
            return f(&mut guard);
        }
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = match conn.lock() {
                Ok(guard) => guard,
                Err(_) => {
                    // A panic while the lock was held unwound through rusqlite's
                    // `Transaction` drop, which rolls back: the connection itself is
                    // consistent. Report this call as failed and let later calls proceed.
                    conn.clear_poison();
                    tracing::error!("sqlite connection lock was poisoned; recovered");
                    return Err(StoreError::unavailable(Poisoned));
                }
            };
            f(&mut guard)
        })
        .await
        .map_err(StoreError::unavailable)?
    }

    /// Runs a read-only `f` right here: on the writer connection when it is free (its
    /// page cache stays valid across its own commits, while a reader's is dropped after
    /// every write), else on a free reader; when every connection is busy, it waits for
    /// the writer in the blocking pool as [`SqliteStore::run`] does.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        if let Ok(mut guard) = self.conn.try_lock() {
            return f(&mut guard);
        }
        for reader in self.readers.iter() {
            match reader.try_lock() {
                Ok(mut guard) => return f(&mut guard),
                // A panic during a read left no transaction behind (rusqlite's guard
                // rolled it back): the connection is usable again.
                Err(std::sync::TryLockError::Poisoned(_)) => reader.clear_poison(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        self.run(f).await
    }

    /// Counts a write and says whether it is time to purge expired ephemeral rows.
    fn purge_due(&self) -> bool {
        self.puts.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1
    }
}

fn ensure_parent(path: &str) -> StoreResult<()> {
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(StoreError::unavailable)?;
    }
    Ok(())
}

/// How long `open` waits for another process to let go of the database file (a
/// restart whose old process is still draining).
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Another process has the database file.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0} is locked by another poolgate process: one gateway process per SQLite file (it keeps sign-ins in progress and caches records in memory); run several over Redis"
)]
struct InUse(String);

/// Takes an exclusive lock on `<path>.lock`, waiting up to `LOCK_WAIT`. Sign-ins in
/// progress and the record caches live in this process, so a second gateway on the
/// same file would serve stale clients and lose sign-ins: it is refused at start.
/// The operating system drops the lock when the process ends, however it ends.
fn lock_file(path: &str) -> StoreResult<std::fs::File> {
    let lock_path = format!("{path}.lock");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&lock_path).map_err(StoreError::unavailable)?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::unavailable(InUse(path.to_owned())));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::unavailable(e)),
        }
    }
}

fn open_blocking(path: &str) -> StoreResult<Connection> {
    create_private(path)?;
    let mut conn = Connection::open(path).map_err(db_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(db_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "sqlite did not switch to WAL");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(db_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    schema::migrate(&mut conn)?;
    // Checkpoints (copying the WAL back into the database, with an fsync) are made by
    // the checkpointer thread, never inside a request's commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(db_err)?;
    Ok(conn)
}

/// A read-only connection to the (already migrated) database.
fn open_reader(path: &str) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(db_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    conn.pragma_update(None, "query_only", "ON")
        .map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// How often the checkpointer copies the WAL back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(1000);
/// Past this size the checkpointer empties the WAL (see `start_checkpointer`).
const WAL_TRUNCATE_AT: u64 = 16 * 1024 * 1024;

/// Starts the thread that checkpoints the WAL on its own connection (PASSIVE: it never
/// waits for, nor blocks, the store's connection), so that no request pays for the
/// copy and its fsync. It stops once the store is dropped. When it cannot start, the
/// store's own connection checkpoints as SQLite does by default.
fn start_checkpointer(path: &str, store: std::sync::Weak<Mutex<Connection>>) {
    let path = path.to_owned();
    let fallback = store.clone();
    let started = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let conn = match Connection::open(&path) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "sqlite checkpointer: cannot open; checkpoints stay inline");
                    restore_autocheckpoint(&store);
                    return;
                }
            };
            let _ = conn.busy_timeout(BUSY_TIMEOUT);
            let tick = Duration::from_millis(100);
            let mut waited = Duration::ZERO;
            while store.strong_count() > 0 {
                std::thread::sleep(tick);
                waited += tick;
                if waited < CHECKPOINT_EVERY {
                    continue;
                }
                waited = Duration::ZERO;
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::debug!(error = %e, "sqlite checkpoint failed; retried later");
                }
                // Under steady writes the log never empties by itself (a writer restarts
                // it only when every frame is copied back, and new frames arrive while
                // copying). Past a size, finish the copy on the writer's own connection
                // with TRUNCATE: for those few milliseconds writes wait in the blocking
                // pool, and the log starts again from zero.
                let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
                if wal > WAL_TRUNCATE_AT
                    && let Some(writer) = store.upgrade()
                    && let Ok(writer) = writer.lock()
                    && let Err(e) =
                        writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                {
                    tracing::debug!(error = %e, "sqlite log truncation failed; retried later");
                }
            }
        });
    if started.is_err() {
        restore_autocheckpoint(&fallback);
    }
}

fn restore_autocheckpoint(store: &std::sync::Weak<Mutex<Connection>>) {
    if let Some(conn) = store.upgrade()
        && let Ok(c) = conn.lock()
    {
        let _ = c.pragma_update(None, "wal_autocheckpoint", 1000);
    }
}

/// Creates the database file readable by its owner only when it does not exist yet:
/// it holds signing keys and TLS keys. SQLite gives its `-wal` and `-shm` files the
/// same permissions as the database file.
fn create_private(path: &str) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::unavailable(e)),
    }
}

/// Maps a rusqlite error: constraint violations are taken keys, type mismatches mean a
/// record that cannot be read back, everything else is the backend failing.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation => {
            StoreError::AlreadyExists("record already exists".into())
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::corrupt(e),
        _ => StoreError::unavailable(e),
    }
}

/// Replaces the generic message of a constraint violation with a specific one.
pub(crate) fn conflict_msg(e: StoreError, msg: impl FnOnce() -> String) -> StoreError {
    match e {
        StoreError::AlreadyExists(_) => StoreError::AlreadyExists(msg()),
        other => other,
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(StoreError::corrupt)
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

/// One record, from a query selecting its JSON column.
pub(crate) fn query_one<T: DeserializeOwned, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let text: Option<String> = stmt
        .query_row(params, |row| row.get(0))
        .optional()
        .map_err(db_err)?;
    text.as_deref().map(from_json).transpose()
}

/// Every record, in query order, from a query selecting their JSON column.
pub(crate) fn query_all<T: DeserializeOwned, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let rows = stmt
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(db_err)?;
    let mut out = Vec::new();
    for text in rows {
        out.push(from_json(&text.map_err(db_err)?)?);
    }
    Ok(out)
}

/// Runs one write statement; returns how many rows changed.
pub(crate) fn exec<P: Params>(conn: &Connection, sql: &str, params: P) -> StoreResult<usize> {
    conn.prepare_cached(sql)
        .map_err(db_err)?
        .execute(params)
        .map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Ephemeral, EphemeralKind};

    async fn rows(store: &SqliteStore) -> i64 {
        store
            .run(|c| {
                c.query_row("SELECT count(*) FROM ephemeral", [], |r| r.get(0))
                    .map_err(db_err)
            })
            .await
            .unwrap()
    }

    /// Requests never checkpoint (their connection has auto-checkpoint off), yet the
    /// WAL's pages reach the database file: the checkpointer thread copies them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_copies_the_wal_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ckpt.db");
        let store = SqliteStore::open(&path.to_string_lossy()).await.unwrap();
        let auto: i64 = store
            .run(|c| {
                c.pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
                    .map_err(db_err)
            })
            .await
            .unwrap();
        assert_eq!(auto, 0, "requests must not checkpoint inline");
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let before = size();
        let value = vec![7u8; 4096];
        for i in 0..200 {
            store
                .put(
                    "p",
                    EphemeralKind::SamlReplay,
                    &i.to_string(),
                    &value,
                    Duration::from_secs(600),
                )
                .await
                .unwrap();
        }
        // 200 rows of 4 KiB: at least 800 KiB once copied back.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() < before + 800 * 1024 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            size() >= before + 800 * 1024,
            "database file still {} bytes (was {before})",
            size()
        );
        // The copy is whole: a fresh connection reads every row.
        let n: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM ephemeral", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 200);
    }

    /// Steady writes never let the WAL restart by itself; past `WAL_TRUNCATE_AT` the
    /// checkpointer empties it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_truncated_once_it_grows_large() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.db");
        let store = SqliteStore::open(&path.to_string_lossy()).await.unwrap();
        let wal = || {
            std::fs::metadata(format!("{}-wal", path.display()))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        let value = vec![5u8; 64 * 1024];
        let mut peak = 0;
        for i in 0..400 {
            store
                .put(
                    "p",
                    EphemeralKind::SamlSession,
                    &i.to_string(),
                    &value,
                    Duration::from_secs(600),
                )
                .await
                .unwrap();
            peak = peak.max(wal());
        }
        assert!(peak > WAL_TRUNCATE_AT, "the test wrote too little: {peak}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while wal() > WAL_TRUNCATE_AT && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(wal() <= WAL_TRUNCATE_AT, "WAL still {} bytes", wal());
        assert_eq!(
            store
                .get("p", EphemeralKind::SamlSession, "399")
                .await
                .unwrap()
                .map(|v| v.len()),
            Some(64 * 1024)
        );
    }

    #[tokio::test]
    async fn expired_ephemeral_rows_are_purged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("purge.db");
        let store = SqliteStore::open(&path.to_string_lossy()).await.unwrap();
        // A zero TTL expires at once; the rows stay until a purge.
        for i in 0..PURGE_EVERY - 1 {
            store
                .put(
                    "p",
                    EphemeralKind::SamlReplay,
                    &i.to_string(),
                    b"x",
                    Duration::ZERO,
                )
                .await
                .unwrap();
        }
        assert_eq!(rows(&store).await, (PURGE_EVERY - 1) as i64);
        store
            .put(
                "p",
                EphemeralKind::SamlReplay,
                "live",
                b"x",
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(rows(&store).await, 1);
        assert_eq!(
            store
                .get("p", EphemeralKind::SamlReplay, "live")
                .await
                .unwrap(),
            Some(b"x".to_vec())
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn database_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.db");
        let _store = SqliteStore::open(&path.to_string_lossy()).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[tokio::test]
    async fn poisoned_lock_is_an_error_then_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("poison.db");
        let store = SqliteStore::open(&path.to_string_lossy()).await.unwrap();
        let conn = Arc::clone(&store.conn);
        let _ = std::thread::spawn(move || {
            let _guard = conn.lock();
            panic!("poison the lock");
        })
        .join();
        // `take` writes, so it uses the (poisoned) writer connection.
        let first = store.take("p", EphemeralKind::SamlReplay, "k").await;
        assert!(
            matches!(first, Err(StoreError::Unavailable(_))),
            "{first:?}"
        );
        assert_eq!(
            store
                .take("p", EphemeralKind::SamlReplay, "k")
                .await
                .unwrap(),
            None
        );
    }
}
