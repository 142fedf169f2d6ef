//! Signing keys and SAML SP keys: listing and rotation. A rotation keeps the previous
//! public key published until the tokens it signed have expired.

use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::flow::{FlowError, MAX_ACCESS_TTL_S};
use crate::model::SigningKeyRecord;
use crate::provider::protocol::saml::sp::SpKeys;
use crate::token::keys::PUBLISH_BEFORE_SIGNING_S;

impl Admin {
    /// The pool's signing keys (the first one is made when the pool has none).
    pub async fn list_keys(&self, pool: &str) -> AdminResult<Vec<SigningKeyRecord>> {
        self.signing_kid(pool).await?;
        Ok(self.store.list_keys(pool).await?)
    }

    /// The `kid` this instance signs the pool's tokens with now: a rotated-in key
    /// signs only once every instance has published it.
    pub async fn signing_kid(&self, pool: &str) -> AdminResult<String> {
        let p = self.pool(pool).await?;
        let ring = self
            .keys
            .ring(&p.id, p.settings.signing_alg)
            .await
            .map_err(|e| AdminError::unavailable("keys unavailable", e))?;
        Ok(ring.active.kid.clone())
    }

    /// A new active signing key, published now and signing from
    /// [`PUBLISH_BEFORE_SIGNING_S`] on; returns its `kid` and that instant.
    pub async fn rotate_keys(&self, pool: &str) -> AdminResult<(String, i64)> {
        let p = self.pool(pool).await?;
        let kid = self
            .keys
            .rotate(&p.id, p.settings.signing_alg, MAX_ACCESS_TTL_S)
            .await
            .map_err(|e| AdminError::unavailable("key rotation failed", e))?;
        Ok((kid, self.clock.now() + PUBLISH_BEFORE_SIGNING_S))
    }

    /// A new generation of the pool's SAML SP keys; the previous stays published (and
    /// able to decrypt) until the next rotation, so IdPs can pick up the new
    /// certificates.
    pub async fn rotate_sp_keys(&self, pool: &str) -> AdminResult<SpKeys> {
        let p = self.pool(pool).await?;
        self.flow.rotate_sp_keys(&p.id).await.map_err(|e| match e {
            FlowError::Page { status: 409, .. } => {
                AdminError::Conflict("the SP keys changed meanwhile; try again".into())
            }
            FlowError::Unavailable => AdminError::unavailable(super::error::STORE_UNAVAILABLE, e),
            other => AdminError::internal("SP key rotation failed", other),
        })
    }
}
