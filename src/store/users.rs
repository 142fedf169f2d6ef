//! The user capability of a backend: users and the identity links that tie each to its
//! upstream accounts. Writers that race (sign-ins, admin changes) use the atomic
//! methods ([`UserStore::patch_user`], [`UserStore::link_identity`]).

use async_trait::async_trait;

use super::{StoreResult, UserPatch};
use crate::model::{IdentityLink, Page, User, UserFilter};

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

/// Users and identity links.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    async fn get_user(&self, pool: &str, user_id: &str) -> StoreResult<Option<User>>;
    async fn get_user_by_username(&self, pool: &str, username: &str) -> StoreResult<Option<User>>;
    /// Users whose normalized email is `email_norm`, oldest first.
    async fn find_users_by_email(&self, pool: &str, email_norm: &str) -> StoreResult<Vec<User>>;
    /// Users ordered by creation (then id), filtered; `cursor` from a previous page.
    /// `limit` is clamped by [`super::clamp_page`]; a cursor this backend did not issue is
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
    /// Deletes the user, its links, its refresh tokens and its group memberships; false
    /// when absent.
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
}
