//! Identity provider registrations: built from the body (a masked secret keeps the
//! stored one), completed with what needs the network (SAML metadata fetched), and
//! built once before storing, so a registration that cannot work is refused.

use super::bodies::ProviderBody;
use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::model::ProviderRecord;
use crate::provider::{ProviderError, registry};

/// A stored registration, and whether this call created it (rather than replaced it).
#[derive(Clone, Debug)]
pub struct PutProvider {
    pub record: ProviderRecord,
    pub created: bool,
}

/// Why a registration is refused. A configuration problem is the caller's to read;
/// an upstream failure (a fetch of the metadata) may name internal hosts, so it goes to
/// the log and the caller reads which step failed.
fn refused(record: &ProviderRecord, e: ProviderError) -> AdminError {
    match e {
        ProviderError::Config(m) => AdminError::invalid(m),
        other => {
            tracing::warn!(pool = %record.pool_id, provider = %record.name, error = %other, "provider registration: upstream step failed");
            let step = match registry::kind(&record.provider_type).fetched_details() {
                Some(fetch) => fetch.failed_message(),
                None => {
                    "details: the provider's endpoints could not be reached; the gateway log has the cause"
                }
            };
            AdminError::invalid(step)
        }
    }
}

impl Admin {
    pub async fn list_providers(&self, pool: &str) -> AdminResult<Vec<ProviderRecord>> {
        self.pool(pool).await?;
        Ok(self.store.list_providers(pool).await?)
    }

    pub async fn get_provider(&self, pool: &str, name: &str) -> AdminResult<ProviderRecord> {
        self.store
            .get_provider(pool, name)
            .await?
            .ok_or(AdminError::NotFound("the provider"))
    }

    /// Creates or replaces the provider `name` of `pool`.
    pub async fn put_provider(
        &self,
        pool: &str,
        name: &str,
        b: ProviderBody,
    ) -> AdminResult<PutProvider> {
        self.pool(pool).await?;
        let previous = self.store.get_provider(pool, name).await?;
        let mut record = b
            .into_record(pool, name, previous.as_ref(), self.clock.now())
            .map_err(AdminError::Invalid)?;
        self.install_provider(&mut record).await?;
        Ok(PutProvider {
            record,
            created: previous.is_none(),
        })
    }

    /// Completes a validated record (fetches what it names), builds its adapter once
    /// and stores it. `Invalid` when the registration cannot work; the registration
    /// files loaded at start take this path too.
    pub async fn install_provider(&self, record: &mut ProviderRecord) -> AdminResult<()> {
        // Every registration written is a new version (files loaded at start included).
        record.version = crate::model::new_provider_version();
        registry::prepare(record, self.providers.context())
            .await
            .map_err(|e| refused(record, e))?;
        self.providers.get(record).map_err(|e| refused(record, e))?;
        self.store.put_provider(record).await?;
        Ok(())
    }

    pub async fn delete_provider(&self, pool: &str, name: &str) -> AdminResult<()> {
        if !self.store.delete_provider(pool, name).await? {
            return Err(AdminError::NotFound("the provider"));
        }
        self.providers.forget(pool, name);
        Ok(())
    }
}
