//! Headers on every response, and the per-request page context: a request id (also
//! sent as `X-Request-Id`, and a field of the request's tracing span, so that every
//! log line of the request names it) and where a "go back" link may point.
//!
//! Every page is a GET without side effects, and the only forms are GETs to
//! `/oauth2/authorize` (which validates the client and redirect URI itself), so there is
//! no form to forge: the CSRF that matters here, login CSRF on the callback, is stopped
//! by the flow's browser-binding cookie.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::ViaTls;

/// What an error page rendered inside this request knows about it.
#[derive(Clone, Debug, Default)]
pub struct PageCtx {
    pub request_id: String,
    /// The `Referer`, when it is a plain http(s) URL: the "go back" link.
    pub back: Option<String>,
}

tokio::task_local! {
    pub static PAGE: PageCtx;
}

/// CSP of responses that are not pages (JSON, CSS): nothing may run or frame them.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
/// One year; only sent over TLS, where browsers honour it (RFC 6797 section 7.2).
const HSTS: &str = "max-age=31536000";

/// Whether the `Origin` header value `sent` names the origin of `own` (a URL of this
/// gateway, such as the pool domain a request came in on), compared as RFC 6454
/// origins: scheme, host and port, never a path; `null` and opaque origins are
/// nobody's.
pub fn origin_matches(sent: &str, own: &str) -> bool {
    let tuple = |v: &str| {
        url::Url::parse(v)
            .ok()
            .map(|u| u.origin())
            .filter(url::Origin::is_tuple)
    };
    let sent = tuple(sent);
    sent.is_some() && sent == tuple(own)
}

fn back_link(req: &Request) -> Option<String> {
    let raw = req.headers().get(header::REFERER)?.to_str().ok()?;
    let u = url::Url::parse(raw).ok()?;
    (matches!(u.scheme(), "https" | "http") && raw.len() <= 2048).then(|| u.to_string())
}

pub async fn headers(req: Request, next: Next) -> Response {
    let tls = req.extensions().get::<ViaTls>().is_some();
    let ctx = PageCtx {
        request_id: uuid::Uuid::new_v4().simple().to_string(),
        back: back_link(&req),
    };
    let id = ctx.request_id.clone();
    // Every log line of the request (a flow's internal error included) carries its id.
    let span = tracing::info_span!("request", request_id = %id);
    let mut r = PAGE.scope(ctx, next.run(req)).instrument(span).await;
    let h = r.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    r
}
