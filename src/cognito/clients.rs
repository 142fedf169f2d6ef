//! App clients: `CreateUserPoolClient`, `DescribeUserPoolClient`,
//! `UpdateUserPoolClient`, `DeleteUserPoolClient`, `ListUserPoolClients`. The Cognito
//! shape is translated into the admin service's client body (one set of rules).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::shapes::{epoch, max_results, page};
use super::{CognitoError, Ctx, OpResult};
use crate::admin::{ClientBody, ClientPatch};
use crate::model::AppClient;

/// `RefreshTokenRotationType`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rotation {
    pub feature: String,
    pub retry_grace_period_seconds: Option<i64>,
}

/// `TokenValidityUnitsType`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Units {
    pub access_token: Option<String>,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
}

/// The members of `CreateUserPoolClient` and `UpdateUserPoolClient` poolgate applies,
/// shared by both requests.
#[derive(Debug, Default)]
pub struct ClientRequest {
    pub user_pool_id: String,
    pub client_name: Option<String>,
    pub refresh_token_validity: Option<i64>,
    pub access_token_validity: Option<i64>,
    pub id_token_validity: Option<i64>,
    pub token_validity_units: Units,
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    pub supported_identity_providers: Vec<String>,
    pub allowed_oauth_flows: Vec<String>,
    pub allowed_oauth_scopes: Vec<String>,
    pub explicit_auth_flows: Option<Vec<String>>,
    pub refresh_token_rotation: Option<Rotation>,
}

