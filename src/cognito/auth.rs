//! The sign-in operations of the Cognito API: `InitiateAuth`, `AdminInitiateAuth`,
//! `RespondToAuthChallenge`, `AdminRespondToAuthChallenge`,
//! `GetTokensFromRefreshToken`, `RevokeToken`, and the errors of the native sign-in
//! as Cognito names them. The rules are the flow's ([`crate::flow::native`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{CognitoError, Ctx, OpResult};
use crate::flow::native::{AuthOutcome, Caller, NativeError};
use crate::flow::{FlowError, PoolCtx};
use crate::hooks::StringMap;
use crate::model::AppClient;

impl From<NativeError> for CognitoError {
    fn from(e: NativeError) -> Self {
        let msg = e.to_string();
        match e {
            NativeError::NotAuthorized(_) => CognitoError::new("NotAuthorizedException", msg),
            NativeError::InvalidParameter(_) => CognitoError::invalid_parameter(msg),
            NativeError::InvalidPassword(_) => CognitoError::new("InvalidPasswordException", msg),
            NativeError::UserNotFound => CognitoError::user_not_found(),
            NativeError::UsernameExists => CognitoError::new("UsernameExistsException", msg),
            NativeError::UserNotConfirmed => CognitoError::new("UserNotConfirmedException", msg),
            NativeError::PasswordResetRequired => {
                CognitoError::new("PasswordResetRequiredException", msg)
            }
            NativeError::CodeMismatch => CognitoError::new("CodeMismatchException", msg),
            NativeError::ExpiredCode => CognitoError::new("ExpiredCodeException", msg),
            NativeError::ResourceNotFound(_) => CognitoError::not_found(msg),
            NativeError::CodeDeliveryFailure(_) => {
                CognitoError::new("CodeDeliveryFailureException", msg)
            }
            NativeError::EnableSoftwareTokenMfa => {
                CognitoError::new("EnableSoftwareTokenMFAException", msg)
            }
            NativeError::Flow(FlowError::Unavailable) => CognitoError::unavailable(),
            NativeError::Flow(FlowError::OAuth { .. }) => {
                CognitoError::new("NotAuthorizedException", "Not authorized.")
            }
            NativeError::Hook(h) => CognitoError::new(h.cognito_code(), msg),
            NativeError::Flow(_) => CognitoError::internal(),
        }
    }
}

/// The pool and context of an app client named by a request.
pub(super) async fn client_ctx(
    ctx: &Ctx,
    client_id: &str,
    pool_id: Option<&str>,
) -> Result<(PoolCtx, AppClient), CognitoError> {
    let flow = &ctx.state.flow;
    let (pool, client) = flow
        .find_client_any_pool(client_id)
        .await?
        .filter(|(p, _)| pool_id.is_none_or(|id| id == p.id))
        .ok_or_else(|| CognitoError::not_found("User pool client does not exist."))?;
    let pctx = flow
        .api_pool_ctx(pool, &ctx.state.settings.public_url)
        .await?;
    Ok((pctx, client))
}

/// An access token's pool context.
pub(super) async fn token_ctx(ctx: &Ctx, token: &str) -> Result<PoolCtx, CognitoError> {
    Ok(ctx
        .state
        .flow
        .token_pool_ctx(token, &ctx.state.settings.public_url)
        .await?)
}

