//! Where a Cognito API call lands: the pool of an app client (the API names clients,
//! not hosts), the issuer its tokens carry, and the pool of an access token presented
//! back (read from its `iss`, then verified with that pool's keys).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

use super::NativeError;
use crate::config::is_loopback_host;
use crate::flow::{Flow, PoolCtx};
use crate::model::{AppClient, IssuerStyle, Pool};

/// The scheme a pool domain's issuer has when no request says otherwise: the public
/// URL's for its own domain, `http` for loopback, else `https` (TLS in front).
fn scheme_for(domain: &str, public_url: &Url) -> &'static str {
    let public = match public_url.port() {
        Some(p) => format!("{}:{p}", public_url.host_str().unwrap_or_default()),
        None => public_url.host_str().unwrap_or_default().to_owned(),
    };
    let host = domain
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(domain, |(h, _)| h);
    if domain.eq_ignore_ascii_case(&public) {
        if public_url.scheme() == "https" {
            "https"
        } else {
            "http"
        }
    } else if is_loopback_host(host) {
        "http"
    } else {
        "https"
    }
}

/// `{POOLGATE_PUBLIC_URL}/{pool id}`, the issuer of a pool with `issuer_style: cognito`.
fn cognito_issuer(public_url: &Url, pool: &str) -> String {
    format!("{}/{pool}", public_url.as_str().trim_end_matches('/'))
}

fn ctx_for(pool: Pool, issuer: String) -> Result<PoolCtx, NativeError> {
    let base = Url::parse(&issuer)
        .map_err(|e| crate::flow::FlowError::internal("parse the pool issuer", e))?;
    Ok(PoolCtx { pool, issuer, base })
}

impl Flow {
    /// The app client `client_id`, in whichever pool holds it.
    pub async fn find_client_any_pool(
        &self,
        client_id: &str,
    ) -> Result<Option<(Pool, AppClient)>, NativeError> {
        if client_id.is_empty() || client_id.len() > 128 {
            return Ok(None);
        }
        for pool in self.store.list_pools().await? {
            if let Some(c) = self.store.get_client(&pool.id, client_id).await? {
                return Ok(Some((pool, c)));
            }
        }
        Ok(None)
    }

    /// The context of tokens issued through the API in `pool`: the issuer of the
    /// public URL's domain when the pool owns it, else of the pool's first domain.
    pub async fn api_pool_ctx(&self, pool: Pool, public_url: &Url) -> Result<PoolCtx, NativeError> {
        let mut domains: Vec<String> = self
            .store
            .list_domains(Some(&pool.id))
            .await?
            .into_iter()
            .map(|d| d.domain)
            .collect();
        domains.sort();
        let public = public_url.host_str().map(|h| match public_url.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_owned(),
        });
        let domain = match public {
            Some(p) if domains.contains(&p) => p,
            _ => match domains.into_iter().next() {
                Some(d) => d,
                // A Cognito-style issuer needs no domain (as Cognito, whose pools issue
                // tokens through the API without one); no hosted endpoint is named.
                None if pool.settings.issuer_style == IssuerStyle::Cognito => {
                    let issuer = cognito_issuer(public_url, &pool.id);
                    let base = public_url.clone();
                    return Ok(PoolCtx { pool, issuer, base });
                }
                None => {
                    return Err(NativeError::ResourceNotFound(
                        "The user pool has no domain to issue tokens for.".into(),
                    ));
                }
            },
        };
        let origin = format!("{}://{domain}", scheme_for(&domain, public_url));
        if pool.settings.issuer_style == IssuerStyle::Cognito {
            // The issuer is `{POOLGATE_PUBLIC_URL}/{pool id}`; endpoints stay on the
            // pool's domain (interface.md section 3).
            let base = Url::parse(&origin)
                .map_err(|e| crate::flow::FlowError::internal("parse the request origin", e))?;
            let issuer = cognito_issuer(public_url, &pool.id);
            return Ok(PoolCtx { pool, issuer, base });
        }
        ctx_for(pool, origin)
    }

    /// The context an access token claims (its `iss`, a domain of some pool). The
    /// token itself is verified afterwards against that pool's keys and issuer.
    pub async fn token_pool_ctx(
        &self,
        token: &str,
        public_url: &Url,
    ) -> Result<PoolCtx, NativeError> {
        let invalid = || NativeError::NotAuthorized("Invalid Access Token".into());
        if token.len() > 8192 {
            return Err(invalid());
        }
        let payload = token.split('.').nth(1).ok_or_else(invalid)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let iss = claims
            .get("iss")
            .and_then(|v| v.as_str())
            .ok_or_else(invalid)?;
        let url = Url::parse(iss).map_err(|_| invalid())?;
        let host = url.host_str().ok_or_else(invalid)?.to_ascii_lowercase();
        let domain = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        // A Cognito-style issuer names the pool in its path under the public URL.
        let path = url.path().trim_matches('/');
        if !path.is_empty() {
            let pool = self.pool_by_id(path).await?.ok_or_else(invalid)?;
            if pool.settings.issuer_style != IssuerStyle::Cognito
                || cognito_issuer(public_url, &pool.id) != iss.trim_end_matches('/')
            {
                return Err(invalid());
            }
            let base = match self.first_domain(&pool.id).await? {
                Some(d) => Url::parse(&format!("{}://{d}", scheme_for(&d, public_url)))
                    .map_err(|_| invalid())?,
                // No domain: no hosted endpoint; the issuer still verifies.
                None => public_url.clone(),
            };
            let issuer = iss.trim_end_matches('/').to_owned();
            return Ok(PoolCtx { pool, issuer, base });
        }
        let pool = self.pool_for_domain(&domain).await?.ok_or_else(invalid)?;
        if url.scheme() != "https" && url.scheme() != scheme_for(&domain, public_url) {
            return Err(invalid());
        }
        ctx_for(pool, iss.trim_end_matches('/').to_owned())
    }
}
