//! The store: durable records (pools, domains, clients, providers, users, identity
//! links, keys, refresh tokens) and short-lived state with a TTL (flows, codes, replay
//! caches). Everything an instance knows lives behind these traits, so that many
//! stateless instances can share one backend.
//!
//! Reads answer `Ok(None)` only for "not there": a backend failure is always `Err`.
//! One-time state is consumed by one atomic `take`, never find-then-delete.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use credentials::CredentialStore;
pub use ephemeral::{Ephemeral, EphemeralKind};
pub use groups::{GroupStore, MembershipOutcome};
pub use imports::ImportJobStore;
pub use pending_links::{ClaimOutcome, PendingLink, PendingLinkStore, PendingOutcome};
pub use records::{CasOutcome, ClientStore, PoolStore, ProviderStore, ResourceServerStore};
pub use tokens::{KeyStore, RefreshStore, RotateOutcome};
pub use users::{CreateUserOutcome, LinkOutcome, UserStore};

use crate::model::RefreshTokenRecord;

/// Every capability trait, unnamed: `use crate::store::prelude::*;` lets code holding a
/// concrete backend (rather than a [`SharedBackend`]) call any store method.
pub mod prelude {
    pub use super::{
        Backend as _, ClientStore as _, CredentialStore as _, Ephemeral as _, GroupStore as _,
        ImportJobStore as _, KeyStore as _, PendingLinkStore as _, PoolStore as _,
        ProviderStore as _, RefreshStore as _, ResourceServerStore as _, UserStore as _,
    };
}

pub mod credentials;
pub mod ephemeral;
pub mod groups;
pub mod imports;
pub mod memory;
pub mod paging;
pub mod patch;
pub mod pending_links;
pub mod records;
pub mod redis;
pub mod sqlite;
pub mod tokens;
pub mod users;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or failed; the request may be retried later.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The write collides with another record's claim (a domain of another pool).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A create found its key taken (an existing pool id, username or token).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The caller's input cannot be used (a cursor this backend did not issue, a record
    /// that contradicts its arguments).
    #[error("invalid: {0}")]
    Invalid(String),
    /// A stored record could not be read back (corruption or an incompatible version).
    #[error("corrupt record")]
    Corrupt(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        StoreError::Unavailable(Box::new(e))
    }
    pub fn corrupt<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        StoreError::Corrupt(Box::new(e))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub use paging::clamp_page;
pub use patch::UserPatch;

/// An authorization code being exchanged (see [`Backend::redeem_code`]).
pub struct Redemption<'a> {
    pub pool: &'a str,
    /// Where the code's grant lives, and under which key (the code's hash).
    pub code_kind: EphemeralKind,
    pub code_key: &'a str,
    /// Where the code is remembered as used, with the token family it became.
    pub used_kind: EphemeralKind,
    pub used_ttl: Duration,
    /// Where a revoked token family is marked (by a replay of the code).
    pub revoked_kind: EphemeralKind,
    /// The refresh token the exchange issues; its `family_id` is the family.
    pub refresh: &'a RefreshTokenRecord,
}

/// Outcome of [`Backend::redeem_code`].
#[derive(Clone, Debug, PartialEq)]
pub enum Redeemed {
    /// The code was consumed and the refresh token stored. Carries the grant.
    Redeemed(Vec<u8>),
    /// Absent, expired or already used: nothing changed.
    NotFound,
    /// A replay revoked this exchange's family while it was being stored (only where
    /// the steps are not one atomic operation); the refresh token is revoked too.
    RevokedMeanwhile,
}

/// A complete backend: every capability. Code that needs only some of them names
/// those traits; the gateway holds a [`SharedBackend`].
#[async_trait]
pub trait Backend:
    PoolStore
    + ClientStore
    + ResourceServerStore
    + ProviderStore
    + UserStore
    + KeyStore
    + RefreshStore
    + GroupStore
    + CredentialStore
    + ImportJobStore
    + PendingLinkStore
    + Ephemeral
{
    /// Short name for logs and metrics (`sqlite`, `redis`).
    fn kind(&self) -> &'static str;

    /// Is the backend reachable?
    async fn ping(&self) -> StoreResult<()>;

    /// Exchanges an authorization code: takes the grant, marks the code used with the
    /// refresh token's family, and stores the refresh token. A concurrent replay of the
    /// code that finds the mark revokes the family; it must never miss the refresh
    /// token. This default runs the steps in order and checks for such a revocation
    /// after storing ([`redeem_stepwise`]).
    async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<Redeemed> {
        redeem_stepwise(self, r).await
    }
}

/// [`Backend::redeem_code`] in steps: the code swapped for its used-mark, the refresh
/// token stored, then a revocation by a concurrent replay looked for.
pub async fn redeem_stepwise<B: Backend + ?Sized>(
    b: &B,
    r: &Redemption<'_>,
) -> StoreResult<Redeemed> {
    let family = r.refresh.family_id.as_str();
    let Some(grant) = b
        .take_and_put(
            r.pool,
            r.code_kind,
            r.code_key,
            r.used_kind,
            r.code_key,
            family.as_bytes(),
            r.used_ttl,
        )
        .await?
    else {
        return Ok(Redeemed::NotFound);
    };
    b.insert_refresh(r.refresh).await?;
    if b.get(r.pool, r.revoked_kind, family).await?.is_some() {
        b.revoke_refresh_family(r.pool, family).await?;
        return Ok(Redeemed::RevokedMeanwhile);
    }
    Ok(Redeemed::Redeemed(grant))
}

pub type SharedBackend = Arc<dyn Backend>;

/// Opens the backend named by a `POOLGATE_STORE` URL.
pub async fn open(url: &str) -> StoreResult<SharedBackend> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        // `sqlite://data/poolgate.db` is relative to the working directory;
        // `sqlite:///var/lib/poolgate.db` is absolute.
        return Ok(Arc::new(sqlite::SqliteStore::open(path).await?));
    }
    if ["redis://", "rediss://", "redis+", "rediss+"]
        .iter()
        .any(|p| url.starts_with(p))
    {
        return Ok(Arc::new(redis::RedisStore::open(url).await?));
    }
    Err(StoreError::Invalid(format!(
        "unsupported store URL scheme (expected sqlite://, redis://, redis+cluster:// or redis+sentinel://): {}",
        url.split("://").next().unwrap_or("")
    )))
}
