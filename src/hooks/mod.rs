//! Hooks: Cognito's Lambda triggers as signed HTTPS calls (interface.md section 8).
//! A layer below `flow` and `admin` and beside `identity`/`token`: they call it, it
//! never imports them or `http`. One function per trigger takes typed inputs and
//! returns the function's parsed answer (`None` when the pool has no hook for it), or
//! a [`HookError`] that each interface renders (`access_denied`, Cognito's codes).

pub mod config;
pub mod event;
pub mod tokens;
pub mod transport;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::model::{IdentityLink, LambdaVersion, Pool, User};

pub use config::Trigger;
pub use event::*;
pub use tokens::{TokenKind, TokenOverrides};

/// `callerContext.clientId` when no app client is involved, as Cognito writes it.
pub const NO_CLIENT: &str = "CLIENT_ID_NOT_APPLICABLE";
/// `callerContext.awsSdkVersion`: poolgate's callers are not AWS SDKs.
const SDK_VERSION: &str = "aws-sdk-unknown-unknown";

/// A hook call that did not give an answer to go on with. Every kind fails the
/// operation: the browser flow renders `access_denied`, the Cognito API the code of
/// [`HookError::cognito_code`].
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The function threw (a Lambda-style error answer): Cognito's
    /// `UserLambdaValidationException`, whose message carries the function's.
    #[error("{trigger} failed with error {message}.")]
    Refused {
        trigger: &'static str,
        message: String,
        request_id: String,
    },
    /// A 2xx answer that is not the event JSON: `InvalidLambdaResponseException`.
    #[error("Invalid {trigger} Lambda response.")]
    Invalid {
        trigger: &'static str,
        request_id: String,
    },
    /// No usable answer (unreachable, TLS, timeout, redirect, oversized, 5xx):
    /// `UnexpectedLambdaException`.
    #[error("{trigger} failed: the hook did not answer.")]
    Failed {
        trigger: &'static str,
        request_id: String,
    },
}

impl HookError {
    /// The OAuth error of a browser flow (RFC 6749 section 4.1.2.1).
    pub fn oauth_error(&self) -> &'static str {
        "access_denied"
    }

    /// Cognito's error code (`__type`) for API callers.
    pub fn cognito_code(&self) -> &'static str {
        match self {
            HookError::Refused { .. } => "UserLambdaValidationException",
            HookError::Invalid { .. } => "InvalidLambdaResponseException",
            HookError::Failed { .. } => "UnexpectedLambdaException",
        }
    }

    /// The id of the failed call, as in the log line and the `X-Poolgate-Request-Id`.
    pub fn request_id(&self) -> &str {
        match self {
            HookError::Refused { request_id, .. }
            | HookError::Invalid { request_id, .. }
            | HookError::Failed { request_id, .. } => request_id,
        }
    }
}

/// Who a call is made for: the pool (its hooks and secret) and the app client.
#[derive(Clone, Copy, Debug)]
pub struct Caller<'a> {
    pub pool: &'a Pool,
    pub client_id: Option<&'a str>,
}

/// Sources of `PreSignUp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreSignUpSource {
    SignUp,
    AdminCreateUser,
    ExternalProvider,
}

/// Sources of `PostConfirmation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostConfirmationSource {
    ConfirmSignUp,
    ConfirmForgotPassword,
}

/// Sources of `PreTokenGeneration` (`TokenGeneration_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    HostedAuth,
    Authentication,
    NewPasswordChallenge,
    AuthenticateDevice,
    RefreshTokens,
    /// Machine-to-machine tokens: only `V3_0` hooks are called for them.
    ClientCredentials,
}

/// Sources of `UserMigration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationSource {
    Authentication,
    ForgotPassword,
}

/// Sources of `CustomMessage` and of the custom senders (`CustomMessage_SignUp`,
/// `CustomEmailSender_SignUp`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageSource {
    SignUp,
    AdminCreateUser,
    ResendCode,
    ForgotPassword,
    UpdateUserAttribute,
    VerifyUserAttribute,
    Authentication,
}

