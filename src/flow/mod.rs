//! The only place that knows the whole sign-in: validate the app's authorize request,
//! start the upstream step, finish it, resolve the user, issue a code, exchange it for
//! tokens, and the token-management endpoints around them.

pub mod authorize;
pub mod binding;
pub mod client_secrets;
pub mod domains;
pub mod exchange;
pub mod grant;
pub mod hooks;
pub mod issuer;
pub mod native;
pub mod refresh;
pub mod saml;
pub mod saml_logout;
pub mod saml_refresh;
pub mod session;
pub mod test_trace;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::clock::SharedClock;
use crate::hooks::Hooks;
use crate::metrics::Metrics;
use crate::model::{AppClient, Pool, ProviderRecord};
use crate::store::{EphemeralKind, SharedBackend, StoreError};
use crate::token::{KeyError, KeyRing, KeyService};

pub use crate::provider::cache::ProviderCache;

/// Lifetimes of interface.md section 5.
pub const CODE_TTL: Duration = Duration::from_secs(300);
pub const FLOW_TTL: Duration = Duration::from_secs(300);
/// Longest access-token lifetime a client may set (Cognito: one day); revocation marks
/// live this long.
pub const MAX_ACCESS_TTL_S: i64 = 86_400;

/// The pool a request is for, and the issuer it arrived on.
#[derive(Clone, Debug)]
pub struct PoolCtx {
    pub pool: Pool,
    /// The issuer tokens carry: `SCHEME://DOMAIN` of the request, or
    /// `{POOLGATE_PUBLIC_URL}/{pool id}` for `issuer_style: cognito`. No trailing slash.
    pub issuer: String,
    /// `SCHEME://DOMAIN` the request came in on, for building endpoint URLs.
    pub base: Url,
}

impl PoolCtx {
    pub fn endpoint(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        u.set_path(path);
        u
    }
}

/// How an error reaches the user; the http layer renders each kind.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// Before the client and redirect URI are validated: an HTML error page.
    #[error("{message}")]
    Page { status: u16, message: String },
    /// After: back to the app with `error`, `error_description`, `state` (RFC 6749 4.1.2.1).
    #[error("redirect with error")]
    Redirect(Url),
    /// Token-style endpoints: RFC 6749 section 5.2 JSON.
    #[error("{code}: {description}")]
    OAuth {
        status: u16,
        code: &'static str,
        description: String,
    },
    /// The store is unreachable: 503 with Retry-After.
    #[error("store unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl FlowError {
    /// A fault of the gateway: logs what failed and its cause (inside the request's
    /// span, so under its request id); the user sees only a generic page.
    pub fn internal(what: &'static str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error: {what}");
        FlowError::Internal
    }

    pub fn page(status: u16, message: impl Into<String>) -> Self {
        FlowError::Page {
            status,
            message: message.into(),
        }
    }
    pub fn oauth(status: u16, code: &'static str, description: impl Into<String>) -> Self {
        FlowError::OAuth {
            status,
            code,
            description: description.into(),
        }
    }
    /// Redirects to the validated `redirect_uri` with an RFC 6749 error.
    pub fn redirect(
        redirect_uri: &str,
        code: &str,
        description: &str,
        state: Option<&str>,
    ) -> Self {
        match Url::parse(redirect_uri) {
            Ok(mut u) => {
                {
                    let mut q = u.query_pairs_mut();
                    q.append_pair("error", code);
                    q.append_pair("error_description", description);
                    if let Some(s) = state {
                        q.append_pair("state", s);
                    }
                }
                FlowError::Redirect(u)
            }
            Err(_) => FlowError::page(400, "The app's redirect URI is not valid."),
        }
    }
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                FlowError::Unavailable
            }
            other => {
                tracing::error!(error = ?other, "store error");
                FlowError::Internal
            }
        }
    }
}

impl From<KeyError> for FlowError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(s) => s.into(),
            other => {
                tracing::error!(error = %other, "signing key error");
                FlowError::Internal
            }
        }
    }
}

/// A sign-in in progress, between `/oauth2/authorize` and `/oauth2/idpresponse`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FlowRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub app_state: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub provider: String,
    pub upstream: crate::provider::UpstreamState,
    /// SHA-256 of the browser-binding cookie value.
    pub binding_hash: String,
    pub created_at: i64,
}

/// An authorization code's grant, stored under the code's hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    /// What the pre-token-generation hook changes in the tokens of this code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_overrides: Option<crate::hooks::TokenOverrides>,
}

