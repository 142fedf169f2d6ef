//! Pending identity links (Cognito's `AdminLinkProviderForUser` by a source attribute
//! other than the subject): made onto an existing user under the rules of subject
//! links (the user exists and is enabled, the source is no other user's, at most
//! [`MAX_LINKS_PER_USER`] links and pending links per user), and removed by the same
//! source. A sign-in through the provider that carries the value turns one into a link
//! (`identity::pending`).

use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::identity::pending::MAX_VALUE_LEN;
use crate::model::MAX_LINKS_PER_USER;
use crate::store::{PendingLink, PendingOutcome};

/// Longest attribute name accepted (an AD FS claim URI is under 100 characters).
pub const MAX_ATTRIBUTE_LEN: usize = 512;

/// Checks a source attribute name and value: present, bounded, no control characters
/// (nothing an upstream could send that would show differently in a log or a page).
pub fn check_source(attribute: &str, value: &str) -> AdminResult<()> {
    let mut problems = Vec::new();
    if attribute.trim().is_empty() || attribute.len() > MAX_ATTRIBUTE_LEN {
        problems.push(format!(
            "ProviderAttributeName: required, at most {MAX_ATTRIBUTE_LEN} bytes"
        ));
    } else if attribute.chars().any(char::is_control) {
        problems.push("ProviderAttributeName: control characters are not allowed".into());
    }
    if value.trim().is_empty() || value.len() > MAX_VALUE_LEN {
        problems.push(format!(
            "ProviderAttributeValue: required, at most {MAX_VALUE_LEN} bytes"
        ));
    } else if value.chars().any(char::is_control) {
        problems.push("ProviderAttributeValue: control characters are not allowed".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Invalid(problems))
    }
}

impl Admin {
    /// Links the identity of `provider` whose attribute `attribute` is `value` to the
    /// user, pending its first sign-in. `false` when the same link was pending already.
    pub async fn link_pending(
        &self,
        pool: &str,
        username: &str,
        provider: &str,
        attribute: &str,
        value: &str,
    ) -> AdminResult<bool> {
        self.pool(pool).await?;
        check_source(attribute, value)?;
        let user = self.user(pool, username).await?;
        let provider = self
            .store
            .get_provider(pool, provider)
            .await?
            .ok_or_else(|| {
                AdminError::invalid(format!(
                    "provider: no provider named {provider:?} in this pool"
                ))
            })?;
        let link = PendingLink {
            pool_id: pool.to_owned(),
            provider_name: provider.name,
            attribute_name: attribute.to_owned(),
            attribute_value: value.to_owned(),
            user_id: user.id,
            created_at_ms: self.clock.now_ms(),
        };
        match self
            .store
            .create_pending_link(&link, MAX_LINKS_PER_USER)
            .await?
        {
            PendingOutcome::Created => Ok(true),
            PendingOutcome::AlreadyPending => Ok(false),
            PendingOutcome::PendingForOther(_) => Err(AdminError::Conflict(
                "that identity is already linked to another user".into(),
            )),
            PendingOutcome::LimitReached => Err(AdminError::LimitExceeded(format!(
                "a user can have at most {MAX_LINKS_PER_USER} linked identities"
            ))),
            PendingOutcome::NoSuchUser => Err(AdminError::NotFound("the user")),
            PendingOutcome::Disabled => Err(AdminError::Conflict(
                "the user is disabled; a disabled user gains no linked identity".into(),
            )),
        }
    }

    /// Removes the pending link of this source, whichever user it is for.
    pub async fn unlink_pending(
        &self,
        pool: &str,
        provider: &str,
        attribute: &str,
        value: &str,
    ) -> AdminResult<()> {
        self.pool(pool).await?;
        check_source(attribute, value)?;
        self.store
            .delete_pending_link(pool, provider, attribute, value, None)
            .await?
            .ok_or(AdminError::NotFound("the identity link"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_checked() {
        assert!(check_source("email", "a@b.example").is_ok());
        assert!(
            check_source(
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "a@b.example"
            )
            .is_ok()
        );
        let (long_value, long_name) = (
            "x".repeat(MAX_VALUE_LEN + 1),
            "n".repeat(MAX_ATTRIBUTE_LEN + 1),
        );
        for (a, v) in [
            ("", "x"),
            ("email", ""),
            ("email", "  "),
            ("email", "a\u{0}b"),
            ("email", "a\nb"),
            ("em\u{1b}ail", "x"),
            ("email", long_value.as_str()),
            (long_name.as_str(), "x"),
        ] {
            assert!(
                matches!(check_source(a, v), Err(AdminError::Invalid(_))),
                "{a:?} {v:?}"
            );
        }
    }
}