impl MessageSource {
    fn suffix(self) -> &'static str {
        match self {
            MessageSource::SignUp => "SignUp",
            MessageSource::AdminCreateUser => "AdminCreateUser",
            MessageSource::ResendCode => "ResendCode",
            MessageSource::ForgotPassword => "ForgotPassword",
            MessageSource::UpdateUserAttribute => "UpdateUserAttribute",
            MessageSource::VerifyUserAttribute => "VerifyUserAttribute",
            MessageSource::Authentication => "Authentication",
        }
    }
}

/// The hook client: one shared HTTP client (the upstream one: connection reuse, no
/// redirects, the operator's CA file), metrics and time.
pub struct Hooks {
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    clock: SharedClock,
}

impl Hooks {
    pub fn new(http: reqwest::Client, metrics: Arc<Metrics>, clock: SharedClock) -> Self {
        Self {
            http,
            metrics,
            clock,
        }
    }

    /// Whether the pool has a hook for `t`.
    pub fn has(pool: &Pool, t: Trigger) -> bool {
        config::endpoint(&pool.settings.hooks, t).is_some()
    }

    /// The event version of the pool's pre-token-generation hook.
    pub fn pre_token_version(pool: &Pool) -> Option<LambdaVersion> {
        config::endpoint(&pool.settings.hooks, Trigger::PreTokenGeneration).map(|(_, v)| v)
    }

    pub async fn pre_sign_up(
        &self,
        c: &Caller<'_>,
        source: PreSignUpSource,
        user_name: &str,
        request: PreSignUpRequest,
    ) -> Result<Option<PreSignUpResponse>, HookError> {
        let ts = match source {
            PreSignUpSource::SignUp => "PreSignUp_SignUp",
            PreSignUpSource::AdminCreateUser => "PreSignUp_AdminCreateUser",
            PreSignUpSource::ExternalProvider => "PreSignUp_ExternalProvider",
        };
        self.call(
            c,
            Trigger::PreSignUp,
            ts,
            Some(user_name),
            request,
            PreSignUpResponse::initial(),
        )
        .await
    }

    pub async fn pre_authentication(
        &self,
        c: &Caller<'_>,
        user_name: &str,
        request: PreAuthenticationRequest,
    ) -> Result<(), HookError> {
        let ts = "PreAuthentication_Authentication";
        self.call(
            c,
            Trigger::PreAuthentication,
            ts,
            Some(user_name),
            request,
            Empty {},
        )
        .await
        .map(|_| ())
    }

    pub async fn post_authentication(
        &self,
        c: &Caller<'_>,
        user_name: &str,
        request: PostAuthenticationRequest,
    ) -> Result<(), HookError> {
        let ts = "PostAuthentication_Authentication";
        self.call(
            c,
            Trigger::PostAuthentication,
            ts,
            Some(user_name),
            request,
            Empty {},
        )
        .await
        .map(|_| ())
    }

    pub async fn post_confirmation(
        &self,
        c: &Caller<'_>,
        source: PostConfirmationSource,
        user_name: &str,
        request: PostConfirmationRequest,
    ) -> Result<(), HookError> {
        let ts = match source {
            PostConfirmationSource::ConfirmSignUp => "PostConfirmation_ConfirmSignUp",
            PostConfirmationSource::ConfirmForgotPassword => {
                "PostConfirmation_ConfirmForgotPassword"
            }
        };
        self.call(
            c,
            Trigger::PostConfirmation,
            ts,
            Some(user_name),
            request,
            Empty {},
        )
        .await
        .map(|_| ())
    }

