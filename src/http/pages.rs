//! Server-rendered pages: error pages with a request id, redirects, the auto-posted
//! form of the SAML POST binding. No script anywhere.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// CSP of every HTML page: no script at all, no framing (interface: security headers).
pub const PAGE_CSP: &str = "default-src 'none'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; form-action 'self' https: http://localhost:* http://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'";

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A page that says what went wrong, with a request id to quote to the operator.
pub fn error_page(status: u16, message: &str) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    tracing::info!(request_id = %id, status = status.as_u16(), message, "error page");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Sign-in error</title></head><body style=\"font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a\">\
<main><h1>Sign-in could not continue</h1><p>{}</p><p>Request id: <code>{id}</code></p><p>Return to the app and try again.</p></main></body></html>",
        esc(message)
    );
    html(status, body)
}

/// A 302 to an already validated URL.
pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(_) => error_page(500, "The redirect target is not a valid URL."),
    }
}

/// An auto-submitting form for the SAML HTTP-POST binding, without script: the user
/// presses the button (and browsers that honour `autofocus` need one key).
pub fn post_form(action: &str, fields: &[(String, String)]) -> Response {
    let mut inputs = String::new();
    for (k, v) in fields {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        ));
    }
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Continue sign-in</title></head><body>\
<form method=\"post\" action=\"{}\">{inputs}<button type=\"submit\" autofocus>Continue</button></form></body></html>",
        esc(action)
    );
    html(StatusCode::OK, body)
}
