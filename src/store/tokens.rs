//! The key and token capabilities of a backend: a pool's signing keys and SAML SP key
//! material ([`KeyStore`]), and refresh tokens with their rotation and reuse detection
//! ([`RefreshStore`]).

use async_trait::async_trait;

use super::StoreResult;
use crate::model::{RefreshTokenRecord, SigningKeyRecord};

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

/// A pool's token signing keys and its SAML SP keys.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
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

    /// The pool's SAML SP keys (one JSON document per pool, opaque to the store) as
    /// last stored.
    async fn get_sp_keys(&self, pool: &str) -> StoreResult<Option<String>>;
    /// Stores `json` only when the current value equals `expected` (`None`: no value
    /// yet), atomically; returns whether it stored. Instances generating or rotating
    /// keys together thus agree on one value.
    async fn put_sp_keys(
        &self,
        pool: &str,
        json: &str,
        expected: Option<&str>,
    ) -> StoreResult<bool>;
}

/// Refresh tokens.
#[async_trait]
pub trait RefreshStore: Send + Sync + 'static {
    async fn insert_refresh(&self, token: &RefreshTokenRecord) -> StoreResult<()>;
    /// The pool's refresh token with this hash (a token of another pool is `None`).
    async fn get_refresh(
        &self,
        pool: &str,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Atomically: an active, unexpired token becomes `Used` and `new` is stored;
    /// a `Used` token revokes its family (reuse detection). The presented token is
    /// looked for in `new`'s pool: a token of another pool is `Invalid`.
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
}
