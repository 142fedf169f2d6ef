//! Rate limits (GCRA, the `governor` crate) on the endpoints a flood aims at:
//! `/oauth2/authorize`, `/oauth2/token`, the SAML ACS, the admin API and the Cognito API
//! (`POST /`). Each group has its own budget per client IP (`client_ip`: the TCP peer,
//! or what a trusted proxy forwarded) and, where the
//! request names one, per app client (`client_id` of the query, the form or HTTP Basic).
//! Over budget: `429` with `Retry-After`. Budgets are requests per second, bursts twice
//! that; `POOLGATE_RATE_LIMIT_IP` and `POOLGATE_RATE_LIMIT_CLIENT` set them (0: off).
//!
//! Behind a reverse proxy, list it in `POOLGATE_TRUSTED_PROXIES` so that each client
//! is counted under its own address rather than the proxy's.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::client_ip::ClientIp;
use super::{ApiError, MAX_BODY};

/// Endpoints with a budget of their own.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Group {
    Authorize,
    Token,
    SamlAcs,
    Admin,
    Cognito,
}

fn group(method: &Method, path: &str) -> Option<Group> {
    match (method, path) {
        (&Method::GET, "/oauth2/authorize") => Some(Group::Authorize),
        (&Method::POST, "/oauth2/token") => Some(Group::Token),
        (&Method::POST, "/saml2/idpresponse") => Some(Group::SamlAcs),
        (&Method::POST, "/") => Some(Group::Cognito),
        (_, p) if p == "/admin/v1" || p.starts_with("/admin/v1/") => Some(Group::Admin),
        _ => None,
    }
}

/// Keys kept at most before idle ones are dropped.
const MAX_KEYS: usize = 100_000;

/// The limiters of one gateway.
pub struct RateLimits {
    ip: Option<DefaultKeyedRateLimiter<(Group, IpAddr)>>,
    client: Option<DefaultKeyedRateLimiter<(Group, String)>>,
    calls: AtomicU64,
}

fn quota(per_second: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
    Some(Quota::per_second(rate).allow_burst(burst))
}

impl RateLimits {
    /// Budgets per second per client IP and per app client; 0 turns one off.
    pub fn new(ip_per_second: u32, client_per_second: u32) -> Self {
        Self {
            ip: quota(ip_per_second).map(DefaultKeyedRateLimiter::keyed),
            client: quota(client_per_second).map(DefaultKeyedRateLimiter::keyed),
            calls: AtomicU64::new(0),
        }
    }

    /// Seconds to wait when `key` is over budget.
    fn check<K: std::hash::Hash + Eq + Clone>(
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Option<u64> {
        limiter.check_key(key).err().map(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    fn housekeeping(&self) {
        if !self
            .calls
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(4096)
        {
            return;
        }
        if let Some(l) = &self.ip
            && l.len() > MAX_KEYS
        {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.client
            && l.len() > MAX_KEYS
        {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

fn too_many(wait_s: u64) -> Response {
    let mut r = ApiError::new(
        429,
        "too_many_requests",
        "Too many requests; try again later.",
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&wait_s.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The app client a request names without reading its body: the query's
/// `client_id`, or the user of HTTP Basic.
fn client_in_head(req: &Request) -> Option<String> {
    if let Some(q) = req.uri().query()
        && let Some((_, v)) =
            url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "client_id")
    {
        return Some(v.into_owned());
    }
    let auth = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = auth
        .strip_prefix("Basic ")
        .or_else(|| auth.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let id = raw.split_once(':')?.0;
    url::form_urlencoded::parse(format!("x={id}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// The middleware.
pub async fn limit(State(limits): State<Arc<RateLimits>>, req: Request, next: Next) -> Response {
    let Some(g) = group(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    limits.housekeeping();
    if let (Some(l), Some(ClientIp(ip))) = (&limits.ip, req.extensions().get::<ClientIp>())
        && let Some(wait) = RateLimits::check(l, &(g, *ip))
    {
        tracing::info!(ip = %ip, group = ?g, "rate limited (client IP)");
        return too_many(wait);
    }
    let Some(l) = &limits.client else {
        return next.run(req).await;
    };
    let mut req = req;
    let mut client = client_in_head(&req);
    // `client_secret_post` and public clients name themselves in the token form: read
    // it (only when it is small enough to be accepted anyway) and hand it on.
    if client.is_none() && g == Group::Token {
        let small = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n <= MAX_BODY);
        if small {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
                return ApiError::new(400, "invalid_request", "The body could not be read.")
                    .into_response();
            };
            client = url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "client_id")
                .map(|(_, v)| v.into_owned());
            req = Request::from_parts(parts, Body::from(bytes));
        }
    }
    if let Some(id) = client.filter(|c| !c.is_empty() && c.len() <= 128)
        && let Some(wait) = RateLimits::check(l, &(g, id))
    {
        tracing::info!(group = ?g, "rate limited (app client)");
        return too_many(wait);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_method_and_path() {
        assert_eq!(
            group(&Method::GET, "/oauth2/authorize"),
            Some(Group::Authorize)
        );
        assert_eq!(group(&Method::POST, "/oauth2/token"), Some(Group::Token));
        assert_eq!(
            group(&Method::POST, "/saml2/idpresponse"),
            Some(Group::SamlAcs)
        );
        assert_eq!(group(&Method::GET, "/admin/v1/pools"), Some(Group::Admin));
        assert_eq!(group(&Method::POST, "/"), Some(Group::Cognito));
        assert_eq!(group(&Method::GET, "/healthz"), None);
        assert_eq!(group(&Method::GET, "/admin/v10"), None);
    }

    #[test]
    fn a_burst_of_twice_the_rate_then_refusal_with_a_wait() {
        let l = RateLimits::new(5, 0);
        let ip = l.ip.as_ref().unwrap();
        let key = (Group::Token, IpAddr::from([10, 0, 0, 1]));
        for _ in 0..10 {
            assert_eq!(RateLimits::check(ip, &key), None);
        }
        let wait = RateLimits::check(ip, &key).expect("the 11th is over budget");
        assert!((1..=1).contains(&wait), "{wait}");
        // Other keys have their own budget.
        assert_eq!(
            RateLimits::check(ip, &(Group::Admin, IpAddr::from([10, 0, 0, 1]))),
            None
        );
        assert!(l.client.is_none(), "0 turns a limit off");
    }
}
