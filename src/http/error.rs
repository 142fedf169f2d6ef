//! Rendering of errors: `{error, message}` JSON for the admin API and routing, RFC 6749
//! JSON for token-style endpoints, redirects to validated URIs, HTML pages otherwise.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::admin::AdminError;
use crate::flow::FlowError;

use super::pages;

/// An admin/routing error: `{"error": code, "message": sentence}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", format!("{what} does not exist"))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, "conflict", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (
            status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        r
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(what) => ApiError::not_found(what),
            AdminError::Conflict(m) => ApiError::conflict(m),
            AdminError::Invalid(problems) => ApiError::bad_request(problems.join("; ")),
            AdminError::LimitExceeded(m) => ApiError::new(409, "limit_exceeded", m),
            AdminError::Unavailable { message, source } => {
                tracing::warn!(error = %source, cause = ?source.source(), "admin operation: {message}");
                ApiError::new(503, "temporarily_unavailable", message)
            }
            AdminError::Internal { message, source } => {
                tracing::error!(error = %source, cause = ?source.source(), "admin operation: {message}");
                ApiError::new(500, "internal_error", message)
            }
        }
    }
}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Unavailable => ApiError::new(
                503,
                "temporarily_unavailable",
                "The store is unavailable; retry later.",
            ),
            FlowError::Page { status, message } => {
                ApiError::new(status, "invalid_request", message)
            }
            FlowError::OAuth {
                status,
                code,
                description,
            } => ApiError::new(status, code, description),
            FlowError::Redirect(_) | FlowError::Internal => {
                ApiError::new(500, "internal_error", "Internal error.")
            }
        }
    }
}

/// Renders a `FlowError` the way its kind says.
pub struct FlowResponse(pub FlowError);

impl From<FlowError> for FlowResponse {
    fn from(e: FlowError) -> Self {
        FlowResponse(e)
    }
}

impl IntoResponse for FlowResponse {
    fn into_response(self) -> Response {
        match self.0 {
            FlowError::Page { status, message } => pages::error_page(status, &message),
            FlowError::Redirect(url) => pages::redirect(url.as_str()),
            FlowError::OAuth {
                status,
                code,
                description,
            } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                let mut r = (
                    status,
                    Json(json!({"error": code, "error_description": description})),
                )
                    .into_response();
                let h = r.headers_mut();
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                if status == StatusCode::UNAUTHORIZED {
                    let challenge = if code == "invalid_token" {
                        "Bearer error=\"invalid_token\""
                    } else {
                        "Basic realm=\"poolgate\""
                    };
                    h.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(challenge),
                    );
                }
                r
            }
            FlowError::Unavailable => {
                let mut r = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({"error": "temporarily_unavailable", "error_description": "the store is unavailable; retry later"})),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            FlowError::Internal => pages::error_page(500, "Something went wrong on our side."),
        }
    }
}
