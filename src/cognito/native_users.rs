//! Native users through the Cognito API: the user's own operations with its access
//! token (`GetUser`, `GlobalSignOut`, `ChangePassword`, `AssociateSoftwareToken`,
//! `VerifySoftwareToken`, `SetUserMFAPreference` for TOTP and SMS) and the admin ones
//! (`AdminCreateUser`, `AdminSetUserPassword`, `AdminResetUserPassword`,
//! `AdminConfirmSignUp`, `AdminSetUserMFAPreference`). Rules live in the flow and the
//! admin service.

use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::token_ctx;
use super::shapes::epoch;
use super::{CognitoError, Ctx, OpResult};
use crate::admin::native_users::NewNativeUser;
use crate::flow::native::UserView;
use crate::flow::native::sms::MfaChoice;
use crate::model::Pool;

/// `AttributeType`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attribute {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

fn attributes_json(attrs: &[(String, String)]) -> Vec<Value> {
    attrs
        .iter()
        .map(|(k, v)| json!({"Name": k, "Value": v}))
        .collect()
}

pub(super) fn mfa_json(view: &UserView, out: &mut Value) {
    let mut list = Vec::new();
    if view.mfa_sms {
        list.push("SMS_MFA");
    }
    if view.mfa_totp {
        list.push("SOFTWARE_TOKEN_MFA");
    }
    if !list.is_empty() {
        out["UserMFASettingList"] = json!(list);
    }
    if let Some(p) = view.preferred_mfa {
        out["PreferredMfaSetting"] = json!(p);
    }
}

/// `UserType`.
fn user_type(view: &UserView) -> Value {
    json!({
        "Username": view.username,
        "Attributes": attributes_json(&view.attributes),
        "UserCreateDate": epoch(view.created_at),
        "UserLastModifiedDate": epoch(view.updated_at),
        "Enabled": view.enabled,
        "UserStatus": view.status.as_str(),
    })
}

