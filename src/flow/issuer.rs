//! What the issuer of a pool outside its own hosted requests needs: the pool by id and
//! its first domain (discovery under `{POOLGATE_PUBLIC_URL}/{pool id}`, the Cognito API).

use super::{Flow, FlowError};
use crate::model::Pool;

impl Flow {
    /// A pool by id; `None` when absent.
    pub async fn pool_by_id(&self, id: &str) -> Result<Option<Pool>, FlowError> {
        Ok(self.store.get_pool(id).await?)
    }

    /// The pool's first domain (the oldest, then by name); `None` when it has none.
    pub async fn first_domain(&self, pool: &str) -> Result<Option<String>, FlowError> {
        let mut domains = self.store.list_domains(Some(pool)).await?;
        domains.sort_by(|a, b| (a.created_at, &a.domain).cmp(&(b.created_at, &b.domain)));
        Ok(domains.into_iter().next().map(|d| d.domain))
    }
}
