//! Identity providers: `CreateIdentityProvider`, `DescribeIdentityProvider`,
//! `UpdateIdentityProvider`, `DeleteIdentityProvider`, `ListIdentityProviders`,
//! `GetIdentityProviderByIdentifier`. `ProviderDetails` are translated both ways
//! between Cognito's names and the admin body's (interface.md section 7).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::shapes::{epoch, max_results, page};
use super::{CognitoError, Ctx, OpResult};
use crate::admin::{AdminError, ProviderBody};
use crate::model::{ProviderRecord, ProviderTypeName};
use crate::provider::registry;

/// Cognito's detail name -> the admin body's, where they differ.
const RENAMED: &[(&str, &str)] = &[
    ("oidc_issuer", "issuer"),
    ("attributes_url", "userinfo_url"),
    ("MetadataURL", "metadata_url"),
    ("MetadataFile", "metadata_xml"),
    ("IDPSignout", "idp_signout"),
    ("EncryptedResponses", "encrypted_responses"),
    ("IDPInit", "allow_idp_initiated"),
    ("RequestSigningAlgorithm", "request_signing_algorithm"),
];

/// SAML details Cognito writes as the strings `"true"` / `"false"`.
const BOOLEANS: &[&str] = &["idp_signout", "encrypted_responses", "allow_idp_initiated"];

/// Details Cognito adds to its answers on its own (its public endpoints of social
/// providers, SAML endpoints read from the metadata): a provider described on a real
/// pool carries them, and they are not settings, so they are dropped on the way in.
const COGNITO_OUTPUT_ONLY: &[&str] = &[
    "attributes_url_add_attributes",
    "token_request_method",
    "SLORedirectBindingURI",
    "SSORedirectBindingURI",
    "ActiveEncryptionCertificate",
];
/// The admin record's own bookkeeping, never shown.
const INTERNAL: &[&str] = &["metadata_fetched", "metadata_fetched_at"];

fn provider_type(s: &str) -> Result<ProviderTypeName, CognitoError> {
    let kind = registry::type_name(s).ok_or_else(|| {
        CognitoError::invalid_parameter(format!("ProviderType {s:?} is not supported."))
    })?;
    if own_kind(&kind) {
        return Err(poolgate_only(&kind));
    }
    Ok(kind)
}

/// The model's `IdentityProviderTypeType`: every other registered kind (`OAuth2`,
/// `GitHub`, ...) is poolgate's own.
const COGNITO_TYPES: &[&str] = &[
    "SAML",
    "Facebook",
    "Google",
    "LoginWithAmazon",
    "SignInWithApple",
    "OIDC",
];

/// poolgate's own provider types, outside the model's `IdentityProviderTypeType`: the
/// Cognito API shows them under their own type name, and leaves their creation and
/// details to `/admin/v1`, whose details they use.
fn own_kind(kind: &ProviderTypeName) -> bool {
    !COGNITO_TYPES.contains(&kind.as_str())
}

fn poolgate_only(kind: &ProviderTypeName) -> CognitoError {
    CognitoError::invalid_parameter(format!(
        "ProviderType {} is poolgate's own, not one of Cognito's: create it and change its details through /admin/v1.",
        kind.as_str()
    ))
}

/// Cognito's `ProviderDetails` (all strings) -> the admin body's details.
pub fn details_in(kind: &ProviderTypeName, d: &BTreeMap<String, String>) -> Map<String, Value> {
    let described_only = registry::kind(kind).cognito_described_only();
    let mut out = Map::new();
    for (k, v) in d {
        if COGNITO_OUTPUT_ONLY.contains(&k.as_str()) || described_only.contains(&k.as_str()) {
            continue;
        }
        let name = RENAMED
            .iter()
            .find(|(c, _)| c == k)
            .map_or(k.as_str(), |(_, a)| a);
        let value = if BOOLEANS.contains(&name) {
            match v.as_str() {
                "true" => json!(true),
                "false" => json!(false),
                _ => json!(v),
            }
        } else {
            json!(v)
        };
        out.insert(name.to_owned(), value);
    }
    out
}

