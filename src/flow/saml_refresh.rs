//! Background upkeep of SAML registrations: every 6 hours each `metadata_url` is
//! fetched again (a failed fetch, or metadata without a signing certificate, keeps the
//! previous metadata and logs an error), and the IdP signing certificates' expiry is
//! published as a gauge, with a warning from 30 days ahead.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Flow;
use crate::metrics::DomainLabels;
use crate::provider::registry;

pub const REFRESH_EVERY: Duration = Duration::from_secs(6 * 3600);
const WARN_AHEAD_S: i64 = 30 * 86_400;

impl Flow {
    /// One refresh round over every pool's SAML providers.
    pub async fn refresh_saml(&self) {
        let pools = match self.store.list_pools().await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "SAML metadata refresh: cannot list pools");
                return;
            }
        };
        let now = self.clock.now();
        for pool in pools {
            let Ok(records) = self.store.list_providers(&pool.id).await else {
                tracing::error!(pool = %pool.id, "SAML metadata refresh: cannot list providers");
                continue;
            };
            for mut rec in records {
                let Some(fetch) = registry::kind(&rec.provider_type).fetched_details() else {
                    continue;
                };
                let before = rec.clone();
                match fetch.fetch(&mut rec, self.providers.context()).await {
                    Ok(true) => {
                        rec.updated_at = now.max(before.updated_at + 1);
                        rec.version = crate::model::new_provider_version();
                        if let Err(e) = self.providers.get(&rec) {
                            tracing::error!(pool = %pool.id, provider = %rec.name, error = %e, "refreshed SAML metadata unusable; keeping the previous");
                            rec = before;
                        } else {
                            // Only over the version fetched from: an admin change made
                            // during the fetch is kept (the next round refreshes it).
                            match self.store.replace_provider(&rec, &before.version).await {
                                Ok(true) => {
                                    tracing::info!(pool = %pool.id, provider = %rec.name, "SAML metadata refreshed");
                                }
                                Ok(false) => {
                                    tracing::info!(pool = %pool.id, provider = %rec.name, "SAML registration changed during the metadata refresh; keeping the change");
                                    continue;
                                }
                                Err(e) => {
                                    tracing::error!(pool = %pool.id, provider = %rec.name, error = %e, "cannot store refreshed SAML metadata");
                                    rec = before;
                                }
                            }
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(pool = %pool.id, provider = %rec.name, error = %e, "SAML metadata refresh failed; keeping the previous metadata");
                        rec = before;
                    }
                }
                self.publish_cert_expiry(&pool.id, &rec, now);
            }
        }
    }

    fn publish_cert_expiry(&self, pool: &str, rec: &crate::model::ProviderRecord, now: i64) {
        let Ok(adapter) = self.providers.get(rec) else {
            return;
        };
        let Some(saml) = adapter.saml() else { return };
        // The soonest expiry among the current certificates (a rollover lists several).
        let Some(left) = saml.signing_cert_expiry().map(|t| t - now) else {
            return;
        };
        self.metrics
            .saml_cert_expiry_seconds
            .get_or_create(&DomainLabels {
                domain: format!("{pool}/{}", rec.name),
            })
            .set(left);
        if left < WARN_AHEAD_S {
            tracing::warn!(pool, provider = %rec.name, days_left = left / 86_400, "a SAML IdP signing certificate expires soon");
        }
    }
}

/// Runs `refresh_saml` now and every `REFRESH_EVERY` until `stop` fires.
pub fn spawn_refresh(flow: Arc<Flow>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            flow.refresh_saml().await;
            tokio::select! {
                _ = tokio::time::sleep(REFRESH_EVERY) => {}
                _ = stop.changed() => break,
            }
        }
    });
}
