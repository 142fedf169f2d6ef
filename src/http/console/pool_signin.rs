//! The console's sign-in through a pool (`POOLGATE_CONSOLE_POOL`; the admin service
//! runs it): "Sign in with <pool>" on the sign-in page begins it on the pool's domain,
//! and `/console/callback` finishes it. The session cookie is `SameSite=Strict` and a
//! cross-site redirect back from a provider would not carry it, so the answer is bound
//! to the browser by a cookie of its own (`SameSite=Lax`, `__Host-` over HTTPS), and a
//! successful sign-in moves on to the pools with a page of its own rather than a
//! redirect (a redirect would still be part of the cross-site navigation and the new
//! session cookie would not be sent with it). The callback never redirects elsewhere.

use std::collections::BTreeMap;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use url::Url;

use super::session::{origin, set_cookie, signin_post, with_session};
use super::{domain_base, error, page};
use crate::admin::console_signin::{ConsoleSignIn, Refusal, SIGN_IN_TTL_S};
use crate::admin::{AdminError, ConsoleMember};
use crate::flow::PoolCtx;
use crate::http::{SharedState, cookies, pool_issuer};

/// The binding cookie of a sign-in through the pool.
fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-poolgate-console-signin"
    } else {
        "poolgate-console-signin"
    }
}

fn binding_cookie(https: bool, value: &str, max_age: u64) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(https)
    )
}

const NOT_CONFIGURED: &str =
    "The console does not sign in through a pool here (POOLGATE_CONSOLE_POOL is not set).";

/// `POST /console/signin/pool`: begins a sign-in through the console's pool, on the
/// pool's domain that is the console's own host when there is one, else its first.
pub async fn start(State(s): State<SharedState>, req: Request) -> Response {
    let Some(access) = s.settings.console_access.clone() else {
        return error(404, NOT_CONFIGURED, None);
    };
    let (o, _) = match signin_post(&s, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let info = match s.admin.get_pool(&access.pool).await {
        Ok(i) => i,
        Err(AdminError::NotFound(_)) => {
            return error(
                404,
                &format!(
                    "The console signs in through the pool {}, which does not exist. Sign in with the admin token and create it, or change POOLGATE_CONSOLE_POOL.",
                    access.pool
                ),
                None,
            );
        }
        Err(e) => return super::admin_error(e, ""),
    };
    let own_host = o.origin.split_once("://").map_or("", |(_, h)| h);
    let Some(domain) = info
        .domains
        .iter()
        .find(|d| d.as_str() == own_host)
        .or_else(|| info.domains.first())
    else {
        return error(
            409,
            &format!(
                "The pool {} has no domain, so there is nowhere to sign in. Sign in with the admin token and add one.",
                access.pool
            ),
            None,
        );
    };
    let base_text = domain_base(&s, domain);
    let mut redirect = match Url::parse(&o.origin) {
        Ok(u) => u,
        Err(_) => return error(500, "The console's address is not usable.", None),
    };
    redirect.set_path("/console/callback");
    let Ok(base) = Url::parse(&base_text) else {
        return error(500, "The pool's domain is not a usable address.", None);
    };
    let issuer = pool_issuer(&s.settings, &info.pool, base_text);
    let label = info
        .pool
        .settings
        .name
        .clone()
        .unwrap_or_else(|| info.pool.id.clone());
    let ctx = PoolCtx {
        pool: info.pool,
        issuer,
        base,
    };
    match s
        .admin
        .begin_console_sign_in(&ctx, &access, redirect.as_str())
        .await
    {
        Ok(t) => {
            // A page that moves on by itself rather than a redirect: the navigation
            // of a form submission (redirects included) is held to the console's
            // `form-action 'self'`, and the pool's domain may be another origin.
            let mut r = page(
                StatusCode::OK,
                "signin_pool.html",
                context! { pool_label => label, authorize => t.authorize.as_str() },
            );
            set_cookie(&mut r, &binding_cookie(o.https, &t.binding, SIGN_IN_TTL_S));
            r
        }
        Err(AdminError::Conflict(m)) => error(409, &format!("Cannot sign in: {m}."), None),
        Err(e) => super::admin_error(e, ""),
    }
}

/// `GET /console/callback`: the pool's answer; a session for a member of the console
/// group, else a page saying why there is none.
pub async fn callback(
    State(s): State<SharedState>,
    Query(q): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    let (mut parts, _) = req.into_parts();
    let o = match origin(&mut parts, &s).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(access) = s.settings.console_access.clone() else {
        return error(404, NOT_CONFIGURED, None);
    };
    let binding = cookies(&parts.headers).get(cookie_name(o.https)).cloned();
    let outcome = match s
        .admin
        .finish_console_sign_in(&q, binding.as_deref(), &access)
        .await
    {
        Ok(x) => x,
        Err(e) => return super::admin_error(e, ""),
    };
    let mut r = match outcome {
        ConsoleSignIn::Opened(id, session) => {
            let who = session
                .member
                .as_ref()
                .map(|m: &ConsoleMember| m.username.clone());
            let r = page(
                StatusCode::OK,
                "signed_in.html",
                context! { who, csrf => session.csrf },
            );
            with_session(r, o.https, &id)
        }
        ConsoleSignIn::Refused(why) => refused(&why, &access.pool, &access.group),
    };
    if binding.is_some() {
        set_cookie(&mut r, &binding_cookie(o.https, "", 0));
    }
    r
}

/// The page of a refused answer: what happened, in words, and the way back.
fn refused(why: &Refusal, pool: &str, group: &str) -> Response {
    let (status, title, message) = match why {
        Refusal::State => (
            StatusCode::BAD_REQUEST,
            "This sign-in was not accepted",
            "This answer does not belong to a sign-in begun in this browser in the last 10 minutes, or it was already used. Nothing was signed in.".to_owned(),
        ),
        Refusal::Upstream(code) => (
            StatusCode::BAD_REQUEST,
            "The sign-in did not complete",
            format!("The sign-in at {pool} ended without signing in ({code}). Nothing was signed in."),
        ),
        Refusal::Token => (
            StatusCode::BAD_REQUEST,
            "The sign-in did not complete",
            format!("The answer of {pool} could not be verified. Nothing was signed in; the gateway log has the cause."),
        ),
        Refusal::NotMember(username) => (
            StatusCode::FORBIDDEN,
            "Not allowed to use the console",
            format!("You signed in to {pool} as {username}, who is not an enabled member of its group {group}. Only members of that group may use the console: ask an administrator to add you, or sign in as someone else."),
        ),
    };
    page(
        status,
        "signin_refused.html",
        context! { title, message, status => status.as_u16() },
    )
}
