//! Hosted endpoints of interface.md section 4, routed by Host to a pool.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;

use super::error::FlowResponse;
use super::{HostPool, SharedState, cookies, pages, parse_form};
use crate::flow::authorize::{AuthorizeOutcome, AuthorizeParams};
use crate::flow::grant::ClientAuth;
use crate::flow::session::LogoutParams;
use crate::flow::{FlowError, PoolCtx};
use crate::provider::{BrowserAction, CallbackParams};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/oauth2/authorize", get(authorize))
        .route(
            "/oauth2/idpresponse",
            get(idpresponse_get).post(idpresponse_post),
        )
        .route("/oauth2/token", post(token))
        .route("/oauth2/userInfo", get(userinfo).post(userinfo))
        .route("/oauth2/revoke", post(revoke))
        .route("/oauth2/introspect", post(introspect))
        .route("/logout", get(logout))
        .route(
            "/login",
            get(super::pages_login::login).post(super::pages_native::submit),
        )
        .route(
            "/login/assets/login.css",
            get(super::pages_login::stylesheet),
        )
        .route("/login/assets/autopost.js", get(super::repost::script))
        .route("/login/branding/{file}", get(super::pages_login::branding))
        .route("/healthz", get(healthz))
        .route("/metrics", get(super::ops::metrics))
        .merge(super::pages_account::routes())
        .merge(super::saml::routes())
        .merge(super::cognito_issuer::routes())
        .fallback(not_found)
}

async fn not_found() -> Response {
    super::ApiError::new(404, "not_found", "No such endpoint.").into_response()
}

async fn discovery(State(_s): State<SharedState>, HostPool(ctx): HostPool) -> Response {
    discovery_response(&ctx)
}