/// The services the flow works with (private: callers go through the flow's methods).
pub struct Flow {
    store: SharedBackend,
    keys: Arc<KeyService>,
    providers: Arc<ProviderCache>,
    clock: SharedClock,
    metrics: Arc<Metrics>,
    domains: domains::DomainCache,
    /// Each pool's SP keys as last parsed, with the stored JSON they came from.
    sp_keys: saml::SpKeysCache,
    /// Calls the pool's hooks (Lambda triggers) over the upstream HTTP client.
    hooks: Hooks,
    /// Native users' password hashing and throttling.
    native: Arc<crate::native::NativeKit>,
    /// Seals and opens app-client secrets (the operator's key; see `with_sealer`).
    sealer: Arc<crate::secret::Sealer>,
    /// Mail to native users (`POOLGATE_SMTP_URL`); `None`: not configured.
    mailer: Option<Arc<crate::mail::Mailer>>,
}

impl Flow {
    /// The key service and provider cache are shared with the admin service, so that a
    /// rotation or a provider change made there is seen here at once.
    pub fn new(
        store: SharedBackend,
        clock: SharedClock,
        keys: Arc<KeyService>,
        providers: Arc<ProviderCache>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let hooks = Hooks::new(
            providers.context().http.clone(),
            metrics.clone(),
            clock.clone(),
        );
        Self {
            hooks,
            store,
            keys,
            providers,
            clock,
            metrics,
            domains: domains::DomainCache::default(),
            sp_keys: saml::SpKeysCache::default(),
            native: Arc::new(crate::native::NativeKit::default()),
            sealer: Arc::new(crate::secret::Sealer::ephemeral()),
            mailer: None,
        }
    }

    /// Seals client secrets with the operator's key (the server always sets it; without
    /// it a random key lives as long as the process, for tools and tests).
    pub fn with_sealer(mut self, sealer: crate::secret::Sealer) -> Self {
        self.sealer = Arc::new(sealer);
        self
    }

    /// The flow sending mail to native users through `mailer`.
    pub fn with_mailer(mut self, mailer: Option<Arc<crate::mail::Mailer>>) -> Self {
        self.mailer = mailer;
        self
    }

    /// The flow's clock reading, in seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub async fn ring(&self, ctx: &PoolCtx) -> Result<Arc<KeyRing>, FlowError> {
        Ok(self
            .keys
            .ring(&ctx.pool.id, ctx.pool.settings.signing_alg)
            .await?)
    }

    /// Marks a token id (`jti` or family `origin_jti`) revoked for as long as any access
    /// token can live.
    pub async fn mark_revoked(&self, pool: &str, id: &str) -> Result<(), FlowError> {
        self.store
            .put(
                pool,
                EphemeralKind::Revoked,
                id,
                b"1",
                Duration::from_secs(MAX_ACCESS_TTL_S as u64 + 300),
            )
            .await?;
        Ok(())
    }

    /// The pool's providers (the hosted sign-in page's buttons).
    pub async fn pool_providers(&self, pool: &str) -> Result<Vec<ProviderRecord>, FlowError> {
        Ok(self.store.list_providers(pool).await?)
    }

    /// One app client of the pool (its branding stylesheet), `None` when absent.
    pub async fn client(
        &self,
        pool: &str,
        client_id: &str,
    ) -> Result<Option<AppClient>, FlowError> {
        Ok(self.store.get_client(pool, client_id).await?)
    }

    pub async fn is_revoked(&self, pool: &str, id: &str) -> Result<bool, FlowError> {
        Ok(self
            .store
            .get(pool, EphemeralKind::Revoked, id)
            .await?
            .is_some())
    }
}

/// Splits a space-delimited scope string (RFC 6749 section 3.3), without duplicates.
pub fn split_scope(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-login state as logged (`{:?}`) shows no upstream secret of the sign-in.
    #[test]
    fn flow_record_debug_hides_the_pkce_verifier_and_nonce() {
        let mut upstream = crate::provider::UpstreamState::default();
        upstream.set("pkce_verifier", "verifier-value-abc123");
        upstream.set("nonce", "upstream-nonce-xyz789");
        let flow = FlowRecord {
            client_id: "c".into(),
            redirect_uri: "https://app.example/cb".into(),
            app_state: None,
            scope: "openid".into(),
            nonce: None,
            code_challenge: None,
            provider: "Google".into(),
            upstream,
            binding_hash: String::new(),
            created_at: 0,
        };
        let shown = format!("{flow:?}");
        assert!(shown.contains("pkce_verifier"), "{shown}");
        assert!(
            !shown.contains("verifier-value-abc123") && !shown.contains("upstream-nonce-xyz789"),
            "{shown}"
        );
    }
}
