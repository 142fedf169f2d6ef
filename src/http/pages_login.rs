//! `GET /login`: the hosted sign-in page. One button per provider the app client
//! supports, and an email field routed by `idp_identifiers`; every form is a GET to
//! `/oauth2/authorize` carrying the app's request (state, PKCE, nonce) in hidden fields.
//! Also the page's stylesheet and each client's branding stylesheet, so that the CSP
//! needs no inline style.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use super::error::FlowResponse;
use super::pages::{Field, html_with_csp, page_csp, render};
use super::{ApiError, HostPool, SharedState};
use crate::flow::FlowError;
use crate::flow::authorize::AuthorizeParams;
use crate::flow::native::hosted_account::AccountStep;
use crate::model::{AppClient, NATIVE_PROVIDER, ProviderTypeName};
use crate::provider::registry;

/// The button text: the kind's usual wording (social providers), else by name.
fn label(name: &str, t: &ProviderTypeName) -> String {
    match registry::kind(t).button_label() {
        Some(l) => l.to_owned(),
        None => format!("Continue with {name}"),
    }
}

#[derive(Serialize)]
struct Button {
    name: String,
    label: String,
    kind: String,
}

pub async fn login(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    Query(p): Query<AuthorizeParams>,
) -> Result<Response, FlowResponse> {
    let (client, redirect) = s
        .flow
        .validated_client(&ctx, p.client_id.as_deref(), p.redirect_uri.as_deref())
        .await?;
    let mut hidden = vec![
        ("client_id".to_owned(), client.client_id.clone()),
        ("redirect_uri".to_owned(), redirect.clone()),
    ];
    for (k, v) in [
        ("response_type", &p.response_type),
        ("state", &p.state),
        ("scope", &p.scope),
        ("nonce", &p.nonce),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("login_hint", &p.login_hint),
    ] {
        if let Some(v) = v {
            hidden.push((k.to_owned(), v.clone()));
        }
    }
    // A client that lists `COGNITO` gets the username and password form, bound to
    // this browser as a federated sign-in is.
    let native_ok = client
        .supported_identity_providers
        .iter()
        .any(|n| n == NATIVE_PROVIDER);
    let (native, cookie) = if native_ok {
        let begun = s.flow.hosted_begin(&ctx, &p).await?;
        let form = NativeForm {
            csrf_token: begun.csrf_token,
            error: None,
            username: p.login_hint.clone().unwrap_or_default(),
            notice: None,
        };
        (Some(form), Some(begun.cookie))
    } else {
        (None, None)
    };
    let body = login_body(&s, &ctx, &client, hidden, p.login_hint.clone(), native).await?;
    let mut r = html_with_csp(StatusCode::OK, body, &page_csp(&redirect));
    if let Some(c) = cookie {
        let v = crate::flow::binding::set_cookie(
            &ctx,
            &c.name,
            &c.value,
            crate::flow::FLOW_TTL.as_secs(),
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

/// The password form of the page, with the token of its sign-in.
#[derive(Serialize)]
pub(super) struct NativeForm {
    pub csrf_token: String,
    pub error: Option<String>,
    pub username: String,
    /// What the user should know first (a password just reset, ...).
    pub notice: Option<String>,
}

/// The sign-in page: the password form (when given), one button per provider of the
/// client, the email field; `hidden` is the app's authorize request.
pub(super) async fn login_body(
    s: &SharedState,
    ctx: &crate::flow::PoolCtx,
    client: &AppClient,
    hidden: Vec<(String, String)>,
    login_hint: Option<String>,
    native: Option<NativeForm>,
) -> Result<String, FlowError> {
    let providers = s.flow.pool_providers(&ctx.pool.id).await?;
    // The sign-up and password-reset links carry the app's authorize request, as
    // Cognito's hosted UI does.
    let links = s.flow.account_links(ctx, client);
    let (signup_href, forgot_href) = if native.is_some() {
        (
            links
                .sign_up
                .then(|| super::pages_account::href(AccountStep::SignUp, &hidden)),
            links
                .forgot_password
                .then(|| super::pages_account::href(AccountStep::Forgot, &hidden)),
        )
    } else {
        (None, None)
    };
    let hidden: Vec<Field> = hidden
        .into_iter()
        .map(|(name, value)| Field { name, value })
        .collect();
    // In the order the client lists them: the admin's order is the page's order.
    let mut buttons = Vec::new();
    let mut identifier = false;
    for name in &client.supported_identity_providers {
        if let Some(rec) = providers.iter().find(|r| &r.name == name) {
            identifier |= !rec.idp_identifiers.is_empty();
            buttons.push(Button {
                name: rec.name.clone(),
                label: label(&rec.name, &rec.provider_type),
                kind: rec.provider_type.as_str().to_ascii_lowercase(),
            });
        }
    }
    render(
        "login.html",
        context! {
            app_name => client.name,
            logo_url => client.branding.logo_url,
            branding_css => branding_href(client),
            providers => buttons,
            identifier,
            hidden,
            login_hint,
            native,
            signup_href,
            forgot_href,
        },
    )
    .ok_or_else(|| FlowError::internal("render the sign-in page", "see the template error above"))
}

/// The branding stylesheet's path, when the client has any branding to apply.
pub(super) fn branding_href(c: &AppClient) -> Option<String> {
    if c.branding.primary_color.is_none() && c.branding.css.is_none() {
        return None;
    }
    let mut u = url::Url::parse("http://x/login/branding/").ok()?;
    u.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .push(&format!("{}.css", c.client_id));
    Some(u.path().to_owned())
}

fn css(body: String, max_age: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(max_age));
    r
}

/// `GET /login/assets/login.css`: the pages' own stylesheet.
pub async fn stylesheet() -> Response {
    css(
        include_str!("templates/login.css").to_owned(),
        "public, max-age=3600",
    )
}

/// WCAG 2.1 relative luminance of `#rrggbb`.
fn luminance(hex: &str) -> Option<f64> {
    let h = hex.strip_prefix('#').filter(|h| h.len() == 6)?;
    let ch = |i: usize| -> Option<f64> {
        let v = f64::from(u8::from_str_radix(h.get(i..i + 2)?, 16).ok()?) / 255.0;
        Some(if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        })
    };
    Some(0.2126 * ch(0)? + 0.7152 * ch(2)? + 0.0722 * ch(4)?)
}

/// White or near-black text on `bg`, whichever contrasts more (keeps AA whatever
/// colour the admin picked).
fn text_on(bg: &str) -> &'static str {
    let Some(l) = luminance(bg) else {
        return "#ffffff";
    };
    let on_white = 1.05 / (l + 0.05);
    let on_dark = (l + 0.05) / (0.0116 + 0.05);
    if on_white >= on_dark {
        "#ffffff"
    } else {
        "#111111"
    }
}

/// `GET /login/branding/{client_id}.css`: the client's colour and custom CSS.
pub async fn branding(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let id = file
        .strip_suffix(".css")
        .ok_or_else(|| ApiError::not_found("the stylesheet"))?;
    let client = s
        .flow
        .client(&ctx.pool.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("the stylesheet"))?;
    let mut out = String::from("/* branding of this app client */\n");
    if let Some(c) = &client.branding.primary_color
        && luminance(c).is_some()
    {
        out.push_str(&format!(
            ":root {{ --pg-primary: {c}; --pg-on-primary: {}; }}\n",
            text_on(c)
        ));
    }
    if let Some(extra) = &client.branding.css {
        out.push_str(extra);
        out.push('\n');
    }
    Ok(css(out, "public, max-age=60"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_text_keeps_contrast() {
        assert_eq!(text_on("#0b57d0"), "#ffffff");
        assert_eq!(text_on("#ffd400"), "#111111");
        assert_eq!(text_on("#000000"), "#ffffff");
        assert_eq!(text_on("#ffffff"), "#111111");
    }
}
