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

pub use groups::{GroupStore, MembershipOutcome};

use crate::model::{
    AppClient, DomainRecord, IdentityLink, Page, Pool, ProviderRecord, RefreshTokenRecord,
    ResourceServer, SigningKeyRecord, User, UserFilter,
};

pub mod credentials;
pub mod groups;
pub mod memory;
pub mod paging;
pub mod patch;
pub mod redis;
pub mod sqlite;

/// Ephemeral kinds the flows use.
pub mod kind {
    /// A sign-in between `/oauth2/authorize` and the provider's callback.
    pub const FLOW: &str = "flow";
    /// An authorization code until it is redeemed.
    pub const CODE: &str = "code";
    /// A redeemed code, naming the token family it became (replays revoke it).
    pub const CODE_USED: &str = "code-used";
    /// A token family revoked by a code replay.
    pub const REVOKED: &str = "revoked";

    /// The kinds only sign-ins in progress need, each living minutes: lost, a user
    /// starts the sign-in again. The SQLite backend (one gateway process per database
    /// file) keeps them in that process's memory ([`super::memory`]); Redis keeps
    /// everything, since any instance may serve the next step.
    pub const SIGN_IN_KINDS: [&str; 3] = [FLOW, CODE, CODE_USED];

    pub fn is_sign_in(kind: &str) -> bool {
        SIGN_IN_KINDS.contains(&kind)
    }
}

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

/// Outcome of creating a user together with its first identity link.
#[derive(Clone, Debug, PartialEq)]
pub enum CreateUserOutcome {
    Created,
    /// The identity was linked meanwhile (a concurrent first sign-in): to this user.
    IdentityTaken(String),
}

/// Outcome of linking one more identity to an existing user.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkOutcome {
    Linked,
    /// Already linked to this same user: nothing changed.
    AlreadyLinked,
    /// The identity belongs to another user (its id).
    LinkedToOther(String),
    /// The user already has the maximum number of links.
    LimitReached,
    /// The user does not exist (deleted meanwhile).
    NoSuchUser,
    /// The user is disabled: nothing was linked.
    Disabled,
}

/// Outcome of presenting a refresh token for rotation.
#[derive(Clone, Debug, PartialEq)]
pub enum RotateOutcome {
    /// The token was active; it is now used and the new one is stored. Carries the
    /// presented token's record.
    Rotated(RefreshTokenRecord),
    /// The token had already been used: the whole family is now revoked. Carries the
    /// presented token's record.
    Reused(RefreshTokenRecord),
    /// Unknown, revoked or expired: nothing changed.
    Invalid,
}

