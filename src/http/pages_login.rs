//! `GET /login`: the hosted sign-in page. One button per provider the app client
//! supports, and an email field routed by `idp_identifiers`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::error::FlowResponse;
use super::pages::{esc, html};
use super::{HostPool, SharedState};
use crate::flow::authorize::AuthorizeParams;
use crate::model::ProviderType;

fn label(name: &str, t: ProviderType) -> String {
    match t {
        ProviderType::Google => "Continue with Google".into(),
        ProviderType::Facebook => "Continue with Facebook".into(),
        ProviderType::SignInWithApple => "Sign in with Apple".into(),
        ProviderType::LoginWithAmazon => "Login with Amazon".into(),
        ProviderType::OIDC | ProviderType::SAML => format!("Continue with {name}"),
    }
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
    let providers = s
        .flow
        .store
        .list_providers(&ctx.pool.id)
        .await
        .map_err(crate::flow::FlowError::from)?;
    let keep: Vec<(&str, &Option<String>)> = vec![
        ("response_type", &p.response_type),
        ("state", &p.state),
        ("scope", &p.scope),
        ("nonce", &p.nonce),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("login_hint", &p.login_hint),
    ];
    let mut hidden = format!(
        "<input type=\"hidden\" name=\"client_id\" value=\"{}\"><input type=\"hidden\" name=\"redirect_uri\" value=\"{}\">",
        esc(&client.client_id),
        esc(&redirect)
    );
    for (k, v) in &keep {
        if let Some(v) = v {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                esc(v)
            ));
        }
    }
    let mut buttons = String::new();
    let mut any_identifier = false;
    for rec in providers
        .iter()
        .filter(|r| client.supported_identity_providers.contains(&r.name))
    {
        any_identifier |= !rec.idp_identifiers.is_empty();
        buttons.push_str(&format!(
            "<form method=\"get\" action=\"/oauth2/authorize\">{hidden}<input type=\"hidden\" name=\"identity_provider\" value=\"{}\"><button type=\"submit\">{}</button></form>",
            esc(&rec.name),
            esc(&label(&rec.name, rec.provider_type))
        ));
    }
    let identifier = if any_identifier {
        format!(
            "<form method=\"get\" action=\"/oauth2/authorize\">{hidden}<label for=\"idp_identifier\">Work email</label>\
<input id=\"idp_identifier\" name=\"idp_identifier\" type=\"email\" autocomplete=\"email\" required><button type=\"submit\">Continue</button></form>"
        )
    } else {
        String::new()
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Sign in</title></head><body><main><h1>Sign in to {}</h1>{buttons}{identifier}</main></body></html>",
        esc(&client.name)
    );
    Ok(html(StatusCode::OK, body))
}
