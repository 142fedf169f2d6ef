//! SAML endpoints of a pool: SP metadata, the assertion consumer service, and the end
//! of single logout. Thin: parse, call the flow, render.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::error::FlowResponse;
use super::{HostPool, SharedState, cookies, pages, parse_form, repost};
use crate::flow::saml_logout::{SESSION_COOKIE, SESSION_TTL};
use crate::flow::{FlowError, PoolCtx};

/// The ACS body cap: a 100,000-character `SAMLResponse` grows when form-encoded
/// (`+`, `/`, `=` become three characters), plus `RelayState`. Larger bodies are
/// refused with 413 before anything is parsed.
pub const MAX_ACS_BODY: usize = 320_000;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/saml2/metadata", get(metadata))
        .route("/saml2/logout", get(logout_response))
        .route(
            "/saml2/idpresponse",
            post(acs).layer(DefaultBodyLimit::max(MAX_ACS_BODY)),
        )
}

async fn metadata(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
) -> Result<Response, FlowResponse> {
    let xml = s.flow.sp_metadata(&ctx).await?;
    let mut r = xml.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    Ok(r)
}

async fn acs(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FlowResponse> {
    let form = parse_form(&body)
        .map_err(|_| FlowError::page(400, "The sign-in response is malformed."))?;
    let jar = cookies(&headers);
    let relay = form.get("RelayState").map(String::as_str).unwrap_or("");
    // SP-initiated (the RelayState is a sign-in's state, not Cognito's query form).
    if !relay.is_empty() && !relay.contains('=') && repost::needed(&ctx, &headers, &jar, relay) {
        return Ok(repost::page("/saml2/idpresponse", &form));
    }
    let done = s.flow.saml_acs(&ctx, &form, &jar).await?;
    let mut r = pages::redirect(done.redirect.as_str());
    if let Some(handle) = done.session
        && let Ok(v) = HeaderValue::from_str(&session_cookie(&ctx, &handle, SESSION_TTL.as_secs()))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some(name) = done.binding_cookie
        && let Ok(v) = HeaderValue::from_str(&crate::flow::binding::set_cookie(&ctx, &name, "", 0))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// The single-logout handle: sent back to `/logout` only (same-site navigation).
pub fn session_cookie(ctx: &PoolCtx, value: &str, max_age: u64) -> String {
    let secure = if ctx.base.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={value}; Path=/logout; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    )
}

async fn logout_response(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    RawQuery(q): RawQuery,
) -> Result<Response, FlowResponse> {
    let url = s
        .flow
        .saml_logout_finish(&ctx, q.as_deref().unwrap_or(""))
        .await?;
    Ok(pages::redirect(url.as_str()))
}
