//! The hosted sign-up and password-reset pages at the paths of Cognito's hosted UI:
//! `GET /signup` and `GET /forgotPassword` (with the app's authorize request in the
//! query) show the first form; `POST` to `/signup`, `/confirm`, `/forgotPassword` and
//! `/confirmForgotPassword` submit a step. Renders only: the rules live in
//! `flow::native::hosted_account`.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use minijinja::context;

use super::error::FlowResponse;
use super::pages::{html_with_csp, page_csp, render};
use super::pages_login::branding_href;
use super::pages_native::outcome_response;
use super::{HostPool, SharedState, cookies, parse_form};
use crate::flow::authorize::AuthorizeParams;
use crate::flow::native::hosted::policy_rules;
use crate::flow::native::hosted_account::{AccountForm, AccountStep};
use crate::flow::{FlowError, PoolCtx};

/// The steps at their paths, and whether a step has a first page to show (`GET`, with
/// the app's authorize request) besides its form to submit (`POST`).
const STEPS: [(AccountStep, bool); 4] = [
    (AccountStep::SignUp, true),
    (AccountStep::ConfirmSignUp, false),
    (AccountStep::Forgot, true),
    (AccountStep::ConfirmForgot, false),
];

pub fn routes() -> axum::Router<SharedState> {
    STEPS
        .into_iter()
        .fold(axum::Router::new(), |router, (step, first_page)| {
            let mut route = post(
                move |State(s): State<SharedState>,
                      HostPool(ctx): HostPool,
                      headers: HeaderMap,
                      body: Bytes| submit(s, ctx, headers, body, step),
            );
            if first_page {
                route = route.get(
                    move |State(s): State<SharedState>,
                          HostPool(ctx): HostPool,
                          Query(p): Query<AuthorizeParams>| {
                        begin(s, ctx, p, step)
                    },
                );
            }
            router.route(step.path(), route)
        })
}

/// `PATH?{the app's authorize request}` of a step's page (or of `/login`).
pub(super) fn href_at(path: &str, authorize: &[(String, String)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(authorize.iter())
        .finish();
    format!("{path}?{query}")
}

/// The link to the first page of `step`.
pub(super) fn href(step: AccountStep, authorize: &[(String, String)]) -> String {
    href_at(step.path(), authorize)
}

async fn begin(
    s: SharedState,
    ctx: PoolCtx,
    p: AuthorizeParams,
    step: AccountStep,
) -> Result<Response, FlowResponse> {
    let (begun, form) = s.flow.account_begin(&ctx, &p, step).await?;
    let mut r = account_page(&ctx, form, begun.csrf_token)?;
    let c = crate::flow::binding::set_cookie(
        &ctx,
        &begun.cookie.name,
        &begun.cookie.value,
        crate::flow::FLOW_TTL.as_secs(),
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn submit(
    s: SharedState,
    ctx: PoolCtx,
    headers: HeaderMap,
    body: Bytes,
    step: AccountStep,
) -> Result<Response, FlowResponse> {
    let form = parse_form(&body).map_err(|_| FlowError::page(400, "The form is malformed."))?;
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    let outcome = s
        .flow
        .account_submit(&ctx, &form, &cookies(&headers), step)
        .await?;
    Ok(outcome_response(&s, &ctx, outcome, token).await?)
}

/// The page of a self-service step.
pub(super) fn account_page(
    ctx: &PoolCtx,
    f: AccountForm,
    csrf_token: String,
) -> Result<Response, FlowError> {
    let (title, step, button) = match f.step {
        AccountStep::SignUp => ("Sign up", "sign_up", "Sign up"),
        AccountStep::ConfirmSignUp => {
            ("Confirm your account", "confirm_sign_up", "Confirm account")
        }
        AccountStep::Forgot => ("Forgot your password?", "forgot", "Send code"),
        AccountStep::ConfirmForgot => ("Reset your password", "confirm_forgot", "Reset password"),
    };
    let body = render(
        "account.html",
        context! {
            title,
            step,
            button,
            action => f.step.path(),
            app_name => f.client.name,
            logo_url => f.client.branding.logo_url,
            branding_css => branding_href(&f.client),
            csrf_token,
            error => f.error,
            error_field => f.error_field,
            notice => f.notice,
            username => f.username,
            email => f.email,
            rules => policy_rules(&ctx.pool.settings.password_policy),
            login_href => href_at("/login", &f.authorize),
        },
    )
    .ok_or_else(|| {
        FlowError::internal("render the account page", "see the template error above")
    })?;
    Ok(html_with_csp(
        StatusCode::OK,
        body,
        &page_csp(&f.redirect_uri),
    ))
}
