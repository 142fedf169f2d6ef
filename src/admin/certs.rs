//! The pool's SAML signing certificate as Cognito's `GetSigningCertificate` gives it.

use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::flow::FlowError;

impl Admin {
    /// The current SAML SP signing certificate of the pool (base64 DER), made on first
    /// use like the SP metadata's.
    pub async fn signing_certificate(&self, pool: &str) -> AdminResult<String> {
        let p = self.pool(pool).await?;
        let keys = self.flow.sp_keys(&p.id).await.map_err(|e| match e {
            FlowError::Unavailable => AdminError::unavailable(super::error::STORE_UNAVAILABLE, e),
            other => AdminError::internal("SP keys unavailable", other),
        })?;
        Ok(keys.current.signing_cert.clone())
    }
}
