//! The gateway's own OAuth 2.0 clients of a pool (the console's sign-in through a pool,
//! a provider's test sign-in), made the same way: a built-in public client, a code flow
//! with PKCE S256 through the pool's own `/oauth2/authorize`, the waiting sign-in kept
//! under the hash of its `state` and bound to the browser that began it by the hash of
//! a cookie's value, taken once; the code exchanged in-process and the refresh token
//! revoked at once, so no pool token is kept.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::flow::grant::{ClientAuth, TokenResponse};
use crate::flow::{FlowError, PoolCtx};
use crate::model::{AppClient, OAuthFlow, Pool};
use crate::secret::{constant_time_eq, random_token, s256, sha256_hex};
use crate::store::EphemeralKind;

/// Ephemeral namespace of the console's records (as its sessions').
pub(super) const NAMESPACE: &str = "_console";
/// What a built-in client asks for: what a typical app asks for.
pub(super) const TEST_SCOPE: &str = "openid email profile";
/// The longest `state` a built-in client hands out (it makes 43 characters).
const MAX_STATE: usize = 128;

/// What a built-in client keeps of a sign-in waiting for its answer.
#[derive(Serialize, Deserialize)]
pub(super) struct CodeFlow {
    pub pool: String,
    pub redirect_uri: String,
    pub verifier: String,
    pub binding_hash: String,
    /// The pool domain the sign-in runs on (`SCHEME://DOMAIN`) and its issuer.
    pub base: String,
    pub issuer: String,
}

/// Where the browser goes to begin a built-in client's sign-in, the sign-in's `state`,
/// and the value of the cookie binding its answer to that browser. `Debug` shows the
/// authorize URL's path only.
pub struct SignInStart {
    pub authorize: Url,
    pub state: String,
    pub binding: String,
}

impl std::fmt::Debug for SignInStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInStart")
            .field("authorize", &self.authorize.path())
            .finish_non_exhaustive()
    }
}

/// A sign-in just begun: what is kept, and what only the browser gets (the `state`
/// in the authorize URL, the binding in a cookie).
pub(super) struct Begun {
    pub flow: CodeFlow,
    pub state: String,
    pub binding: String,
}

impl CodeFlow {
    /// A new sign-in on the pool domain of `ctx`, coming back to `redirect_uri`.
    pub(super) fn begin(ctx: &PoolCtx, redirect_uri: &str) -> Begun {
        let binding = random_token(32);
        Begun {
            flow: CodeFlow {
                pool: ctx.pool.id.clone(),
                redirect_uri: redirect_uri.to_owned(),
                verifier: random_token(32),
                binding_hash: sha256_hex(&binding),
                base: ctx.base.as_str().trim_end_matches('/').to_owned(),
                issuer: ctx.issuer.clone(),
            },
            state: random_token(32),
            binding,
        }
    }

    /// The pool's authorize URL for this sign-in through `client_id`, with `extra`
    /// parameters after the standard ones.
    pub(super) fn authorize_url(
        &self,
        ctx: &PoolCtx,
        client_id: &str,
        state: &str,
        nonce: &str,
        extra: &[(&str, &str)],
    ) -> Url {
        let mut authorize = ctx.endpoint("/oauth2/authorize");
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("state", state)
            .append_pair("scope", TEST_SCOPE)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &s256(&self.verifier))
            .append_pair("code_challenge_method", "S256")
            .extend_pairs(extra.iter().copied());
        authorize
    }

    /// Whether the answer came back in the browser that began the sign-in (the hash
    /// of its cookie's value, compared in constant time).
    pub(super) fn bound(&self, binding: Option<&str>) -> bool {
        binding.is_some_and(|b| {
            constant_time_eq(sha256_hex(b).as_bytes(), self.binding_hash.as_bytes())
        })
    }

    /// The pool domain the sign-in ran on, for the code exchange.
    pub(super) fn ctx(&self, pool: Pool) -> AdminResult<PoolCtx> {
        Ok(PoolCtx {
            pool,
            issuer: self.issuer.clone(),
            base: Url::parse(&self.base)
                .map_err(|e| AdminError::internal("cannot read the sign-in", e))?,
        })
    }
}