    /// Asks for changes of the tokens about to be issued. `request.scopes` is sent to
    /// V2/V3 hooks only; `ClientCredentials` calls only V3 hooks.
    pub async fn pre_token_generation(
        &self,
        c: &Caller<'_>,
        source: TokenSource,
        user_name: Option<&str>,
        mut request: PreTokenRequest,
    ) -> Result<Option<TokenOverrides>, HookError> {
        let Some(version) = Self::pre_token_version(c.pool) else {
            return Ok(None);
        };
        let ts = match source {
            TokenSource::HostedAuth => "TokenGeneration_HostedAuth",
            TokenSource::Authentication => "TokenGeneration_Authentication",
            TokenSource::NewPasswordChallenge => "TokenGeneration_NewPasswordChallenge",
            TokenSource::AuthenticateDevice => "TokenGeneration_AuthenticateDevice",
            TokenSource::RefreshTokens => "TokenGeneration_RefreshTokens",
            TokenSource::ClientCredentials => "TokenGeneration_ClientCredentials",
        };
        let t = Trigger::PreTokenGeneration;
        match version {
            LambdaVersion::V1_0 => {
                if source == TokenSource::ClientCredentials {
                    return Ok(None);
                }
                request.scopes = None;
                let r = self
                    .call_versioned(
                        c,
                        t,
                        "1",
                        ts,
                        user_name,
                        request,
                        PreTokenResponseV1::default(),
                    )
                    .await?;
                Ok(r.map(|r| {
                    TokenOverrides::from_v1(r.claims_override_details.unwrap_or_default())
                }))
            }
            LambdaVersion::V2_0 | LambdaVersion::V3_0 => {
                let v = if version == LambdaVersion::V2_0 {
                    if source == TokenSource::ClientCredentials {
                        return Ok(None);
                    }
                    "2"
                } else {
                    "3"
                };
                let r = self
                    .call_versioned(
                        c,
                        t,
                        v,
                        ts,
                        user_name,
                        request,
                        PreTokenResponseV2::default(),
                    )
                    .await?;
                Ok(r.map(|r| {
                    TokenOverrides::from_v2(r.claims_and_scope_override_details.unwrap_or_default())
                }))
            }
        }
    }

    pub async fn user_migration(
        &self,
        c: &Caller<'_>,
        source: MigrationSource,
        user_name: &str,
        request: UserMigrationRequest,
    ) -> Result<Option<UserMigrationResponse>, HookError> {
        let ts = match source {
            MigrationSource::Authentication => "UserMigration_Authentication",
            MigrationSource::ForgotPassword => "UserMigration_ForgotPassword",
        };
        let t = Trigger::UserMigration;
        let r = self
            .call(
                c,
                t,
                ts,
                Some(user_name),
                request,
                UserMigrationResponse::default(),
            )
            .await?;
        if let Some(r) = &r {
            let status_ok = r
                .final_user_status
                .as_deref()
                .is_none_or(|s| s == "CONFIRMED" || s == "RESET_REQUIRED");
            let action_ok = r
                .message_action
                .as_deref()
                .is_none_or(|s| s == "SUPPRESS" || s == "RESEND");
            if !status_ok || !action_ok {
                return Err(invalid(
                    c,
                    t,
                    "finalUserStatus or messageAction not Cognito's",
                    "",
                ));
            }
        }
        Ok(r)
    }

    /// The texts of a message to a user. Each text given must contain
    /// `request.code_parameter` (Cognito refuses it otherwise).
    pub async fn custom_message(
        &self,
        c: &Caller<'_>,
        source: MessageSource,
        user_name: &str,
        request: CustomMessageRequest,
    ) -> Result<Option<CustomMessageResponse>, HookError> {
        let ts = format!("CustomMessage_{}", source.suffix());
        let code = request.code_parameter.clone();
        let t = Trigger::CustomMessage;
        let r = self
            .call(
                c,
                t,
                &ts,
                Some(user_name),
                request,
                CustomMessageResponse::default(),
            )
            .await?;
        if let Some(r) = &r {
            let ok = |m: &Option<String>| m.as_deref().is_none_or(|m| m.contains(&code));
            if !ok(&r.email_message) || !ok(&r.sms_message) {
                return Err(invalid(c, t, "message without the code parameter", ""));
            }
        }
        Ok(r)
    }

