//! Form-post callbacks on plain-HTTP development (`http://localhost`): the binding
//! cookie there is `SameSite=Lax` (browsers refuse `SameSite=None` without `Secure`),
//! so a cross-site POST (Apple's `form_post`, an OIDC provider's, a SAML IdP's) arrives
//! without it. Such a POST is answered with a page of poolgate's own origin that posts
//! the same fields to the same endpoint again; that second POST is same-site and
//! carries the cookie. Nothing is consumed by the first POST, and the second is never
//! answered this way (it is same-origin), so there is no loop. HTTPS never needs this.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::pages::{Field, PAGE_CSP, error_page, html_with_csp, render};
use super::security::origin_matches;
use crate::flow::PoolCtx;
use crate::flow::binding;

/// The page's CSP: [`PAGE_CSP`] plus poolgate's own script (no inline script).
fn csp() -> String {
    format!("{PAGE_CSP}; script-src 'self'")
}

/// Whether the request came from another site, as the browser says: `Sec-Fetch-Site`,
/// or, from a browser without it, an `Origin` other than the pool domain's (the
/// address the request came in on, not the issuer, which `issuer_style: cognito`
/// gives a path and perhaps another host).
fn cross_site(ctx: &PoolCtx, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes().eq_ignore_ascii_case(b"cross-site");
    }
    headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| !origin_matches(o, ctx.base.as_str()))
}

/// Whether a POST callback of the sign-in `state` should be posted again from
/// poolgate's origin: plain HTTP, cross-site, and without the sign-in's cookie.
pub fn needed(
    ctx: &PoolCtx,
    headers: &HeaderMap,
    cookies: &BTreeMap<String, String>,
    state: &str,
) -> bool {
    !binding::secure(ctx)
        && !state.is_empty()
        && cross_site(ctx, headers)
        && !cookies.contains_key(&binding::cookie_name(ctx, state))
}

/// The page posting `fields` to `action` (a path of this origin) again.
pub fn page(action: &str, fields: &BTreeMap<String, String>) -> Response {
    let fields: Vec<Field> = fields
        .iter()
        .map(|(k, v)| Field {
            name: k.clone(),
            value: v.clone(),
        })
        .collect();
    match render("form_post.html", context! { action, fields, auto => true }) {
        Some(body) => html_with_csp(StatusCode::OK, body, &csp()),
        None => error_page(500, "Something went wrong on our side."),
    }
}

/// `GET /login/assets/autopost.js`.
pub async fn script() -> Response {
    let mut r = include_str!("templates/autopost.js").into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Pool, PoolSettings};

    fn ctx(base: &str) -> PoolCtx {
        PoolCtx {
            pool: Pool {
                id: "default".into(),
                settings: PoolSettings::default(),
                created_at: 0,
                hook_secret: None,
            },
            issuer: base.into(),
            base: url::Url::parse(base).unwrap(),
        }
    }

    #[test]
    fn only_cookieless_cross_site_posts_on_plain_http() {
        let http = ctx("http://localhost:8080");
        let mut h = HeaderMap::new();
        let jar = BTreeMap::new();
        assert!(!needed(&http, &h, &jar, "s"), "no sign of a browser");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(needed(&http, &h, &jar, "s"));
        assert!(!needed(&ctx("https://login.example"), &h, &jar, "s"));
        let mut with = BTreeMap::new();
        with.insert(binding::cookie_name(&http, "s"), "v".to_owned());
        assert!(!needed(&http, &h, &with, "s"));
        // The second POST, from the page itself, is same-origin: never answered again.
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!needed(&http, &h, &jar, "s"));
        let mut h = HeaderMap::new();
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://appleid.apple.com"),
        );
        assert!(needed(&http, &h, &jar, "s"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8080"),
        );
        assert!(!needed(&http, &h, &jar, "s"));
    }

    #[test]
    fn a_cognito_style_issuer_does_not_make_the_pages_own_post_cross_site() {
        // `issuer_style: cognito`: the issuer is `{POOLGATE_PUBLIC_URL}/{pool id}`.
        let mut ctx = ctx("http://localhost:8080");
        ctx.issuer = "http://localhost:8080/default".into();
        let jar = BTreeMap::new();
        let mut h = HeaderMap::new();
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8080"),
        );
        assert!(
            !needed(&ctx, &h, &jar, "s"),
            "the re-posted form is same-origin"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://appleid.apple.com"),
        );
        assert!(needed(&ctx, &h, &jar, "s"));
    }
}
