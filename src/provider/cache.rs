//! Live adapters per registration, cached so their discovery and JWKS caches survive
//! between sign-ins; rebuilt when the registration changes. Shared by flow and admin.
//!
//! The cache's version is the registration itself: an adapter is reused only for a
//! record equal to the one it was built from. A timestamp would not do: another
//! instance may delete a provider and create it again with other settings within the
//! same second, and this instance, which saw neither write, would go on using the old
//! adapter (interface.md section 6).

use std::collections::HashMap;
use std::sync::RwLock;

use super::{ProviderContext, ProviderError, SharedProvider, registry};
use crate::model::ProviderRecord;

pub struct ProviderCache {
    ctx: ProviderContext,
    map: RwLock<HashMap<(String, String), (ProviderRecord, SharedProvider)>>,
}

impl ProviderCache {
    pub fn new(ctx: ProviderContext) -> Self {
        Self {
            ctx,
            map: RwLock::default(),
        }
    }

    pub fn context(&self) -> &ProviderContext {
        &self.ctx
    }

    /// The adapter of `record`, built once per version (content) of the registration.
    pub fn get(&self, record: &ProviderRecord) -> Result<SharedProvider, ProviderError> {
        if let Ok(map) = self.map.read()
            && let Some((built_from, p)) = map.get(&(record.pool_id.clone(), record.name.clone()))
            && built_from == record
        {
            return Ok(p.clone());
        }
        let built = registry::build(record, &self.ctx)?;
        if let Ok(mut map) = self.map.write() {
            if map.len() >= 10_000 {
                map.clear();
            }
            map.insert(
                (record.pool_id.clone(), record.name.clone()),
                (record.clone(), built.clone()),
            );
        }
        Ok(built)
    }

    pub fn forget(&self, pool: &str, name: &str) {
        if let Ok(mut map) = self.map.write() {
            map.remove(&(pool.to_owned(), name.to_owned()));
        }
    }
}
