//! Console sign-in, sign-out, and the two request guards: [`Signed`] (a live session)
//! and [`Posted`] (a live session, a same-origin request and the session's CSRF token).
//! The sign-in through a pool is in `pool_signin`; its sessions are the same.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::{Form, error, page, see_other};
use crate::admin::ConsoleSession;
use crate::admin::sessions::ABSOLUTE_TIMEOUT_S;
use crate::http::security::origin_matches;
use crate::http::{HostPool, SharedState, cookies};
use crate::secret::{constant_time_eq, random_token};

/// Over HTTPS the cookies carry the `__Host-` prefix: the browser then accepts them
/// only with `Secure`, `Path=/` and no `Domain`, so no sibling subdomain or plain-HTTP
/// page can plant or overwrite them (RFC 6265bis section 4.1.3.2). A browser refuses
/// `Secure` cookies from plain `http` pages (loopback development), and `__Host-`
/// requires `Secure`, so there the plain name is used instead.
const SESSION_TLS: &str = "__Host-poolgate-console";
const SESSION_PLAIN: &str = "poolgate-console";
/// The sign-in form's own CSRF token (double-submit: no session exists yet).
const PRE_TLS: &str = "__Host-poolgate-console-pre";
const PRE_PLAIN: &str = "poolgate-console-pre";

/// Where the console was reached: over HTTPS or not (directly or through a TLS
/// front), and its origin.
pub(super) struct Origin {
    pub https: bool,
    /// The console's own origin (RFC 6454: scheme, host and port, never a path),
    /// serialized as a same-origin form's `Origin` header says it: `scheme://host[:port]`.
    pub origin: String,
}

pub(super) async fn origin(parts: &mut Parts, s: &SharedState) -> Result<Origin, Response> {
    let HostPool(ctx) = HostPool::from_request_parts(parts, s)
        .await
        .map_err(IntoResponse::into_response)?;
    // The address the request came in on, not the pool's issuer: with `issuer_style:
    // cognito` the issuer is `{POOLGATE_PUBLIC_URL}/{pool id}`, a URL with a path and
    // perhaps another host.
    Ok(Origin {
        https: ctx.base.scheme() == "https",
        origin: ctx.base.origin().ascii_serialization(),
    })
}

pub(super) fn names(https: bool) -> (&'static str, &'static str) {
    if https {
        (SESSION_TLS, PRE_TLS)
    } else {
        (SESSION_PLAIN, PRE_PLAIN)
    }
}

pub fn set_cookie_header(r: &mut Response, cookie: &str) {
    set_cookie(r, cookie);
}

/// `Set-Cookie` of the session (or of its removal when `value` is empty).
pub fn session_cookie(https: bool, name: &str, value: &str, max_age: i64) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

pub(super) fn set_cookie(r: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A request of a signed-in admin: its session.
pub struct Signed {
    pub session: ConsoleSession,
}

impl Signed {
    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }
}

async fn signed(parts: &mut Parts, s: &SharedState) -> Result<(Signed, Origin), Response> {
    let o = origin(parts, s).await?;
    let jar = cookies(&parts.headers);
    let id = jar.get(names(o.https).0).map_or("", String::as_str);
    match s
        .admin
        .console_session(id, s.settings.console_access.as_ref())
        .await
    {
        Ok(Some(session)) => {
            super::set_who(session.member.as_ref().map(|m| m.username.clone()));
            Ok((Signed { session }, o))
        }
        Ok(None) => Err(see_other("/console/signin", "")),
        Err(e) => Err(super::admin_error(e, "")),
    }
}

impl FromRequestParts<SharedState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &SharedState) -> Result<Self, Response> {
        Ok(signed(parts, s).await?.0)
    }
}

/// Refuses a request a browser sent from another site: its `Origin` must be this
/// console's own (`own`, a serialized origin), compared as RFC 6454 origins: scheme,
/// host and port, never a path; `null` and opaque origins are nobody's. Where only
/// `Sec-Fetch-Site` is sent, it must say `same-origin`. Requests with neither (not
/// from a browser) still need the token.
fn same_origin(headers: &HeaderMap, own: &str) -> bool {
    if let Some(o) = headers.get(header::ORIGIN) {
        return o.to_str().is_ok_and(|o| origin_matches(o, own));
    }
    headers
        .get("sec-fetch-site")
        .is_none_or(|v| v.as_bytes() == b"same-origin" || v.as_bytes() == b"none")
}

