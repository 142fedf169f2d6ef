//! Pending identity links: Cognito's `AdminLinkProviderForUser` with a source attribute
//! other than the subject (the `email` of a SAML identity, a claim of an OIDC one). The
//! identity's subject is not known yet, so the link waits, keyed by (pool, provider,
//! attribute name, attribute value), until a sign-in through that provider carries the
//! value; that sign-in turns it into an ordinary identity link in one atomic step
//! ([`PendingLinkStore::claim_pending_link`]). A pending link counts toward its user's
//! limit of linked identities, and goes with its user and with its provider.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::model::IdentityLink;

/// One pending link: the identity of `provider_name` whose attribute `attribute_name`
/// is `attribute_value` belongs to user `user_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub pool_id: String,
    pub provider_name: String,
    pub attribute_name: String,
    pub attribute_value: String,
    pub user_id: String,
    pub created_at_ms: i64,
}

/// Outcome of [`PendingLinkStore::create_pending_link`].
#[derive(Clone, Debug, PartialEq)]
pub enum PendingOutcome {
    Created,
    /// The same source is pending for this same user: nothing changed.
    AlreadyPending,
    /// The same source is pending for another user (its id): nothing changed.
    PendingForOther(String),
    /// The user's links and pending links together reach the maximum.
    LimitReached,
    NoSuchUser,
    /// The user is disabled: a disabled user gains no identity (interface.md section 6).
    Disabled,
}

/// Outcome of [`PendingLinkStore::claim_pending_link`].
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimOutcome {
    /// The identity is linked to the pending link's user, and the pending link is gone.
    Linked,
    /// The identity was linked meanwhile (a concurrent sign-in), to this user: the
    /// pending link is left as it is.
    IdentityTaken(String),
    /// The pending link is no longer there (claimed by another identity, removed by an
    /// admin, or its user deleted), or names another user now: nothing changed.
    Gone,
    /// The user already has the maximum of linked identities: nothing changed.
    LimitReached,
    /// The user is disabled: nothing changed.
    Disabled,
}

/// Pending links, in every backend.
#[async_trait]
pub trait PendingLinkStore: Send + Sync + 'static {
    /// Stores `link` when its user exists and is enabled, no other user holds the same
    /// source, and the user's links plus pending links stay within `max_links`; all
    /// checked in the same atomic step as the write. A pending link whose user no longer
    /// exists is replaced.
    async fn create_pending_link(
        &self,
        link: &PendingLink,
        max_links: usize,
    ) -> StoreResult<PendingOutcome>;
    /// The attribute names that have pending links for `provider` (what a sign-in
    /// through it must read), sorted.
    async fn pending_link_attributes(&self, pool: &str, provider: &str)
    -> StoreResult<Vec<String>>;
    async fn find_pending_link(
        &self,
        pool: &str,
        provider: &str,
        attribute: &str,
        value: &str,
    ) -> StoreResult<Option<PendingLink>>;
    /// A user's pending links, oldest first.
    async fn list_pending_links(&self, pool: &str, user_id: &str) -> StoreResult<Vec<PendingLink>>;
    /// Removes the pending link of this source (only when it is `owner`'s, if given);
    /// returns what it removed.
    async fn delete_pending_link(
        &self,
        pool: &str,
        provider: &str,
        attribute: &str,
        value: &str,
        owner: Option<&str>,
    ) -> StoreResult<Option<PendingLink>>;
    /// Turns `pending` into `link` (an identity link to `pending.user_id`) in one atomic
    /// step: the identity must not be linked yet, the pending link must still be there
    /// for the same user, the user must exist and be enabled, and its links plus
    /// pending links must stay within `max_links`. Two sign-ins racing for one pending
    /// link never both link.
    async fn claim_pending_link(
        &self,
        pending: &PendingLink,
        link: &IdentityLink,
        max_links: usize,
    ) -> StoreResult<ClaimOutcome>;
}
