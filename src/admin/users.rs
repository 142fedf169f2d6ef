//! Pool users: listing with filters and a cursor, disable/enable, delete, global
//! sign-out, and linking/unlinking upstream identities.

use serde::Deserialize;

use super::bodies::LinkBody;
use super::error::{AdminError, AdminResult};
use super::service::{Admin, UserInfo};
use crate::identity::normalize_email;
use crate::model::{IdentityLink, MAX_LINKS_PER_USER, Page, User, UserFilter};
use crate::store::paging::{MAX_PAGE, MIN_PAGE};
use crate::store::{LinkOutcome, StoreError, UserPatch};

/// A user listing: filters, page size and the cursor of the previous page.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    pub email: Option<String>,
    pub provider: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl Admin {
    /// The user named by `username` (or, as the pool allows, by its email).
    pub(super) async fn user(&self, pool: &str, username: &str) -> AdminResult<User> {
        crate::flow::native::aliases::user_by_sign_in_name(&self.store, pool, username)
            .await?
            .ok_or(AdminError::NotFound("the user"))
    }

    /// The user with its links and, for a native user, its status.
    async fn with_links(&self, user: User) -> AdminResult<UserInfo> {
        let links = self.store.list_identities(&user.pool_id, &user.id).await?;
        let status = self.status_of(&user).await?;
        Ok(UserInfo {
            user,
            links,
            status,
        })
    }

    async fn status_of(
        &self,
        user: &User,
    ) -> AdminResult<Option<crate::store::credentials::UserStatus>> {
        Ok(self
            .store
            .get_credential(&user.pool_id, &user.id)
            .await?
            .map(|c| c.status))
    }

    pub async fn list_users(&self, pool: &str, q: UserQuery) -> AdminResult<Page<UserInfo>> {
        let p = self.pool(pool).await?;
        let limit = q.limit.unwrap_or(MAX_PAGE);
        if !(MIN_PAGE..=MAX_PAGE).contains(&limit) {
            return Err(AdminError::invalid(format!(
                "limit: between {MIN_PAGE} and {MAX_PAGE}"
            )));
        }
        let filter = UserFilter {
            email_norm: q
                .email
                .as_deref()
                .map(|e| normalize_email(e, p.settings.email_case_sensitive)),
            provider: q.provider,
        };
        let page = self
            .store
            .list_users(pool, &filter, limit, q.cursor.as_deref())
            .await
            .map_err(|e| match e {
                StoreError::Invalid(m) => AdminError::invalid(format!("cursor: {m}")),
                other => other.into(),
            })?;
        let mut items = Vec::with_capacity(page.items.len());
        for u in page.items {
            items.push(self.with_links(u).await?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    pub async fn get_user(&self, pool: &str, username: &str) -> AdminResult<UserInfo> {
        let u = self.user(pool, username).await?;
        self.with_links(u).await
    }

    /// Deletes the user with its links and refresh tokens.
    pub async fn delete_user(&self, pool: &str, username: &str) -> AdminResult<()> {
        let u = self.user(pool, username).await?;
        if !self.store.delete_user(pool, &u.id).await? {
            return Err(AdminError::NotFound("the user"));
        }
        Ok(())
    }

    /// Disables or enables the user: a disabled user cannot sign in or refresh.
    pub async fn set_enabled(
        &self,
        pool: &str,
        username: &str,
        enabled: bool,
    ) -> AdminResult<UserInfo> {
        let u = self.user(pool, username).await?;
        let patch = UserPatch {
            enabled: Some(enabled),
            updated_at: Some(self.clock.now()),
            ..UserPatch::default()
        };
        let written = self
            .store
            .patch_user(pool, &u.id, &patch)
            .await?
            .ok_or(AdminError::NotFound("the user"))?;
        self.with_links(written).await
    }

    /// Revokes every refresh token of the user, and every access token issued until
    /// now. Returns how many refresh tokens were revoked.
    pub async fn global_sign_out(&self, pool: &str, username: &str) -> AdminResult<u64> {
        let u = self.user(pool, username).await?;
        let revoked = self.store.revoke_user_refresh(pool, &u.id).await?;
        // Tokens carry whole seconds: those issued within this second are cut off too.
        let patch = UserPatch {
            tokens_valid_after: Some(self.clock.now() + 1),
            ..UserPatch::default()
        };
        self.store
            .patch_user(pool, &u.id, &patch)
            .await?
            .ok_or(AdminError::NotFound("the user"))?;
        Ok(revoked)
    }

    /// Links `b.subject` of provider `b.provider` to the user. `created` is false when
    /// it was linked to this user already.
    pub async fn link_identity(
        &self,
        pool: &str,
        username: &str,
        b: LinkBody,
    ) -> AdminResult<(UserInfo, bool)> {
        let u = self.user(pool, username).await?;
        if b.subject.trim().is_empty()
            || b.subject.len() > 512
            || b.subject.chars().any(char::is_control)
        {
            return Err(AdminError::invalid(
                "subject: required, at most 512 characters, no control characters",
            ));
        }
        let provider = self
            .store
            .get_provider(pool, &b.provider)
            .await?
            .ok_or_else(|| {
                AdminError::invalid(format!(
                    "provider: no provider named {:?} in this pool",
                    b.provider
                ))
            })?;
        let link = IdentityLink {
            pool_id: pool.to_owned(),
            provider_name: provider.name,
            provider_type: provider.provider_type.clone(),
            subject: b.subject,
            issuer: None,
            user_id: u.id.clone(),
            primary: false,
            created_at_ms: self.clock.now_ms(),
        };
        let created = match self.store.link_identity(&link, MAX_LINKS_PER_USER).await? {
            LinkOutcome::Linked => true,
            LinkOutcome::AlreadyLinked => false,
            LinkOutcome::LinkedToOther(_) => {
                return Err(AdminError::Conflict(
                    "that identity already belongs to another user".into(),
                ));
            }
            LinkOutcome::LimitReached => {
                return Err(AdminError::LimitExceeded(format!(
                    "a user can have at most {MAX_LINKS_PER_USER} linked identities"
                )));
            }
            LinkOutcome::NoSuchUser => return Err(AdminError::NotFound("the user")),
            LinkOutcome::Disabled => {
                return Err(AdminError::Conflict(
                    "the user is disabled; a disabled user gains no linked identity".into(),
                ));
            }
        };
        Ok((self.with_links(u).await?, created))
    }

    pub async fn unlink_identity(
        &self,
        pool: &str,
        username: &str,
        provider: &str,
        subject: &str,
    ) -> AdminResult<()> {
        let u = self.user(pool, username).await?;
        if !self
            .store
            .unlink_identity(pool, &u.id, provider, subject)
            .await?
        {
            return Err(AdminError::NotFound("the identity link"));
        }
        Ok(())
    }
}
