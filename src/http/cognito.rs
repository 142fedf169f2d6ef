//! `POST /` on every host: the Cognito API (JSON 1.1). Reads `X-Amz-Target`, checks
//! the SigV4 signature of the operations that need one, parses the body and renders
//! the operation's answer or Cognito's error (`{"__type", "message"}` with
//! `x-amzn-ErrorType`). The operations themselves are in `crate::cognito`.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::SharedState;
use crate::cognito::sigv4::{self, Signed};
use crate::cognito::{self, CognitoError, Ctx};

/// Largest body read (a SAML `MetadataFile` is the largest member Cognito takes, at
/// most 131,072 characters).
pub const MAX_COGNITO_BODY: usize = 256 * 1024;

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

fn render(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = crate::http::security::PAGE.try_with(|p| p.request_id.clone())
        && let Ok(v) = HeaderValue::from_str(&id)
    {
        h.insert("x-amzn-requestid", v);
    }
    r
}

impl IntoResponse for CognitoError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = render(
            status,
            &json!({"__type": self.code, "message": self.message}),
        );
        r.headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        r
    }
}

pub async fn serve(State(s): State<SharedState>, req: Request) -> Response {
    match dispatch(s, req).await {
        Ok(v) => render(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

async fn dispatch(s: SharedState, req: Request) -> Result<Value, CognitoError> {
    let (parts, body) = req.into_parts();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let op = cognito::operation(&target).ok_or_else(CognitoError::unknown_operation)?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !matches!(
        media,
        "application/x-amz-json-1.1" | "application/x-amz-json-1.0" | "application/json"
    ) {
        return Err(CognitoError::serialization(format!(
            "Content-Type must be {CONTENT_TYPE}."
        )));
    }
    let bytes = to_bytes(Body::new(body), MAX_COGNITO_BODY)
        .await
        .map_err(|_| {
            CognitoError::invalid_parameter(format!(
                "The request body is larger than {MAX_COGNITO_BODY} bytes."
            ))
        })?;
    let region = if op.signed {
        let verified = sigv4::verify(
            &Signed {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or_default(),
                headers: &parts.headers,
                body: &bytes,
            },
            &s.settings.aws_access_key_id,
            &s.admin_token,
            s.admin.now(),
        )
        .inspect_err(|e| {
            tracing::info!(
                operation = op.name,
                error = e.code,
                "Cognito API call refused: {}",
                e.message
            );
        })?;
        Some(verified.region)
    } else {
        None
    };
    let client_ip = parts
        .extensions
        .get::<crate::http::client_ip::ClientIp>()
        .map(|c| c.0);
    run(s, op, region, client_ip, &bytes).await
}

/// Runs `op` on a request body whose signature (if the operation needs one) was
/// checked: the body must be a JSON object (or empty), read into the operation's
/// input shape.
pub async fn run(
    s: SharedState,
    op: &cognito::Operation,
    region: Option<String>,
    client_ip: Option<std::net::IpAddr>,
    bytes: &[u8],
) -> Result<Value, CognitoError> {
    let input: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(bytes)
            .map_err(|_| CognitoError::serialization("The request body is not valid JSON."))?
    };
    if !input.is_object() {
        return Err(CognitoError::serialization(
            "The request body must be a JSON object.",
        ));
    }
    let ctx = Ctx {
        state: s,
        region,
        client_ip,
    };
    let out = (op.handler)(ctx, input).await;
    match &out {
        Ok(_) => tracing::info!(operation = op.name, "Cognito API call"),
        Err(e) if e.status >= 500 => {
            tracing::warn!(
                operation = op.name,
                error = e.code,
                "Cognito API call failed"
            )
        }
        Err(e) => tracing::info!(
            operation = op.name,
            error = e.code,
            "Cognito API call refused"
        ),
    }
    out
}
