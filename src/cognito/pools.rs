//! User pool operations: `ListUserPools` (more to come over the admin service).

use serde::Deserialize;
use serde_json::{Value, json};

use super::shapes::{epoch, max_results, page};
use super::{Ctx, OpResult};
use crate::model::Pool;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUserPoolsRequest {
    pub max_results: i64,
    pub next_token: Option<String>,
}

/// `UserPoolDescriptionType`.
fn description(p: &Pool) -> Value {
    json!({
        "Id": p.id,
        "Name": p.id,
        "LambdaConfig": {},
        "CreationDate": epoch(p.created_at),
        "LastModifiedDate": epoch(p.created_at),
    })
}

pub async fn list_user_pools(ctx: Ctx, input: ListUserPoolsRequest) -> OpResult {
    let limit = max_results(Some(input.max_results), 60, 60)?;
    let mut pools: Vec<_> = ctx
        .state
        .admin
        .list_pools()
        .await?
        .into_iter()
        .map(|i| i.pool)
        .collect();
    pools.sort_by(|a, b| a.id.cmp(&b.id));
    let (items, next) = page(pools, |p| p.id.clone(), input.next_token.as_deref(), limit);
    let mut out = json!({"UserPools": items.iter().map(description).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}
