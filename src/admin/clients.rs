//! App clients and resource servers: a client is checked against the pool's providers
//! and resource-server scopes before it is stored; its secret is shown once.

use super::bodies::{ClientBody, ClientPatch, ResourceServerBody, validate_client};
use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::model::{AppClient, ResourceServer};
use crate::store::CasOutcome;

/// Attempts of a client's compare-and-set before a `Conflict`.
const CLIENT_CAS_ATTEMPTS: usize = 8;
use crate::secret::{Secret, random_token};

/// A client just created, with its secret in clear (stored only as a digest and sealed).
#[derive(Clone)]
pub struct NewClient {
    pub client: AppClient,
    pub secret: Option<String>,
}

impl std::fmt::Debug for NewClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewClient")
            .field("client_id", &self.client.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Admin {
    /// The pool's provider names and resource-server scopes (`{identifier}/{name}`),
    /// which a client may name.
    async fn client_refs(&self, pool: &str) -> AdminResult<(Vec<String>, Vec<String>)> {
        let providers = self
            .store
            .list_providers(pool)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect();
        let scopes = self
            .store
            .list_resource_servers(pool)
            .await?
            .into_iter()
            .flat_map(|rs| {
                rs.scopes
                    .into_iter()
                    .map(move |sc| format!("{}/{}", rs.identifier, sc.name))
            })
            .collect();
        Ok((providers, scopes))
    }

    /// Read, change, compare-and-set, as [`Admin::change_pool`] does for pools: `change`
    /// is applied to the client as stored and written only if nothing changed it
    /// meanwhile (else applied again to the newer record, a few times, then
    /// `Conflict`); a client deleted meanwhile is `NotFound`, never re-created.
    pub(super) async fn change_client<T>(
        &self,
        pool: &str,
        client_id: &str,
        mut change: impl FnMut(&mut AppClient) -> AdminResult<T>,
    ) -> AdminResult<(AppClient, T)> {
        let mut current = self.get_client(pool, client_id).await?;
        for _ in 0..CLIENT_CAS_ATTEMPTS {
            let mut next = current.clone();
            let out = change(&mut next)?;
            match self.store.update_client_if(&current, &next).await? {
                CasOutcome::Written => return Ok((next, out)),
                CasOutcome::Changed(stored) => current = *stored,
                CasOutcome::Missing => return Err(AdminError::NotFound("the client")),
            }
        }
        Err(AdminError::Conflict(
            "the client was changed concurrently; try again".to_owned(),
        ))
    }

    pub(super) async fn check_and_store_client(&self, c: &AppClient) -> AdminResult<()> {
        let (providers, scopes) = self.client_refs(&c.pool_id).await?;
        validate_client(c, &providers, &scopes).map_err(AdminError::Invalid)?;
        self.store.put_client(c).await?;
        Ok(())
    }

    pub async fn list_clients(&self, pool: &str) -> AdminResult<Vec<AppClient>> {
        self.pool(pool).await?;
        Ok(self.store.list_clients(pool).await?)
    }

    pub async fn get_client(&self, pool: &str, client_id: &str) -> AdminResult<AppClient> {
        self.store
            .get_client(pool, client_id)
            .await?
            .ok_or(AdminError::NotFound("the client"))
    }

    pub async fn create_client(&self, pool: &str, b: ClientBody) -> AdminResult<NewClient> {
        self.pool(pool).await?;
        // Cognito-shaped ids: 26 lower-case alphanumerics.
        let client_id: String = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(26)
            .collect();
        let secret = b.generate_secret.then(|| random_token(32));
        let now = self.clock.now();
        let mut client = b.into_client(pool, client_id, None, now);
        if let Some(s) = &secret {
            let id = format!("{}--{}", client.client_id, now.saturating_mul(1000));
            let rec = self.seal_secret(&client, id, now, &Secret::new(s.clone()))?;
            client.secret_hash = Some(rec.hash.clone());
            client.secrets = vec![rec];
        }
        self.check_and_store_client(&client).await?;
        Ok(NewClient { client, secret })
    }

    pub async fn patch_client(
        &self,
        pool: &str,
        client_id: &str,
        patch: ClientPatch,
    ) -> AdminResult<AppClient> {
        let (providers, scopes) = self.client_refs(pool).await?;
        let (c, ()) = self
            .change_client(pool, client_id, |c| {
                patch.clone().apply(c);
                validate_client(c, &providers, &scopes).map_err(AdminError::Invalid)
            })
            .await?;
        Ok(c)
    }

    pub async fn delete_client(&self, pool: &str, client_id: &str) -> AdminResult<()> {
        if !self.store.delete_client(pool, client_id).await? {
            return Err(AdminError::NotFound("the client"));
        }
        Ok(())
    }

    pub async fn list_resource_servers(&self, pool: &str) -> AdminResult<Vec<ResourceServer>> {
        self.pool(pool).await?;
        Ok(self.store.list_resource_servers(pool).await?)
    }

    /// Creates or replaces a resource server; its scopes become `{identifier}/{name}`.
    pub async fn put_resource_server(
        &self,
        pool: &str,
        identifier: &str,
        b: ResourceServerBody,
    ) -> AdminResult<ResourceServer> {
        self.pool(pool).await?;
        let mut problems = Vec::new();
        if identifier.is_empty()
            || identifier.len() > 256
            || identifier.chars().any(char::is_whitespace)
        {
            problems.push("identifier: 1 to 256 characters, no spaces".to_owned());
        }
        for sc in &b.scopes {
            if sc.name.is_empty()
                || sc.name.len() > 256
                || sc.name.contains(' ')
                || sc.name.contains('/')
            {
                problems.push(format!("scopes: invalid scope name {:?}", sc.name));
            }
        }
        if !problems.is_empty() {
            return Err(AdminError::Invalid(problems));
        }
        let rs = ResourceServer {
            pool_id: pool.to_owned(),
            identifier: identifier.to_owned(),
            name: b.name,
            scopes: b.scopes,
        };
        self.store.put_resource_server(&rs).await?;
        Ok(rs)
    }

    pub async fn get_resource_server(
        &self,
        pool: &str,
        identifier: &str,
    ) -> AdminResult<ResourceServer> {
        self.store
            .get_resource_server(pool, identifier)
            .await?
            .ok_or(AdminError::NotFound("the resource server"))
    }

    pub async fn delete_resource_server(&self, pool: &str, identifier: &str) -> AdminResult<()> {
        if !self.store.delete_resource_server(pool, identifier).await? {
            return Err(AdminError::NotFound("the resource server"));
        }
        Ok(())
    }
}
