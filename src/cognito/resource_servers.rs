//! Resource servers (custom scopes `{identifier}/{scope}`): `CreateResourceServer`,
//! `DescribeResourceServer`, `UpdateResourceServer`, `DeleteResourceServer`,
//! `ListResourceServers`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::shapes::{max_results, page};
use super::{CognitoError, Ctx, OpResult};
use crate::admin::{AdminError, ResourceServerBody};
use crate::model::ResourceServer;

/// `ResourceServerScopeType`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Scope {
    pub scope_name: String,
    pub scope_description: String,
}

/// `ResourceServerType`.
fn rs_type(rs: &ResourceServer) -> Value {
    json!({
        "UserPoolId": rs.pool_id,
        "Identifier": rs.identifier,
        "Name": rs.name,
        "Scopes": rs.scopes.iter().map(|s| json!({"ScopeName": s.name, "ScopeDescription": s.description})).collect::<Vec<_>>(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRequest {
    pub user_pool_id: String,
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<Scope>,
}

fn not_found(e: AdminError) -> CognitoError {
    match e {
        AdminError::NotFound("the resource server") => {
            CognitoError::not_found("Resource server does not exist.")
        }
        other => other.into(),
    }
}

async fn put(ctx: &Ctx, input: PutRequest) -> OpResult {
    let b: ResourceServerBody = serde_json::from_value(json!({
        "name": input.name,
        "scopes": input.scopes.iter().map(|s| json!({"name": s.scope_name, "description": s.scope_description})).collect::<Vec<_>>(),
    }))
    .map_err(|e| CognitoError::invalid_parameter(e.to_string()))?;
    let rs = ctx
        .admin()
        .put_resource_server(&input.user_pool_id, &input.identifier, b)
        .await?;
    Ok(json!({"ResourceServer": rs_type(&rs)}))
}

pub async fn create_resource_server(ctx: Ctx, input: PutRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    match ctx
        .admin()
        .get_resource_server(&input.user_pool_id, &input.identifier)
        .await
    {
        Ok(_) => {
            return Err(CognitoError::invalid_parameter(format!(
                "A resource server with identifier {} already exists in this user pool.",
                input.identifier
            )));
        }
        Err(AdminError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    put(&ctx, input).await
}

/// Cognito's update replaces the name and scopes.
pub async fn update_resource_server(ctx: Ctx, input: PutRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    ctx.admin()
        .get_resource_server(&input.user_pool_id, &input.identifier)
        .await
        .map_err(not_found)?;
    put(&ctx, input).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RsRef {
    pub user_pool_id: String,
    pub identifier: String,
}

pub async fn describe_resource_server(ctx: Ctx, input: RsRef) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    let rs = ctx
        .admin()
        .get_resource_server(&input.user_pool_id, &input.identifier)
        .await
        .map_err(not_found)?;
    Ok(json!({"ResourceServer": rs_type(&rs)}))
}

pub async fn delete_resource_server(ctx: Ctx, input: RsRef) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    ctx.admin()
        .delete_resource_server(&input.user_pool_id, &input.identifier)
        .await
        .map_err(not_found)?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    pub user_pool_id: String,
    pub max_results: i64,
    pub next_token: Option<String>,
}

pub async fn list_resource_servers(ctx: Ctx, input: ListRequest) -> OpResult {
    let limit = max_results(Some(input.max_results), 50, 50)?;
    let mut all = ctx
        .admin()
        .list_resource_servers(&input.user_pool_id)
        .await?;
    all.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let (items, next) = page(
        all,
        |r| r.identifier.clone(),
        input.next_token.as_deref(),
        limit,
    );
    let mut out = json!({"ResourceServers": items.iter().map(rs_type).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}