    /// Hands a code to the pool's `CustomEmailSender` hook; `Ok(false)` when there is
    /// none (the caller sends the mail itself).
    pub async fn custom_email_sender(
        &self,
        c: &Caller<'_>,
        source: MessageSource,
        user_name: &str,
        code: &str,
        user_attributes: StringMap,
        client_metadata: Option<StringMap>,
    ) -> Result<bool, HookError> {
        let request = CustomSenderRequest {
            kind: "customEmailSenderRequestV1".into(),
            code: code.to_owned(),
            client_metadata,
            user_attributes,
        };
        let ts = format!("CustomEmailSender_{}", source.suffix());
        let t = Trigger::CustomEmailSender;
        Ok(self
            .call(c, t, &ts, Some(user_name), request, Empty {})
            .await?
            .is_some())
    }

    /// Hands a code to the pool's `CustomSMSSender` hook; `Ok(false)` when there is none.
    pub async fn custom_sms_sender(
        &self,
        c: &Caller<'_>,
        source: MessageSource,
        user_name: &str,
        code: &str,
        user_attributes: StringMap,
        client_metadata: Option<StringMap>,
    ) -> Result<bool, HookError> {
        let request = CustomSenderRequest {
            kind: "customSMSSenderRequestV1".into(),
            code: code.to_owned(),
            client_metadata,
            user_attributes,
        };
        let ts = format!("CustomSMSSender_{}", source.suffix());
        let t = Trigger::CustomSmsSender;
        Ok(self
            .call(c, t, &ts, Some(user_name), request, Empty {})
            .await?
            .is_some())
    }

    async fn call<Req: Serialize, Resp: Serialize + DeserializeOwned>(
        &self,
        c: &Caller<'_>,
        t: Trigger,
        trigger_source: &str,
        user_name: Option<&str>,
        request: Req,
        initial: Resp,
    ) -> Result<Option<Resp>, HookError> {
        self.call_versioned(c, t, "1", trigger_source, user_name, request, initial)
            .await
    }

