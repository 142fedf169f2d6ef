//! Client-secret rotation: `AddUserPoolClientSecret`, `ListUserPoolClientSecrets`,
//! `DeleteUserPoolClientSecret` (at most 2 secrets, both authenticate; a secret's value
//! is shown only by the operation that generated it, and by `DescribeUserPoolClient`).

use serde::Deserialize;
use serde_json::{Value, json};

use super::shapes::epoch;
use super::{Ctx, OpResult};
use crate::admin::ClientSecretInfo;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddSecretRequest {
    pub user_pool_id: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsRequest {
    pub user_pool_id: String,
    pub client_id: String,
    /// Every secret fits one page (there are at most 2): a token is accepted and
    /// changes nothing.
    #[allow(dead_code)]
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretRequest {
    pub user_pool_id: String,
    pub client_id: String,
    pub client_secret_id: String,
}

/// `ClientSecretDescriptorType`: the value only when poolgate generated it just now.
fn descriptor(s: &ClientSecretInfo) -> Value {
    let mut v = json!({
        "ClientSecretId": s.id,
        "ClientSecretCreateDate": epoch(s.created_at),
    });
    if let (Some(value), true) = (&s.value, s.generated) {
        v["ClientSecretValue"] = json!(value.expose());
    }
    v
}

pub async fn add_user_pool_client_secret(ctx: Ctx, input: AddSecretRequest) -> OpResult {
    let made = ctx
        .admin()
        .add_client_secret(&input.user_pool_id, &input.client_id, input.client_secret)
        .await?;
    Ok(json!({"ClientSecretDescriptor": descriptor(&made)}))
}

pub async fn list_user_pool_client_secrets(ctx: Ctx, input: ListSecretsRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    let list = ctx
        .admin()
        .list_client_secrets(&input.user_pool_id, &input.client_id)
        .await?;
    let items: Vec<Value> = list.iter().map(descriptor).collect();
    Ok(json!({"ClientSecrets": items}))
}

pub async fn delete_user_pool_client_secret(ctx: Ctx, input: DeleteSecretRequest) -> OpResult {
    ctx.admin()
        .delete_client_secret(
            &input.user_pool_id,
            &input.client_id,
            &input.client_secret_id,
        )
        .await?;
    Ok(json!({}))
}
