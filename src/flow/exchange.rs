//! The RFC 8693 token exchange at `/oauth2/token` for native apps (interface.md section
//! 10): an id_token the app got from Google's, Apple's or Facebook's own SDK (or an OIDC
//! provider's) is verified by the provider's adapter as strictly as a browser sign-in's,
//! the pool user is resolved and linked by the same `identity::Resolver`, and the pool's
//! tokens are issued as from a code exchange.
//!
//! The grant is open to app clients that allow the `code` flow: it yields the same
//! tokens, for the same providers, as that flow. The id_token is the proof, so public
//! clients may use it; it may be presented more than once within its lifetime (the
//! platform SDKs hand the same token to every call until it expires).

use std::collections::BTreeMap;

use super::grant::TokenResponse;
use super::{Flow, FlowError, PoolCtx, split_scope};
use crate::hooks::TokenSource;
use crate::identity::{IdentityError, Resolver};
use crate::model::{AppClient, OAuthFlow, RefreshState, RefreshTokenRecord};
use crate::provider::ProviderError;
use crate::provider::protocol::idtoken::MAX_TOKEN_LEN;
use crate::provider::registry;
use crate::secret::{random_token, sha256_hex};

pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Longest `nonce` accepted (Apple's and Google's SDK nonces are far shorter).
const MAX_NONCE: usize = 512;

fn invalid_request(d: &str) -> FlowError {
    FlowError::oauth(400, "invalid_request", d)
}

fn invalid_grant(d: &str) -> FlowError {
    FlowError::oauth(400, "invalid_grant", d)
}

/// The parameters of RFC 8693 section 2.1 this grant reads, checked.
struct Request<'a> {
    subject_token: &'a str,
    provider: &'a str,
    nonce: Option<&'a str>,
    scope: String,
}

fn parse<'a>(
    client: &AppClient,
    form: &'a BTreeMap<String, String>,
) -> Result<Request<'a>, FlowError> {
    let subject_token = form
        .get("subject_token")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid_request("subject_token is required"))?;
    if subject_token.len() > MAX_TOKEN_LEN {
        return Err(invalid_request("subject_token is too long"));
    }
    match form.get("subject_token_type").map(String::as_str) {
        Some(ID_TOKEN_TYPE) => {}
        Some(_) => return Err(invalid_request("subject_token_type must be id_token")),
        None => return Err(invalid_request("subject_token_type is required")),
    }
    if let Some(t) = form.get("requested_token_type")
        && t != ACCESS_TOKEN_TYPE
    {
        return Err(invalid_request("requested_token_type must be access_token"));
    }
    if form.contains_key("actor_token") || form.contains_key("actor_token_type") {
        return Err(invalid_request("delegation (actor_token) is not supported"));
    }
    let provider = form
        .get("identity_provider")
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| invalid_request("identity_provider is required"))?;
    if !client
        .supported_identity_providers
        .iter()
        .any(|p| p == provider)
    {
        return Err(invalid_request(
            "identity_provider is not one of the client's providers",
        ));
    }
    let nonce = form.get("nonce").map(String::as_str);
    if nonce.is_some_and(|n| n.is_empty() || n.len() > MAX_NONCE) {
        return Err(invalid_request("nonce is empty or too long"));
    }
    let scope = match form.get("scope") {
        None => client.allowed_scopes.join(" "),
        Some(s) => {
            let want = split_scope(s);
            if want.is_empty() || want.iter().any(|w| !client.allowed_scopes.contains(w)) {
                return Err(FlowError::oauth(
                    400,
                    "invalid_scope",
                    "a requested scope is not allowed",
                ));
            }
            want.join(" ")
        }
    };
    Ok(Request {
        subject_token,
        provider,
        nonce,
        scope,
    })
}

