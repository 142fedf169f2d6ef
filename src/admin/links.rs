//! Identity links found by the identity itself (Cognito's
//! `AdminDisableProviderForUser` names the upstream identity, not the user).

use super::error::{AdminError, AdminResult};
use super::service::Admin;

impl Admin {
    /// Unlinks the identity `(provider, subject)` from whichever user holds it.
    pub async fn unlink_identity_of(
        &self,
        pool: &str,
        provider: &str,
        subject: &str,
    ) -> AdminResult<()> {
        self.pool(pool).await?;
        let link = self
            .store
            .find_identity(pool, provider, subject)
            .await?
            .ok_or(AdminError::NotFound("the identity link"))?;
        if !self
            .store
            .unlink_identity(pool, &link.user_id, provider, subject)
            .await?
        {
            return Err(AdminError::NotFound("the identity link"));
        }
        Ok(())
    }
}
