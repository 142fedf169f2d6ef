//! The store traits for [`RedisStore`], delegating to the backend's modules.

use std::time::Duration;

use async_trait::async_trait;

use super::cache::{Changed, Slot};
use super::keys::PoolKeys;
use super::{RedisStore, listing, pending_links, records, tokens, users};
use crate::model::{
    AppClient, DomainRecord, IdentityLink, Page, Pool, ProviderRecord, RefreshTokenRecord,
    ResourceServer, SigningKeyRecord, User, UserFilter,
};
use crate::store::{
    Backend, CasOutcome, ClientStore, CreateUserOutcome, Ephemeral, EphemeralKind, KeyStore,
    LinkOutcome, PoolStore, ProviderStore, RefreshStore, ResourceServerStore, RotateOutcome,
    StoreError, StoreResult, UserPatch, UserStore,
};

/// Compare-and-swap of the SP keys. KEYS: sp-keys. ARGV: expected, new.
static SP_KEYS_SWAP: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    super::script(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0",
    )
});

#[async_trait]
impl PoolStore for RedisStore {
    async fn create_pool(&self, pool: &Pool) -> StoreResult<()> {
        let changed = Changed::Pool(pool.id.clone());
        self.written(changed, records::create_pool(self, pool))
            .await
    }
    async fn get_pool(&self, id: &str) -> StoreResult<Option<Pool>> {
        self.cached(Slot::Pool(id), records::get_pool(self, id))
            .await
    }
    async fn list_pools(&self) -> StoreResult<Vec<Pool>> {
        records::list_pools(self).await
    }
    async fn update_pool(&self, pool: &Pool) -> StoreResult<bool> {
        let changed = Changed::Pool(pool.id.clone());
        self.written(changed, records::update_pool(self, pool))
            .await
    }
    async fn update_pool_if(&self, expected: &Pool, new: &Pool) -> StoreResult<CasOutcome> {
        let changed = Changed::Pool(new.id.clone());
        self.written(changed, records::update_pool_if(self, expected, new))
            .await
    }
    async fn delete_pool(&self, id: &str) -> StoreResult<bool> {
        let changed = Changed::Pool(id.to_owned());
        self.written(changed, records::delete_pool(self, id)).await
    }
    async fn put_domain(&self, domain: &DomainRecord) -> StoreResult<()> {
        let changed = Changed::Domain(domain.domain.clone());
        self.written(changed, records::put_domain(self, domain))
            .await
    }
    async fn get_domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>> {
        self.cached(Slot::Domain(domain), records::get_domain(self, domain))
            .await
    }
    async fn list_domains(&self, pool: Option<&str>) -> StoreResult<Vec<DomainRecord>> {
        records::list_domains(self, pool).await
    }
    async fn delete_domain(&self, pool: &str, domain: &str) -> StoreResult<bool> {
        let changed = Changed::Domain(domain.to_owned());
        self.written(changed, records::delete_domain(self, pool, domain))
            .await
    }
}

#[async_trait]
impl ClientStore for RedisStore {
    async fn put_client(&self, client: &AppClient) -> StoreResult<()> {
        let key = PoolKeys::new(&client.pool_id).clients();
        let changed = Changed::Client(client.pool_id.clone(), client.client_id.clone());
        self.written(
            changed,
            records::hash_put(self, &key, &client.client_id, client),
        )
        .await
    }
    async fn update_client_if(
        &self,
        expected: &AppClient,
        new: &AppClient,
    ) -> StoreResult<CasOutcome<AppClient>> {
        if (&expected.pool_id, &expected.client_id) != (&new.pool_id, &new.client_id) {
            return Err(StoreError::Invalid(
                "a compare-and-set cannot change a client's id".to_owned(),
            ));
        }
        let key = PoolKeys::new(&new.pool_id).clients();
        let changed = Changed::Client(new.pool_id.clone(), new.client_id.clone());
        self.written(
            changed,
            records::hash_replace_if_equal(self, &key, &new.client_id, expected, new),
        )
        .await
    }
    async fn get_client(&self, pool: &str, client_id: &str) -> StoreResult<Option<AppClient>> {
        let key = PoolKeys::new(pool).clients();
        self.cached(
            Slot::Client(pool, client_id),
            records::hash_get(self, &key, client_id),
        )
        .await
    }
    async fn list_clients(&self, pool: &str) -> StoreResult<Vec<AppClient>> {
        let mut all: Vec<AppClient> =
            records::hash_values(self, &PoolKeys::new(pool).clients()).await?;
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(all)
    }
    async fn delete_client(&self, pool: &str, client_id: &str) -> StoreResult<bool> {
        let key = PoolKeys::new(pool).clients();
        let changed = Changed::Client(pool.to_owned(), client_id.to_owned());
        self.written(changed, records::hash_delete(self, &key, client_id))
            .await
    }
}

