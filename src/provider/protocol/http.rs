//! Upstream HTTP calls with bounded bodies. The `reqwest::Client` comes from the
//! `ProviderContext` (timeouts set, redirects never followed); this module only adds the
//! size cap and turns transport failures into `ProviderError::Upstream`.

use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Map, Value};

use crate::provider::ProviderError;

/// Largest upstream body read (discovery documents, JWKS, token and profile answers are
/// a few kilobytes; this is generous and still bounds memory).
pub const MAX_BODY: usize = 256 * 1024;

/// The `User-Agent` of upstream API calls (GitHub refuses requests without one).
pub const USER_AGENT: &str = concat!("poolgate/", env!("CARGO_PKG_VERSION"));

/// A finished upstream response.
pub struct Response {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as a JSON object.
    pub fn json_object(&self, what: &str) -> Result<Map<String, Value>, ProviderError> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(ProviderError::Upstream(format!(
                "{what}: answer is not a JSON object"
            ))),
            Err(_) => Err(ProviderError::Upstream(format!(
                "{what}: answer is not JSON (status {}, content type {:?})",
                self.status.as_u16(),
                truncate(&self.content_type, 60)
            ))),
        }
    }
}

/// Sends a request and reads at most `MAX_BODY` bytes of the answer.
pub async fn send(req: RequestBuilder, what: &str) -> Result<Response, ProviderError> {
    send_capped(req, what, MAX_BODY).await
}

/// Sends a request and reads at most `max` bytes of the answer, as it streams in: a
/// larger answer is refused once it passes `max`, never read whole first.
pub async fn send_capped(
    req: RequestBuilder,
    what: &str,
    max: usize,
) -> Result<Response, ProviderError> {
    let mut resp = req
        .send()
        .await
        .map_err(|e| ProviderError::Upstream(format!("{what}: {}", describe(e))))?;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(ProviderError::Upstream(format!(
            "{what}: answer larger than {max} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ProviderError::Upstream(format!("{what}: {}", describe(e))))?
    {
        if body.len() + chunk.len() > max {
            return Err(ProviderError::Upstream(format!(
                "{what}: answer larger than {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        content_type,
        body,
    })
}

/// Sends a request and expects a 200 JSON object.
pub async fn get_json(
    req: RequestBuilder,
    what: &str,
) -> Result<Map<String, Value>, ProviderError> {
    let resp = send(
        req.header(reqwest::header::ACCEPT, "application/json"),
        what,
    )
    .await?;
    if !resp.status.is_success() {
        return Err(ProviderError::Upstream(format!(
            "{what}: status {}",
            resp.status.as_u16()
        )));
    }
    resp.json_object(what)
}

/// A transport error without the URL (which may carry a query with a token).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else if e.is_redirect() {
        "redirect refused".into()
    } else {
        e.without_url().to_string()
    }
}

/// Cuts an upstream-controlled string for a log or error line.
pub fn truncate(s: &str, max: usize) -> String {
    let cleaned: String = s.chars().filter(|c| !c.is_control()).collect();
    if cleaned.chars().count() <= max {
        cleaned
    } else {
        cleaned.chars().take(max).collect::<String>() + "…"
    }
}
