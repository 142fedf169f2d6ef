//! User pools and their domains: `CreateUserPool`, `DescribeUserPool`,
//! `DeleteUserPool`, `ListUserPools`, `CreateUserPoolDomain`,
//! `DescribeUserPoolDomain`, `DeleteUserPoolDomain`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::shapes::{epoch, max_results, page};
use super::{CognitoError, Ctx, OpResult};
use crate::admin::{AdminError, DomainBody, PoolInfo};
use crate::model::{
    AdminCreateUserConfig, DEFAULT_POOL, IssuerStyle, LambdaConfig, MfaConfiguration, PoolSettings,
    VerificationMessageTemplate,
};

/// Cognito's (made-up) account id in ARNs: poolgate has no AWS account.
pub const ACCOUNT_ID: &str = "000000000000";

pub fn pool_arn(ctx: &Ctx, pool_id: &str) -> String {
    format!(
        "arn:aws:cognito-idp:{}:{ACCOUNT_ID}:userpool/{pool_id}",
        ctx.region_of(pool_id)
    )
}

fn name_of(p: &PoolInfo) -> String {
    p.pool
        .settings
        .name
        .clone()
        .unwrap_or_else(|| p.pool.id.clone())
}

/// `LambdaConfigType`: the pool's hooks, under Cognito's names (URLs in place of ARNs).
fn lambda_config(p: &PoolInfo) -> Value {
    serde_json::to_value(&p.pool.settings.hooks).unwrap_or_else(|_| json!({}))
}

/// `UserPoolType`.
fn pool_type(ctx: &Ctx, p: &PoolInfo) -> Value {
    let mut v = json!({
        "Id": p.pool.id,
        "Name": name_of(p),
        "Arn": pool_arn(ctx, &p.pool.id),
        "LambdaConfig": lambda_config(p),
        "CreationDate": epoch(p.pool.created_at),
        "LastModifiedDate": epoch(p.pool.created_at),
        "MfaConfiguration": p.pool.settings.mfa_configuration.as_str(),
        "UsernameConfiguration": {"CaseSensitive": false},
        "AdminCreateUserConfig": p.pool.settings.admin_create_user_config,
    });
    if let Some(sms) = &p.pool.settings.sms_mfa_configuration {
        if let Some(m) = &sms.sms_authentication_message {
            v["SmsAuthenticationMessage"] = json!(m);
        }
        if let Some(c) = &sms.sms_configuration {
            v["SmsConfiguration"] = json!(c);
        }
    }
    let t = &p.pool.settings.verification_message_template;
    if !t.is_empty() {
        v["VerificationMessageTemplate"] = json!(t);
    }
    if let Some(d) = p.domains.first() {
        v["Domain"] = json!(d);
    }
    v["Policies"] = json!({"PasswordPolicy": p.pool.settings.password_policy});
    if !p.pool.settings.username_attributes.is_empty() {
        v["UsernameAttributes"] = json!(p.pool.settings.username_attributes);
    }
    if !p.pool.settings.alias_attributes.is_empty() {
        v["AliasAttributes"] = json!(p.pool.settings.alias_attributes);
    }
    if let Some(schema) = super::schema::schema_view(p.pool.settings.schema.as_ref()) {
        v["SchemaAttributes"] = schema;
    }
    if !p.pool.settings.tags.is_empty() {
        v["UserPoolTags"] = json!(p.pool.settings.tags);
    }
    v
}

/// `UserPoolDescriptionType`.
fn description(p: &PoolInfo) -> Value {
    json!({
        "Id": p.pool.id,
        "Name": name_of(p),
        "LambdaConfig": lambda_config(p),
        "CreationDate": epoch(p.pool.created_at),
        "LastModifiedDate": epoch(p.pool.created_at),
    })
}

/// Input of the operations that name only a pool.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoolRef {
    pub user_pool_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserPoolRequest {
    pub pool_name: String,
    /// Hooks in place of Lambda triggers (interface.md section 8).
    #[serde(default)]
    pub lambda_config: Option<LambdaConfig>,
    #[serde(default)]
    pub user_pool_tags: std::collections::BTreeMap<String, String>,
    /// The text of mailed codes.
    #[serde(default)]
    pub verification_message_template: Option<VerificationMessageTemplate>,
    /// The legacy forms of the verification template's email text and subject.
    #[serde(default)]
    pub email_verification_message: Option<String>,
    #[serde(default)]
    pub email_verification_subject: Option<String>,
    /// Self sign-up and the invitation's text.
    #[serde(default)]
    pub admin_create_user_config: Option<AdminCreateUserConfig>,
    /// `OFF`, `OPTIONAL` or `ON` (`SMS_MFA` needs it not `OFF`).
    #[serde(default)]
    pub mfa_configuration: Option<MfaConfiguration>,
    /// The attributes the pool declares (custom ones by their short name).
    #[serde(default)]
    pub schema: Vec<super::schema::SchemaInput>,
    /// `["email"]`: users sign in with their email (their username is their `sub`).
    #[serde(default)]
    pub username_attributes: Vec<String>,
    /// `["email"]`: users may also sign in with their verified email.
    #[serde(default)]
    pub alias_attributes: Vec<String>,
}

