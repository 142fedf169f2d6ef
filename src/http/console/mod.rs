//! `/console`: the admin console, server-rendered HTML over the admin service (every
//! rule lives there; these handlers parse a form, call one method, render a page).
//! Signed in with the admin token, exchanged for a session cookie, or through the
//! console's pool (`pool_signin`); every form carries the session's CSRF token and its
//! Origin is checked. No script: plain forms.

mod client_secrets;
mod clients;
mod groups;
mod kinds;
mod pool_signin;
mod pools;
mod providers;
mod session;
mod test_signin;
mod users;

use std::cell::RefCell;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{AutoEscape, Environment, Value, context};

use super::SharedState;
use crate::admin::AdminError;

pub use session::{Posted, Signed};

/// Largest form the console reads: a pasted SAML metadata document (signed, with
/// several certificates and endpoints) is often over the gateway's 64 KiB. Every form
/// but the sign-in is read only after the session is checked.
pub const CONSOLE_MAX_BODY: usize = 1024 * 1024;

/// The console's CSP: its own stylesheet, forms to itself, nothing else at all.
pub const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/console", get(session::home))
        .route(
            "/console/signin",
            get(session::signin_page).post(session::signin),
        )
        .route("/console/signin/pool", post(pool_signin::start))
        .route("/console/callback", get(pool_signin::callback))
        .route("/console/signout", post(session::signout))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/pools", get(pools::list).post(pools::create))
        .route("/console/pools/{pool}", get(pools::show))
        .route("/console/pools/{pool}/settings", post(pools::settings))
        .route("/console/pools/{pool}/domains", post(pools::add_domain))
        .route(
            "/console/pools/{pool}/domains/{domain}/delete",
            post(pools::delete_domain),
        )
        .route("/console/pools/{pool}/keys", get(pools::keys))
        .route("/console/pools/{pool}/keys/rotate", post(pools::rotate))
        .route(
            "/console/pools/{pool}/keys/rotate-sp",
            post(pools::rotate_sp),
        )
        .route(
            "/console/pools/{pool}/providers",
            get(providers::list).post(providers::save),
        )
        .route("/console/pools/{pool}/providers/new", get(providers::new))
        .route(
            "/console/pools/{pool}/providers/{name}",
            get(providers::edit),
        )
        .route(
            "/console/pools/{pool}/providers/{name}/delete",
            post(providers::delete),
        )
        .route(
            "/console/pools/{pool}/providers/{name}/test",
            post(test_signin::start),
        )
        .route(
            "/console/pools/{pool}/test/callback",
            get(test_signin::callback),
        )
        .route(
            "/console/pools/{pool}/test/remove",
            post(test_signin::remove),
        )
        .route(
            "/console/pools/{pool}/clients",
            get(clients::list).post(clients::create),
        )
        .route(
            "/console/pools/{pool}/clients/{client}",
            get(clients::show).post(clients::update),
        )
        .route(
            "/console/pools/{pool}/clients/{client}/delete",
            post(clients::delete),
        )
        .route(
            "/console/pools/{pool}/clients/{client}/secrets",
            post(client_secrets::add),
        )
        .route(
            "/console/pools/{pool}/clients/{client}/secrets/{secret}/delete",
            post(client_secrets::delete),
        )
        .route(
            "/console/pools/{pool}/groups",
            get(groups::list).post(groups::create),
        )
        .route("/console/pools/{pool}/groups/{group}", get(groups::show))
        .route(
            "/console/pools/{pool}/groups/{group}/{action}",
            post(groups::act),
        )
        .route("/console/pools/{pool}/users", get(users::list))
        .route("/console/pools/{pool}/users/{user}", get(users::show))
        .route(
            "/console/pools/{pool}/users/{user}/{action}",
            post(users::act),
        )
        // Inside the gateway's own limit, so it is this one that applies here.
        .layer(axum::extract::DefaultBodyLimit::max(CONSOLE_MAX_BODY))
        .layer(axum::middleware::from_fn(who_scope))
}

