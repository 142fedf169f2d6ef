//! `/oauth2/authorize` and `/oauth2/idpresponse`: validate the app's request, send the
//! browser upstream bound to a cookie, and on the way back resolve the user and issue a
//! single-use code.

use std::collections::BTreeMap;

use serde::Deserialize;
use url::Url;

use super::test_trace::{TestStep, TestTrace, TracedUser};
use super::{CODE_TTL, CodeRecord, FLOW_TTL, Flow, FlowError, FlowRecord, PoolCtx, split_scope};
use crate::identity::{IdentityError, Resolver};
use crate::model::{AppClient, OAuthFlow, ProviderRecord};
use crate::provider::{BeginRequest, BrowserAction, CallbackParams, ProviderError, registry};
use crate::secret::{random_token, sha256_hex};
use crate::store::EphemeralKind;

/// Query of `/oauth2/authorize` (Cognito's parameters).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub identity_provider: Option<String>,
    pub idp_identifier: Option<String>,
    pub login_hint: Option<String>,
}

/// The cookie binding a sign-in to the browser that began it.
#[derive(Clone, Debug)]
pub struct BindingCookie {
    pub name: String,
    pub value: String,
}

pub enum AuthorizeOutcome {
    /// Go upstream; set the binding cookie.
    Upstream {
        action: BrowserAction,
        cookie: BindingCookie,
    },
    /// No provider chosen: the hosted sign-in page with these parameters.
    Login(Url),
}

/// RFC 7636 section 4.1: 43..128 unreserved characters.
fn valid_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

pub use crate::model::NATIVE_PROVIDER;

impl Flow {
    /// Finds the client and checks `redirect_uri`; anything wrong here is an error page.
    pub async fn validated_client(
        &self,
        ctx: &PoolCtx,
        client_id: Option<&str>,
        redirect_uri: Option<&str>,
    ) -> Result<(AppClient, String), FlowError> {
        let client_id = client_id
            .filter(|c| !c.is_empty() && c.len() <= 128)
            .ok_or_else(|| FlowError::page(400, "The request has no valid client_id."))?;
        let client = self
            .store
            .get_client(&ctx.pool.id, client_id)
            .await?
            .ok_or_else(|| FlowError::page(400, "The app client is not known to this pool."))?;
        let redirect =
            redirect_uri.ok_or_else(|| FlowError::page(400, "The request has no redirect_uri."))?;
        if !client.callback_urls.iter().any(|u| u == redirect) {
            return Err(FlowError::page(
                400,
                "The redirect_uri is not registered for this app client.",
            ));
        }
        Ok((client, redirect.to_owned()))
    }

