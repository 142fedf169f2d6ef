//! Signing keys and SAML SP keys: listing and rotation. A rotation keeps the previous
//! public key published until the tokens it signed have expired.

use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::flow::{FlowError, MAX_ACCESS_TTL_S};
use crate::model::SigningKeyRecord;
use crate::provider::protocol::saml::sp::SpKeys;

impl Admin {
    /// The pool's signing keys (the first one is made when the pool has none).
    pub async fn list_keys(&self, pool: &str) -> AdminResult<Vec<SigningKeyRecord>> {
        let p = self.pool(pool).await?;
        self.keys
            .ring(&p.id, p.settings.signing_alg)
            .await
            .map_err(|e| AdminError::unavailable("keys unavailable", e))?;
        Ok(self.store.list_keys(pool).await?)
    }

    /// A new active signing key; returns its `kid`.
    pub async fn rotate_keys(&self, pool: &str) -> AdminResult<String> {
        let p = self.pool(pool).await?;
        self.keys
            .rotate(&p.id, p.settings.signing_alg, MAX_ACCESS_TTL_S)
            .await
            .map_err(|e| AdminError::unavailable("key rotation failed", e))
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
