//! Operator endpoints: `/metrics` (Prometheus). Its labels name every pool's domains and
//! providers, so on the public listeners it answers only to the admin token; an
//! operator who scrapes without one names a separate listener
//! (`POOLGATE_METRICS_LISTEN`, typically on a private interface) that serves it alone.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, SharedState};
use crate::secret::constant_time_eq;

/// Whether the request carries the admin bearer token (compared in constant time).
pub fn has_admin_token(s: &SharedState, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), s.admin_token.as_bytes()))
}

fn encoded(s: &SharedState) -> Response {
    let mut r = s.metrics.encode().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// `GET /metrics` on the public listeners: with the admin token only.
pub async fn metrics(State(s): State<SharedState>, headers: HeaderMap) -> Response {
    if !has_admin_token(&s, &headers) {
        let mut r = ApiError::new(
            401,
            "unauthorized",
            "A valid admin bearer token is required.",
        )
        .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    encoded(&s)
}

/// The router of `POOLGATE_METRICS_LISTEN`: `/metrics` without a token, nothing else.
pub fn metrics_router(state: SharedState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(s): State<SharedState>| async move { encoded(&s) }),
        )
        .fallback(|| async { ApiError::new(404, "not_found", "No such endpoint.") })
        .with_state(state)
}
