//! `UpdateUserPool` and `UpdateUserPoolDomain`. Cognito's update replaces the pool's
//! configuration: a member poolgate models that is left out takes its default
//! (`LambdaConfig`: no hooks; `Policies.PasswordPolicy`: Cognito's default policy;
//! `MfaConfiguration`: `OFF`).
//! `PoolName` left out keeps the name, and `UserPoolTags` left out keeps the tags (tags
//! are also managed by `TagResource`, which is how Terraform changes them).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{CognitoError, Ctx, OpResult};
use crate::model::{LambdaConfig, MfaConfiguration, PasswordPolicy};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateUserPoolRequest {
    pub user_pool_id: String,
    pub pool_name: Option<String>,
    #[serde(default)]
    pub lambda_config: Option<LambdaConfig>,
    /// `UserPoolPolicyType`: its `PasswordPolicy` is applied, other members ignored.
    #[serde(default)]
    pub policies: Option<Value>,
    pub user_pool_tags: Option<BTreeMap<String, String>>,
    /// `OFF` (left out), `OPTIONAL` or `ON`.
    #[serde(default)]
    pub mfa_configuration: Option<MfaConfiguration>,
}

/// `PasswordPolicyType` as poolgate applies it (`PasswordHistorySize` is not modelled
/// and ignored); members left out take Cognito's defaults.
fn password_policy(policies: Option<&Value>) -> Result<PasswordPolicy, CognitoError> {
    let Some(p) = policies.and_then(|p| p.get("PasswordPolicy")) else {
        return Ok(PasswordPolicy::default());
    };
    let mut p = p.clone();
    if let Some(o) = p.as_object_mut() {
        o.remove("PasswordHistorySize");
    }
    let policy: PasswordPolicy = serde_json::from_value(p)
        .map_err(|e| CognitoError::serialization(format!("Policies.PasswordPolicy: {e}")))?;
    if !(6..=99).contains(&policy.minimum_length) {
        return Err(CognitoError::invalid_parameter(
            "Policies.PasswordPolicy.MinimumLength: between 6 and 99",
        ));
    }
    if policy.temporary_password_validity_days > 365 {
        return Err(CognitoError::invalid_parameter(
            "Policies.PasswordPolicy.TemporaryPasswordValidityDays: at most 365",
        ));
    }
    Ok(policy)
}

pub async fn update_user_pool(ctx: Ctx, input: UpdateUserPoolRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    if let Some(name) = &input.pool_name
        && (name.trim().is_empty() || name.chars().count() > 128)
    {
        return Err(CognitoError::invalid_parameter(
            "PoolName: 1 to 128 characters",
        ));
    }
    let policy = password_policy(input.policies.as_ref())?;
    let hooks = input.lambda_config.unwrap_or_default();
    let mfa = input.mfa_configuration.unwrap_or_default();
    // Applied to the settings as stored at the write: a change another writer makes
    // meanwhile to what this request does not set (the signing algorithm, the
    // templates) is kept.
    ctx.admin()
        .update_pool_settings(&input.user_pool_id, |settings| {
            if let Some(name) = &input.pool_name {
                settings.name = Some(name.clone());
            }
            settings.password_policy = policy.clone();
            settings.hooks = hooks.clone();
            settings.mfa_configuration = mfa;
            if let Some(tags) = &input.user_pool_tags {
                settings.tags = tags.clone();
            }
            Ok(())
        })
        .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomDomainConfig {
    pub certificate_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateUserPoolDomainRequest {
    pub domain: String,
    pub user_pool_id: String,
    pub managed_login_version: Option<i64>,
    pub custom_domain_config: Option<CustomDomainConfig>,
}

/// `UpdateUserPoolDomain`: the domain must be the pool's. poolgate has one hosted UI,
/// so `ManagedLoginVersion` (1 or 2) is accepted and echoed. A `CertificateArn` (an ACM
/// ARN) is accepted but cannot be fetched: the domain's TLS certificate is the one in
/// `POOLGATE_CERTS_DIR` or set through `/admin/v1`, and the domain is unchanged.
pub async fn update_user_pool_domain(ctx: Ctx, input: UpdateUserPoolDomainRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    let version = input.managed_login_version.unwrap_or(1);
    if !(1..=2).contains(&version) {
        return Err(CognitoError::invalid_parameter(
            "ManagedLoginVersion: 1 or 2",
        ));
    }
    if let Some(c) = &input.custom_domain_config
        && !c.certificate_arn.starts_with("arn:aws:acm:")
    {
        return Err(CognitoError::invalid_parameter(
            "CustomDomainConfig.CertificateArn: not an ACM certificate ARN",
        ));
    }
    let d = match ctx.admin().find_domain(&input.domain).await {
        Ok(d) if d.pool_id == input.user_pool_id => d,
        Ok(_) | Err(crate::admin::AdminError::NotFound(_)) => {
            return Err(CognitoError::not_found(format!(
                "The domain {} is not a domain of the user pool.",
                input.domain
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if input.custom_domain_config.is_some() {
        tracing::info!(pool = %d.pool_id, domain = %d.domain,
            "UpdateUserPoolDomain: CertificateArn noted, not fetched; TLS comes from POOLGATE_CERTS_DIR or /admin/v1");
    }
    Ok(json!({"ManagedLoginVersion": version, "CloudFrontDomain": d.domain}))
}
