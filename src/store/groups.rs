//! The group capability of a backend: pool groups and their members. Membership is
//! kept apart from the user record, so that a sign-in rewriting a user can never undo
//! a concurrent membership change; token issuance reads it with [`user_group_names`].

use async_trait::async_trait;

use super::StoreResult;
use crate::model::Group;

/// Outcome of adding a user to a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipOutcome {
    Added,
    /// Already a member: nothing changed.
    AlreadyMember,
    NoSuchGroup,
    NoSuchUser,
}

#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
    /// Creates a group; `AlreadyExists` when the pool has one of that name.
    async fn create_group(&self, group: &Group) -> StoreResult<()>;
    async fn get_group(&self, pool: &str, name: &str) -> StoreResult<Option<Group>>;
    /// The pool's groups, by name.
    async fn list_groups(&self, pool: &str) -> StoreResult<Vec<Group>>;
    /// Replaces an existing group's record; false when it does not exist.
    async fn update_group(&self, group: &Group) -> StoreResult<bool>;
    /// Compare-and-set: writes `new` only when the stored group still equals
    /// `expected`, atomically; never re-creates a deleted group. `UpdateGroup` uses it,
    /// so that two concurrent updates of different fields both land.
    async fn update_group_if(
        &self,
        expected: &Group,
        new: &Group,
    ) -> StoreResult<super::CasOutcome<Group>>;
    /// Deletes the group and its memberships; false when it does not exist.
    async fn delete_group(&self, pool: &str, name: &str) -> StoreResult<bool>;
    /// Adds an existing user to an existing group, atomically checking both.
    async fn add_to_group(
        &self,
        pool: &str,
        name: &str,
        user_id: &str,
    ) -> StoreResult<MembershipOutcome>;
    /// Removes a membership; false when there was none.
    async fn remove_from_group(&self, pool: &str, name: &str, user_id: &str) -> StoreResult<bool>;
    /// The groups a user is in, by name.
    async fn groups_of_user(&self, pool: &str, user_id: &str) -> StoreResult<Vec<Group>>;
    /// The ids of a group's members that still exist, sorted.
    async fn group_members(&self, pool: &str, name: &str) -> StoreResult<Vec<String>>;
}

/// Groups in the order tokens list them: precedence (lowest first, unset last), then
/// name.
pub fn token_order(groups: &mut [Group]) {
    groups.sort_by(|a, b| {
        (a.precedence.is_none(), a.precedence, &a.name).cmp(&(
            b.precedence.is_none(),
            b.precedence,
            &b.name,
        ))
    });
}

/// The names of a user's groups, in token order (`cognito:groups`).
pub async fn user_group_names<S: GroupStore + ?Sized>(
    s: &S,
    pool: &str,
    user_id: &str,
) -> StoreResult<Vec<String>> {
    let mut groups = s.groups_of_user(pool, user_id).await?;
    token_order(&mut groups);
    Ok(groups.into_iter().map(|g| g.name).collect())
}
