//! `POST /login`: a step of the hosted username-and-password sign-in (the password,
//! then a new password, a TOTP or SMS code, or the choice between them when
//! challenged, or an authenticator to set up). Renders the form again with the error, or redirects to the app with
//! its code; the rules live in `flow::native::hosted`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;

use super::error::FlowResponse;
use super::pages::{html_with_csp, page_csp, redirect, render};
use super::pages_login::{NativeForm, branding_href, login_body};
use super::{HostPool, SharedState, cookies, parse_form};
use crate::flow::native::Caller;
use crate::flow::native::hosted::{HostedForm, HostedOutcome, HostedStep, policy_rules};
use crate::flow::{FlowError, PoolCtx};

pub async fn submit(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FlowResponse> {
    let form = parse_form(&body).map_err(|_| FlowError::page(400, "The form is malformed."))?;
    let caller = Caller {
        ip: peer.map(|Extension(ConnectInfo(a))| a.ip()),
        metadata: None,
    };
    let token = form.get("csrf_token").cloned().unwrap_or_default();
    let outcome = s
        .flow
        .hosted_submit(&ctx, &form, &cookies(&headers), caller)
        .await?;
    Ok(outcome_response(&s, &ctx, outcome, token).await?)
}

/// The page a submitted step leads to: the app with its code (the binding cookie
/// ends), or the next form (of the sign-in, the sign-up or the password reset).
pub(super) async fn outcome_response(
    s: &SharedState,
    ctx: &PoolCtx,
    outcome: HostedOutcome,
    token: String,
) -> Result<Response, FlowError> {
    match outcome {
        HostedOutcome::Done { url, cookie_name } => {
            let mut r = redirect(url.as_str());
            let c = crate::flow::binding::set_cookie(ctx, &cookie_name, "", 0);
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(r)
        }
        HostedOutcome::Form(f) => form_page(s, ctx, *f, token).await,
        HostedOutcome::Account(f) => super::pages_account::account_page(ctx, *f, token),
    }
}

/// The form of a step, with the error of the last answer if any.
async fn form_page(
    s: &SharedState,
    ctx: &PoolCtx,
    f: HostedForm,
    csrf_token: String,
) -> Result<Response, FlowError> {
    let csp = page_csp(&f.redirect_uri);
    let body = match f.step {
        HostedStep::Password => {
            let native = NativeForm {
                csrf_token,
                error: f.error,
                username: f.username,
                notice: f.notice,
            };
            login_body(s, ctx, &f.client, f.authorize, None, Some(native)).await?
        }
        step => {
            let (title, step) = match step {
                HostedStep::NewPassword => ("Set a new password", "new_password"),
                HostedStep::Sms => ("Enter the code we sent you", "sms"),
                HostedStep::SelectMfa => ("Choose how to verify it is you", "select_mfa"),
                HostedStep::MfaSetup => ("Set up an authenticator app", "mfa_setup"),
                _ => ("Enter your authentication code", "totp"),
            };
            render(
                "native_step.html",
                context! {
                    title,
                    step,
                    app_name => f.client.name,
                    logo_url => f.client.branding.logo_url,
                    branding_css => branding_href(&f.client),
                    csrf_token,
                    error => f.error,
                    username => f.username,
                    destination => f.destination,
                    secret => f.totp_setup.as_ref().map(|t| t.secret.clone()),
                    otpauth_uri => f.totp_setup.as_ref().map(|t| t.uri.clone()),
                    rules => policy_rules(&ctx.pool.settings.password_policy),
                },
            )
            .ok_or_else(|| {
                FlowError::internal("render the sign-in step", "see the template error above")
            })?
        }
    };
    Ok(html_with_csp(StatusCode::OK, body, &csp))
}
