//! Pools and their domains: creation with its domains (all or nothing), settings
//! changes (a new signing algorithm rotates the keys), custom domains with TLS.

use super::bodies::{DomainBody, PoolBody, PoolPatch, refuse_retired, validate_settings};
use super::error::{AdminError, AdminResult};
use super::service::{Admin, PoolInfo};
use super::{valid_domain, valid_pool_id};
use crate::model::{DEFAULT_POOL, DomainRecord, Pool, PoolSettings};
use crate::store::CasOutcome;
use crate::token::KeyError;

/// Tries of one read-change-write of a pool before it is reported as a conflict.
const POOL_CAS_ATTEMPTS: usize = 8;

/// A domain as stored, with what its certificate says.
#[derive(Clone, Debug)]
pub struct DomainInfo {
    pub domain: String,
    pub pool: String,
    /// Served over TLS by SNI with an uploaded certificate.
    pub tls: bool,
    pub certificate_not_after: Option<i64>,
}

impl Admin {
    async fn domains_of(&self, pool: &str) -> AdminResult<Vec<String>> {
        Ok(self
            .store
            .list_domains(Some(pool))
            .await?
            .into_iter()
            .map(|d| d.domain)
            .collect())
    }

    async fn info(&self, pool: Pool) -> AdminResult<PoolInfo> {
        let domains = self.domains_of(&pool.id).await?;
        Ok(PoolInfo {
            pool,
            domains,
            new_hook_secret: None,
        })
    }

    pub async fn list_pools(&self) -> AdminResult<Vec<PoolInfo>> {
        let mut out = Vec::new();
        for p in self.store.list_pools().await? {
            out.push(self.info(p).await?);
        }
        Ok(out)
    }

    pub async fn get_pool(&self, id: &str) -> AdminResult<PoolInfo> {
        let p = self.pool(id).await?;
        self.info(p).await
    }

    /// Creates the pool with its domains; when a domain cannot be stored, the pool is
    /// removed again, so nothing half-made remains.
    pub async fn create_pool(&self, b: PoolBody) -> AdminResult<PoolInfo> {
        let mut problems = Vec::new();
        if !valid_pool_id(&b.id) {
            problems.push("id: 1 to 63 of a-z, 0-9 and '-'".to_owned());
        }
        for d in &b.domains {
            if !valid_domain(d) {
                problems.push(format!("domains: {d:?} is not host[:port] in lower case"));
            }
        }
        if let Err(mut e) = refuse_retired(&b.settings) {
            problems.append(&mut e);
        }
        if let Err(mut e) = validate_settings(&b.settings) {
            problems.append(&mut e);
        }
        if !problems.is_empty() {
            return Err(AdminError::Invalid(problems));
        }
        for d in &b.domains {
            if self.store.get_domain(d).await?.is_some() {
                return Err(AdminError::Conflict(format!(
                    "domain {d} already belongs to a pool"
                )));
            }
        }
        let now = self.clock.now();
        let mut pool = Pool {
            id: b.id,
            settings: b.settings,
            created_at: now,
            hook_secret: None,
        };
        let new_hook_secret = super::hooks::prepare(&mut pool).map_err(AdminError::Invalid)?;
        self.store.create_pool(&pool).await?;
        for d in &b.domains {
            let rec = DomainRecord {
                domain: d.clone(),
                pool_id: pool.id.clone(),
                certificate_pem: None,
                private_key_pem: None,
                created_at: now,
            };
            if let Err(e) = self.store.put_domain(&rec).await {
                if let Err(undo) = self.store.delete_pool(&pool.id).await {
                    tracing::error!(pool = %pool.id, error = %undo, "cannot remove a half-made pool");
                }
                self.domains_changed().await;
                return Err(e.into());
            }
        }
        self.domains_changed().await;
        Ok(PoolInfo {
            pool,
            domains: b.domains,
            new_hook_secret,
        })
    }

    /// Merges `patch.settings` (JSON fields of [`PoolSettings`]) into the pool's. The
    /// merge is applied to the record as stored at the moment of the write (see
    /// [`Admin::change_pool`]): a concurrent change of another field is kept.
    pub async fn patch_pool(&self, id: &str, patch: PoolPatch) -> AdminResult<PoolInfo> {
        let changes = patch.settings.unwrap_or_default();
        self.change_settings(id, |current| {
            let mut settings = current.clone();
            if !changes.is_empty() {
                let mut merged = serde_json::to_value(&settings)
                    .map_err(|e| AdminError::internal("cannot read the pool's settings", e))?;
                for (k, v) in &changes {
                    merged[k.as_str()] = v.clone();
                }
                settings = serde_json::from_value(merged)
                    .map_err(|e| AdminError::invalid(format!("settings: {e}")))?;
                refuse_retired(&settings).map_err(AdminError::Invalid)?;
            }
            Ok(settings)
        })
        .await
    }

    /// Replaces the pool's settings; a new signing algorithm rotates its keys. Hooks
    /// (`settings.hooks`, Cognito's `LambdaConfig`) are validated, and the first ones
    /// make the pool's hook secret (in the answer's `new_hook_secret`).
    pub async fn set_pool_settings(
        &self,
        id: &str,
        settings: PoolSettings,
    ) -> AdminResult<PoolInfo> {
        validate_settings(&settings).map_err(AdminError::Invalid)?;
        self.change_settings(id, |_| Ok(settings.clone())).await
    }