#[async_trait]
impl ProviderStore for RedisStore {
    async fn put_provider(&self, provider: &ProviderRecord) -> StoreResult<()> {
        let key = PoolKeys::new(&provider.pool_id).providers();
        let changed = Changed::Provider(provider.pool_id.clone(), provider.name.clone());
        self.written(
            changed,
            records::hash_put(self, &key, &provider.name, provider),
        )
        .await
    }
    async fn replace_provider(
        &self,
        provider: &ProviderRecord,
        expected_version: &str,
    ) -> StoreResult<bool> {
        let key = PoolKeys::new(&provider.pool_id).providers();
        let changed = Changed::Provider(provider.pool_id.clone(), provider.name.clone());
        let write = records::hash_replace_if_version(
            self,
            &key,
            &provider.name,
            provider,
            expected_version,
        );
        self.written(changed, write).await
    }
    async fn get_provider(&self, pool: &str, name: &str) -> StoreResult<Option<ProviderRecord>> {
        let key = PoolKeys::new(pool).providers();
        self.cached(
            Slot::Provider(pool, name),
            records::hash_get(self, &key, name),
        )
        .await
    }
    async fn list_providers(&self, pool: &str) -> StoreResult<Vec<ProviderRecord>> {
        let mut all: Vec<ProviderRecord> =
            records::hash_values(self, &PoolKeys::new(pool).providers()).await?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }
    async fn delete_provider(&self, pool: &str, name: &str) -> StoreResult<bool> {
        // Links and pending links first: an interrupted delete leaves the provider in
        // place and deleting it again finishes. A sign-in that linked while the record
        // was going is unlinked by the second pass.
        let changed = Changed::Provider(pool.to_owned(), name.to_owned());
        self.written(changed, async {
            users::unlink_provider(self, pool, name).await?;
            pending_links::forget_provider(self, pool, name).await?;
            let key = PoolKeys::new(pool).providers();
            let deleted = records::hash_delete(self, &key, name).await?;
            users::unlink_provider(self, pool, name).await?;
            pending_links::forget_provider(self, pool, name).await?;
            Ok(deleted)
        })
        .await
    }
}

#[async_trait]
impl ResourceServerStore for RedisStore {
    async fn put_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        let key = PoolKeys::new(&rs.pool_id).resource_servers();
        let changed = Changed::ResourceServer(rs.pool_id.clone(), rs.identifier.clone());
        self.written(changed, records::hash_put(self, &key, &rs.identifier, rs))
            .await
    }
    async fn get_resource_server(
        &self,
        pool: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>> {
        let key = PoolKeys::new(pool).resource_servers();
        self.cached(
            Slot::ResourceServer(pool, identifier),
            records::hash_get(self, &key, identifier),
        )
        .await
    }
    async fn list_resource_servers(&self, pool: &str) -> StoreResult<Vec<ResourceServer>> {
        let mut all: Vec<ResourceServer> =
            records::hash_values(self, &PoolKeys::new(pool).resource_servers()).await?;
        all.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        Ok(all)
    }
    async fn delete_resource_server(&self, pool: &str, identifier: &str) -> StoreResult<bool> {
        let key = PoolKeys::new(pool).resource_servers();
        let changed = Changed::ResourceServer(pool.to_owned(), identifier.to_owned());
        self.written(changed, records::hash_delete(self, &key, identifier))
            .await
    }
}

