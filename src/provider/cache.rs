//! Live adapters per registration, cached so their discovery and JWKS caches survive
//! between sign-ins; rebuilt when the registration changes. Shared by flow and admin.

use std::collections::HashMap;
use std::sync::RwLock;

use super::{ProviderContext, ProviderError, SharedProvider, registry};
use crate::model::ProviderRecord;

pub struct ProviderCache {
    ctx: ProviderContext,
    map: RwLock<HashMap<(String, String), (i64, SharedProvider)>>,
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

    /// The adapter of `record`, built once per version of the registration.
    pub fn get(&self, record: &ProviderRecord) -> Result<SharedProvider, ProviderError> {
        let key = (record.pool_id.clone(), record.name.clone());
        if let Ok(map) = self.map.read()
            && let Some((version, p)) = map.get(&key)
            && *version == record.updated_at
        {
            return Ok(p.clone());
        }
        let built = registry::build(record, &self.ctx)?;
        if let Ok(mut map) = self.map.write() {
            map.insert(key, (record.updated_at, built.clone()));
        }
        Ok(built)
    }

    pub fn forget(&self, pool: &str, name: &str) {
        if let Ok(mut map) = self.map.write() {
            map.remove(&(pool.to_owned(), name.to_owned()));
        }
    }
}