/// Durable records.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Is the backend reachable?
    async fn ping(&self) -> StoreResult<()>;

    // Pools and domains.
    /// Creates a pool; `AlreadyExists` when the id exists.
    async fn create_pool(&self, pool: &Pool) -> StoreResult<()>;
    async fn get_pool(&self, id: &str) -> StoreResult<Option<Pool>>;
    async fn list_pools(&self) -> StoreResult<Vec<Pool>>;
    /// Replaces the pool's settings; false when the pool does not exist.
    async fn update_pool(&self, pool: &Pool) -> StoreResult<bool>;
    /// Deletes the pool and everything in it; false when it does not exist.
    async fn delete_pool(&self, id: &str) -> StoreResult<bool>;
    /// Adds or replaces a domain of a pool; `Conflict` when another pool owns it.
    async fn put_domain(&self, domain: &DomainRecord) -> StoreResult<()>;
    async fn get_domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>>;
    /// Domains of one pool, or of every pool when `pool` is `None`.
    async fn list_domains(&self, pool: Option<&str>) -> StoreResult<Vec<DomainRecord>>;
    async fn delete_domain(&self, pool: &str, domain: &str) -> StoreResult<bool>;

    // App clients.
    async fn put_client(&self, client: &AppClient) -> StoreResult<()>;
    async fn get_client(&self, pool: &str, client_id: &str) -> StoreResult<Option<AppClient>>;
    async fn list_clients(&self, pool: &str) -> StoreResult<Vec<AppClient>>;
    async fn delete_client(&self, pool: &str, client_id: &str) -> StoreResult<bool>;

    // Identity providers.
    async fn put_provider(&self, provider: &ProviderRecord) -> StoreResult<()>;
    /// Replaces the provider only while the stored one still has `updated_at ==
    /// expected_updated_at` (compare-and-set on its version), atomically; false, with
    /// nothing written, when it changed or was deleted meanwhile. A background writer
    /// (the SAML metadata refresh) thus never reverts an admin change.
    async fn replace_provider(
        &self,
        provider: &ProviderRecord,
        expected_updated_at: i64,
    ) -> StoreResult<bool>;
    async fn get_provider(&self, pool: &str, name: &str) -> StoreResult<Option<ProviderRecord>>;
    async fn list_providers(&self, pool: &str) -> StoreResult<Vec<ProviderRecord>>;
    /// Deletes the provider and every identity link of it (the users stay), so that a
    /// provider created later under the same name starts with no links.
    async fn delete_provider(&self, pool: &str, name: &str) -> StoreResult<bool>;

    // Resource servers.
    async fn put_resource_server(&self, rs: &ResourceServer) -> StoreResult<()>;
    async fn get_resource_server(
        &self,
        pool: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>>;
    async fn list_resource_servers(&self, pool: &str) -> StoreResult<Vec<ResourceServer>>;
    async fn delete_resource_server(&self, pool: &str, identifier: &str) -> StoreResult<bool>;

    // Users and identity links.
    async fn get_user(&self, pool: &str, user_id: &str) -> StoreResult<Option<User>>;
    async fn get_user_by_username(&self, pool: &str, username: &str) -> StoreResult<Option<User>>;
    /// Users whose normalized email is `email_norm`, oldest first.
    async fn find_users_by_email(&self, pool: &str, email_norm: &str) -> StoreResult<Vec<User>>;
    /// Users ordered by creation (then id), filtered; `cursor` from a previous page.
    /// `limit` is clamped by [`clamp_page`]; a cursor this backend did not issue is
    /// `Invalid`.
    async fn list_users(
        &self,
        pool: &str,
        filter: &UserFilter,
        limit: usize,
        cursor: Option<&str>,
    ) -> StoreResult<Page<User>>;
    /// Overwrites a user's mutable fields; false when the user does not exist. Only for
    /// writers that own the whole record: a writer racing others uses `patch_user`.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;
    /// Applies `patch` to the user as stored at the moment of the write, in one atomic
    /// step: fields the patch leaves out are never written back from a stale copy.
    /// Returns the user as written; `None` when it does not exist.
    async fn patch_user(
        &self,
        pool: &str,
        user_id: &str,
        patch: &UserPatch,
    ) -> StoreResult<Option<User>>;
    /// Deletes the user, its links and its refresh tokens; false when absent.
    async fn delete_user(&self, pool: &str, user_id: &str) -> StoreResult<bool>;
    async fn find_identity(
        &self,
        pool: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<IdentityLink>>;
    async fn list_identities(&self, pool: &str, user_id: &str) -> StoreResult<Vec<IdentityLink>>;
    /// The user and its identity links (what a token carries), in one call.
    async fn get_user_with_identities(
        &self,
        pool: &str,
        user_id: &str,
    ) -> StoreResult<Option<(User, Vec<IdentityLink>)>> {
        let Some(user) = self.get_user(pool, user_id).await? else {
            return Ok(None);
        };
        let links = self.list_identities(pool, user_id).await?;
        Ok(Some((user, links)))
    }
    /// Creates `user` with `link` as its first identity, atomically. When the identity
    /// already belongs to a user, nothing is written. `AlreadyExists` when the username exists.
    async fn create_user_with_identity(
        &self,
        user: &User,
        link: &IdentityLink,
    ) -> StoreResult<CreateUserOutcome>;
    /// Links one more identity to `link.user_id`, atomically checking `max_links` and
    /// that the user is enabled.
    async fn link_identity(
        &self,
        link: &IdentityLink,
        max_links: usize,
    ) -> StoreResult<LinkOutcome>;
    async fn unlink_identity(
        &self,
        pool: &str,
        user_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<bool>;

    // Signing keys.
    async fn list_keys(&self, pool: &str) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Stores `key` only when the pool has no key yet (instances starting together
    /// agree on one key). Returns whether this call stored it.
    async fn insert_initial_key(&self, key: &SigningKeyRecord) -> StoreResult<bool>;
    /// Makes `key` the active key; every previously active key is retired and stays
    /// visible until `old_visible_until`. Keys whose visibility ended are removed.
    async fn rotate_key(
        &self,
        key: &SigningKeyRecord,
        old_visible_until: i64,
        now: i64,
    ) -> StoreResult<()>;

    // Refresh tokens.
    async fn insert_refresh(&self, token: &RefreshTokenRecord) -> StoreResult<()>;
    async fn get_refresh(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Atomically: an active, unexpired token becomes `Used` and `new` is stored;
    /// a `Used` token revokes its family (reuse detection).
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        new: &RefreshTokenRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome>;
    /// Revokes every token of a family; returns how many changed.
    async fn revoke_refresh_family(&self, pool: &str, family_id: &str) -> StoreResult<u64>;
    /// Revokes every refresh token of a user; returns how many changed.
    async fn revoke_user_refresh(&self, pool: &str, user_id: &str) -> StoreResult<u64>;

    // SAML SP key material: one JSON document per pool, opaque to the store. The
    // defaults make a backend without it fail clearly (never "not found").
    /// The pool's SAML SP keys as last stored.
    async fn get_sp_keys(&self, pool: &str) -> StoreResult<Option<String>> {
        let _ = pool;
        Err(StoreError::Unavailable(
            "this backend does not store SAML SP keys".into(),
        ))
    }
    /// Stores `json` only when the current value equals `expected` (`None`: no value
    /// yet), atomically; returns whether it stored. Instances generating or rotating
    /// keys together thus agree on one value.
    async fn put_sp_keys(
        &self,
        pool: &str,
        json: &str,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        let _ = (pool, json, expected);
        Err(StoreError::Unavailable(
            "this backend does not store SAML SP keys".into(),
        ))
    }
}

/// Short-lived state with a TTL. Keys are namespaced by pool and by `kind` (`flow`,
/// `code`, `replay`, ...). Expired entries are never returned.
#[async_trait]
pub trait Ephemeral: Send + Sync + 'static {
    async fn put(
        &self,
        pool: &str,
        kind: &str,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<()>;
    /// Stores only when absent (or expired); returns whether it stored (a replay cache).
    async fn put_if_absent(
        &self,
        pool: &str,
        kind: &str,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool>;
    /// Reads and deletes in one atomic step: two concurrent takes never both succeed.
    async fn take(&self, pool: &str, kind: &str, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn get(&self, pool: &str, kind: &str, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Takes `take_kind`/`take_key` and stores `value` under `put_kind`/`put_key` in one
    /// atomic step, returning what was taken: a sign-in replaced by the code it produced,
    /// an authorization code replaced by its used-mark (naming the token family it
    /// became). `None`, with nothing changed, when there is nothing to take or the put
    /// key already holds a value.
    #[allow(clippy::too_many_arguments)]
    async fn take_and_put(
        &self,
        pool: &str,
        take_kind: &str,
        take_key: &str,
        put_kind: &str,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>>;
}

/// An authorization code being exchanged (see [`Backend::redeem_code`]).
pub struct Redemption<'a> {
    pub pool: &'a str,
    /// Where the code's grant lives, and under which key (the code's hash).
    pub code_kind: &'a str,
    pub code_key: &'a str,
    /// Where the code is remembered as used, with the token family it became.
    pub used_kind: &'a str,
    pub used_ttl: Duration,
    /// Where a revoked token family is marked (by a replay of the code).
    pub revoked_kind: &'a str,
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

/// A complete backend.
#[async_trait]
pub trait Backend: Store + Ephemeral + GroupStore + credentials::CredentialStore {
    /// Short name for logs and metrics (`sqlite`, `redis`).
    fn kind(&self) -> &'static str;

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
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        return Ok(Arc::new(redis::RedisStore::open(url).await?));
    }
    Err(StoreError::Invalid(format!(
        "unsupported store URL scheme (expected sqlite:// or redis://): {}",
        url.split("://").next().unwrap_or("")
    )))
}
