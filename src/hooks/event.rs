//! The event JSON of each trigger, as Cognito sends it to a Lambda function, and the
//! same event read back with the function's `response`. Field names are Cognito's
//! (camelCase); `fixtures/` holds one documented event per trigger.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// String-to-string maps (`userAttributes`, `clientMetadata`, `validationData`).
pub type StringMap = BTreeMap<String, String>;

/// The envelope common to every trigger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event<Req, Resp> {
    pub version: String,
    pub trigger_source: String,
    pub region: String,
    pub user_pool_id: String,
    /// Absent in machine-to-machine (`client_credentials`) events, which have no user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    pub caller_context: CallerContext,
    pub request: Req,
    pub response: Resp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallerContext {
    pub aws_sdk_version: String,
    pub client_id: String,
}

/// What an answer is read as: only its `response` matters, the rest of the echoed
/// event is ignored (a function may change it freely, as with Lambda).
#[derive(Debug, Deserialize)]
pub struct Answer<Resp> {
    #[serde(default = "none")]
    pub response: Option<Resp>,
}

fn none<T>() -> Option<T> {
    None
}

// PreSignUp (`PreSignUp_SignUp`, `PreSignUp_AdminCreateUser`, `PreSignUp_ExternalProvider`).

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreSignUpRequest {
    pub user_attributes: StringMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_data: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<StringMap>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PreSignUpResponse {
    pub auto_confirm_user: Option<bool>,
    pub auto_verify_email: Option<bool>,
    pub auto_verify_phone: Option<bool>,
}

impl PreSignUpResponse {
    /// What Cognito puts in the event it sends: every flag `false`.
    pub fn initial() -> Self {
        Self {
            auto_confirm_user: Some(false),
            auto_verify_email: Some(false),
            auto_verify_phone: Some(false),
        }
    }
}

// PreAuthentication (`PreAuthentication_Authentication`).

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreAuthenticationRequest {
    pub user_attributes: StringMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_data: Option<StringMap>,
    #[serde(default)]
    pub user_not_found: bool,
}

/// The answer of triggers whose response carries nothing (`{}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {}

// PostAuthentication (`PostAuthentication_Authentication`).

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostAuthenticationRequest {
    #[serde(default)]
    pub new_device_used: bool,
    pub user_attributes: StringMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<StringMap>,
}

// PostConfirmation (`PostConfirmation_ConfirmSignUp`, `PostConfirmation_ConfirmForgotPassword`).

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostConfirmationRequest {
    pub user_attributes: StringMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<StringMap>,
}

// PreTokenGeneration (V1 `claimsOverrideDetails`, V2/V3 `claimsAndScopeOverrideDetails`).

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfiguration {
    #[serde(default)]
    pub groups_to_override: Vec<String>,
    #[serde(default)]
    pub iam_roles_to_override: Vec<String>,
    #[serde(default)]
    pub preferred_role: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenRequest {
    pub user_attributes: StringMap,
    pub group_configuration: GroupConfiguration,
    /// V2 and V3 only: the scopes of the access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<StringMap>,
}

/// `groupOverrideDetails`: `null` members leave that part unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupOverrideDetails {
    pub groups_to_override: Option<Vec<String>>,
    pub iam_roles_to_override: Option<Vec<String>>,
    pub preferred_role: Option<String>,
}

/// V1's `claimsOverrideDetails` (the ID token only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimsOverrideDetails {
    pub claims_to_add_or_override: Option<Map<String, Value>>,
    pub claims_to_suppress: Option<Vec<String>>,
    pub group_override_details: Option<GroupOverrideDetails>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenGeneration {
    pub claims_to_add_or_override: Option<Map<String, Value>>,
    pub claims_to_suppress: Option<Vec<String>>,
    /// Access token only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes_to_add: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes_to_suppress: Option<Vec<String>>,
}

/// V2/V3's `claimsAndScopeOverrideDetails`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimsAndScopeOverrideDetails {
    pub id_token_generation: Option<TokenGeneration>,
    pub access_token_generation: Option<TokenGeneration>,
    pub group_override_details: Option<GroupOverrideDetails>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PreTokenResponseV1 {
    pub claims_override_details: Option<ClaimsOverrideDetails>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PreTokenResponseV2 {
    pub claims_and_scope_override_details: Option<ClaimsAndScopeOverrideDetails>,
}

// UserMigration (`UserMigration_Authentication`, `UserMigration_ForgotPassword`).

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMigrationRequest {
    /// Sent for `UserMigration_Authentication` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_data: Option<StringMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<StringMap>,
}

impl std::fmt::Debug for UserMigrationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMigrationRequest")
            .field("has_password", &self.password.is_some())
            .finish()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserMigrationResponse {
    pub user_attributes: Option<StringMap>,
    /// `CONFIRMED` or `RESET_REQUIRED`.
    pub final_user_status: Option<String>,
    /// `SUPPRESS` or `RESEND`.
    pub message_action: Option<String>,
    pub desired_delivery_mediums: Option<Vec<String>>,
    pub force_alias_creation: Option<bool>,
    #[serde(rename = "enableSMSMFA", skip_serializing_if = "Option::is_none")]
    pub enable_sms_mfa: Option<bool>,
}

// CustomMessage (`CustomMessage_SignUp`, `_AdminCreateUser`, `_ResendCode`,
// `_ForgotPassword`, `_UpdateUserAttribute`, `_VerifyUserAttribute`, `_Authentication`).

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomMessageRequest {
    pub user_attributes: StringMap,
    /// The placeholder the message must contain, `{####}`.
    pub code_parameter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_parameter: Option<String>,
    /// `{username}` for `CustomMessage_AdminCreateUser`, else `null`.
    #[serde(default)]
    pub username_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<StringMap>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomMessageResponse {
    pub sms_message: Option<String>,
    pub email_message: Option<String>,
    pub email_subject: Option<String>,
}

// CustomEmailSender / CustomSMSSender (`CustomEmailSender_SignUp`, ...).

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomSenderRequest {
    /// `customEmailSenderRequestV1` or `customSMSSenderRequestV1`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The code to deliver. Cognito encrypts it with KMS; poolgate sends it in the
    /// signed body over TLS (interface.md section 8).
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<StringMap>,
    pub user_attributes: StringMap,
}

impl std::fmt::Debug for CustomSenderRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomSenderRequest")
            .field("type", &self.kind)
            .finish()
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
