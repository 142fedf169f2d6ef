//! Which pool a request's Host belongs to: the domain -> pool answer, cached briefly on
//! this instance and forgotten at once when this instance changes a domain.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::{Flow, FlowError};
use crate::model::Pool;

/// How long a domain -> pool answer is reused (changes made elsewhere take effect
/// within this).
const DOMAIN_CACHE: Duration = Duration::from_millis(500);
/// Entries kept before the cache starts over (a flood of unknown hosts stays bounded).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct DomainCache {
    map: RwLock<HashMap<String, (Instant, Option<Pool>)>>,
}

impl DomainCache {
    fn get(&self, domain: &str) -> Option<Option<Pool>> {
        let map = self.map.read().ok()?;
        let (at, pool) = map.get(domain)?;
        (at.elapsed() < DOMAIN_CACHE).then(|| pool.clone())
    }

    fn put(&self, domain: &str, pool: Option<Pool>) {
        if let Ok(mut map) = self.map.write() {
            if map.len() > MAX_ENTRIES {
                map.clear();
            }
            map.insert(domain.to_owned(), (Instant::now(), pool));
        }
    }

    fn clear(&self) {
        if let Ok(mut map) = self.map.write() {
            map.clear();
        }
    }
}

impl Flow {
    /// The pool serving `domain` (already cleaned: lower case `host[:port]`).
    pub async fn pool_for_domain(&self, domain: &str) -> Result<Option<Pool>, FlowError> {
        if let Some(pool) = self.domains.get(domain) {
            return Ok(pool);
        }
        let pool = match self.store.get_domain(domain).await? {
            Some(rec) => self.store.get_pool(&rec.pool_id).await?,
            None => None,
        };
        self.domains.put(domain, pool.clone());
        Ok(pool)
    }

    /// Forgets cached domain answers (after an admin change on this instance).
    pub fn forget_domains(&self) {
        self.domains.clear();
    }

    /// Is the store reachable? (`/healthz`)
    pub async fn ping(&self) -> Result<(), crate::store::StoreError> {
        self.store.ping().await
    }
}
