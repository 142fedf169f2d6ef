//! The store's capability traits and `Backend` for `SqliteStore`: each method copies
//! its arguments and runs the matching blocking function on the connection.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::Connection;

use super::cache::RecordCache;
use super::records::{CLIENTS, Keyed, PROVIDERS, RESOURCE_SERVERS};
use super::{SqliteStore, db_err, ephemeral, records, to_json, tokens, users};
use crate::model::{
    AppClient, DomainRecord, IdentityLink, Page, Pool, ProviderRecord, RefreshTokenRecord,
    ResourceServer, SigningKeyRecord, User, UserFilter,
};
use crate::store::memory::Swap;
use crate::store::{
    Backend, CasOutcome, ClientStore, CreateUserOutcome, KeyStore, LinkOutcome, PoolStore,
    ProviderStore, Redeemed, Redemption, RefreshStore, ResourceServerStore, RotateOutcome,
    StoreError, StoreResult, UserPatch, UserStore, redeem_stepwise,
};

#[async_trait]
impl PoolStore for SqliteStore {
    async fn create_pool(&self, pool: &Pool) -> StoreResult<()> {
        let pool = pool.clone();
        self.run(move |c| records::create_pool(c, &pool)).await
    }
    async fn get_pool(&self, id: &str) -> StoreResult<Option<Pool>> {
        let id = id.to_owned();
        self.read(move |c| records::get_pool(c, &id)).await
    }
    async fn list_pools(&self) -> StoreResult<Vec<Pool>> {
        self.run(|c| records::list_pools(c)).await
    }
    async fn update_pool(&self, pool: &Pool) -> StoreResult<bool> {
        let pool = pool.clone();
        self.run(move |c| records::update_pool(c, &pool)).await
    }
    async fn update_pool_if(&self, expected: &Pool, new: &Pool) -> StoreResult<CasOutcome> {
        let (expected, new) = (expected.clone(), new.clone());
        self.run(move |c| records::update_pool_if(c, &expected, &new))
            .await
    }
    async fn delete_pool(&self, id: &str) -> StoreResult<bool> {
        let pool = id.to_owned();
        let (clients, providers, volatile) = (
            self.clients.clone(),
            self.providers.clone(),
            self.volatile.clone(),
        );
        // What is kept in memory is dropped inside the closure, which runs to its end
        // even when this call is abandoned (a client hanging up mid-request).
        self.run(move |c| {
            let deleted = records::delete_pool(c, &pool);
            clients.forget(&pool, None);
            providers.forget(&pool, None);
            volatile.remove_pool(&pool)?;
            deleted
        })
        .await
    }
    async fn put_domain(&self, domain: &DomainRecord) -> StoreResult<()> {
        let domain = domain.clone();
        self.run(move |c| records::put_domain(c, &domain)).await
    }
    async fn get_domain(&self, domain: &str) -> StoreResult<Option<DomainRecord>> {
        let domain = domain.to_owned();
        self.read(move |c| records::get_domain(c, &domain)).await
    }
    async fn list_domains(&self, pool: Option<&str>) -> StoreResult<Vec<DomainRecord>> {
        let pool = pool.map(str::to_owned);
        self.run(move |c| records::list_domains(c, pool.as_deref()))
            .await
    }
    async fn delete_domain(&self, pool: &str, domain: &str) -> StoreResult<bool> {
        let (pool, domain) = (pool.to_owned(), domain.to_owned());
        self.run(move |c| records::delete_domain(c, &pool, &domain))
            .await
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn put_client(&self, client: &AppClient) -> StoreResult<()> {
        let data = to_json(client)?;
        self.write_cached(
            &self.clients,
            &client.pool_id,
            &client.client_id,
            move |c, p, id| CLIENTS.put(c, p, id, &data),
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
        let (expected, data) = (expected.clone(), to_json(new)?);
        self.write_cached(
            &self.clients,
            &new.pool_id,
            &new.client_id,
            move |c, p, id| CLIENTS.replace_if_equal(c, p, id, &expected, &data),
        )
        .await
    }
    async fn get_client(&self, pool: &str, client_id: &str) -> StoreResult<Option<AppClient>> {
        self.read_cached(&self.clients, CLIENTS, pool, client_id)
            .await
    }
    async fn list_clients(&self, pool: &str) -> StoreResult<Vec<AppClient>> {
        let pool = pool.to_owned();
        self.run(move |c| CLIENTS.list(c, &pool)).await
    }
    async fn delete_client(&self, pool: &str, client_id: &str) -> StoreResult<bool> {
        self.write_cached(&self.clients, pool, client_id, |c, p, id| {
            CLIENTS.delete(c, p, id)
        })
        .await
    }
}

#[async_trait]
impl ProviderStore for SqliteStore {
    async fn put_provider(&self, provider: &ProviderRecord) -> StoreResult<()> {
        let data = to_json(provider)?;
        self.write_cached(
            &self.providers,
            &provider.pool_id,
            &provider.name,
            move |c, p, n| PROVIDERS.put(c, p, n, &data),
        )
        .await
    }
    async fn replace_provider(
        &self,
        provider: &ProviderRecord,
        expected_version: &str,
    ) -> StoreResult<bool> {
        let expected_version = expected_version.to_owned();
        let data = to_json(provider)?;
        self.write_cached(
            &self.providers,
            &provider.pool_id,
            &provider.name,
            move |c, p, n| PROVIDERS.replace_if_version(c, p, n, &data, &expected_version),
        )
        .await
    }
    async fn get_provider(&self, pool: &str, name: &str) -> StoreResult<Option<ProviderRecord>> {
        self.read_cached(&self.providers, PROVIDERS, pool, name)
            .await
    }
    async fn list_providers(&self, pool: &str) -> StoreResult<Vec<ProviderRecord>> {
        let pool = pool.to_owned();
        self.run(move |c| PROVIDERS.list(c, &pool)).await
    }
    async fn delete_provider(&self, pool: &str, name: &str) -> StoreResult<bool> {
        // The provider's identity links and pending links go with it, in the same
        // transaction: a provider created later under this name (perhaps at another
        // IdP, whose subjects may collide) starts with no links. The users stay.
        self.write_cached(&self.providers, pool, name, |c, p, n| {
            let tx = c.unchecked_transaction().map_err(db_err)?;
            let deleted = PROVIDERS.delete(&tx, p, n)?;
            users::delete_provider_links(&tx, p, n)?;
            super::pending_links::delete_provider_pending(&tx, p, n)?;
            tx.commit().map_err(db_err)?;
            Ok(deleted)
        })
        .await
    }
}

#[async_trait]
impl ResourceServerStore for SqliteStore {
    async fn put_resource_server(&self, rs: &ResourceServer) -> StoreResult<()> {
        let (pool, id, data) = (rs.pool_id.clone(), rs.identifier.clone(), to_json(rs)?);
        self.run(move |c| RESOURCE_SERVERS.put(c, &pool, &id, &data))
            .await
    }
    async fn get_resource_server(
        &self,
        pool: &str,
        identifier: &str,
    ) -> StoreResult<Option<ResourceServer>> {
        let (pool, id) = (pool.to_owned(), identifier.to_owned());
        self.read(move |c| RESOURCE_SERVERS.get(c, &pool, &id))
            .await
    }
    async fn list_resource_servers(&self, pool: &str) -> StoreResult<Vec<ResourceServer>> {
        let pool = pool.to_owned();
        self.run(move |c| RESOURCE_SERVERS.list(c, &pool)).await
    }
    async fn delete_resource_server(&self, pool: &str, identifier: &str) -> StoreResult<bool> {
        let (pool, id) = (pool.to_owned(), identifier.to_owned());
        self.run(move |c| RESOURCE_SERVERS.delete(c, &pool, &id))
            .await
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn get_user(&self, pool: &str, user_id: &str) -> StoreResult<Option<User>> {
        let (pool, id) = (pool.to_owned(), user_id.to_owned());
        self.read(move |c| users::get_user(c, &pool, &id)).await
    }
    async fn get_user_by_username(&self, pool: &str, username: &str) -> StoreResult<Option<User>> {
        let (pool, name) = (pool.to_owned(), username.to_owned());
        self.read(move |c| users::get_user_by_username(c, &pool, &name))
            .await
    }
    async fn find_users_by_email(&self, pool: &str, email_norm: &str) -> StoreResult<Vec<User>> {
        let (pool, email) = (pool.to_owned(), email_norm.to_owned());
        self.read(move |c| users::find_users_by_email(c, &pool, &email))
            .await
    }
    async fn list_users(
        &self,
        pool: &str,
        filter: &UserFilter,
        limit: usize,
        cursor: Option<&str>,
    ) -> StoreResult<Page<User>> {
        let (pool, filter, cursor) = (pool.to_owned(), filter.clone(), cursor.map(str::to_owned));
        self.run(move |c| users::list_users(c, &pool, &filter, limit, cursor.as_deref()))
            .await
    }
    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        let user = user.clone();
        self.run(move |c| users::update_user(c, &user)).await
    }
    async fn patch_user(
        &self,
        pool: &str,
        user_id: &str,
        patch: &UserPatch,
    ) -> StoreResult<Option<User>> {
        let (pool, id, patch) = (pool.to_owned(), user_id.to_owned(), patch.clone());
        self.run(move |c| users::patch_user(c, &pool, &id, &patch))
            .await
    }
    async fn delete_user(&self, pool: &str, user_id: &str) -> StoreResult<bool> {
        let (pool, id) = (pool.to_owned(), user_id.to_owned());
        self.run(move |c| users::delete_user(c, &pool, &id)).await
    }
    async fn find_identity(
        &self,
        pool: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<IdentityLink>> {
        let (pool, provider, subject) = (pool.to_owned(), provider.to_owned(), subject.to_owned());
        self.read(move |c| users::find_identity(c, &pool, &provider, &subject))
            .await
    }
    async fn list_identities(&self, pool: &str, user_id: &str) -> StoreResult<Vec<IdentityLink>> {
        let (pool, id) = (pool.to_owned(), user_id.to_owned());
        self.read(move |c| users::list_identities(c, &pool, &id))
            .await
    }
    async fn get_user_with_identities(
        &self,
        pool: &str,
        user_id: &str,
    ) -> StoreResult<Option<(User, Vec<IdentityLink>)>> {
        let (pool, id) = (pool.to_owned(), user_id.to_owned());
        self.read(move |c| {
            // One read transaction: a consistent pair, and one lock round instead of two.
            let tx = c.transaction().map_err(db_err)?;
            let Some(user) = users::get_user(&tx, &pool, &id)? else {
                return Ok(None);
            };
            let links = users::list_identities(&tx, &pool, &id)?;
            tx.commit().map_err(db_err)?;
            Ok(Some((user, links)))
        })
        .await
    }
    async fn create_user_with_identity(
        &self,
        user: &User,
        link: &IdentityLink,
    ) -> StoreResult<CreateUserOutcome> {
        let (user, link) = (user.clone(), link.clone());
        self.run(move |c| users::create_user_with_identity(c, &user, &link))
            .await
    }
    async fn link_identity(
        &self,
        link: &IdentityLink,
        max_links: usize,
    ) -> StoreResult<LinkOutcome> {
        let link = link.clone();
        self.run(move |c| users::link_identity(c, &link, max_links))
            .await
    }
    async fn unlink_identity(
        &self,
        pool: &str,
        user_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<bool> {
        let args = [pool, user_id, provider, subject].map(str::to_owned);
        self.run(move |c| users::unlink_identity(c, &args[0], &args[1], &args[2], &args[3]))
            .await
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn list_keys(&self, pool: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let pool = pool.to_owned();
        self.read(move |c| tokens::list_keys(c, &pool)).await
    }
    async fn insert_initial_key(&self, key: &SigningKeyRecord) -> StoreResult<bool> {
        let key = key.clone();
        self.run(move |c| tokens::insert_initial_key(c, &key)).await
    }
    async fn rotate_key(
        &self,
        key: &SigningKeyRecord,
        old_visible_until: i64,
        now: i64,
    ) -> StoreResult<()> {
        let key = key.clone();
        self.run(move |c| tokens::rotate_key(c, &key, old_visible_until, now))
            .await
    }
    async fn get_sp_keys(&self, pool: &str) -> StoreResult<Option<String>> {
        let pool = pool.to_owned();
        self.run(move |c| {
            use rusqlite::OptionalExtension;
            c.query_row(
                "SELECT data FROM sp_keys WHERE pool_id = ?1",
                [&pool],
                |row| row.get(0),
            )
            .optional()
            .map_err(db_err)
        })
        .await
    }
    async fn put_sp_keys(
        &self,
        pool: &str,
        json: &str,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        let (pool, json) = (pool.to_owned(), json.to_owned());
        let expected = expected.map(str::to_owned);
        self.run(move |c| {
            // One statement each way: insert-if-absent, or compare-and-swap.
            let n = match &expected {
                None => super::exec(
                    c,
                    "INSERT INTO sp_keys (pool_id, data) VALUES (?1, ?2) ON CONFLICT (pool_id) DO NOTHING",
                    [&pool, &json],
                )?,
                Some(old) => super::exec(
                    c,
                    "UPDATE sp_keys SET data = ?2 WHERE pool_id = ?1 AND data = ?3",
                    [&pool, &json, old],
                )?,
            };
            Ok(n > 0)
        })
        .await
    }
}

#[async_trait]
impl RefreshStore for SqliteStore {
    async fn insert_refresh(&self, token: &RefreshTokenRecord) -> StoreResult<()> {
        let token = token.clone();
        self.run(move |c| tokens::insert_refresh(c, &token)).await
    }
    async fn get_refresh(
        &self,
        pool: &str,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        let (pool, hash) = (pool.to_owned(), token_hash.to_owned());
        self.read(move |c| tokens::get_refresh(c, &pool, &hash))
            .await
    }
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        new: &RefreshTokenRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        let (hash, new) = (token_hash.to_owned(), new.clone());
        self.run(move |c| tokens::rotate_refresh(c, &hash, &new, now))
            .await
    }
    async fn revoke_refresh_family(&self, pool: &str, family_id: &str) -> StoreResult<u64> {
        let (pool, family) = (pool.to_owned(), family_id.to_owned());
        self.run(move |c| tokens::revoke_refresh_family(c, &pool, &family))
            .await
    }
    async fn revoke_user_refresh(&self, pool: &str, user_id: &str) -> StoreResult<u64> {
        let (pool, id) = (pool.to_owned(), user_id.to_owned());
        self.run(move |c| tokens::revoke_user_refresh(c, &pool, &id))
            .await
    }
}

impl SqliteStore {
    /// A client or provider: the cached copy, else read from `table` and kept (unless a
    /// write raced the read).
    async fn read_cached<T>(
        &self,
        cache: &RecordCache<T>,
        table: Keyed,
        pool: &str,
        id: &str,
    ) -> StoreResult<Option<T>>
    where
        T: Clone + serde::de::DeserializeOwned + Send + 'static,
    {
        let generation = match cache.get(pool, id) {
            Ok(found) => return Ok(Some(found)),
            Err(g) => g,
        };
        let (p, i) = (pool.to_owned(), id.to_owned());
        let found = self.read(move |c| table.get(c, &p, &i)).await?;
        if let Some(record) = &found {
            cache.fill(generation, pool, id, record);
        }
        Ok(found)
    }

    /// A write of one client or provider (`f` gets the pool and the id); its cached copy
    /// is dropped inside the closure, which runs to its end even when this call is
    /// abandoned (a client hanging up mid-request).
    async fn write_cached<T, R, F>(
        &self,
        cache: &Arc<RecordCache<T>>,
        pool: &str,
        id: &str,
        f: F,
    ) -> StoreResult<R>
    where
        T: Clone + Send + Sync + 'static,
        R: Send + 'static,
        F: FnOnce(&Connection, &str, &str) -> StoreResult<R> + Send + 'static,
    {
        let (cache, pool, id) = (Arc::clone(cache), pool.to_owned(), id.to_owned());
        self.run(move |c| {
            let written = f(c, &pool, &id);
            cache.forget(&pool, Some(&id));
            written
        })
        .await
    }
}

#[async_trait]
impl Backend for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        // Reading the schema touches the file, unlike a constant `SELECT 1`.
        self.run(|c| {
            c.prepare_cached("SELECT count(*) FROM sqlite_master")
                .and_then(|mut s| s.query_row([], |row| row.get::<_, i64>(0)))
                .map(drop)
                .map_err(db_err)
        })
        .await
    }

    /// The code and its used-mark are sign-in state held in memory: swapped in one step
    /// under its lock, then the refresh token is stored in one transaction that also
    /// looks for a revocation a replay may have made in between (it found the mark).
    /// Other kinds (no flow uses them) go step by step through the trait's methods.
    async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<Redeemed> {
        if !(r.code_kind.is_sign_in() && r.used_kind.is_sign_in()) {
            return redeem_stepwise(self, r).await;
        }
        let swap = Swap {
            pool: r.pool,
            take: (r.code_kind.as_str(), r.code_key),
            put: (r.used_kind.as_str(), r.code_key),
            value: r.refresh.family_id.as_bytes(),
        };
        let Some(taken) = self.volatile.swap(&swap, r.used_ttl)? else {
            return Ok(Redeemed::NotFound);
        };
        let (revoked_kind, refresh) = (r.revoked_kind.as_str(), r.refresh.clone());
        // The closure's own result is apart from `run`'s: an error inside it means the
        // transaction rolled back, so the code is given back and a retry of the exchange
        // can succeed; an error of `run` itself leaves it unknown whether the token was
        // stored, so the code stays used.
        let stored = self
            .run(move |c| {
                Ok((|| {
                    let tx = c
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .map_err(db_err)?;
                    tokens::insert_refresh(&tx, &refresh)?;
                    let family = refresh.family_id.as_str();
                    let pool = refresh.pool_id.as_str();
                    let now = ephemeral::now_ms();
                    let revoked = ephemeral::get(&tx, pool, revoked_kind, family, now)?.is_some();
                    if revoked {
                        tokens::revoke_refresh_family(&tx, pool, family)?;
                    }
                    tx.commit().map_err(db_err)?;
                    Ok(revoked)
                })())
            })
            .await?;
        match stored {
            Ok(true) => Ok(Redeemed::RevokedMeanwhile),
            Ok(false) => Ok(Redeemed::Redeemed(taken.value)),
            Err(e) => {
                self.volatile.undo(&swap, taken)?;
                Err(e)
            }
        }
    }
}