impl Admin {
    /// A built-in client of the gateway's own (`client_id`), made or brought up to
    /// date: public (PKCE), code flow, [`TEST_SCOPE`], short-lived tokens, exactly
    /// `providers`, `redirect_uri` added to the callback URLs it already has.
    pub(super) async fn builtin_client(
        &self,
        pool: &str,
        client_id: &str,
        name: &str,
        redirect_uri: &str,
        providers: Vec<String>,
    ) -> AdminResult<AppClient> {
        let existing = self.store.get_client(pool, client_id).await?;
        let mut callbacks = existing
            .as_ref()
            .map(|c| c.callback_urls.clone())
            .unwrap_or_default();
        if !callbacks.iter().any(|u| u == redirect_uri) {
            callbacks.push(redirect_uri.to_owned());
        }
        let c = AppClient {
            pool_id: pool.to_owned(),
            client_id: client_id.to_owned(),
            name: name.to_owned(),
            secret_hash: None,
            secrets: Vec::new(),
            callback_urls: callbacks,
            logout_urls: Vec::new(),
            allowed_oauth_flows: vec![OAuthFlow::Code],
            allowed_scopes: TEST_SCOPE.split(' ').map(str::to_owned).collect(),
            supported_identity_providers: providers,
            id_token_validity_s: 300,
            access_token_validity_s: 300,
            refresh_token_validity_s: 3600,
            branding: Default::default(),
            refresh_token_rotation: Default::default(),
            explicit_auth_flows: Vec::new(),
            created_at: existing
                .as_ref()
                .map_or_else(|| self.clock.now(), |c| c.created_at),
        };
        if existing.as_ref() != Some(&c) {
            self.store.put_client(&c).await?;
        }
        Ok(c)
    }

    /// Keeps `record` of a sign-in under the hash of its `state` for `ttl`.
    pub(super) async fn keep_sign_in<T: Serialize>(
        &self,
        kind: EphemeralKind,
        state: &str,
        record: &T,
        ttl: Duration,
    ) -> AdminResult<()> {
        let bytes = serde_json::to_vec(record)
            .map_err(|e| AdminError::internal("cannot encode the sign-in", e))?;
        self.store
            .put(NAMESPACE, kind, &sha256_hex(state), &bytes, ttl)
            .await?;
        Ok(())
    }

    /// Takes (once) the record of the sign-in whose answer carries `state`: `None`
    /// when no such sign-in is waiting (unknown, expired, already answered).
    pub(super) async fn take_sign_in<T: DeserializeOwned>(
        &self,
        kind: EphemeralKind,
        state: &str,
    ) -> AdminResult<Option<T>> {
        if state.is_empty() || state.len() > MAX_STATE {
            return Ok(None);
        }
        let Some(raw) = self.store.take(NAMESPACE, kind, &sha256_hex(state)).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|e| AdminError::internal("cannot read the sign-in", e))
    }

    /// Exchanges the `code` of `flow` through `client_id` on the pool domain `ctx`,
    /// then revokes the refresh token at once: the answer carries none.
    pub(super) async fn exchange_code(
        &self,
        ctx: &PoolCtx,
        client_id: &str,
        flow: &CodeFlow,
        code: &str,
    ) -> Result<TokenResponse, FlowError> {
        let form = BTreeMap::from([
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("redirect_uri".to_owned(), flow.redirect_uri.clone()),
            ("client_id".to_owned(), client_id.to_owned()),
            ("code_verifier".to_owned(), flow.verifier.clone()),
        ]);
        let mut tokens = self.flow.token(ctx, &form, &ClientAuth::default()).await?;
        if let Some(rt) = tokens.refresh_token.take() {
            let form = BTreeMap::from([
                ("token".to_owned(), rt),
                ("client_id".to_owned(), client_id.to_owned()),
            ]);
            if let Err(e) = self.flow.revoke(ctx, &form, &ClientAuth::default()).await {
                tracing::warn!(error = %e, client_id, "cannot revoke a built-in client's refresh token");
            }
        }
        Ok(tokens)
    }
}