impl Flow {
    pub(super) async fn token_exchange(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        form: &BTreeMap<String, String>,
    ) -> Result<TokenResponse, FlowError> {
        if !client.allowed_oauth_flows.contains(&OAuthFlow::Code) {
            return Err(FlowError::oauth(
                400,
                "unauthorized_client",
                "token exchange needs the code flow enabled for this client",
            ));
        }
        let req = parse(client, form)?;
        let pool = &ctx.pool.id;
        let record = self
            .store
            .get_provider(pool, req.provider)
            .await?
            .ok_or_else(|| invalid_request("identity_provider is not registered"))?;
        let ptype = record.provider_type.as_str();
        let adapter = self.providers.get(&record).map_err(|e| {
            tracing::error!(provider = %record.name, error = %e, "provider misconfigured");
            FlowError::oauth(
                500,
                "server_error",
                "the identity provider is misconfigured",
            )
        })?;
        let native = adapter.native().ok_or_else(|| {
            invalid_request("this identity provider issues no id_token to exchange")
        })?;
        let upstream = match native.verify_id_token(req.subject_token, req.nonce).await {
            Ok(u) => u,
            Err(e) => {
                self.metrics.sign_in(ptype, "rejected");
                tracing::warn!(provider = %record.name, error = %e, "token exchange refused");
                return Err(match e {
                    ProviderError::Upstream(_) => FlowError::oauth(
                        503,
                        "temporarily_unavailable",
                        "the identity provider could not be reached",
                    ),
                    ProviderError::Config(_) => FlowError::oauth(
                        500,
                        "server_error",
                        "the identity provider is misconfigured",
                    ),
                    ProviderError::Denied | ProviderError::Rejected(_) => {
                        invalid_grant("the subject_token could not be verified")
                    }
                });
            }
        };
        // The same resolution and linking as a browser sign-in (identity::Resolver).
        let defaults = registry::kind(&record.provider_type).default_mapping();
        let resolver = Resolver {
            store: &self.store,
            clock: &self.clock,
        };
        let gate = self.gate(ctx, &client.client_id);
        let user = match resolver
            .resolve_gated(&ctx.pool, &record, &upstream, defaults, Some(&gate))
            .await
        {
            Ok(u) => u,
            Err(IdentityError::Hook(e)) => {
                self.metrics.sign_in(ptype, "hook_refused");
                return Err(super::hooks::token_error(&e));
            }
            Err(IdentityError::Disabled) => {
                self.metrics.sign_in(ptype, "disabled");
                return Err(invalid_grant("the user is disabled"));
            }
            Err(IdentityError::TooManyLinks) => {
                return Err(invalid_grant("the user has too many linked identities"));
            }
            Err(IdentityError::NoSubject) => {
                return Err(invalid_grant("the subject_token has no subject"));
            }
            Err(IdentityError::AmbiguousLink) => {
                return Err(invalid_grant("the identity matches links to several users"));
            }
            Err(IdentityError::Store(e)) => return Err(e.into()),
        };
        let (user, identities) = self.active_user(pool, &user.id).await?;
        // Post-authentication and pre-token generation (`TokenGeneration_Authentication`,
        // the source of Cognito's API sign-ins) before anything is stored.
        let overrides = self
            .after_sign_in(
                ctx,
                &client.client_id,
                &user,
                &req.scope,
                TokenSource::Authentication,
            )
            .await?
            .map_err(|e| {
                self.metrics.sign_in(ptype, "hook_refused");
                super::hooks::token_error(&e)
            })?;
        let auth_time = self.clock.now();
        let now = auth_time.max(user.tokens_valid_after);
        let family = uuid::Uuid::new_v4().to_string();
        let refresh_token = random_token(32);
        self.store
            .insert_refresh(&RefreshTokenRecord {
                token_hash: sha256_hex(&refresh_token),
                pool_id: pool.clone(),
                family_id: family.clone(),
                user_id: user.id.clone(),
                client_id: client.client_id.clone(),
                scope: req.scope.clone(),
                auth_time,
                issued_at: now,
                expires_at: now + client.refresh_token_validity_s as i64,
                state: RefreshState::Active,
            })
            .await?;
        let mut resp = self
            .issue(
                ctx,
                client,
                &user,
                &identities,
                &req.scope,
                auth_time,
                None,
                &family,
                overrides.as_ref(),
            )
            .await?;
        resp.refresh_token = Some(refresh_token);
        resp.issued_token_type = Some(ACCESS_TOKEN_TYPE);
        self.metrics.sign_in(ptype, "ok");
        Ok(resp)
    }
}
