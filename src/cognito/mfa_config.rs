//! `GetUserPoolMfaConfig` and `SetUserPoolMfaConfig`: the pool's `MfaConfiguration`
//! (`OFF`, `OPTIONAL`, `ON`) and the factors it offers, TOTP
//! (`SoftwareTokenMfaConfiguration`) and SMS (`SmsMfaConfiguration`, its codes sent
//! through the `CustomSMSSender` hook). Email MFA and passkeys are not served: asking
//! for them is refused rather than pretended. Stored as `/admin/v1`'s pool settings
//! `mfa_configuration`, `software_token_mfa_configuration`, `sms_mfa_configuration`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{CognitoError, Ctx, OpResult};
use crate::admin::AdminError;
use crate::model::{MfaConfiguration, PoolSettings, SmsMfaConfig, SoftwareTokenMfaConfig};

/// Cognito's message when `ON` or `OPTIONAL` would leave no factor.
const NO_FACTOR: &str = "Invalid MFA configuration given, can't disable all MFAs with a required or optional configuration.";

/// The answer of both operations (`GetUserPoolMfaConfigResponse`).
fn config_json(s: &PoolSettings) -> Value {
    let mut v = json!({
        "MfaConfiguration": s.mfa_configuration.as_str(),
        "SoftwareTokenMfaConfiguration": {"Enabled": s.totp_mfa_offered()},
    });
    match &s.sms_mfa_configuration {
        Some(c) => v["SmsMfaConfiguration"] = json!(c),
        // A pool stored before these settings offers SMS unless MFA is off.
        None if s.sms_mfa_offered() => v["SmsMfaConfiguration"] = json!({}),
        None => {}
    }
    v
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetUserPoolMfaConfigRequest {
    pub user_pool_id: String,
}

pub async fn get_user_pool_mfa_config(ctx: Ctx, input: GetUserPoolMfaConfigRequest) -> OpResult {
    let pool = ctx.admin().pool(&input.user_pool_id).await?;
    Ok(config_json(&pool.settings))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetUserPoolMfaConfigRequest {
    pub user_pool_id: String,
    #[serde(default)]
    pub sms_mfa_configuration: Option<SmsMfaConfig>,
    #[serde(default)]
    pub software_token_mfa_configuration: Option<SoftwareTokenMfaConfig>,
    #[serde(default)]
    pub email_mfa_configuration: Option<Value>,
    /// Left out: the pool's stays.
    #[serde(default)]
    pub mfa_configuration: Option<MfaConfiguration>,
    #[serde(default)]
    pub web_authn_configuration: Option<Value>,
}

/// `SetUserPoolMfaConfig`: replaces the factors as Cognito does (a factor left out is
/// off: TOTP `Enabled` false, no SMS); `MfaConfiguration` left out keeps the pool's.
/// `ON` or `OPTIONAL` with no factor is refused, and a refusal changes nothing.
pub async fn set_user_pool_mfa_config(ctx: Ctx, input: SetUserPoolMfaConfigRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    if input.email_mfa_configuration.is_some() {
        return Err(CognitoError::invalid_parameter(
            "EmailMfaConfiguration: email MFA is not available on this gateway (TOTP and SMS are).",
        ));
    }
    if input.web_authn_configuration.is_some() {
        return Err(CognitoError::invalid_parameter(
            "WebAuthnConfiguration: passkeys are not available on this gateway.",
        ));
    }
    let totp = input
        .software_token_mfa_configuration
        .clone()
        .unwrap_or_default();
    let p = ctx
        .admin()
        .update_pool_settings(&input.user_pool_id, |s| {
            let mfa = input.mfa_configuration.unwrap_or(s.mfa_configuration);
            if !mfa.is_off() && !totp.enabled && input.sms_mfa_configuration.is_none() {
                return Err(AdminError::Invalid(vec![NO_FACTOR.into()]));
            }
            s.mfa_configuration = mfa;
            s.software_token_mfa_configuration = Some(totp.clone());
            s.sms_mfa_configuration = input.sms_mfa_configuration.clone();
            Ok(())
        })
        .await?;
    Ok(config_json(&p.pool.settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_stored_before_shows_both_factors_unless_off() {
        let mut s = PoolSettings::default();
        let v = config_json(&s);
        assert_eq!(v["MfaConfiguration"], "OFF");
        assert_eq!(v["SoftwareTokenMfaConfiguration"]["Enabled"], true);
        assert!(v.get("SmsMfaConfiguration").is_none());
        s.mfa_configuration = MfaConfiguration::Optional;
        assert_eq!(config_json(&s)["SmsMfaConfiguration"], json!({}));
        s.software_token_mfa_configuration = Some(SoftwareTokenMfaConfig { enabled: true });
        assert!(config_json(&s).get("SmsMfaConfiguration").is_none());
    }
}