    /// Changes the pool's settings with `change`, applied to the settings as stored at
    /// the moment of the write (compare-and-set, retried): a change made meanwhile by
    /// another writer is kept. Validated as [`Admin::set_pool_settings`].
    pub async fn update_pool_settings(
        &self,
        id: &str,
        change: impl Fn(&mut PoolSettings) -> AdminResult<()>,
    ) -> AdminResult<PoolInfo> {
        self.change_settings(id, |current| {
            let mut settings = current.clone();
            change(&mut settings)?;
            Ok(settings)
        })
        .await
    }

    /// Writes the settings `make` builds from the stored ones, atomically with respect
    /// to every other change of the pool; rotates the keys when the algorithm changed.
    pub(super) async fn change_settings(
        &self,
        id: &str,
        make: impl Fn(&PoolSettings) -> AdminResult<PoolSettings>,
    ) -> AdminResult<PoolInfo> {
        let (old, p, new_hook_secret) = self
            .change_pool(id, |p| {
                let mut settings = make(&p.settings)?;
                validate_settings(&settings).map_err(AdminError::Invalid)?;
                settings.cognito_claims = None;
                p.settings = settings;
                super::hooks::prepare(p).map_err(AdminError::Invalid)
            })
            .await?;
        if p.settings.signing_alg != old.settings.signing_alg {
            self.keys
                .rotate(&p.id, p.settings.signing_alg, crate::flow::MAX_ACCESS_TTL_S)
                .await
                .map_err(|e| match e {
                    KeyError::Store(e) => AdminError::from(e),
                    other => AdminError::internal("key generation failed", other),
                })?;
        }
        self.domains_changed().await;
        let mut info = self.info(p).await?;
        info.new_hook_secret = new_hook_secret;
        Ok(info)
    }

    /// Replaces the pool's hook secret; the answer is the only place the new one shows.
    pub async fn rotate_hook_secret(&self, id: &str) -> AdminResult<PoolInfo> {
        let (_, p, secret) = self
            .change_pool(id, |p| {
                let secret = super::hooks::new_secret();
                p.hook_secret = Some(secret.clone());
                Ok(secret)
            })
            .await?;
        // Pools are cached by domain: drop them so the next call signs with this one.
        self.domains_changed().await;
        let mut info = self.info(p).await?;
        info.new_hook_secret = Some(secret);
        Ok(info)
    }

    /// Read, change, compare-and-set: `change` is applied to the pool as stored and the
    /// result written only if nothing changed the pool meanwhile; otherwise it is
    /// applied again to the newer record, a few times, then the call is a `Conflict`.
    /// Answers the record replaced, the record written and what `change` answered.
    async fn change_pool<T>(
        &self,
        id: &str,
        mut change: impl FnMut(&mut Pool) -> AdminResult<T>,
    ) -> AdminResult<(Pool, Pool, T)> {
        let mut current = self.pool(id).await?;
        for _ in 0..POOL_CAS_ATTEMPTS {
            let mut next = current.clone();
            let out = change(&mut next)?;
            match self.store.update_pool_if(&current, &next).await? {
                CasOutcome::Written => return Ok((current, next, out)),
                CasOutcome::Changed(stored) => current = *stored,
                CasOutcome::Missing => return Err(AdminError::NotFound("the pool")),
            }
        }
        Err(AdminError::Conflict(
            "the pool was changed concurrently; try again".to_owned(),
        ))
    }

    pub async fn delete_pool(&self, id: &str) -> AdminResult<()> {
        if id == DEFAULT_POOL {
            return Err(AdminError::invalid("the default pool cannot be deleted"));
        }
        if !self.store.delete_pool(id).await? {
            return Err(AdminError::NotFound("the pool"));
        }
        self.domains_changed().await;
        Ok(())
    }

    /// Adds or replaces a custom domain; a certificate must come with its key, cover
    /// the domain and be valid now.
    pub async fn put_domain(
        &self,
        pool: &str,
        domain: &str,
        b: DomainBody,
    ) -> AdminResult<DomainInfo> {
        self.pool(pool).await?;
        let domain = domain.to_ascii_lowercase();
        let mut problems = Vec::new();
        if !valid_domain(&domain) {
            problems.push("domain: not host[:port]".to_owned());
        }
        if b.certificate_pem.is_some() != b.private_key_pem.is_some() {
            problems.push("certificate_pem and private_key_pem go together".to_owned());
        }
        if !problems.is_empty() {
            return Err(AdminError::Invalid(problems));
        }
        let now = self.clock.now();
        let mut not_after = None;
        if let (Some(cert), Some(key)) = (&b.certificate_pem, &b.private_key_pem) {
            let loaded = crate::tls::check_pair(&domain, cert, key, now)
                .map_err(|e| AdminError::invalid(e.to_string()))?;
            not_after = Some(loaded.not_after);
        }
        let rec = DomainRecord {
            domain: domain.clone(),
            pool_id: pool.to_owned(),
            certificate_pem: b.certificate_pem,
            private_key_pem: b.private_key_pem,
            created_at: now,
        };
        self.store.put_domain(&rec).await?;
        self.domains_changed().await;
        Ok(DomainInfo {
            domain,
            pool: pool.to_owned(),
            tls: rec.certificate_pem.is_some(),
            certificate_not_after: not_after,
        })
    }

    pub async fn delete_domain(&self, pool: &str, domain: &str) -> AdminResult<()> {
        if !self
            .store
            .delete_domain(pool, &domain.to_ascii_lowercase())
            .await?
        {
            return Err(AdminError::NotFound("the domain"));
        }
        self.domains_changed().await;
        Ok(())
    }
}