#[async_trait]
impl UserStore for RedisStore {
    async fn get_user(&self, pool: &str, user_id: &str) -> StoreResult<Option<User>> {
        users::get_user(self, pool, user_id).await
    }
    async fn get_user_by_username(&self, pool: &str, username: &str) -> StoreResult<Option<User>> {
        users::get_user_by_username(self, pool, username).await
    }
    async fn find_users_by_email(&self, pool: &str, email_norm: &str) -> StoreResult<Vec<User>> {
        users::find_users_by_email(self, pool, email_norm).await
    }
    async fn list_users(
        &self,
        pool: &str,
        filter: &UserFilter,
        limit: usize,
        cursor: Option<&str>,
    ) -> StoreResult<Page<User>> {
        listing::list_users(self, pool, filter, limit, cursor).await
    }
    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        users::update_user(self, user).await
    }
    async fn patch_user(
        &self,
        pool: &str,
        user_id: &str,
        patch: &UserPatch,
    ) -> StoreResult<Option<User>> {
        users::patch_user(self, pool, user_id, patch).await
    }
    async fn delete_user(&self, pool: &str, user_id: &str) -> StoreResult<bool> {
        // Its pending links first: an interrupted delete leaves the user in place, and
        // deleting it again finishes.
        pending_links::forget_user(self, pool, user_id).await?;
        users::delete_user(self, pool, user_id).await
    }
    async fn find_identity(
        &self,
        pool: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<IdentityLink>> {
        users::find_identity(self, pool, provider, subject).await
    }
    async fn list_identities(&self, pool: &str, user_id: &str) -> StoreResult<Vec<IdentityLink>> {
        users::list_identities(self, pool, user_id).await
    }
    async fn create_user_with_identity(
        &self,
        user: &User,
        link: &IdentityLink,
    ) -> StoreResult<CreateUserOutcome> {
        users::create_user_with_identity(self, user, link).await
    }
    async fn link_identity(
        &self,
        link: &IdentityLink,
        max_links: usize,
    ) -> StoreResult<LinkOutcome> {
        users::link_identity(self, link, max_links).await
    }
    async fn unlink_identity(
        &self,
        pool: &str,
        user_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<bool> {
        users::unlink_identity(self, pool, user_id, provider, subject).await
    }
}

#[async_trait]
impl KeyStore for RedisStore {
    async fn list_keys(&self, pool: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let read = async { tokens::list_keys(self, pool).await.map(Some) };
        Ok(self
            .cached(Slot::Keys(pool), read)
            .await?
            .unwrap_or_default())
    }
    async fn insert_initial_key(&self, key: &SigningKeyRecord) -> StoreResult<bool> {
        let changed = Changed::Keys(key.pool_id.clone());
        self.written(changed, tokens::insert_initial_key(self, key))
            .await
    }
    async fn rotate_key(
        &self,
        key: &SigningKeyRecord,
        old_visible_until: i64,
        now: i64,
    ) -> StoreResult<()> {
        let changed = Changed::Keys(key.pool_id.clone());
        self.written(
            changed,
            tokens::rotate_key(self, key, old_visible_until, now),
        )
        .await
    }
    async fn get_sp_keys(&self, pool: &str) -> StoreResult<Option<String>> {
        let key = PoolKeys::new(pool).sp_keys();
        self.cached(Slot::SpKeys(pool), self.query(redis::cmd("GET").arg(key)))
            .await
    }
    async fn put_sp_keys(
        &self,
        pool: &str,
        json: &str,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        let key = PoolKeys::new(pool).sp_keys();
        let changed = Changed::SpKeys(pool.to_owned());
        self.written(changed, async {
            match expected {
                None => {
                    let set: Option<String> = self
                        .query(redis::cmd("SET").arg(&key).arg(json).arg("NX"))
                        .await?;
                    Ok(set.is_some())
                }
                Some(old) => {
                    let n: i64 = self.eval(SP_KEYS_SWAP.key(&key).arg(old).arg(json)).await?;
                    Ok(n == 1)
                }
            }
        })
        .await
    }
}

#[async_trait]
impl RefreshStore for RedisStore {
    async fn insert_refresh(&self, token: &RefreshTokenRecord) -> StoreResult<()> {
        tokens::insert_refresh(self, token).await
    }
    async fn get_refresh(
        &self,
        pool: &str,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        tokens::get_refresh(self, pool, token_hash).await
    }
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        new: &RefreshTokenRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        tokens::rotate_refresh(self, token_hash, new, now).await
    }
    async fn revoke_refresh_family(&self, pool: &str, family_id: &str) -> StoreResult<u64> {
        tokens::revoke_refresh_family(self, pool, family_id).await
    }
    async fn revoke_user_refresh(&self, pool: &str, user_id: &str) -> StoreResult<u64> {
        tokens::revoke_user_refresh(self, pool, user_id).await
    }
}

#[async_trait]
impl Ephemeral for RedisStore {
    async fn put(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<()> {
        records::put(self, pool, kind, key, value, ttl).await
    }
    async fn put_if_absent(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool> {
        records::put_if_absent(self, pool, kind, key, value, ttl).await
    }
    async fn take(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        records::take(self, pool, kind, key).await
    }
    async fn get(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        records::get(self, pool, kind, key).await
    }
    async fn take_and_put(
        &self,
        pool: &str,
        take_kind: EphemeralKind,
        take_key: &str,
        put_kind: EphemeralKind,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>> {
        records::take_and_put(
            self,
            pool,
            (take_kind, take_key),
            (put_kind, put_key),
            value,
            ttl,
        )
        .await
    }
}

#[async_trait]
impl Backend for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.ping_once().await
    }

    /// One script in the pool's slot: the code, its used-mark, the refresh token and
    /// the family's revocation mark are keys of one pool.
    async fn redeem_code(
        &self,
        r: &crate::store::Redemption<'_>,
    ) -> StoreResult<crate::store::Redeemed> {
        super::redeem::redeem_code(self, r).await
    }
}