pub(super) const FORGED: &str = "This form was not accepted: it did not come from this console's own page, or the page was too old. Nothing was changed; reload the page and try again.";

/// A form POST of a signed-in admin, same-origin, with the session's CSRF token.
pub struct Posted {
    pub signed: Signed,
    pub form: Form,
    /// Whether the console is reached over HTTPS, and its origin (`scheme://host`).
    pub https: bool,
    pub origin: String,
}

impl Posted {
    pub fn csrf(&self) -> &str {
        self.signed.csrf()
    }
}

impl FromRequest<SharedState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, s: &SharedState) -> Result<Self, Response> {
        let p = SessionPost::from_request(req, s).await?;
        if !p.signed.session.csrf_matches(p.form.get("csrf")) {
            tracing::warn!("console: form without its CSRF token refused");
            return Err(error(403, FORGED, Some(p.signed.csrf())));
        }
        Ok(Posted {
            signed: p.signed,
            form: p.form,
            https: p.https,
            origin: p.origin,
        })
    }
}

/// A form POST of a signed-in admin, same-origin, whose form the handler checks for
/// a token of its own instead of the session's CSRF token (a page rendered without
/// the session, such as a test sign-in's result).
pub struct SessionPost {
    pub signed: Signed,
    pub form: Form,
    pub https: bool,
    pub origin: String,
}

impl SessionPost {
    /// The refusal of a form whose own token is wrong.
    pub fn forged(&self) -> Response {
        tracing::warn!("console: form without its token refused");
        error(403, FORGED, Some(self.signed.csrf()))
    }
}

impl FromRequest<SharedState> for SessionPost {
    type Rejection = Response;

