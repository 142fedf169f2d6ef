//! "Test sign-in" of a provider (the admin service runs it): started from the
//! provider's page in a new tab, it goes through the pool's own `/oauth2/authorize`
//! and the provider, and comes back here. The console session cookie is
//! `SameSite=Strict` and does not come back through a cross-site redirect, so the test
//! is bound to the browser by a cookie of its own (`SameSite=Lax`, named after the
//! test's state); the session is needed to start it and to remove the test user.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::session::{SessionPost, request_https, set_cookie_header};
use super::{Posted, admin_error, domain_base, error, page, see_other};
use crate::admin::test_signin::{FailedStep, RUN_TTL_S, TestReport};
use crate::flow::PoolCtx;
use crate::http::{SharedState, cookies, pool_issuer};
use crate::secret::sha256_hex;

/// The binding cookie of the test with `state`: one per test, so two tests in two
/// tabs do not undo each other.
fn cookie_name(https: bool, state: &str) -> String {
    let tag = &sha256_hex(state)[..16];
    if https {
        format!("__Host-poolgate-console-test-{tag}")
    } else {
        format!("poolgate-console-test-{tag}")
    }
}

fn cookie(https: bool, name: &str, value: &str, max_age: u64) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// The console's own return address for tests of `pool`.
fn callback_uri(origin: &str, pool: &str) -> Option<String> {
    let mut u = Url::parse(origin).ok()?;
    u.set_path(&format!("/console/pools/{pool}/test/callback"));
    Some(u.to_string())
}

/// `POST /console/pools/{pool}/providers/{name}/test`: begins a test sign-in on the
/// pool's domain (the console's own host when it is one of them).
pub async fn start(
    State(s): State<SharedState>,
    Path((pool, name)): Path<(String, String)>,
    p: Posted,
) -> Response {
    let info = match s.admin.get_pool(&pool).await {
        Ok(i) => i,
        Err(e) => return admin_error(e, p.csrf()),
    };
    let own_host = p.origin.split_once("://").map_or("", |(_, h)| h);
    let Some(domain) = info
        .domains
        .iter()
        .find(|d| d.as_str() == own_host)
        .or_else(|| info.domains.first())
    else {
        return error(
            409,
            "The pool has no domain, so there is nowhere to sign in: add one under Settings and domains first.",
            Some(p.csrf()),
        );
    };
    let base_text = domain_base(&s, domain);
    let (Ok(base), Some(redirect)) = (Url::parse(&base_text), callback_uri(&p.origin, &pool))
    else {
        return error(
            500,
            "The pool's domain is not a usable address.",
            Some(p.csrf()),
        );
    };
    let issuer = pool_issuer(&s.settings, &info.pool, base_text);
    let ctx = PoolCtx {
        pool: info.pool,
        issuer,
        base,
    };
    match s.admin.begin_test_sign_in(&ctx, &name, &redirect).await {
        Ok(t) => {
            // A page that moves on by itself rather than a redirect: the navigation
            // of a form submission (redirects included) is held to the console's
            // `form-action 'self'`, and the sign-in leaves for the provider.
            let mut r = page(
                StatusCode::OK,
                "test_start.html",
                context! { pool, provider => name, authorize => t.authorize.as_str() },
            );
            let name = cookie_name(p.https, &t.state);
            set_cookie_header(&mut r, &cookie(p.https, &name, &t.binding, RUN_TTL_S));
            r
        }
        Err(e) => admin_error(e, p.csrf()),
    }
}

#[derive(Serialize)]
struct Claim {
    name: String,
    value: String,
}

fn claims(m: &serde_json::Map<String, Value>) -> Vec<Claim> {
    m.iter()
        .map(|(k, v)| Claim {
            name: k.clone(),
            value: v.as_str().map_or_else(|| v.to_string(), str::to_owned),
        })
        .collect()
}

/// The words of a failed step.
fn step_title(s: FailedStep) -> &'static str {
    match s {
        FailedStep::State => "Binding the answer to this test (state)",
        FailedStep::Start => "Starting the sign-in at the gateway",
        FailedStep::Upstream => "The identity provider's answer",
        FailedStep::Mapping => "Mapping the identity to pool attributes",
        FailedStep::User => "Finding or creating the pool user",
        FailedStep::Hook => "The pool's hooks (Lambda triggers)",
        FailedStep::Exchange => "Exchanging the code for tokens",
    }
}

fn render(pool: &str, r: &TestReport, status: StatusCode) -> Response {
    let failed = r
        .failed
        .as_ref()
        .map(|(s, d)| context! { step => step_title(*s), detail => d });
    page(
        status,
        "test_result.html",
        context! {
            pool, provider => r.provider, kind => r.provider_type, identity => r.identity,
            mapped => claims(&r.mapped), id_claims => claims(&r.id_claims),
            access_claims => claims(&r.access_claims), username => r.username,
            created => r.created, removal => r.removal, failed,
        },
    )
}

/// `GET /console/pools/{pool}/test/callback`: the test's answer, with its code
/// exchanged and the tokens shown decoded, or the step that failed.
pub async fn callback(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    let (mut parts, _) = req.into_parts();
    let https = match request_https(&mut parts, &s).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let state = q.get("state").cloned().unwrap_or_default();
    let name = cookie_name(https, &state);
    let binding = cookies(&parts.headers).get(&name).cloned();
    let report = match s
        .admin
        .finish_test_sign_in(&pool, &q, binding.as_deref())
        .await
    {
        Ok(r) => r,
        Err(e) => return admin_error(e, ""),
    };
    // A test that ran answers 200 whatever its result; one that is not this
    // browser's (or is gone) is refused.
    let status = match &report.failed {
        Some((FailedStep::State, _)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let mut r = render(&pool, &report, status);
    if binding.is_some() {
        set_cookie_header(&mut r, &cookie(https, &name, "", 0));
    }
    r
}

/// `POST /console/pools/{pool}/test/remove`: removes the user the test created
/// (the form's token comes from the result page; the session is required).
pub async fn remove(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    p: SessionPost,
) -> Response {
    match s
        .admin
        .remove_test_run_user(&pool, p.form.get("token"))
        .await
    {
        Ok(_) => see_other(&format!("/console/pools/{pool}/users"), "test-user-removed"),
        Err(crate::admin::AdminError::NotFound(_)) => p.forged(),
        Err(e) => admin_error(e, p.signed.csrf()),
    }
}