/// The admin record's details -> Cognito's `ProviderDetails` (strings).
pub fn details_out(d: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in d {
        if INTERNAL.contains(&k.as_str()) || v.is_null() {
            continue;
        }
        let name = RENAMED
            .iter()
            .find(|(_, a)| a == k)
            .map_or(k.as_str(), |(c, _)| c);
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        out.insert(name.to_owned(), text);
    }
    out
}

/// `IdentityProviderType`.
fn provider_view(p: &ProviderRecord) -> Value {
    json!({
        "UserPoolId": p.pool_id,
        "ProviderName": p.name,
        "ProviderType": p.provider_type.as_str(),
        "ProviderDetails": details_out(&p.details),
        "AttributeMapping": p.attribute_mapping,
        "IdpIdentifiers": p.idp_identifiers,
        "LastModifiedDate": epoch(p.updated_at),
        "CreationDate": epoch(p.created_at),
    })
}

fn body(
    kind: &ProviderTypeName,
    details: Map<String, Value>,
    mapping: BTreeMap<String, String>,
    idp_identifiers: Vec<String>,
) -> Result<ProviderBody, CognitoError> {
    serde_json::from_value(json!({
        "type": kind.as_str(),
        "details": details,
        "attribute_mapping": mapping,
        "idp_identifiers": idp_identifiers,
        // Cognito never links by email: linking is AdminLinkProviderForUser.
        "link_by_email": "never",
    }))
    .map_err(|e| CognitoError::invalid_parameter(e.to_string()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateProviderRequest {
    pub user_pool_id: String,
    pub provider_name: String,
    pub provider_type: String,
    pub provider_details: BTreeMap<String, String>,
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
    #[serde(default)]
    pub idp_identifiers: Vec<String>,
}

pub async fn create_identity_provider(ctx: Ctx, input: CreateProviderRequest) -> OpResult {
    let kind = provider_type(&input.provider_type)?;
    ctx.admin().pool(&input.user_pool_id).await?;
    match ctx
        .admin()
        .get_provider(&input.user_pool_id, &input.provider_name)
        .await
    {
        Ok(_) => {
            return Err(CognitoError::new(
                "DuplicateProviderException",
                format!(
                    "A provider with the name {} already exists in this user pool.",
                    input.provider_name
                ),
            ));
        }
        Err(AdminError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let b = body(
        &kind,
        details_in(&kind, &input.provider_details),
        input.attribute_mapping,
        input.idp_identifiers,
    )?;
    let put = ctx
        .admin()
        .put_provider(&input.user_pool_id, &input.provider_name, b)
        .await?;
    Ok(json!({"IdentityProvider": provider_view(&put.record)}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProviderRef {
    pub user_pool_id: String,
    pub provider_name: String,
}

async fn load(ctx: &Ctx, pool: &str, name: &str) -> Result<ProviderRecord, CognitoError> {
    ctx.admin().pool(pool).await?;
    ctx.admin()
        .get_provider(pool, name)
        .await
        .map_err(|e| match e {
            AdminError::NotFound(_) => {
                CognitoError::not_found(format!("Identity provider {name} does not exist."))
            }
            other => other.into(),
        })
}

pub async fn describe_identity_provider(ctx: Ctx, input: ProviderRef) -> OpResult {
    let p = load(&ctx, &input.user_pool_id, &input.provider_name).await?;
    Ok(json!({"IdentityProvider": provider_view(&p)}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateProviderRequest {
    pub user_pool_id: String,
    pub provider_name: String,
    pub provider_details: Option<BTreeMap<String, String>>,
    pub attribute_mapping: Option<BTreeMap<String, String>>,
    pub idp_identifiers: Option<Vec<String>>,
}

/// Members given replace the provider's; members left out keep their values.
pub async fn update_identity_provider(ctx: Ctx, input: UpdateProviderRequest) -> OpResult {
    let p = load(&ctx, &input.user_pool_id, &input.provider_name).await?;
    let kind = p.provider_type.clone();
    let details = match &input.provider_details {
        // Their details have no Cognito form to translate from; mapping and
        // identifiers still change here.
        Some(_) if own_kind(&kind) => return Err(poolgate_only(&kind)),
        Some(d) => details_in(&kind, d),
        None => p.details.clone(),
    };
    let b = body(
        &kind,
        details,
        input.attribute_mapping.unwrap_or(p.attribute_mapping),
        input.idp_identifiers.unwrap_or(p.idp_identifiers),
    )?;
    let put = ctx
        .admin()
        .put_provider(&input.user_pool_id, &input.provider_name, b)
        .await?;
    Ok(json!({"IdentityProvider": provider_view(&put.record)}))
}

pub async fn delete_identity_provider(ctx: Ctx, input: ProviderRef) -> OpResult {
    load(&ctx, &input.user_pool_id, &input.provider_name).await?;
    ctx.admin()
        .delete_provider(&input.user_pool_id, &input.provider_name)
        .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListProvidersRequest {
    pub user_pool_id: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

pub async fn list_identity_providers(ctx: Ctx, input: ListProvidersRequest) -> OpResult {
    let limit = max_results(input.max_results, 60, 60)?;
    let mut all = ctx.admin().list_providers(&input.user_pool_id).await?;
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let (items, next) = page(all, |p| p.name.clone(), input.next_token.as_deref(), limit);
    let list: Vec<Value> = items
        .iter()
        .map(|p| {
            json!({
                "ProviderName": p.name,
                "ProviderType": p.provider_type.as_str(),
                "LastModifiedDate": epoch(p.updated_at),
                "CreationDate": epoch(p.created_at),
            })
        })
        .collect();
    let mut out = json!({"Providers": list});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ByIdentifierRequest {
    pub user_pool_id: String,
    pub idp_identifier: String,
}

pub async fn get_identity_provider_by_identifier(ctx: Ctx, input: ByIdentifierRequest) -> OpResult {
    let wanted = input.idp_identifier.trim().to_ascii_lowercase();
    let all = ctx.admin().list_providers(&input.user_pool_id).await?;
    let p = all
        .iter()
        .find(|p| p.idp_identifiers.contains(&wanted))
        .ok_or_else(|| CognitoError::not_found("Identity provider does not exist."))?;
    Ok(json!({"IdentityProvider": provider_view(p)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_translate_both_ways() {
        let cognito: BTreeMap<String, String> = [
            ("client_id", "abc"),
            ("client_secret", "s3cret"),
            ("oidc_issuer", "https://idp.example.com"),
            ("attributes_url", "https://idp.example.com/userinfo"),
            ("attributes_request_method", "GET"),
            ("authorize_scopes", "openid email"),
            ("attributes_url_add_attributes", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let t = |n: &str| registry::type_name(n).unwrap();
        let admin = details_in(&t("OIDC"), &cognito);
        assert_eq!(admin["issuer"], "https://idp.example.com");
        assert_eq!(admin["userinfo_url"], "https://idp.example.com/userinfo");
        assert!(admin.get("attributes_url_add_attributes").is_none());
        let back = details_out(&admin);
        assert_eq!(back["oidc_issuer"], "https://idp.example.com");
        assert_eq!(back["attributes_url"], "https://idp.example.com/userinfo");
        assert_eq!(back["client_secret"], "s3cret");

        let saml: BTreeMap<String, String> = [
            ("MetadataURL", "https://adfs/x"),
            ("IDPSignout", "true"),
            ("EncryptedResponses", "false"),
            ("RequestSigningAlgorithm", "rsa-sha256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let admin = details_in(&t("SAML"), &saml);
        assert_eq!(admin["metadata_url"], "https://adfs/x");
        assert_eq!(admin["idp_signout"], true);
        assert_eq!(admin["encrypted_responses"], false);
        assert_eq!(details_out(&admin)["IDPSignout"], "true");
        assert_eq!(admin["request_signing_algorithm"], "rsa-sha256");
        assert_eq!(details_out(&admin)["RequestSigningAlgorithm"], "rsa-sha256");

        let google: BTreeMap<String, String> = [
            ("client_id", "g"),
            (
                "authorize_url",
                "https://accounts.google.com/o/oauth2/v2/auth",
            ),
            ("oidc_issuer", "https://accounts.google.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let admin = details_in(&t("Google"), &google);
        assert_eq!(admin.len(), 1, "{admin:?}");
    }
}
