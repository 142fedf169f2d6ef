//! Upstream identity providers. Each kind is one file over the shared protocol code in
//! `protocol/`, declaring one [`ProviderKind`] (`kind.rs`); `registry` lists the kinds
//! and turns a stored `ProviderRecord` into a live adapter. docs/adding-a-provider-kind.md
//! is the recipe.
//!
//! Adapters keep no per-login state: `begin` returns what the browser must do plus an
//! opaque `UpstreamState` (PKCE verifier, nonce, request id), the flow stores it, and
//! hands it back to `complete`. Adapters never touch the store or axum types.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::clock::SharedClock;

pub mod cache;
pub mod kind;
pub mod protocol;
pub mod registry;

pub use kind::{FetchedDetails, ProviderKind};

pub mod amazon;
pub mod apple;
pub mod facebook;
pub mod facebook_limited;
pub mod github;
pub mod google;
pub mod oauth2;
pub mod oidc;
pub mod saml;

/// What the browser must do to start the upstream sign-in.
#[derive(Clone, Debug, PartialEq)]
pub enum BrowserAction {
    /// 302 to this URL.
    Redirect(Url),
    /// An auto-submitted form POST (SAML HTTP-POST binding).
    PostForm {
        action: Url,
        fields: Vec<(String, String)>,
    },
}

/// Opaque per-login state an adapter needs back in `complete`. Stored by the flow with
/// the sign-in, never shown to the browser. Its values (the PKCE verifier, the nonce)
/// are secrets of the sign-in: `Debug` shows only the keys.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamState(pub BTreeMap<String, String>);

impl std::fmt::Debug for UpstreamState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for k in self.0.keys() {
            m.entry(k, &"[redacted]");
        }
        m.finish()
    }
}

impl UpstreamState {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), value.into());
    }
}

/// Inputs to `begin`.
#[derive(Clone, Debug)]
pub struct BeginRequest<'a> {
    /// The `state` to send upstream (the flow's key; random, single-use).
    pub state: &'a str,
    /// poolgate's callback, `https://{domain}/oauth2/idpresponse`.
    pub redirect_uri: &'a Url,
    pub login_hint: Option<&'a str>,
    /// SAML: the pool's SP entity id and ACS URL.
    pub sp_entity_id: Option<&'a str>,
}

#[derive(Clone, Debug)]
pub struct BeginResponse {
    pub action: BrowserAction,
    pub upstream_state: UpstreamState,
}

/// What arrived at the callback: the query (GET) or the form (POST), every parameter.
#[derive(Clone, Debug, Default)]
pub struct CallbackParams(pub BTreeMap<String, String>);

impl CallbackParams {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// A verified upstream identity, normalized across provider kinds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpstreamIdentity {
    /// Stable subject: `sub`, Graph `id`, Amazon `user_id`, SAML NameID. Never the email.
    pub subject: String,
    /// The upstream issuer (OIDC `iss`, SAML entity ID), for the `identities` claim.
    pub issuer: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    pub groups: Vec<String>,
    /// Every upstream attribute under the upstream's own name, for `attribute_mapping`.
    pub raw: serde_json::Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The user declined upstream (`error=access_denied`).
    #[error("the user declined the sign-in")]
    Denied,
    /// The registration is not usable (bad details).
    #[error("invalid provider configuration: {0}")]
    Config(String),
    /// The upstream could not be reached, timed out or answered with an error status.
    #[error("upstream request failed: {0}")]
    Upstream(String),
    /// The upstream's answer failed verification (signature, issuer, audience, nonce...).
    #[error("upstream response rejected: {0}")]
    Rejected(String),
}

/// Everything an adapter may need from the process: injected, so tests point it at fakes.
#[derive(Clone)]
pub struct ProviderContext {
    /// Timeouts set, redirects never followed.
    pub http: reqwest::Client,
    pub clock: SharedClock,
}

/// One upstream identity provider instance.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// The kind this adapter was built by (its type name and static facts).
    fn kind(&self) -> &'static dyn ProviderKind;
    /// Where to send the browser, and the state to keep until the callback.
    async fn begin(&self, req: &BeginRequest<'_>) -> Result<BeginResponse, ProviderError>;
    /// Verifies the callback and returns the identity.
    async fn complete(
        &self,
        params: &CallbackParams,
        state: &UpstreamState,
        redirect_uri: &Url,
    ) -> Result<UpstreamIdentity, ProviderError>;
    /// The SAML capability (ACS, single logout), for SAML providers only.
    fn saml(&self) -> Option<&dyn saml::SamlSp> {
        None
    }
    /// The token-exchange capability (id_tokens of the provider's own native SDKs), for
    /// the kinds that issue id_tokens.
    fn native(&self) -> Option<&dyn NativeSignIn> {
        None
    }
}

/// Verifies an id_token a native app got from the provider's own SDK (Google's
/// Android/iOS sign-in, Sign in with Apple on a device, Facebook Limited Login), for
/// the RFC 8693 token exchange. Every check of a browser sign-in's id_token applies;
/// the accepted audiences are the client id and `details.native_client_ids`.
#[async_trait]
pub trait NativeSignIn: Send + Sync {
    /// The identity the token asserts. `nonce` is the app's raw nonce when it sent one.
    async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<UpstreamIdentity, ProviderError>;
}

pub type SharedProvider = Arc<dyn Provider>;

/// Reads a string detail, trimming it; `None` when absent or empty.
pub fn detail_str<'a>(details: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    details
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_state_debug_hides_values() {
        let mut s = UpstreamState::default();
        s.set("pkce_verifier", "verifier-secret-123");
        s.set("nonce", "nonce-secret-456");
        let shown = format!("{s:?}");
        assert!(
            shown.contains("pkce_verifier") && shown.contains("nonce"),
            "{shown}"
        );
        assert!(!shown.contains("secret"), "{shown}");
    }
}