fn render(outcome: AuthOutcome) -> Value {
    match outcome {
        AuthOutcome::Tokens(r) => json!({"AuthenticationResult": r, "ChallengeParameters": {}}),
        AuthOutcome::Challenge {
            name,
            session,
            parameters,
        } => {
            let mut v = json!({"ChallengeName": name, "ChallengeParameters": parameters});
            if let Some(s) = session {
                v["Session"] = json!(s);
            }
            v
        }
        // Only the hosted page's sign-ins end this way; the API never begins one.
        AuthOutcome::Authenticated { .. } => {
            tracing::error!("a hosted sign-in's outcome reached the Cognito API");
            json!({"ChallengeParameters": {}})
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitiateAuthRequest {
    pub auth_flow: String,
    #[serde(default)]
    pub auth_parameters: BTreeMap<String, String>,
    pub client_id: String,
    pub client_metadata: Option<StringMap>,
    #[allow(dead_code)]
    pub analytics_metadata: Option<Value>,
    #[allow(dead_code)]
    pub user_context_data: Option<Value>,
}

/// The `ExplicitAuthFlows` entry that allows `AuthFlow` (Cognito's names).
fn required_flow(flow_name: &str) -> Option<&'static str> {
    Some(match flow_name {
        "USER_PASSWORD_AUTH" => "ALLOW_USER_PASSWORD_AUTH",
        "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "USER_SRP_AUTH" => "ALLOW_USER_SRP_AUTH",
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => "ALLOW_REFRESH_TOKEN_AUTH",
        "CUSTOM_AUTH" => "ALLOW_CUSTOM_AUTH",
        "USER_AUTH" => "ALLOW_USER_AUTH",
        _ => return None,
    })
}

async fn initiate(
    ctx: &Ctx,
    pool_id: Option<&str>,
    client_id: &str,
    flow_name: &str,
    params: &BTreeMap<String, String>,
    admin: bool,
    metadata: Option<StringMap>,
) -> OpResult {
    let (pctx, client) = client_ctx(ctx, client_id, pool_id).await?;
    // A flow the client does not list is refused before anything else, as Cognito does.
    if let Some(allow) = required_flow(flow_name)
        && !client.allows_auth_flow(allow)
    {
        return Err(CognitoError::invalid_parameter(format!(
            "{flow_name} flow not enabled for this client"
        )));
    }
    let flow = &ctx.state.flow;
    // The app's users call the public operations from their own addresses; the admin
    // operations come from the app's backend, whose address is every user's.
    let caller = Caller {
        ip: if admin { None } else { ctx.client_ip },
        metadata,
    };
    let out = match (flow_name, admin) {
        ("USER_PASSWORD_AUTH", false)
        | ("ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH", true) => {
            flow.password_auth(&pctx, &client, params, &caller).await?
        }
        ("USER_SRP_AUTH", _) => flow.srp_auth(&pctx, &client, params, &caller).await?,
        ("REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN", _) => {
            AuthOutcome::Tokens(flow.refresh_auth(&pctx, &client, params).await?)
        }
        _ => {
            return Err(CognitoError::invalid_parameter(format!(
                "Unsupported or unknown AuthFlow {flow_name}."
            )));
        }
    };
    Ok(render(out))
}

pub async fn initiate_auth(ctx: Ctx, input: InitiateAuthRequest) -> OpResult {
    initiate(
        &ctx,
        None,
        &input.client_id,
        &input.auth_flow,
        &input.auth_parameters,
        false,
        input.client_metadata,
    )
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminInitiateAuthRequest {
    pub user_pool_id: String,
    pub client_id: String,
    pub auth_flow: String,
    #[serde(default)]
    pub auth_parameters: BTreeMap<String, String>,
    pub client_metadata: Option<StringMap>,
    #[allow(dead_code)]
    pub analytics_metadata: Option<Value>,
    #[allow(dead_code)]
    pub context_data: Option<Value>,
}

pub async fn admin_initiate_auth(ctx: Ctx, input: AdminInitiateAuthRequest) -> OpResult {
    initiate(
        &ctx,
        Some(&input.user_pool_id),
        &input.client_id,
        &input.auth_flow,
        &input.auth_parameters,
        true,
        input.client_metadata,
    )
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RespondToAuthChallengeRequest {
    pub client_id: String,
    pub challenge_name: String,
    pub session: Option<String>,
    #[serde(default)]
    pub challenge_responses: BTreeMap<String, String>,
    #[allow(dead_code)]
    pub analytics_metadata: Option<Value>,
    #[allow(dead_code)]
    pub user_context_data: Option<Value>,
    pub client_metadata: Option<StringMap>,
}

pub async fn respond_to_auth_challenge(ctx: Ctx, input: RespondToAuthChallengeRequest) -> OpResult {
    respond(
        &ctx,
        &input.client_id,
        None,
        &input.challenge_name,
        input.session.as_deref(),
        &input.challenge_responses,
        input.client_metadata,
    )
    .await
}

/// The one answer to a challenge, whether the app (unsigned) or an admin (signed,
/// naming the pool) sends it.
async fn respond(
    ctx: &Ctx,
    client_id: &str,
    pool: Option<&str>,
    challenge_name: &str,
    session: Option<&str>,
    responses: &BTreeMap<String, String>,
    metadata: Option<StringMap>,
) -> OpResult {
    let (pctx, client) = client_ctx(ctx, client_id, pool).await?;
    // An admin (naming the pool) answers from the backend: no user's address.
    let caller = Caller {
        ip: if pool.is_some() { None } else { ctx.client_ip },
        metadata,
    };
    let out = ctx
        .state
        .flow
        .respond_to_challenge(&pctx, &client, challenge_name, session, responses, &caller)
        .await?;
    Ok(render(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdminRespondToAuthChallengeRequest {
    pub user_pool_id: String,
    pub client_id: String,
    pub challenge_name: String,
    pub session: Option<String>,
    #[serde(default)]
    pub challenge_responses: BTreeMap<String, String>,
    #[allow(dead_code)]
    pub analytics_metadata: Option<Value>,
    #[allow(dead_code)]
    pub context_data: Option<Value>,
    pub client_metadata: Option<StringMap>,
}

pub async fn admin_respond_to_auth_challenge(
    ctx: Ctx,
    input: AdminRespondToAuthChallengeRequest,
) -> OpResult {
    respond(
        &ctx,
        &input.client_id,
        Some(&input.user_pool_id),
        &input.challenge_name,
        input.session.as_deref(),
        &input.challenge_responses,
        input.client_metadata,
    )
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTokensFromRefreshTokenRequest {
    pub refresh_token: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    #[allow(dead_code)]
    pub device_key: Option<String>,
    #[allow(dead_code)]
    pub client_metadata: Option<Value>,
}

pub async fn get_tokens_from_refresh_token(
    ctx: Ctx,
    input: GetTokensFromRefreshTokenRequest,
) -> OpResult {
    let (pctx, _) = client_ctx(&ctx, &input.client_id, None).await?;
    let r = ctx
        .state
        .flow
        .tokens_from_refresh(
            &pctx,
            &input.client_id,
            input.client_secret.as_deref(),
            &input.refresh_token,
        )
        .await?;
    Ok(json!({ "AuthenticationResult": r }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeTokenRequest {
    pub token: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

pub async fn revoke_token(ctx: Ctx, input: RevokeTokenRequest) -> OpResult {
    let (pctx, _) = client_ctx(&ctx, &input.client_id, None).await?;
    ctx.state
        .flow
        .revoke_refresh_token(
            &pctx,
            &input.client_id,
            input.client_secret.as_deref(),
            &input.token,
        )
        .await?;
    Ok(json!({}))
}
