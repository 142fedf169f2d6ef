//! User attributes through the Cognito API: `AdminUpdateUserAttributes`,
//! `AdminDeleteUserAttributes` (signed), and the user's own `UpdateUserAttributes`,
//! `DeleteUserAttributes` and `DeleteUser` (its access token, with the
//! `aws.cognito.signin.user.admin` scope), and the verification of its email
//! (`GetUserAttributeVerificationCode`, `VerifyUserAttribute`). The rules are in
//! [`crate::flow::native::attributes`].

use serde::Deserialize;
use serde_json::json;

use super::auth::token_ctx;
use super::native_users::Attribute;
use super::{Ctx, OpResult};
use crate::hooks::StringMap;

fn pairs(attrs: Vec<Attribute>) -> Vec<(String, String)> {
    attrs
        .into_iter()
        .map(|a| (a.name, a.value.unwrap_or_default()))
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminUpdateRequest {
    pub user_pool_id: String,
    pub username: String,
    pub user_attributes: Vec<Attribute>,
}

pub async fn admin_update_user_attributes(ctx: Ctx, input: AdminUpdateRequest) -> OpResult {
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    ctx.admin()
        .update_user_attributes(&pool, &input.username, &pairs(input.user_attributes))
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminDeleteRequest {
    pub user_pool_id: String,
    pub username: String,
    pub user_attribute_names: Vec<String>,
}

pub async fn admin_delete_user_attributes(ctx: Ctx, input: AdminDeleteRequest) -> OpResult {
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    ctx.admin()
        .delete_user_attributes(&pool, &input.username, &input.user_attribute_names)
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRequest {
    pub user_attributes: Vec<Attribute>,
    pub access_token: String,
}

/// No verification code is sent for a changed email: the answer has no
/// `CodeDeliveryDetailsList`, and the address stays unverified until the user asks for
/// a code (`GetUserAttributeVerificationCode`) or an administrator marks it verified.
pub async fn update_user_attributes(ctx: Ctx, input: UpdateRequest) -> OpResult {
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    ctx.state
        .flow
        .update_own_attributes(&pctx, &input.access_token, &pairs(input.user_attributes))
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRequest {
    pub user_attribute_names: Vec<String>,
    pub access_token: String,
}

pub async fn delete_user_attributes(ctx: Ctx, input: DeleteRequest) -> OpResult {
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    ctx.state
        .flow
        .delete_own_attributes(&pctx, &input.access_token, &input.user_attribute_names)
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteUserRequest {
    pub access_token: String,
}

pub async fn delete_user(ctx: Ctx, input: DeleteUserRequest) -> OpResult {
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    ctx.state
        .flow
        .delete_own_user(&pctx, &input.access_token)
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerificationCodeRequest {
    pub access_token: String,
    pub attribute_name: String,
    #[serde(default)]
    pub client_metadata: Option<StringMap>,
}

pub async fn get_user_attribute_verification_code(
    ctx: Ctx,
    input: VerificationCodeRequest,
) -> OpResult {
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    let delivery = ctx
        .state
        .flow
        .get_attribute_verification_code(
            &pctx,
            &input.access_token,
            &input.attribute_name,
            input.client_metadata.as_ref(),
        )
        .await?;
    Ok(json!({ "CodeDeliveryDetails": delivery }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyRequest {
    pub access_token: String,
    pub attribute_name: String,
    pub code: String,
}

pub async fn verify_user_attribute(ctx: Ctx, input: VerifyRequest) -> OpResult {
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    ctx.state
        .flow
        .verify_user_attribute(
            &pctx,
            &input.access_token,
            &input.attribute_name,
            &input.code,
        )
        .await?;
    Ok(json!({}))
}
