//! Versioned schema migrations, embedded in the binary and tracked with
//! `PRAGMA user_version`: migration `i` (0-based) brings the file to version `i + 1`.

use rusqlite::{Connection, TransactionBehavior};

use super::db_err;
use crate::store::{StoreError, StoreResult};

/// Ordered migrations. Append only: never edit a script once released.
const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3_GROUPS,
    V4_CREDENTIALS,
    V5_IMPORT_JOBS,
    V6_PENDING_LINKS,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

// Every table keeps the whole record as JSON in `data`; the other columns exist for
// lookups, ordering and uniqueness, and are written from the same record.
const V1: &str = "
CREATE TABLE pools (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE domains (
    domain TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX domains_pool ON domains (pool_id);
CREATE TABLE clients (
    pool_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, client_id)
);
CREATE TABLE providers (
    pool_id TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, name)
);
CREATE TABLE resource_servers (
    pool_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, identifier)
);
CREATE TABLE users (
    pool_id TEXT NOT NULL,
    id TEXT NOT NULL,
    username TEXT NOT NULL,
    email_norm TEXT,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, id),
    UNIQUE (pool_id, username)
);
CREATE INDEX users_created ON users (pool_id, created_at, id);
CREATE INDEX users_email ON users (pool_id, email_norm, created_at, id);
CREATE TABLE identity_links (
    pool_id TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, provider_name, subject)
);
CREATE INDEX identity_links_user ON identity_links (pool_id, user_id);
CREATE TABLE signing_keys (
    pool_id TEXT NOT NULL,
    kid TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, kid)
);
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (pool_id, family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (pool_id, user_id);
CREATE TABLE ephemeral (
    pool_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (pool_id, kind, key)
) WITHOUT ROWID;
CREATE INDEX ephemeral_expiry ON ephemeral (expires_at_ms);
";

// SAML SP key material, one JSON document per pool.
const V2: &str = "
CREATE TABLE sp_keys (
    pool_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
";

// Pool groups and their members (membership apart from the user record).
const V3_GROUPS: &str = "
CREATE TABLE groups (
    pool_id TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, name)
);
CREATE TABLE group_members (
    pool_id TEXT NOT NULL,
    group_name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (pool_id, group_name, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (pool_id, user_id);
";

// Native users' credentials (password hash, SRP verifier, TOTP), one row per user,
// removed with the user.
const V4_CREDENTIALS: &str = "
CREATE TABLE credentials (
    pool_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, user_id),
    FOREIGN KEY (pool_id, user_id) REFERENCES users (pool_id, id) ON DELETE CASCADE
);
";

// User import jobs (Cognito's CreateUserImportJob), removed with their pool.
const V5_IMPORT_JOBS: &str = "
CREATE TABLE import_jobs (
    pool_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, job_id),
    FOREIGN KEY (pool_id) REFERENCES pools (id) ON DELETE CASCADE
);
";

// Pending identity links (`AdminLinkProviderForUser` by a source attribute), removed
// with their user; one per (pool, provider, attribute, value).
const V6_PENDING_LINKS: &str = "
CREATE TABLE pending_links (
    pool_id TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    attribute_name TEXT NOT NULL,
    attribute_value TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (pool_id, provider_name, attribute_name, attribute_value),
    FOREIGN KEY (pool_id, user_id) REFERENCES users (pool_id, id) ON DELETE CASCADE
);
CREATE INDEX pending_links_user ON pending_links (pool_id, user_id);
";

/// The database was written by a newer build (or its version was tampered with).
#[derive(Debug, thiserror::Error)]
#[error("database schema version {found} is not one this build supports (up to {supported})")]
struct TooNew {
    found: i64,
    supported: i64,
}

fn user_version(conn: &Connection) -> StoreResult<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db_err)
}

/// Applies every migration the file lacks, each in its own transaction together with
/// its version bump, so a crash leaves the file at a whole version.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    loop {
        // IMMEDIATE takes the write lock before reading the version: two processes
        // opening a new file together cannot both apply the same migration.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let version = user_version(&tx)?;
        if !(0..=SCHEMA_VERSION).contains(&version) {
            return Err(StoreError::corrupt(TooNew {
                found: version,
                supported: SCHEMA_VERSION,
            }));
        }
        let Some(script) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(());
        };
        tx.execute_batch(script).map_err(db_err)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(version = version + 1, "sqlite schema migrated");
    }
}
