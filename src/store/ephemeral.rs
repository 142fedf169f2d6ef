//! The ephemeral capability of a backend: short-lived state with a TTL (sign-ins in
//! progress, authorization codes, replay caches), consumed by atomic takes.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;

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