/// The pool's message templates from `CreateUserPool`'s members (the template wins
/// over the legacy `EmailVerification*` members).
fn templates(input: &CreateUserPoolRequest) -> VerificationMessageTemplate {
    let mut t = input
        .verification_message_template
        .clone()
        .unwrap_or_default();
    if t.email_message.is_none() {
        t.email_message = input.email_verification_message.clone();
    }
    if t.email_subject.is_none() {
        t.email_subject = input.email_verification_subject.clone();
    }
    t
}

pub async fn create_user_pool(ctx: Ctx, input: CreateUserPoolRequest) -> OpResult {
    let region = ctx.region.clone().unwrap_or_else(|| "us-east-1".into());
    // A pool made here has a schema, as Cognito's: custom attributes must be declared.
    let schema = super::schema::schema_from(&input.schema)?;
    let p = ctx
        .admin()
        .create_named_pool(
            &region,
            &input.pool_name,
            PoolSettings {
                // Pools made through the Cognito API issue as Cognito does (section 2).
                issuer_style: IssuerStyle::Cognito,
                hooks: input.lambda_config.clone().unwrap_or_default(),
                verification_message_template: templates(&input),
                admin_create_user_config: input
                    .admin_create_user_config
                    .clone()
                    .unwrap_or_default(),
                tags: input.user_pool_tags,
                mfa_configuration: input.mfa_configuration.unwrap_or_default(),
                schema: Some(schema),
                username_attributes: input.username_attributes,
                alias_attributes: input.alias_attributes,
                ..PoolSettings::default()
            },
        )
        .await?;
    Ok(json!({"UserPool": pool_type(&ctx, &p)}))
}

pub async fn describe_user_pool(ctx: Ctx, input: PoolRef) -> OpResult {
    let p = ctx.admin().get_pool(&input.user_pool_id).await?;
    Ok(json!({"UserPool": pool_type(&ctx, &p)}))
}

pub async fn delete_user_pool(ctx: Ctx, input: PoolRef) -> OpResult {
    if input.user_pool_id == DEFAULT_POOL {
        return Err(CognitoError::invalid_parameter(
            "The default pool cannot be deleted.",
        ));
    }
    ctx.admin().delete_pool(&input.user_pool_id).await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUserPoolsRequest {
    pub max_results: i64,
    pub next_token: Option<String>,
}

pub async fn list_user_pools(ctx: Ctx, input: ListUserPoolsRequest) -> OpResult {
    let limit = max_results(Some(input.max_results), 60, 60)?;
    let mut pools = ctx.admin().list_pools().await?;
    pools.sort_by(|a, b| a.pool.id.cmp(&b.pool.id));
    let (items, next) = page(
        pools,
        |p| p.pool.id.clone(),
        input.next_token.as_deref(),
        limit,
    );
    let mut out = json!({"UserPools": items.iter().map(description).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainRequest {
    pub domain: String,
    pub user_pool_id: String,
}

pub async fn create_user_pool_domain(ctx: Ctx, input: DomainRequest) -> OpResult {
    // A domain another pool serves is refused as Cognito refuses it; the same pool's
    // domain is refused too (Cognito's create never replaces).
    match ctx.admin().find_domain(&input.domain).await {
        Ok(_) => {
            return Err(CognitoError::invalid_parameter(
                "Domain already associated with another user pool.",
            ));
        }
        Err(AdminError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.admin()
        .put_domain(&input.user_pool_id, &input.domain, DomainBody::default())
        .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDomainRequest {
    pub domain: String,
}

pub async fn describe_user_pool_domain(ctx: Ctx, input: DescribeDomainRequest) -> OpResult {
    // Cognito answers an unknown domain with an empty description, not an error.
    let d = match ctx.admin().find_domain(&input.domain).await {
        Ok(d) => d,
        Err(AdminError::NotFound(_)) => return Ok(json!({"DomainDescription": {}})),
        Err(e) => return Err(e.into()),
    };
    Ok(json!({"DomainDescription": {
        "UserPoolId": d.pool_id,
        "AWSAccountId": ACCOUNT_ID,
        "Domain": d.domain,
        "Status": "ACTIVE",
        "Version": "1",
    }}))
}

pub async fn delete_user_pool_domain(ctx: Ctx, input: DomainRequest) -> OpResult {
    ctx.admin()
        .delete_domain(&input.user_pool_id, &input.domain)
        .await?;
    Ok(json!({}))
}

/// `GetSigningCertificate`: the certificate SAML IdPs verify the pool's requests with.
pub async fn get_signing_certificate(ctx: Ctx, input: PoolRef) -> OpResult {
    let cert = ctx.admin().signing_certificate(&input.user_pool_id).await?;
    Ok(json!({"Certificate": cert}))
}
