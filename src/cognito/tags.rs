//! Pool tags: `TagResource`, `UntagResource`, `ListTagsForResource` on a pool's ARN
//! (`arn:aws:cognito-idp:{region}:{account}:userpool/{id}`, as `DescribeUserPool`
//! shows it); the tags are the pool's `UserPoolTags`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use super::pools::pool_arn;
use super::{CognitoError, Ctx, OpResult};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagRequest {
    pub resource_arn: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagRequest {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArnRequest {
    pub resource_arn: String,
}

/// The pool an ARN names. Not a user-pool ARN: `InvalidParameterException`; a pool ARN
/// of another region or account than the pool's own (as `DescribeUserPool` shows it),
/// or of no pool: `ResourceNotFoundException`.
async fn pool_of(ctx: &Ctx, arn: &str) -> Result<String, CognitoError> {
    let id = arn
        .strip_prefix("arn:aws:cognito-idp:")
        .and_then(|rest| rest.split_once(":userpool/"))
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty() && !id.contains([':', '/']))
        .ok_or_else(|| {
            CognitoError::invalid_parameter(format!("{arn:?} is not the ARN of a user pool."))
        })?;
    let missing = || CognitoError::not_found(format!("The resource {arn} does not exist."));
    if pool_arn(ctx, id) != arn {
        return Err(missing());
    }
    match ctx.admin().pool(id).await {
        Ok(_) => Ok(id.to_owned()),
        Err(crate::admin::AdminError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

pub async fn tag_resource(ctx: Ctx, input: TagRequest) -> OpResult {
    let id = pool_of(&ctx, &input.resource_arn).await?;
    ctx.admin().tag_pool(&id, input.tags).await?;
    Ok(json!({}))
}

pub async fn untag_resource(ctx: Ctx, input: UntagRequest) -> OpResult {
    let id = pool_of(&ctx, &input.resource_arn).await?;
    ctx.admin().untag_pool(&id, &input.tag_keys).await?;
    Ok(json!({}))
}

pub async fn list_tags_for_resource(ctx: Ctx, input: ArnRequest) -> OpResult {
    let id = pool_of(&ctx, &input.resource_arn).await?;
    let p = ctx.admin().pool(&id).await?;
    Ok(json!({"Tags": p.settings.tags}))
}