/// Declares a request with the shared members (each read under its model name) plus
/// its own, and its conversion into [`ClientRequest`].
macro_rules! client_request {
    ($name:ident { $($extra:ident : $ty:ty),* }) => {
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name {
            pub user_pool_id: String,
            pub client_name: Option<String>,
            pub refresh_token_validity: Option<i64>,
            pub access_token_validity: Option<i64>,
            pub id_token_validity: Option<i64>,
            #[serde(default)]
            pub token_validity_units: Units,
            #[serde(default, rename = "CallbackURLs")]
            pub callback_urls: Vec<String>,
            #[serde(default, rename = "LogoutURLs")]
            pub logout_urls: Vec<String>,
            #[serde(default)]
            pub supported_identity_providers: Vec<String>,
            #[serde(default, rename = "AllowedOAuthFlows")]
            pub allowed_oauth_flows: Vec<String>,
            #[serde(default, rename = "AllowedOAuthScopes")]
            pub allowed_oauth_scopes: Vec<String>,
            #[serde(default)]
            pub explicit_auth_flows: Option<Vec<String>>,
            #[serde(default)]
            pub refresh_token_rotation: Option<Rotation>,
            $(#[serde(default)] pub $extra: $ty),*
        }

        impl $name {
            fn common(&self) -> ClientRequest {
                ClientRequest {
                    user_pool_id: self.user_pool_id.clone(),
                    client_name: self.client_name.clone(),
                    refresh_token_validity: self.refresh_token_validity,
                    access_token_validity: self.access_token_validity,
                    id_token_validity: self.id_token_validity,
                    token_validity_units: Units {
                        access_token: self.token_validity_units.access_token.clone(),
                        id_token: self.token_validity_units.id_token.clone(),
                        refresh_token: self.token_validity_units.refresh_token.clone(),
                    },
                    callback_urls: self.callback_urls.clone(),
                    logout_urls: self.logout_urls.clone(),
                    supported_identity_providers: self.supported_identity_providers.clone(),
                    allowed_oauth_flows: self.allowed_oauth_flows.clone(),
                    allowed_oauth_scopes: self.allowed_oauth_scopes.clone(),
                    explicit_auth_flows: self.explicit_auth_flows.clone(),
                    refresh_token_rotation: self.refresh_token_rotation.clone(),
                }
            }
        }
    };
}

client_request!(CreateClientRequest {
    generate_secret: bool
});
client_request!(UpdateClientRequest { client_id: String });

fn unit_seconds(unit: Option<&str>, default: &str) -> Result<i64, CognitoError> {
    match unit.unwrap_or(default) {
        "seconds" => Ok(1),
        "minutes" => Ok(60),
        "hours" => Ok(3600),
        "days" => Ok(86_400),
        other => Err(CognitoError::invalid_parameter(format!(
            "TokenValidityUnits: {other:?} is not seconds, minutes, hours or days"
        ))),
    }
}

fn seconds(
    v: Option<i64>,
    unit: Option<&str>,
    default_unit: &str,
) -> Result<Option<u64>, CognitoError> {
    let Some(v) = v else { return Ok(None) };
    let s = v
        .checked_mul(unit_seconds(unit, default_unit)?)
        .and_then(|s| u64::try_from(s).ok())
        .ok_or_else(|| CognitoError::invalid_parameter("token validity out of range"))?;
    Ok(Some(s))
}

/// The admin body's members common to creation and change, from Cognito's.
fn admin_fields(r: &ClientRequest) -> Result<Map<String, Value>, CognitoError> {
    let u = &r.token_validity_units;
    let mut flows = Vec::new();
    for f in &r.allowed_oauth_flows {
        match f.as_str() {
            "code" | "implicit" | "client_credentials" => flows.push(f.clone()),
            other => {
                return Err(CognitoError::invalid_parameter(format!(
                    "AllowedOAuthFlows: {other:?} is not code, implicit or client_credentials"
                )));
            }
        }
    }
    let mut m = Map::new();
    m.insert("callback_urls".into(), json!(r.callback_urls));
    m.insert("logout_urls".into(), json!(r.logout_urls));
    m.insert("allowed_oauth_flows".into(), json!(flows));
    m.insert("allowed_scopes".into(), json!(r.allowed_oauth_scopes));
    m.insert(
        "supported_identity_providers".into(),
        json!(r.supported_identity_providers),
    );
    let validity = [
        (
            "id_token_validity_s",
            seconds(r.id_token_validity, u.id_token.as_deref(), "hours")?,
            3600,
        ),
        (
            "access_token_validity_s",
            seconds(r.access_token_validity, u.access_token.as_deref(), "hours")?,
            3600,
        ),
        (
            "refresh_token_validity_s",
            seconds(r.refresh_token_validity, u.refresh_token.as_deref(), "days")?,
            30 * 86_400,
        ),
    ];
    for (k, v, default) in validity {
        m.insert(k.into(), json!(v.unwrap_or(default)));
    }
    // Left out, both take Cognito's defaults (an update replaces the settings). The
    // admin service checks the flow names.
    let explicit = r
        .explicit_auth_flows
        .clone()
        .unwrap_or_else(crate::admin::default_auth_flows);
    m.insert("explicit_auth_flows".into(), json!(explicit));
    let rotation = match &r.refresh_token_rotation {
        None => json!({"enabled": false, "retry_grace_s": 0}),
        Some(rot) => {
            let enabled = match rot.feature.as_str() {
                "ENABLED" => true,
                "DISABLED" => false,
                _ => {
                    return Err(CognitoError::invalid_parameter(
                        "RefreshTokenRotation.Feature: ENABLED or DISABLED",
                    ));
                }
            };
            let grace = rot.retry_grace_period_seconds.unwrap_or(0);
            if !(0..=60).contains(&grace) {
                return Err(CognitoError::invalid_parameter(
                    "RefreshTokenRotation.RetryGracePeriodSeconds: 0 to 60",
                ));
            }
            json!({"enabled": enabled, "retry_grace_s": grace})
        }
    };
    m.insert("refresh_token_rotation".into(), rotation);
    Ok(m)
}

/// A validity in the largest unit that divides it: (value, unit).
fn in_units(s: u64) -> (u64, &'static str) {
    for (n, unit) in [(86_400, "days"), (3600, "hours"), (60, "minutes")] {
        if s.is_multiple_of(n) {
            return (s / n, unit);
        }
    }
    (s, "seconds")
}

/// `UserPoolClientType`.
pub fn client_type(c: &AppClient) -> Value {
    let (id_v, id_u) = in_units(c.id_token_validity_s);
    let (at_v, at_u) = in_units(c.access_token_validity_s);
    let (rt_v, rt_u) = in_units(c.refresh_token_validity_s);
    let flows: Vec<Value> = c
        .allowed_oauth_flows
        .iter()
        .filter_map(|f| serde_json::to_value(f).ok())
        .collect();
    json!({
        "UserPoolId": c.pool_id,
        "ClientName": c.name,
        "ClientId": c.client_id,
        "CreationDate": epoch(c.created_at),
        "LastModifiedDate": epoch(c.created_at),
        "IdTokenValidity": id_v,
        "AccessTokenValidity": at_v,
        "RefreshTokenValidity": rt_v,
        "TokenValidityUnits": {"IdToken": id_u, "AccessToken": at_u, "RefreshToken": rt_u},
        "CallbackURLs": c.callback_urls,
        "LogoutURLs": c.logout_urls,
        "SupportedIdentityProviders": c.supported_identity_providers,
        "AllowedOAuthFlowsUserPoolClient": !flows.is_empty(),
        "AllowedOAuthFlows": flows,
        "AllowedOAuthScopes": c.allowed_scopes,
        "ExplicitAuthFlows": if c.explicit_auth_flows.is_empty() {
            crate::admin::default_auth_flows()
        } else {
            c.explicit_auth_flows.clone()
        },
        "RefreshTokenRotation": {
            "Feature": if c.refresh_token_rotation.enabled { "ENABLED" } else { "DISABLED" },
            "RetryGracePeriodSeconds": c.refresh_token_rotation.retry_grace_s,
        },
        "EnableTokenRevocation": true,
        "AuthSessionValidity": 3,
        // An unknown user gets the answer of a wrong password, always.
        "PreventUserExistenceErrors": "ENABLED",
    })
}

/// Adds `ClientSecret` as Cognito shows it: the client's newest secret that poolgate
/// holds sealed (a client whose secret was kept only as a digest shows none).
async fn with_secret(ctx: &Ctx, c: &AppClient, v: &mut Value) -> Result<(), CognitoError> {
    if c.secret_hash.is_some()
        && let Some(s) = ctx.admin().client_secret(&c.pool_id, &c.client_id).await?
    {
        v["ClientSecret"] = json!(s.expose());
    }
    Ok(())
}

fn body<T: serde::de::DeserializeOwned>(m: Map<String, Value>) -> Result<T, CognitoError> {
    serde_json::from_value(Value::Object(m))
        .map_err(|e| CognitoError::invalid_parameter(e.to_string()))
}

pub async fn create_user_pool_client(ctx: Ctx, input: CreateClientRequest) -> OpResult {
    let name = input
        .client_name
        .clone()
        .ok_or_else(|| CognitoError::invalid_parameter("ClientName is required."))?;
    let mut m = admin_fields(&input.common())?;
    m.insert("name".into(), json!(name));
    m.insert("generate_secret".into(), json!(input.generate_secret));
    let b: ClientBody = body(m)?;
    let made = ctx.admin().create_client(&input.user_pool_id, b).await?;
    let mut v = client_type(&made.client);
    if let Some(secret) = made.secret {
        v["ClientSecret"] = json!(secret);
    }
    Ok(json!({"UserPoolClient": v}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientRef {
    pub user_pool_id: String,
    pub client_id: String,
}

pub async fn describe_user_pool_client(ctx: Ctx, input: ClientRef) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    let c = ctx
        .admin()
        .get_client(&input.user_pool_id, &input.client_id)
        .await?;
    let mut v = client_type(&c);
    with_secret(&ctx, &c, &mut v).await?;
    Ok(json!({"UserPoolClient": v}))
}

/// Cognito's update replaces the client's settings: members left out take their
/// defaults, as in `CreateUserPoolClient`.
pub async fn update_user_pool_client(ctx: Ctx, input: UpdateClientRequest) -> OpResult {
    let client_id = input.client_id.clone();
    if client_id.is_empty() {
        return Err(CognitoError::invalid_parameter("ClientId is required."));
    }
    ctx.admin().pool(&input.user_pool_id).await?;
    let mut m = admin_fields(&input.common())?;
    if let Some(n) = &input.client_name {
        m.insert("name".into(), json!(n));
    }
    let patch: ClientPatch = body(m)?;
    let c = ctx
        .admin()
        .patch_client(&input.user_pool_id, &client_id, patch)
        .await?;
    let mut v = client_type(&c);
    with_secret(&ctx, &c, &mut v).await?;
    Ok(json!({"UserPoolClient": v}))
}

pub async fn delete_user_pool_client(ctx: Ctx, input: ClientRef) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    ctx.admin()
        .delete_client(&input.user_pool_id, &input.client_id)
        .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListClientsRequest {
    pub user_pool_id: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

pub async fn list_user_pool_clients(ctx: Ctx, input: ListClientsRequest) -> OpResult {
    let limit = max_results(input.max_results, 60, 60)?;
    let mut clients = ctx.admin().list_clients(&input.user_pool_id).await?;
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let (items, next) = page(
        clients,
        |c| c.client_id.clone(),
        input.next_token.as_deref(),
        limit,
    );
    let list: Vec<Value> = items
        .iter()
        .map(|c| json!({"ClientId": c.client_id, "UserPoolId": c.pool_id, "ClientName": c.name}))
        .collect();
    let mut out = json!({"UserPoolClients": list});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}