    /// Sends one event and reads its answer. `None` when the pool has no hook for `t`.
    #[allow(clippy::too_many_arguments)]
    async fn call_versioned<Req: Serialize, Resp: Serialize + DeserializeOwned>(
        &self,
        c: &Caller<'_>,
        t: Trigger,
        version: &str,
        trigger_source: &str,
        user_name: Option<&str>,
        request: Req,
        initial: Resp,
    ) -> Result<Option<Resp>, HookError> {
        let Some((url, _)) = config::endpoint(&c.pool.settings.hooks, t) else {
            return Ok(None);
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let result = self
            .exchange(
                c,
                t,
                url,
                version,
                trigger_source,
                user_name,
                request,
                initial,
                &request_id,
            )
            .await;
        let failure = match &result {
            Ok(_) => None,
            Err(HookError::Refused { .. }) => Some("refused"),
            Err(HookError::Invalid { .. }) => Some("invalid"),
            Err(HookError::Failed { .. }) => Some("failed"),
        };
        self.metrics
            .hook_call(t.label(), started.elapsed().as_secs_f64(), failure);
        result.map(Some)
    }

    #[allow(clippy::too_many_arguments)]
    async fn exchange<Req: Serialize, Resp: Serialize + DeserializeOwned>(
        &self,
        c: &Caller<'_>,
        t: Trigger,
        url: &str,
        version: &str,
        trigger_source: &str,
        user_name: Option<&str>,
        request: Req,
        initial: Resp,
        request_id: &str,
    ) -> Result<Resp, HookError> {
        let pool = &c.pool.id;
        let trigger = t.key();
        let failed = |reason: &str| {
            tracing::warn!(pool = %pool, trigger, request_id, reason, "hook call failed");
            HookError::Failed {
                trigger,
                request_id: request_id.to_owned(),
            }
        };
        let Some(secret) = &c.pool.hook_secret else {
            return Err(failed("the pool has no hook secret"));
        };
        let event = Event {
            version: version.to_owned(),
            trigger_source: trigger_source.to_owned(),
            region: region_of(pool).to_owned(),
            user_pool_id: pool.clone(),
            user_name: user_name.map(str::to_owned),
            caller_context: CallerContext {
                aws_sdk_version: SDK_VERSION.into(),
                client_id: c.client_id.unwrap_or(NO_CLIENT).to_owned(),
            },
            request,
            response: initial,
        };
        let body = serde_json::to_vec(&event).map_err(|_| failed("event not serializable"))?;
        let now = self.clock.now();
        match transport::post(&self.http, url, &secret.0, body, now, request_id).await {
            transport::Outcome::Answered(bytes) => {
                match serde_json::from_slice::<Answer<Resp>>(&bytes) {
                    // A function answering without `response` changed nothing.
                    Ok(a) => Ok(a.response.unwrap_or(event.response)),
                    Err(_) => Err(invalid(c, t, "answer is not the event JSON", request_id)),
                }
            }
            transport::Outcome::Threw(message) => {
                // The function's message goes back to the caller, as Cognito does; it
                // is the hook's answer, so it is not logged.
                tracing::warn!(pool = %pool, trigger, request_id, "hook refused the operation");
                Err(HookError::Refused {
                    trigger,
                    message,
                    request_id: request_id.to_owned(),
                })
            }
            transport::Outcome::Failed(reason) => Err(failed(&reason)),
        }
    }
}

/// An answer that is not what the trigger must return. `request_id` is the call's, or
/// empty when the check runs after the call (a new id is made for the log line).
fn invalid(c: &Caller<'_>, t: Trigger, reason: &str, request_id: &str) -> HookError {
    let request_id = if request_id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        request_id.to_owned()
    };
    tracing::warn!(pool = %c.pool.id, trigger = t.key(), request_id, reason, "hook answer invalid");
    HookError::Invalid {
        trigger: t.key(),
        request_id,
    }
}

/// The `region` of a pool's events: the region part of a Cognito-style id
/// (`eu-west-1_AbC123`), else `us-east-1`.
pub fn region_of(pool_id: &str) -> &str {
    match pool_id.split_once('_') {
        Some((r, _))
            if r.contains('-')
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            r
        }
        _ => "us-east-1",
    }
}

/// A user's attributes as Cognito sends them to triggers: every value a string
/// (`"email_verified": "true"`), with `sub`, `cognito:user_status` and, for federated
/// users, `identities` as a JSON string.
pub fn user_attributes(user: &User, links: &[IdentityLink], status: &str) -> StringMap {
    let mut out = StringMap::new();
    for (k, v) in &user.attributes {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.insert(k.clone(), s);
    }
    out.insert("sub".into(), user.id.clone());
    out.insert("cognito:user_status".into(), status.to_owned());
    if let Some(email) = &user.email {
        out.insert("email".into(), email.clone());
        out.insert("email_verified".into(), user.email_verified.to_string());
    }
    if !links.is_empty() {
        out.insert(
            "identities".into(),
            crate::token::identities_claim(links).to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_cognito_style_ids() {
        assert_eq!(region_of("eu-west-1_AbC123xyz"), "eu-west-1");
        assert_eq!(region_of("default"), "us-east-1");
        assert_eq!(region_of("my_pool"), "us-east-1");
    }

    #[test]
    fn errors_map_to_cognito_codes() {
        let e = HookError::Refused {
            trigger: "PreSignUp",
            message: "Not allowed".into(),
            request_id: "r".into(),
        };
        assert_eq!(e.to_string(), "PreSignUp failed with error Not allowed.");
        assert_eq!(e.cognito_code(), "UserLambdaValidationException");
        assert_eq!(e.oauth_error(), "access_denied");
        let e = HookError::Failed {
            trigger: "PreSignUp",
            request_id: "r".into(),
        };
        assert_eq!(e.cognito_code(), "UnexpectedLambdaException");
    }
}