    async fn from_request(req: Request, s: &SharedState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let (signed, o) = signed(&mut parts, s).await?;
        if !same_origin(&parts.headers, &o.origin) {
            tracing::warn!("console: cross-origin form refused");
            return Err(error(403, FORGED, Some(signed.csrf())));
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(form) = Form::parse(&bytes) else {
            return Err(error(
                400,
                "The form could not be read.",
                Some(signed.csrf()),
            ));
        };
        Ok(SessionPost {
            signed,
            form,
            https: o.https,
            origin: o.origin,
        })
    }
}

/// Whether the request reached the console over HTTPS (its cookies then carry the
/// `__Host-` prefix).
pub async fn request_https(parts: &mut Parts, s: &SharedState) -> Result<bool, Response> {
    Ok(origin(parts, s).await?.https)
}

/// `GET /console`: the pools when signed in, else the sign-in page.
pub async fn home(State(s): State<SharedState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    match signed(&mut parts, &s).await {
        Ok(_) => see_other("/console/pools", ""),
        Err(r) => r,
    }
}

/// The sign-in page: the admin token form, and "Sign in with <pool>" when the console
/// signs in through a pool too.
async fn signin_form(s: &SharedState, https: bool, problem: Option<&str>) -> Response {
    let pre = random_token(24);
    let status = if problem.is_some() { 401 } else { 200 };
    let pool_label = match &s.settings.console_access {
        Some(a) => Some(match s.admin.pool(&a.pool).await {
            Ok(p) => p.settings.name.unwrap_or(p.id),
            Err(_) => a.pool.clone(),
        }),
        None => None,
    };
    let mut r = page(
        axum::http::StatusCode::from_u16(status).unwrap_or_default(),
        "signin.html",
        context! { pre => pre, problem, pool_label },
    );
    set_cookie(&mut r, &session_cookie(https, names(https).1, &pre, 600));
    r
}

/// `GET /console/signin`.
pub async fn signin_page(State(s): State<SharedState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    match origin(&mut parts, &s).await {
        Ok(o) => signin_form(&s, o.https, None).await,
        Err(r) => r,
    }
}

/// A POST of the sign-in page's forms: same-origin, with the pre-session CSRF token
/// (double-submit: its cookie and its field agree). Its origin and form.
pub(super) async fn signin_post(s: &SharedState, req: Request) -> Result<(Origin, Form), Response> {
    let (mut parts, body) = req.into_parts();
    let o = origin(&mut parts, s).await?;
    let jar = cookies(&parts.headers);
    if !same_origin(&parts.headers, &o.origin) {
        return Err(error(403, FORGED, None));
    }
    let Ok(bytes) = Bytes::from_request(Request::from_parts(parts, body), s).await else {
        return Err(error(400, "The form could not be read.", None));
    };
    let form = Form::parse(&bytes).unwrap_or_default();
    let pre = jar.get(names(o.https).1).map_or("", String::as_str);
    if pre.is_empty() || !constant_time_eq(pre.as_bytes(), form.get("csrf").as_bytes()) {
        return Err(error(403, FORGED, None));
    }
    Ok((o, form))
}

/// The answer that opens session `id`: `r` with the session cookie set and the sign-in
/// form's cookie removed.
pub(super) fn with_session(mut r: Response, https: bool, id: &str) -> Response {
    let (session_name, pre_name) = names(https);
    set_cookie(
        &mut r,
        &session_cookie(https, session_name, id, ABSOLUTE_TIMEOUT_S),
    );
    set_cookie(&mut r, &session_cookie(https, pre_name, "", 0));
    r
}

/// `POST /console/signin`: the admin token (compared in constant time) for a session.
pub async fn signin(State(s): State<SharedState>, req: Request) -> Response {
    let (o, form) = match signin_post(&s, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let token = form.get("token");
    if !constant_time_eq(token.as_bytes(), s.admin_token.as_bytes()) {
        tracing::warn!("console: sign-in with a wrong admin token");
        return signin_form(&s, o.https, Some("That is not the admin token.")).await;
    }
    match s.admin.open_console_session().await {
        Ok((id, _)) => with_session(see_other("/console/pools", ""), o.https, &id),
        Err(e) => super::admin_error(e, ""),
    }
}

/// `POST /console/signout`: ends the session and removes its cookie.
pub async fn signout(State(s): State<SharedState>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let o = match origin(&mut parts, &s).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let id = cookies(&parts.headers)
        .get(names(o.https).0)
        .cloned()
        .unwrap_or_default();
    let posted = match Posted::from_request(Request::from_parts(parts, body), &s).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let _ = posted.csrf();
    if let Err(e) = s.admin.close_console_session(&id).await {
        return super::admin_error(e, "");
    }
    let mut r = see_other("/console/signin", "");
    set_cookie(&mut r, &session_cookie(o.https, names(o.https).0, "", 0));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let c = session_cookie(true, SESSION_TLS, "v", 60);
        assert!(c.starts_with("__Host-poolgate-console=v; Path=/; HttpOnly; SameSite=Strict"));
        assert!(c.ends_with("; Secure") && !c.contains("Domain"));
        let c = session_cookie(false, SESSION_PLAIN, "v", 60);
        assert!(!c.contains("Secure") && c.contains("SameSite=Strict"));
    }

    #[test]
    fn origin_check() {
        let own = "https://login.acme.com";
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, own));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, own));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://login.acme.com"),
        );
        assert!(same_origin(&h, own));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h, own));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, own));
        // Origins compare as scheme, host and port: the same origin in other words
        // passes, another scheme or port does not.
        for (sent, same) in [
            ("https://LOGIN.acme.com", true),
            ("https://login.acme.com:443", true),
            ("http://login.acme.com", false),
            ("https://login.acme.com:8443", false),
            ("https://login.acme.com.evil.example", false),
            ("file:///etc/passwd", false),
            ("not an origin", false),
        ] {
            h.insert(header::ORIGIN, HeaderValue::from_str(sent).unwrap());
            assert_eq!(same_origin(&h, own), same, "{sent}");
        }
    }

    #[test]
    fn a_path_is_never_part_of_the_origin() {
        // With `issuer_style: cognito` a pool's issuer has a path: compared as an
        // origin, only its scheme, host and port count.
        let mut h = HeaderMap::new();
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://login.acme.com"),
        );
        assert!(same_origin(
            &h,
            "https://login.acme.com/eu-west-1_AbC123xyz"
        ));
        assert!(!same_origin(
            &h,
            "https://other.acme.com/eu-west-1_AbC123xyz"
        ));
        assert!(!same_origin(&h, "not a url"));
    }
}
