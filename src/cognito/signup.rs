//! Self-service accounts through the Cognito API (unsigned, as Cognito serves them):
//! `SignUp`, `ConfirmSignUp`, `ResendConfirmationCode`, `ForgotPassword`,
//! `ConfirmForgotPassword`. The rules are the flow's ([`crate::flow::native::signup`]).

use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::client_ctx;
use super::native_users::Attribute;
use super::{Ctx, OpResult};
use crate::flow::native::signup::SignUpInput;
use crate::hooks::StringMap;

fn pairs(attrs: Vec<Attribute>) -> Vec<(String, String)> {
    attrs
        .into_iter()
        .map(|a| (a.name, a.value.unwrap_or_default()))
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignUpRequest {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub user_attributes: Vec<Attribute>,
    pub validation_data: Option<Vec<Attribute>>,
    #[allow(dead_code)]
    pub analytics_metadata: Option<Value>,
    #[allow(dead_code)]
    pub user_context_data: Option<Value>,
    pub client_metadata: Option<StringMap>,
}

pub async fn sign_up(ctx: Ctx, input: SignUpRequest) -> OpResult {
    let (pctx, client) = client_ctx(&ctx, &input.client_id, None).await?;
    let r = ctx
        .state
        .flow
        .sign_up(
            &pctx,
            &client,
            SignUpInput {
                username: input.username,
                password: input.password,
                secret_hash: input.secret_hash,
                attributes: pairs(input.user_attributes),
                validation_data: input
                    .validation_data
                    .map(|v| pairs(v).into_iter().collect()),
                client_metadata: input.client_metadata,
            },
        )
        .await?;
    let mut out = json!({"UserConfirmed": r.confirmed, "UserSub": r.user_sub});
    if let Some(d) = r.delivery {
        out["CodeDeliveryDetails"] = json!(d);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmSignUpRequest {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub username: String,
    pub confirmation_code: String,
    #[allow(dead_code)]
    pub force_alias_creation: Option<bool>,
    #[allow(dead_code)]
    pub analytics_metadata: Option<Value>,
    #[allow(dead_code)]
    pub user_context_data: Option<Value>,
    pub client_metadata: Option<StringMap>,
    #[allow(dead_code)]
    pub session: Option<String>,
}

pub async fn confirm_sign_up(ctx: Ctx, input: ConfirmSignUpRequest) -> OpResult {
    let (pctx, client) = client_ctx(&ctx, &input.client_id, None).await?;
    ctx.state
        .flow
        .confirm_sign_up(
            &pctx,
            &client,
            &input.username,
            &input.confirmation_code,
            input.secret_hash.as_deref(),
            input.client_metadata.as_ref(),
        )
        .await?;
    Ok(json!({}))
}

/// The input of `ResendConfirmationCode` and `ForgotPassword`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserCodeRequest {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub username: String,
    #[allow(dead_code)]
    pub analytics_metadata: Option<Value>,
    #[allow(dead_code)]
    pub user_context_data: Option<Value>,
    pub client_metadata: Option<StringMap>,
}

pub async fn resend_confirmation_code(ctx: Ctx, input: UserCodeRequest) -> OpResult {
    let (pctx, client) = client_ctx(&ctx, &input.client_id, None).await?;
    let d = ctx
        .state
        .flow
        .resend_confirmation_code(
            &pctx,
            &client,
            &input.username,
            input.secret_hash.as_deref(),
            input.client_metadata.as_ref(),
        )
        .await?;
    Ok(json!({ "CodeDeliveryDetails": d }))
}

pub async fn forgot_password(ctx: Ctx, input: UserCodeRequest) -> OpResult {
    let (pctx, client) = client_ctx(&ctx, &input.client_id, None).await?;
    let d = ctx
        .state
        .flow
        .forgot_password(
            &pctx,
            &client,
            &input.username,
            input.secret_hash.as_deref(),
            input.client_metadata.as_ref(),
        )
        .await?;
    Ok(json!({ "CodeDeliveryDetails": d }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmForgotPasswordRequest {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub username: String,
    pub confirmation_code: String,
    pub password: String,
    #[allow(dead_code)]
    pub analytics_metadata: Option<Value>,
    #[allow(dead_code)]
    pub user_context_data: Option<Value>,
    pub client_metadata: Option<StringMap>,
}

pub async fn confirm_forgot_password(ctx: Ctx, input: ConfirmForgotPasswordRequest) -> OpResult {
    let (pctx, client) = client_ctx(&ctx, &input.client_id, None).await?;
    ctx.state
        .flow
        .confirm_forgot_password(
            &pctx,
            &client,
            &input.username,
            &input.confirmation_code,
            &input.password,
            input.secret_hash.as_deref(),
            input.client_metadata.as_ref(),
        )
        .await?;
    Ok(json!({}))
}