tokio::task_local! {
    /// The username of the pool user signed in to the console, set by the session
    /// guard of the request being served, for the header of the pages it renders.
    static WHO: RefCell<Option<String>>;
}

/// Serves a console request with its own (empty) [`WHO`].
async fn who_scope(req: Request, next: Next) -> Response {
    WHO.scope(RefCell::new(None), next.run(req)).await
}

/// Records who the request's session belongs to (`None`: the admin token).
fn set_who(who: Option<String>) {
    let _ = WHO.try_with(|w| *w.borrow_mut() = who);
}

fn who() -> Option<String> {
    WHO.try_with(|w| w.borrow().clone()).ok().flatten()
}

static TEMPLATES: LazyLock<Result<Environment<'static>, minijinja::Error>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    for (name, src) in [
        ("base.html", include_str!("../templates/console/base.html")),
        (
            "signin.html",
            include_str!("../templates/console/signin.html"),
        ),
        (
            "error.html",
            include_str!("../templates/console/error.html"),
        ),
        (
            "pools.html",
            include_str!("../templates/console/pools.html"),
        ),
        ("pool.html", include_str!("../templates/console/pool.html")),
        ("keys.html", include_str!("../templates/console/keys.html")),
        (
            "providers.html",
            include_str!("../templates/console/providers.html"),
        ),
        (
            "provider.html",
            include_str!("../templates/console/provider.html"),
        ),
        (
            "clients.html",
            include_str!("../templates/console/clients.html"),
        ),
        (
            "client.html",
            include_str!("../templates/console/client.html"),
        ),
        (
            "client_fields.html",
            include_str!("../templates/console/client_fields.html"),
        ),
        (
            "users.html",
            include_str!("../templates/console/users.html"),
        ),
        ("user.html", include_str!("../templates/console/user.html")),
        (
            "groups.html",
            include_str!("../templates/console/groups.html"),
        ),
        (
            "group.html",
            include_str!("../templates/console/group.html"),
        ),
        (
            "signin_pool.html",
            include_str!("../templates/console/signin_pool.html"),
        ),
        (
            "signed_in.html",
            include_str!("../templates/console/signed_in.html"),
        ),
        (
            "signin_refused.html",
            include_str!("../templates/console/signin_refused.html"),
        ),
        (
            "test_start.html",
            include_str!("../templates/console/test_start.html"),
        ),
        (
            "test_result.html",
            include_str!("../templates/console/test_result.html"),
        ),
    ] {
        env.add_template(name, src)?;
    }
    env.add_filter("date", date);
    env.add_filter("seg", seg);
    Ok(env)
});

/// `{{ unix_seconds | date }}`: `2026-12-06 05:21 UTC`.
fn date(v: i64) -> String {
    chrono::DateTime::from_timestamp(v, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// `{{ name | seg }}`: a value as one URL path segment (every byte but the RFC 3986
/// unreserved ones percent-encoded).
fn seg(v: String) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A console page with `status`; a template fault is logged and shown as a 500 page.
/// The header names the pool user signed in, if the session is one's.
pub fn page(status: StatusCode, name: &str, ctx: Value) -> Response {
    let ctx = match who() {
        Some(who) => context! { who, ..ctx },
        None => ctx,
    };
    let rendered = match &*TEMPLATES {
        Ok(env) => env.get_template(name).and_then(|t| t.render(ctx)),
        Err(e) => Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("console templates do not compile: {e}"),
        )),
    };
    match rendered {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(template = name, error = %e, "console page rendering failed");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Console error</title><p>The page could not be shown.</p>"
                    .to_owned(),
            )
        }
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, axum::response::Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Not the gateway's `no-referrer`: under it, browsers send `Origin: null` with a
    // form POST (Fetch, "serializing a request origin"), and the Origin check could
    // not tell the console's own forms from forged ones. Other sites still get no
    // referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// An error page inside the console's frame.
pub fn error(status: u16, message: &str, csrf: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    page(
        status,
        "error.html",
        context! { message, csrf, status => status.as_u16() },
    )
}

/// An admin error as a page (the problems of `Invalid` are shown by the forms
/// themselves; here they are joined).
pub fn admin_error(e: AdminError, csrf: &str) -> Response {
    let api = super::ApiError::from(e);
    error(api.status, &api.message, Some(csrf))
}