async fn pool(ctx: &Ctx, id: &str) -> Result<Pool, CognitoError> {
    Ok(ctx.state.admin.pool(id).await?)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessTokenRequest {
    pub access_token: String,
}

pub async fn get_user(ctx: Ctx, input: AccessTokenRequest) -> OpResult {
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    let view = ctx
        .state
        .flow
        .get_user_by_token(&pctx, &input.access_token)
        .await?;
    let mut out = json!({
        "Username": view.username,
        "UserAttributes": attributes_json(&view.attributes),
        "MFAOptions": [],
    });
    mfa_json(&view, &mut out);
    Ok(out)
}

pub async fn global_sign_out(ctx: Ctx, input: AccessTokenRequest) -> OpResult {
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    ctx.state
        .flow
        .global_sign_out(&pctx, &input.access_token)
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangePasswordRequest {
    pub previous_password: String,
    pub proposed_password: String,
    pub access_token: String,
}

pub async fn change_password(ctx: Ctx, input: ChangePasswordRequest) -> OpResult {
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    ctx.state
        .flow
        .change_password(
            &pctx,
            &input.access_token,
            &input.previous_password,
            &input.proposed_password,
            &ctx.caller(),
        )
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssociateSoftwareTokenRequest {
    pub access_token: Option<String>,
    pub session: Option<String>,
}

/// `AssociateSoftwareToken` and `VerifySoftwareToken` take an access token (a
/// signed-in user) or a `Session` (the `MFA_SETUP` challenge's), not both.
enum Proof {
    Token(String),
    Session(String),
}

fn token_or_session(
    access_token: Option<String>,
    session: Option<String>,
) -> Result<Proof, CognitoError> {
    match (access_token, session) {
        (Some(t), None) => Ok(Proof::Token(t)),
        (None, Some(s)) => Ok(Proof::Session(s)),
        (Some(_), Some(_)) => Err(CognitoError::invalid_parameter(
            "Provide either AccessToken or Session, not both.",
        )),
        (None, None) => Err(CognitoError::invalid_parameter(
            "AccessToken or Session is required.",
        )),
    }
}

pub async fn associate_software_token(ctx: Ctx, input: AssociateSoftwareTokenRequest) -> OpResult {
    match token_or_session(input.access_token, input.session)? {
        Proof::Token(token) => {
            let pctx = token_ctx(&ctx, &token).await?;
            let secret = ctx
                .state
                .flow
                .associate_software_token(&pctx, &token)
                .await?;
            Ok(json!({ "SecretCode": secret }))
        }
        Proof::Session(session) => {
            let (secret, session) = ctx
                .state
                .flow
                .associate_software_token_in_setup(Some(&session), false)
                .await?;
            Ok(json!({ "SecretCode": secret, "Session": session }))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifySoftwareTokenRequest {
    pub access_token: Option<String>,
    pub session: Option<String>,
    pub user_code: String,
    #[allow(dead_code)]
    pub friendly_device_name: Option<String>,
}

pub async fn verify_software_token(ctx: Ctx, input: VerifySoftwareTokenRequest) -> OpResult {
    match token_or_session(input.access_token, input.session)? {
        Proof::Token(token) => {
            let pctx = token_ctx(&ctx, &token).await?;
            ctx.state
                .flow
                .verify_software_token(&pctx, &token, &input.user_code)
                .await?;
            Ok(json!({ "Status": "SUCCESS" }))
        }
        Proof::Session(session) => {
            let session = ctx
                .state
                .flow
                .verify_software_token_in_setup(Some(&session), &input.user_code, false)
                .await?;
            Ok(json!({ "Status": "SUCCESS", "Session": session }))
        }
    }
}

/// `SoftwareTokenMfaSettingsType` and `SMSMfaSettingsType`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MfaSettings {
    pub enabled: Option<bool>,
    pub preferred_mfa: Option<bool>,
}

fn choice(s: Option<&MfaSettings>) -> MfaChoice {
    MfaChoice {
        enabled: s.and_then(|s| s.enabled),
        preferred: s.and_then(|s| s.preferred_mfa),
    }
}

/// Email MFA (a code by mail at sign-in) is not served.
fn refuse_email_mfa(email: &Option<Value>) -> Result<(), CognitoError> {
    let on = email
        .as_ref()
        .is_some_and(|v| v["Enabled"] == json!(true) || v["PreferredMfa"] == json!(true));
    if on {
        return Err(CognitoError::invalid_parameter(
            "Email MFA is not available on this gateway (TOTP and SMS are).",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetUserMfaPreferenceRequest {
    #[serde(rename = "SMSMfaSettings")]
    pub sms_mfa_settings: Option<MfaSettings>,
    pub software_token_mfa_settings: Option<MfaSettings>,
    pub email_mfa_settings: Option<Value>,
    pub access_token: String,
}

pub async fn set_user_mfa_preference(ctx: Ctx, input: SetUserMfaPreferenceRequest) -> OpResult {
    refuse_email_mfa(&input.email_mfa_settings)?;
    let pctx = token_ctx(&ctx, &input.access_token).await?;
    ctx.state
        .flow
        .set_own_mfa_preference(
            &pctx,
            &input.access_token,
            choice(input.software_token_mfa_settings.as_ref()),
            choice(input.sms_mfa_settings.as_ref()),
        )
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminSetUserMfaPreferenceRequest {
    #[serde(rename = "SMSMfaSettings")]
    pub sms_mfa_settings: Option<MfaSettings>,
    pub software_token_mfa_settings: Option<MfaSettings>,
    pub email_mfa_settings: Option<Value>,
    pub username: String,
    pub user_pool_id: String,
}

pub async fn admin_set_user_mfa_preference(
    ctx: Ctx,
    input: AdminSetUserMfaPreferenceRequest,
) -> OpResult {
    refuse_email_mfa(&input.email_mfa_settings)?;
    let pool = pool(&ctx, &input.user_pool_id).await?;
    ctx.state
        .admin
        .set_user_mfa_preference(
            &pool,
            &input.username,
            choice(input.software_token_mfa_settings.as_ref()),
            choice(input.sms_mfa_settings.as_ref()),
        )
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminCreateUserRequest {
    pub user_pool_id: String,
    pub username: String,
    #[serde(default)]
    pub user_attributes: Vec<Attribute>,
    pub validation_data: Option<Vec<Attribute>>,
    pub temporary_password: Option<String>,
    #[allow(dead_code)]
    pub force_alias_creation: Option<bool>,
    pub message_action: Option<String>,
    #[allow(dead_code)]
    pub desired_delivery_mediums: Option<Value>,
    pub client_metadata: Option<crate::hooks::StringMap>,
}

pub async fn admin_create_user(ctx: Ctx, input: AdminCreateUserRequest) -> OpResult {
    let pool = pool(&ctx, &input.user_pool_id).await?;
    let suppress = match input.message_action.as_deref() {
        None | Some("RESEND") => false,
        Some("SUPPRESS") => true,
        Some(other) => {
            return Err(CognitoError::invalid_parameter(format!(
                "MessageAction {other} is not RESEND or SUPPRESS."
            )));
        }
    };
    let (user, _) = ctx
        .state
        .admin
        .create_native_user(
            &pool,
            NewNativeUser {
                username: input.username,
                attributes: input
                    .user_attributes
                    .into_iter()
                    .map(|a| (a.name, a.value.unwrap_or_default()))
                    .collect(),
                temporary_password: input.temporary_password,
                suppress_message: suppress,
                validation_data: input.validation_data.map(|v| {
                    v.into_iter()
                        .map(|a| (a.name, a.value.unwrap_or_default()))
                        .collect()
                }),
                client_metadata: input.client_metadata,
            },
        )
        .await?;
    let view = ctx.state.flow.user_view(&pool.id, &user).await?;
    Ok(json!({ "User": user_type(&view) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminSetUserPasswordRequest {
    pub user_pool_id: String,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub permanent: bool,
}

pub async fn admin_set_user_password(ctx: Ctx, input: AdminSetUserPasswordRequest) -> OpResult {
    let pool = pool(&ctx, &input.user_pool_id).await?;
    ctx.state
        .admin
        .set_user_password(&pool, &input.username, &input.password, input.permanent)
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminUserRequest {
    pub user_pool_id: String,
    pub username: String,
    #[allow(dead_code)]
    pub client_metadata: Option<Value>,
}

pub async fn admin_reset_user_password(ctx: Ctx, input: AdminUserRequest) -> OpResult {
    let pool = pool(&ctx, &input.user_pool_id).await?;
    ctx.state
        .admin
        .reset_user_password(&pool, &input.username)
        .await?;
    Ok(json!({}))
}

pub async fn admin_confirm_sign_up(ctx: Ctx, input: AdminUserRequest) -> OpResult {
    let pool = pool(&ctx, &input.user_pool_id).await?;
    ctx.state
        .admin
        .confirm_sign_up(&pool, &input.username)
        .await?;
    Ok(json!({}))
}