/// The discovery document of a pool: its issuer, and endpoints on `ctx.base`.
pub fn discovery_response(ctx: &PoolCtx) -> Response {
    let e = |p: &str| ctx.endpoint(p).to_string();
    let alg = ctx.pool.settings.signing_alg.as_str();
    let doc = json!({
        "issuer": ctx.issuer,
        "authorization_endpoint": e("/oauth2/authorize"),
        "token_endpoint": e("/oauth2/token"),
        "userinfo_endpoint": e("/oauth2/userInfo"),
        "jwks_uri": e("/.well-known/jwks.json"),
        "revocation_endpoint": e("/oauth2/revoke"),
        "introspection_endpoint": e("/oauth2/introspect"),
        "end_session_endpoint": e("/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", crate::flow::exchange::GRANT],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile", "phone", "aws.cognito.signin.user.admin"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "jti", "origin_jti", "event_id", "token_use", "cognito:username", "cognito:groups", "email", "email_verified", "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at", "address", "phone_number", "phone_number_verified", "identities"],
        "authorization_response_iss_parameter_supported": true,
    });
    let mut r = Json(doc).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

async fn jwks(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
) -> Result<Response, FlowResponse> {
    jwks_response(&s, &ctx).await
}

/// The pool's JWKS document.
pub async fn jwks_response(s: &SharedState, ctx: &PoolCtx) -> Result<Response, FlowResponse> {
    let ring = s.flow.ring(ctx).await?;
    let mut r = (StatusCode::OK, ring.jwks.as_str().to_owned()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(r)
}

/// The binding cookie (see `flow::binding`).
fn binding_cookie(ctx: &PoolCtx, name: &str, value: &str, max_age: u64) -> String {
    crate::flow::binding::set_cookie(ctx, name, value, max_age)
}

async fn authorize(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    Query(p): Query<AuthorizeParams>,
) -> Result<Response, FlowResponse> {
    match s.flow.authorize(&ctx, &p).await? {
        AuthorizeOutcome::Login(url) => Ok(pages::redirect(url.as_str())),
        AuthorizeOutcome::Upstream { action, cookie } => {
            let mut r = match action {
                BrowserAction::Redirect(url) => pages::redirect(url.as_str()),
                BrowserAction::PostForm { action, fields } => {
                    pages::post_form(action.as_str(), &fields)
                }
            };
            let c = binding_cookie(
                &ctx,
                &cookie.name,
                &cookie.value,
                crate::flow::FLOW_TTL.as_secs(),
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(r)
        }
    }
}

async fn finish_callback(
    s: &SharedState,
    ctx: &PoolCtx,
    params: CallbackParams,
    headers: &HeaderMap,
) -> Result<Response, FlowResponse> {
    let jar = cookies(headers);
    let (url, cookie_name) = s.flow.callback(ctx, &params, &jar).await?;
    let mut r = pages::redirect(url.as_str());
    if let Ok(v) = HeaderValue::from_str(&binding_cookie(ctx, &cookie_name, "", 0)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn idpresponse_get(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, FlowResponse> {
    finish_callback(&s, &ctx, CallbackParams(q), &headers).await
}

async fn idpresponse_post(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FlowResponse> {
    let form = parse_form(&body)
        .map_err(|_| FlowError::page(400, "The sign-in response is malformed."))?;
    let state = form.get("state").map(String::as_str).unwrap_or("");
    if super::repost::needed(&ctx, &headers, &cookies(&headers), state) {
        return Ok(super::repost::page("/oauth2/idpresponse", &form));
    }
    finish_callback(&s, &ctx, CallbackParams(form), &headers).await
}

/// HTTP Basic client credentials (RFC 6749 section 2.3.1: each part form-urlencoded;
/// the scheme name is case-insensitive, RFC 9110 section 11.1). Each part is
/// percent-decoded whole (`+` is a space), and must decode to UTF-8: credentials that
/// do not are malformed, never read as something else.
pub fn client_auth(headers: &HeaderMap) -> Result<ClientAuth, FlowError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(ClientAuth::default());
    };
    let bad = || FlowError::oauth(401, "invalid_client", "malformed client credentials");
    let v = v.to_str().map_err(|_| bad())?;
    let Some(b64) = v
        .split_at_checked(6)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic "))
        .map(|(_, rest)| rest)
    else {
        return Ok(ClientAuth::default());
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
    let dec = |s: &str| -> Result<String, FlowError> {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(std::borrow::Cow::into_owned)
            .map_err(|_| bad())
    };
    Ok(ClientAuth {
        basic: Some((dec(id)?, dec(secret)?)),
    })
}

fn form_body(headers: &HeaderMap, body: &[u8]) -> Result<BTreeMap<String, String>, FlowError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(FlowError::oauth(
            400,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    parse_form(body)
}

fn no_store_json(v: serde_json::Value) -> Response {
    let mut r = Json(v).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

async fn token(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FlowResponse> {
    let form = form_body(&headers, &body)?;
    let auth = client_auth(&headers)?;
    let resp = s.flow.token(&ctx, &form, &auth).await?;
    Ok(no_store_json(serde_json::to_value(resp).map_err(|e| {
        FlowError::internal("encode the token response", e)
    })?))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

async fn userinfo(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    headers: HeaderMap,
) -> Result<Response, FlowResponse> {
    let token = bearer(&headers).ok_or_else(|| {
        FlowError::oauth(401, "invalid_token", "a bearer access token is required")
    })?;
    let v = s.flow.userinfo(&ctx, token).await?;
    Ok(no_store_json(v))
}

async fn revoke(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FlowResponse> {
    let form = form_body(&headers, &body)?;
    let auth = client_auth(&headers)?;
    s.flow.revoke(&ctx, &form, &auth).await?;
    Ok(no_store_json(json!({})))
}

async fn introspect(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FlowResponse> {
    let form = form_body(&headers, &body)?;
    let auth = client_auth(&headers)?;
    let v = s.flow.introspect(&ctx, &form, &auth).await?;
    Ok(no_store_json(v))
}

async fn logout(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    headers: HeaderMap,
    Query(p): Query<LogoutParams>,
) -> Result<Response, FlowResponse> {
    let url = s.flow.logout(&ctx, &p).await?;
    // SAML single logout: through the IdP first when the browser has a SAML session.
    let saml = cookies(&headers).remove(crate::flow::saml_logout::SESSION_COOKIE);
    let url = s.flow.saml_logout_start(&ctx, saml.as_deref(), url).await?;
    let mut r = pages::redirect(url.as_str());
    if saml.is_some()
        && let Ok(v) = HeaderValue::from_str(&super::saml::session_cookie(&ctx, "", 0))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn healthz(State(s): State<SharedState>) -> Response {
    match s.flow.ping().await {
        Ok(()) => {
            s.metrics.store_up.set(1);
            Json(json!({"status": "ok", "store": "up"})).into_response()
        }
        Err(_) => {
            s.metrics.store_up.set(0);
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "degraded", "store": "down"})),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn basic(raw: &[u8]) -> Result<ClientAuth, FlowError> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("BaSiC {b64}")).unwrap(),
        );
        client_auth(&h)
    }

    #[test]
    fn basic_credentials_decode_each_part_whole() {
        let got = basic(b"my%20app:s%26t+x%3Ay%2B").unwrap().basic;
        assert_eq!(got, Some(("my app".into(), "s&t x:y+".into())));
        // A raw `&` or `=` is part of the value, never the end of it: a secret with a
        // tail must not decode to its prefix.
        let got = basic(b"app:secret&tail=1").unwrap().basic;
        assert_eq!(got, Some(("app".into(), "secret&tail=1".into())));
    }

    #[test]
    fn credentials_that_are_not_utf8_once_decoded_are_malformed() {
        for raw in [&b"app:%FF"[..], b"%C3:secret", b"app:\xff"] {
            let e = basic(raw).unwrap_err();
            assert!(
                matches!(
                    e,
                    FlowError::OAuth {
                        status: 401,
                        code: "invalid_client",
                        ..
                    }
                ),
                "{raw:?}: {e:?}"
            );
        }
    }
}