/// 303 to a console path after a successful POST (Post/Redirect/Get), with a fixed
/// notice code the target page turns into a sentence.
pub fn see_other(path: &str, notice: &str) -> Response {
    let mut u = match url::Url::parse("http://console.invalid/") {
        Ok(u) => u,
        Err(_) => return error(500, "Internal error.", None),
    };
    u.set_path(path);
    if !notice.is_empty() {
        u.query_pairs_mut().append_pair("ok", notice);
    }
    let loc = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    };
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&loc) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The sentence of a notice code (codes only: no text comes from the URL).
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "pool-created" => "The pool was created.",
        "settings-saved" => "The settings were saved.",
        "domain-added" => "The domain was saved.",
        "domain-removed" => "The domain was removed.",
        "provider-saved" => "The provider was saved.",
        "provider-deleted" => "The provider was deleted.",
        "client-saved" => "The app client was saved.",
        "client-deleted" => "The app client was deleted.",
        "keys-rotated" => "A new signing key is active; the previous one stays published.",
        "sp-keys-rotated" => {
            "New SAML SP keys are published; the previous ones stay valid until the next rotation."
        }
        "user-disabled" => "The user is disabled: it can no longer sign in or refresh tokens.",
        "user-enabled" => "The user is enabled.",
        "user-signed-out" => "Every token of the user is revoked.",
        "identity-unlinked" => "The identity was unlinked.",
        "test-user-removed" => "The test user was removed.",
        "identity-linked" => "The identity is linked: signing in with it signs in as this user.",
        "group-created" => "The group was created.",
        "secret-added" => "A second secret was added: both work until you delete one.",
        "secret-deleted" => "The secret was deleted: it no longer authenticates the client.",
        "group-deleted" => "The group was deleted.",
        "member-added" => "The user was added to the group.",
        "member-removed" => "The user was removed from the group.",
        _ => return None,
    })
}

/// `GET /console/assets/console.css`.
async fn stylesheet() -> Response {
    let mut r = include_str!("../templates/console/console.css").into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// A submitted form: every pair in order (checkbox groups repeat their name).
#[derive(Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_urlencoded::from_bytes(body).ok().map(Form)
    }
    /// The first value of `k`, trimmed; empty when absent.
    pub fn get(&self, k: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, v)| v.trim())
    }
    /// The first value of `k`, trimmed, when not empty.
    pub fn opt(&self, k: &str) -> Option<String> {
        Some(self.get(k))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }
    /// Every value of `k` (a checkbox group).
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }
    pub fn checked(&self, k: &str) -> bool {
        !self.get(k).is_empty()
    }
    /// The non-empty lines (or commas) of a text area.
    pub fn lines(&self, k: &str) -> Vec<String> {
        self.get(k)
            .split(['\n', ','])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The base URL a pool's domain is reached at: `http` only where the gateway itself
/// would answer over plain HTTP (its own loopback public URL, or a loopback name).
pub fn domain_base(s: &SharedState, domain: &str) -> String {
    let host = crate::tls::host_of(domain);
    let scheme = if domain == s.settings.public_domain() {
        s.settings.public_url.scheme()
    } else if crate::config::is_loopback_host(host) {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compile_and_forms_parse() {
        assert!(TEMPLATES.is_ok(), "{:?}", TEMPLATES.as_ref().err());
        let f = Form::parse(b"a=+x+&s=openid&s=email&l=a%0Ab,c&e=").unwrap_or_default();
        assert_eq!(f.get("a"), "x");
        assert_eq!(f.all("s"), ["openid", "email"]);
        assert_eq!(f.lines("l"), ["a", "b", "c"]);
        assert_eq!(f.opt("e"), None);
        assert!(!f.checked("missing"));
        assert_eq!(seg("a b/é?".into()), "a%20b%2F%C3%A9%3F");
        assert_eq!(date(0), "1970-01-01 00:00 UTC");
        assert_eq!(notice(Some("<script>")), None);
    }
}