    /// Checks an authorize request (client, redirect URI, response type, scope, PKCE,
    /// lengths); returns the client, the redirect URI and the granted scope. The
    /// hosted password form checks its request with the same rules.
    pub async fn validate_authorize(
        &self,
        ctx: &PoolCtx,
        p: &AuthorizeParams,
    ) -> Result<(AppClient, String, String), FlowError> {
        let (client, redirect) = self
            .validated_client(ctx, p.client_id.as_deref(), p.redirect_uri.as_deref())
            .await?;
        let state = p.state.as_deref();
        let fail = |code: &str, desc: &str| FlowError::redirect(&redirect, code, desc, state);
        match p.response_type.as_deref() {
            Some("code") => {}
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
            None => return Err(fail("invalid_request", "response_type is required")),
        }
        if !client.allowed_oauth_flows.contains(&OAuthFlow::Code) {
            return Err(fail(
                "unauthorized_client",
                "the code flow is not enabled for this client",
            ));
        }
        let scope = self
            .check_scope(&client, p.scope.as_deref())
            .map_err(|d| fail("invalid_scope", &d))?;
        if let Some(c) = &p.code_challenge {
            if p.code_challenge_method.as_deref() != Some("S256") {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            if !valid_pkce_value(c) {
                return Err(fail("invalid_request", "malformed code_challenge"));
            }
        } else if client.secret_hash.is_none() {
            return Err(fail(
                "invalid_request",
                "public clients must use PKCE (code_challenge with S256)",
            ));
        }
        if p.nonce.as_ref().is_some_and(|n| n.len() > 512) || state.is_some_and(|s| s.len() > 2048)
        {
            return Err(fail("invalid_request", "nonce or state too long"));
        }
        Ok((client, redirect, scope))
    }

    pub async fn authorize(
        &self,
        ctx: &PoolCtx,
        p: &AuthorizeParams,
    ) -> Result<AuthorizeOutcome, FlowError> {
        let (client, redirect, scope) = self.validate_authorize(ctx, p).await?;
        let state = p.state.as_deref();
        let fail = |code: &str, desc: &str| FlowError::redirect(&redirect, code, desc, state);

        // `identity_provider=COGNITO` (native users) is the hosted page's own form, for
        // a client that lists `COGNITO`.
        let native = p.identity_provider.as_deref() == Some(NATIVE_PROVIDER)
            && client
                .supported_identity_providers
                .iter()
                .any(|n| n == NATIVE_PROVIDER);
        let provider = match self.choose_provider(ctx, &client, p).await? {
            Some(p) => p,
            None if (p.identity_provider.is_some() && !native) || p.idp_identifier.is_some() => {
                return Err(fail(
                    "invalid_request",
                    "the identity provider is not available for this client",
                ));
            }
            None => {
                let mut login = ctx.endpoint("/login");
                let mut q = login.query_pairs_mut();
                for (k, v) in [
                    ("response_type", &p.response_type),
                    ("client_id", &p.client_id),
                    ("redirect_uri", &p.redirect_uri),
                    ("state", &p.state),
                    ("scope", &p.scope),
                    ("nonce", &p.nonce),
                    ("code_challenge", &p.code_challenge),
                    ("code_challenge_method", &p.code_challenge_method),
                    ("login_hint", &p.login_hint),
                ] {
                    if let Some(v) = v {
                        q.append_pair(k, v);
                    }
                }
                drop(q);
                return Ok(AuthorizeOutcome::Login(login));
            }
        };
        let adapter = self.providers.get(&provider).map_err(|e| {
            tracing::error!(provider = %provider.name, error = %e, "provider unusable");
            fail("server_error", "the identity provider is misconfigured")
        })?;
        let upstream_state = random_token(32);
        let callback = ctx.endpoint("/oauth2/idpresponse");
        let sp_entity = super::saml::sp_entity_id(&ctx.pool);
        let begun = match adapter.saml() {
            // SAML: the AuthnRequest is signed with the pool's SP key (flow/saml.rs).
            Some(saml) => self.saml_begin(ctx, saml, &upstream_state).await,
            None => {
                adapter
                    .begin(&BeginRequest {
                        state: &upstream_state,
                        redirect_uri: &callback,
                        login_hint: p.login_hint.as_deref(),
                        sp_entity_id: Some(&sp_entity),
                    })
                    .await
            }
        };
        let begin = begun.map_err(|e| {
            tracing::warn!(provider = %provider.name, error = %e, "upstream begin failed");
            fail(
                "temporarily_unavailable",
                "the identity provider could not be reached",
            )
        })?;
        let binding = random_token(32);
        let record = FlowRecord {
            client_id: client.client_id.clone(),
            redirect_uri: redirect.clone(),
            app_state: p.state.clone(),
            scope,
            nonce: p.nonce.clone(),
            code_challenge: p.code_challenge.clone(),
            provider: provider.name.clone(),
            upstream: begin.upstream_state,
            binding_hash: sha256_hex(&binding),
            created_at: self.clock.now(),
        };
        let bytes = serde_json::to_vec(&record)
            .map_err(|e| FlowError::internal("encode the sign-in record", e))?;
        self.store
            .put(
                &ctx.pool.id,
                EphemeralKind::Flow,
                &upstream_state,
                &bytes,
                FLOW_TTL,
            )
            .await?;
        Ok(AuthorizeOutcome::Upstream {
            action: begin.action,
            cookie: BindingCookie {
                name: super::binding::cookie_name(ctx, &upstream_state),
                value: binding,
            },
        })
    }

    /// The granted scope: the requested scopes, each allowed; none requested -> all.
    pub fn check_scope(
        &self,
        client: &AppClient,
        requested: Option<&str>,
    ) -> Result<String, String> {
        let req = split_scope(requested.unwrap_or(""));
        if req.is_empty() {
            return Ok(client.allowed_scopes.join(" "));
        }
        if let Some(bad) = req.iter().find(|s| !client.allowed_scopes.contains(s)) {
            return Err(format!("scope {bad:?} is not allowed for this client"));
        }
        Ok(req.join(" "))
    }

    async fn choose_provider(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        p: &AuthorizeParams,
    ) -> Result<Option<ProviderRecord>, FlowError> {
        if let Some(name) = &p.identity_provider {
            if name == NATIVE_PROVIDER
                || !client
                    .supported_identity_providers
                    .iter()
                    .any(|n| n == name)
            {
                return Ok(None);
            }
            return Ok(self.store.get_provider(&ctx.pool.id, name).await?);
        }
        if let Some(ident) = &p.idp_identifier {
            return self.provider_for_identifier(ctx, client, ident).await;
        }
        Ok(None)
    }

    /// Routes an email address or a domain to the provider that claims it
    /// (`idp_identifiers`, compared case-insensitively).
    pub async fn provider_for_identifier(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        ident: &str,
    ) -> Result<Option<ProviderRecord>, FlowError> {
        let ident = ident.trim().to_ascii_lowercase();
        let domain = ident.rsplit('@').next().unwrap_or(&ident).to_owned();
        for rec in self.store.list_providers(&ctx.pool.id).await? {
            if client.supported_identity_providers.contains(&rec.name)
                && rec.idp_identifiers.iter().any(|i| {
                    let i = i.to_ascii_lowercase();
                    i == ident || i == domain
                })
            {
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }

    /// `/oauth2/idpresponse`: the upstream's answer. `cookies` are the request's.
    pub async fn callback(
        &self,
        ctx: &PoolCtx,
        params: &CallbackParams,
        cookies: &BTreeMap<String, String>,
    ) -> Result<(Url, String), FlowError> {
        let state = params
            .get("state")
            .filter(|s| !s.is_empty() && s.len() <= 128)
            .ok_or_else(|| FlowError::page(400, "The sign-in response has no state."))?;
        // The sign-in is read here and consumed at the end, in one step with storing
        // the code it produces (one write instead of two); a callback refused on the
        // way consumes it then, so a sign-in still completes at most once and a
        // refused one cannot be retried.
        let flow = self.read_flow(ctx, state).await?;
        match self
            .complete_callback(ctx, state, &flow, params, cookies)
            .await
        {
            Ok(done) => Ok(done),
            Err(e) => {
                if let Err(se) = self
                    .store
                    .take(&ctx.pool.id, EphemeralKind::Flow, state)
                    .await
                {
                    tracing::warn!(error = %se, "could not end a refused sign-in; it expires by itself");
                }
                Err(e)
            }
        }
    }

    async fn complete_callback(
        &self,
        ctx: &PoolCtx,
        state: &str,
        flow: &FlowRecord,
        params: &CallbackParams,
        cookies: &BTreeMap<String, String>,
    ) -> Result<(Url, String), FlowError> {
        let cookie_name = super::binding::cookie_name(ctx, state);
        // Login CSRF: the callback must arrive in the browser that began the sign-in.
        if !super::binding::is_bound(ctx, state, &flow.binding_hash, cookies) {
            tracing::warn!(pool = %ctx.pool.id, "callback delivered to a browser that did not begin the sign-in");
            return Err(FlowError::page(
                400,
                "This sign-in was started in another browser. Start again from the app.",
            ));
        }
        let app_state = flow.app_state.as_deref();
        let fail =
            |code: &str, desc: &str| FlowError::redirect(&flow.redirect_uri, code, desc, app_state);

        let Some(record) = self
            .store
            .get_provider(&ctx.pool.id, &flow.provider)
            .await?
        else {
            return Err(fail("server_error", "the identity provider was removed"));
        };
        let ptype = record.provider_type.as_str();
        if let Some(err) = params.get("error") {
            self.metrics.sign_in(ptype, "denied");
            if super::test_trace::is_test(flow) {
                let desc = params.get("error_description").unwrap_or_default();
                let words = format!("the identity provider answered with error {err:?} {desc:?}");
                let trace = TestTrace::new(&record).failed(TestStep::Upstream, words);
                self.keep_trace(ctx, flow, &trace).await;
            }
            return Err(if err == "access_denied" {
                fail("access_denied", "the sign-in was cancelled")
            } else {
                fail("access_denied", "the identity provider returned an error")
            });
        }
        let adapter = self
            .providers
            .get(&record)
            .map_err(|_| fail("server_error", "the identity provider is misconfigured"))?;
        let callback = ctx.endpoint("/oauth2/idpresponse");
        let upstream = match adapter.complete(params, &flow.upstream, &callback).await {
            Ok(u) => u,
            Err(e) => {
                self.metrics.sign_in(ptype, "rejected");
                tracing::warn!(provider = %record.name, error = %e, "upstream sign-in failed");
                if super::test_trace::is_test(flow) {
                    let trace = TestTrace::new(&record).failed(TestStep::Upstream, e.to_string());
                    self.keep_trace(ctx, flow, &trace).await;
                }
                return Err(match e {
                    ProviderError::Denied => fail("access_denied", "the sign-in was cancelled"),
                    ProviderError::Upstream(_) => fail(
                        "temporarily_unavailable",
                        "the identity provider could not be reached",
                    ),
                    ProviderError::Rejected(_) => fail(
                        "access_denied",
                        "the identity provider's answer could not be verified",
                    ),
                    ProviderError::Config(_) => {
                        fail("server_error", "the identity provider is misconfigured")
                    }
                });
            }
        };
        let back = self
            .finish_sign_in(ctx, flow, &record, &upstream, Some(state))
            .await?;
        Ok((back, cookie_name))
    }

    /// Reads a sign-in in progress without consuming it.
    async fn read_flow(&self, ctx: &PoolCtx, state: &str) -> Result<FlowRecord, FlowError> {
        let bytes = self
            .store
            .get(&ctx.pool.id, EphemeralKind::Flow, state)
            .await?
            .ok_or_else(flow_gone)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| FlowError::internal("decode the sign-in record", e))
    }

    /// Consumes a sign-in in progress (one atomic take: a replayed callback finds
    /// nothing).
    pub(crate) async fn take_flow(
        &self,
        ctx: &PoolCtx,
        state: &str,
    ) -> Result<FlowRecord, FlowError> {
        let bytes = self
            .store
            .take(&ctx.pool.id, EphemeralKind::Flow, state)
            .await?
            .ok_or_else(flow_gone)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| FlowError::internal("decode the sign-in record", e))
    }

    /// The steps every callback shares once the upstream identity is verified: resolve
    /// the pool user, issue a single-use code, and build the redirect back to the app.
    /// With `consume`, the sign-in stored under that state is taken in the same step
    /// as the code is stored, and a sign-in already taken issues nothing.
    pub(crate) async fn finish_sign_in(
        &self,
        ctx: &PoolCtx,
        flow: &FlowRecord,
        record: &ProviderRecord,
        upstream: &crate::provider::UpstreamIdentity,
        consume: Option<&str>,
    ) -> Result<Url, FlowError> {
        let ptype = record.provider_type.as_str();
        let app_state = flow.app_state.as_deref();
        let fail =
            |code: &str, desc: &str| FlowError::redirect(&flow.redirect_uri, code, desc, app_state);
        let defaults = registry::kind(&record.provider_type).default_mapping();
        let resolver = Resolver {
            store: &self.store,
            clock: &self.clock,
        };
        let gate = self.gate(ctx, &flow.client_id);
        // The built-in test client's sign-in records what it went through.
        let mut trace = super::test_trace::is_test(flow).then(|| {
            let mut t = TestTrace::new(record);
            t.identity(
                upstream,
                &crate::identity::map_attributes(upstream, &record.attribute_mapping, defaults),
            );
            t
        });
        let resolved = resolver
            .resolve_gated(&ctx.pool, record, upstream, defaults, Some(&gate))
            .await;
        if let Err(e) = &resolved
            && let Some(t) = trace.take()
        {
            let step = match e {
                IdentityError::Hook(_) => TestStep::Hook,
                IdentityError::NoSubject => TestStep::Mapping,
                _ => TestStep::User,
            };
            self.keep_trace(ctx, flow, &t.failed(step, e.to_string()))
                .await;
        }
        let user = match resolved {
            Ok(u) => u,
            Err(IdentityError::Hook(e)) => {
                self.metrics.sign_in(ptype, "hook_refused");
                return Err(fail(e.oauth_error(), &e.to_string()));
            }
            Err(IdentityError::Disabled) => {
                self.metrics.sign_in(ptype, "disabled");
                return Err(fail("access_denied", "the user is disabled"));
            }
            Err(IdentityError::TooManyLinks) => {
                return Err(fail(
                    "access_denied",
                    "the user has too many linked identities",
                ));
            }
            Err(IdentityError::NoSubject) => {
                return Err(fail(
                    "access_denied",
                    "the identity provider sent no subject",
                ));
            }
            Err(IdentityError::AmbiguousLink) => {
                return Err(fail(
                    "access_denied",
                    "the identity matches links to several users",
                ));
            }
            Err(IdentityError::Store(e)) => return Err(e.into()),
        };
        self.issue_code(ctx, flow, &user, consume, ptype, self.clock.now(), trace)
            .await
    }

    /// Issues the single-use code of a sign-in whose user is known (a federated one
    /// resolved, or a native one whose password and challenges passed): the
    /// pre-token-generation hook, the code stored (in one step with taking the
    /// sign-in under `consume`), and the redirect back to the app with `code`, `state`
    /// and `iss`. `trace`: the built-in test client's record of the sign-in.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn issue_code(
        &self,
        ctx: &PoolCtx,
        flow: &FlowRecord,
        user: &crate::model::User,
        consume: Option<&str>,
        ptype: &str,
        auth_time: i64,
        mut trace: Option<TestTrace>,
    ) -> Result<Url, FlowError> {
        let app_state = flow.app_state.as_deref();
        let fail =
            |code: &str, desc: &str| FlowError::redirect(&flow.redirect_uri, code, desc, app_state);
        let token_overrides = match self
            .after_sign_in(
                ctx,
                &flow.client_id,
                user,
                &flow.scope,
                crate::hooks::TokenSource::HostedAuth,
            )
            .await?
        {
            Ok(o) => o,
            Err(e) => {
                self.metrics.sign_in(ptype, "hook_refused");
                if let Some(t) = trace.take() {
                    self.keep_trace(ctx, flow, &t.failed(TestStep::Hook, e.to_string()))
                        .await;
                }
                return Err(fail(e.oauth_error(), &e.to_string()));
            }
        };
        if let Some(mut t) = trace.take() {
            t.user = Some(TracedUser {
                id: user.id.clone(),
                username: user.username.clone(),
                created: user.created_at >= flow.created_at,
            });
            self.keep_trace(ctx, flow, &t).await;
        }
        let code = random_token(32);
        let rec = CodeRecord {
            client_id: flow.client_id.clone(),
            redirect_uri: flow.redirect_uri.clone(),
            user_id: user.id.clone(),
            scope: flow.scope.clone(),
            nonce: flow.nonce.clone(),
            code_challenge: flow.code_challenge.clone(),
            auth_time,
            token_overrides,
        };
        let bytes = serde_json::to_vec(&rec)
            .map_err(|e| FlowError::internal("encode the code record", e))?;
        let code_key = sha256_hex(&code);
        match consume {
            Some(state) => {
                let taken = self
                    .store
                    .take_and_put(
                        &ctx.pool.id,
                        EphemeralKind::Flow,
                        state,
                        EphemeralKind::Code,
                        &code_key,
                        &bytes,
                        CODE_TTL,
                    )
                    .await?;
                if taken.is_none() {
                    return Err(flow_gone());
                }
            }
            None => {
                self.store
                    .put(
                        &ctx.pool.id,
                        EphemeralKind::Code,
                        &code_key,
                        &bytes,
                        CODE_TTL,
                    )
                    .await?;
            }
        }
        self.metrics.sign_in(ptype, "ok");
        let mut back = Url::parse(&flow.redirect_uri)
            .map_err(|e| FlowError::internal("parse the stored redirect_uri", e))?;
        {
            let mut q = back.query_pairs_mut();
            q.append_pair("code", &code);
            if let Some(s) = app_state {
                q.append_pair("state", s);
            }
            // RFC 9207: tell the app which issuer answered.
            q.append_pair("iss", &ctx.issuer);
        }
        Ok(back)
    }
}

/// The answer to a callback whose sign-in is gone (expired, completed or refused).
fn flow_gone() -> FlowError {
    FlowError::page(
        400,
        "This sign-in has expired or was already completed. Start again from the app.",
    )
}
