//! The domains of a pool as the console lists them: with whether TLS is served and
//! when the uploaded certificate expires.

use super::error::AdminResult;
use super::pools::DomainInfo;
use super::service::Admin;

impl Admin {
    /// The pool's domains, each with its certificate's expiry when one is uploaded.
    pub async fn list_domains(&self, pool: &str) -> AdminResult<Vec<DomainInfo>> {
        self.pool(pool).await?;
        let mut out = Vec::new();
        for d in self.store.list_domains(Some(pool)).await? {
            let not_after = match (&d.certificate_pem, &d.private_key_pem) {
                (Some(c), Some(k)) => crate::tls::load_pair(c, k).ok().map(|l| l.not_after),
                _ => None,
            };
            out.push(DomainInfo {
                tls: d.certificate_pem.is_some(),
                certificate_not_after: not_after,
                domain: d.domain,
                pool: d.pool_id,
            });
        }
        Ok(out)
    }
}
