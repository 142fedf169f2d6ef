//! The record capabilities of a backend: pools with their domains, app clients,
//! resource servers and identity providers. Each is written whole by the admin service;
//! changes made from a record as read are compare-and-set (pools, clients), and the one
//! background writer (the SAML metadata refresh) uses [`ProviderStore::replace_provider`].

use async_trait::async_trait;

use super::StoreResult;
use crate::model::{AppClient, DomainRecord, Pool, ProviderRecord, ResourceServer};

/// Pools and the domains that route to them.
#[async_trait]
pub trait PoolStore: Send + Sync + 'static {
    /// Creates a pool; `AlreadyExists` when the id exists.
    async fn create_pool(&self, pool: &Pool) -> StoreResult<()>;
    async fn get_pool(&self, id: &str) -> StoreResult<Option<Pool>>;
    async fn list_pools(&self) -> StoreResult<Vec<Pool>>;
    /// Replaces the pool's settings; false when the pool does not exist.
    async fn update_pool(&self, pool: &Pool) -> StoreResult<bool>;
    /// Compare-and-set: writes `new` only when the stored record still equals
    /// `expected`, in one atomic step. The read-modify-write of the admin service uses
    /// it so that two concurrent changes of one pool cannot undo each other.
    async fn update_pool_if(&self, expected: &Pool, new: &Pool) -> StoreResult<CasOutcome>;
    /// Deletes the pool and everything in it; false when it does not exist.
    async fn delete_pool(&self, id: &str) -> StoreResult<bool>;
    /// Adds or replaces a domain of a pool; `Conflict` when another pool owns it.
    async fn put_domain(&self, domain: &DomainRecord) -> StoreResult<()>;
    async fn get_domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>>;
    /// Domains of one pool, or of every pool when `pool` is `None`.
    async fn list_domains(&self, pool: Option<&str>) -> StoreResult<Vec<DomainRecord>>;
    async fn delete_domain(&self, pool: &str, domain: &str) -> StoreResult<bool>;
}

/// What a compare-and-set ([`PoolStore::update_pool_if`],
/// [`ClientStore::update_client_if`]) did.
#[derive(Debug, Clone, PartialEq)]
pub enum CasOutcome<T = Pool> {
    /// The stored record equalled the expected one and was replaced.
    Written,
    /// Another writer came first: nothing was written; this is the record now stored
    /// (read from the store itself, past any cache), to retry the change on.
    Changed(Box<T>),
    /// The record does not exist (any more).
    Missing,
}

/// A pool's app clients.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    async fn put_client(&self, client: &AppClient) -> StoreResult<()>;
    /// Compare-and-set: writes `new` only when the stored client still equals
    /// `expected`, in one atomic step; never re-creates a deleted client. The admin
    /// service's read-modify-writes of a client (its secrets, a patch) use it, so that
    /// two concurrent changes cannot undo each other.
    async fn update_client_if(
        &self,
        expected: &AppClient,
        new: &AppClient,
    ) -> StoreResult<CasOutcome<AppClient>>;
    async fn get_client(&self, pool: &str, client_id: &str) -> StoreResult<Option<AppClient>>;
    async fn list_clients(&self, pool: &str) -> StoreResult<Vec<AppClient>>;
    async fn delete_client(&self, pool: &str, client_id: &str) -> StoreResult<bool>;
}

/// A pool's resource servers (the custom scopes clients may ask for).
#[async_trait]
pub trait ResourceServerStore: Send + Sync + 'static {
    async fn put_resource_server(&self, rs: &ResourceServer) -> StoreResult<()>;
    async fn get_resource_server(
        &self,
        pool: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>>;
    async fn list_resource_servers(&self, pool: &str) -> StoreResult<Vec<ResourceServer>>;
    async fn delete_resource_server(&self, pool: &str, identifier: &str) -> StoreResult<bool>;
}

/// A pool's identity providers.
#[async_trait]
pub trait ProviderStore: Send + Sync + 'static {
    async fn put_provider(&self, provider: &ProviderRecord) -> StoreResult<()>;
    /// Replaces the provider only while the stored one still has `version ==
    /// expected_version` (compare-and-set on [`ProviderRecord::version`]), atomically;
    /// false, with nothing written, when it changed or was deleted meanwhile (even
    /// within the same second, or deleted and created again). A background writer (the
    /// SAML metadata refresh) thus never reverts an admin change.
    async fn replace_provider(
        &self,
        provider: &ProviderRecord,
        expected_version: &str,
    ) -> StoreResult<bool>;
    async fn get_provider(&self, pool: &str, name: &str) -> StoreResult<Option<ProviderRecord>>;
    async fn list_providers(&self, pool: &str) -> StoreResult<Vec<ProviderRecord>>;
    /// Deletes the provider and every identity link of it (the users stay), so that a
    /// provider created later under the same name starts with no links.
    async fn delete_provider(&self, pool: &str, name: &str) -> StoreResult<bool>;
}
