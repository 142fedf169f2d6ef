//! The HTTP surface: routing by Host to a pool, rendering of errors, and the shared
//! middleware. Handlers are thin: parse, call one service, render.

pub mod admin;
pub mod admin_users;
pub mod client_ip;
pub mod cognito;
pub mod cognito_issuer;
pub mod console;
pub mod error;
pub mod hosted;
pub mod imports;
pub mod ops;
pub mod pages;
pub mod pages_account;
pub mod pages_login;
pub mod pages_native;
pub mod ratelimit;
pub mod repost;
pub mod saml;
pub mod security;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use url::Url;

use crate::admin::Admin;
use crate::config::{Settings, is_loopback_host};
use crate::flow::{Flow, FlowError, PoolCtx};
use crate::metrics::Metrics;
use crate::model::{IssuerStyle, Pool};
use crate::tls::CertStore;

pub use error::ApiError;

/// Largest request body poolgate reads (the SAML ACS has its own, larger cap).
pub const MAX_BODY: usize = 64 * 1024;

pub use crate::tls::ViaTls;

pub struct AppState {
    pub flow: Arc<Flow>,
    /// Administrative rules behind `/admin/v1` (and every other admin interface).
    pub admin: Arc<Admin>,
    pub settings: Arc<Settings>,
    pub admin_token: String,
    pub metrics: Arc<Metrics>,
    /// Certificates served by SNI on the HTTPS listener.
    pub certs: Arc<CertStore>,
}

pub type SharedState = Arc<AppState>;

/// A syntactically plausible `host[:port]`, lower-cased; anything else is refused
/// before it reaches the store.
fn clean_host(raw: &str) -> Option<String> {
    let h = raw.trim().to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    ok.then_some(h)
}

/// Extracts the pool owning the request's Host, and the issuer it answers as.
pub struct HostPool(pub PoolCtx);

impl FromRequestParts<SharedState> for HostPool {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let raw = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let not_found = || ApiError::new(404, "unknown_host", "No pool is served on this host.");
        let domain = clean_host(&raw).ok_or_else(not_found)?;
        let pool = state
            .flow
            .pool_for_domain(&domain)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(not_found)?;
        let via_tls = parts.extensions.get::<ViaTls>().is_some();
        let origin = format!(
            "{}://{domain}",
            scheme_of(&state.settings, &domain, via_tls)
        );
        let base = Url::parse(&origin).map_err(|_| not_found())?;
        let issuer = pool_issuer(&state.settings, &pool, origin);
        Ok(HostPool(PoolCtx { pool, issuer, base }))
    }
}

/// The scheme a pool domain answers on.
pub fn scheme_of(settings: &Settings, domain: &str, via_tls: bool) -> &'static str {
    let host_only = domain.rsplit_once(':').map_or(domain, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            domain
        }
    });
    if via_tls {
        "https"
    } else if domain == settings.public_domain() {
        if settings.public_url.scheme() == "https" {
            "https"
        } else {
            "http"
        }
    } else if is_loopback_host(host_only) {
        "http"
    } else {
        // Plain HTTP for a public name means TLS was terminated in front of us.
        "https"
    }
}

/// The issuer of `pool` for a request that came in on `origin` (`SCHEME://DOMAIN`):
/// that origin, or `{POOLGATE_PUBLIC_URL}/{pool id}` for `issuer_style: cognito`.
pub fn pool_issuer(settings: &Settings, pool: &Pool, origin: String) -> String {
    match pool.settings.issuer_style {
        IssuerStyle::Domain => origin,
        IssuerStyle::Cognito => cognito_issuer(settings, &pool.id),
    }
}

/// `{POOLGATE_PUBLIC_URL}/{pool id}`, as Cognito's `https://cognito-idp.{region}.amazonaws.com/{pool id}`.
pub fn cognito_issuer(settings: &Settings, pool: &str) -> String {
    format!(
        "{}/{pool}",
        settings.public_url.as_str().trim_end_matches('/')
    )
}

/// Cookies of a request, by name (the first of duplicates wins).
pub fn cookies(headers: &axum::http::HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                out.entry(k.trim().to_owned())
                    .or_insert_with(|| v.trim().to_owned());
            }
        }
    }
    out
}

/// Parses an `application/x-www-form-urlencoded` body; a repeated parameter is an
/// error (RFC 6749 section 3.1).
pub fn parse_form(body: &[u8]) -> Result<BTreeMap<String, String>, FlowError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| FlowError::oauth(400, "invalid_request", "the body is not a valid form"))?;
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if out.insert(k.clone(), v).is_some() {
            return Err(FlowError::oauth(
                400,
                "invalid_request",
                format!("parameter {k} is repeated"),
            ));
        }
    }
    Ok(out)
}

/// The whole application: hosted endpoints, admin API, health and metrics.
pub fn router(state: SharedState) -> Router {
    let limits = Arc::new(ratelimit::RateLimits::new(
        state.settings.rate_limit_ip,
        state.settings.rate_limit_client,
    ));
    Router::new()
        .merge(console::routes())
        .merge(hosted::routes())
        .route("/", axum::routing::post(cognito::serve))
        .route("/import/{job}", axum::routing::put(imports::upload))
        .nest("/admin/v1", admin::routes(state.clone()))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            ratelimit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(client_ip::TrustedProxies(
                state.settings.trusted_proxies.clone(),
            )),
            client_ip::attach,
        ))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .with_state(state)
}
