//! Groups: `CreateGroup`, `GetGroup`, `UpdateGroup`, `DeleteGroup`, `ListGroups`,
//! `AdminAddUserToGroup`, `AdminRemoveUserFromGroup`, `AdminListGroupsForUser`,
//! `ListUsersInGroup`. Members' tokens carry the groups in `cognito:groups`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::shapes::{epoch, max_results, page};
use super::users::user_type;
use super::{CognitoError, Ctx, OpResult};
use crate::admin::AdminError;
use crate::admin::groups::GroupInput;
use crate::model::Group;

/// `GroupType`.
fn group_type(g: &Group) -> Value {
    let mut v = json!({
        "GroupName": g.name,
        "UserPoolId": g.pool_id,
        "LastModifiedDate": epoch(g.updated_at),
        "CreationDate": epoch(g.created_at),
    });
    if let Some(d) = &g.description {
        v["Description"] = json!(d);
    }
    if let Some(r) = &g.role_arn {
        v["RoleArn"] = json!(r);
    }
    if let Some(p) = g.precedence {
        v["Precedence"] = json!(p);
    }
    v
}

fn group_error(e: AdminError) -> CognitoError {
    match e {
        AdminError::NotFound("the group") => CognitoError::not_found("Group not found."),
        AdminError::Conflict(_) => CognitoError::new(
            "GroupExistsException",
            "A group with the name already exists.",
        ),
        other => other.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupRequest {
    pub group_name: String,
    pub user_pool_id: String,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub precedence: Option<i64>,
}

impl GroupRequest {
    fn input(&self) -> GroupInput {
        GroupInput {
            description: self.description.clone(),
            precedence: self.precedence,
            role_arn: self.role_arn.clone(),
        }
    }
}

pub async fn create_group(ctx: Ctx, input: GroupRequest) -> OpResult {
    let g = ctx
        .admin()
        .create_group(&input.user_pool_id, &input.group_name, input.input())
        .await
        .map_err(group_error)?;
    Ok(json!({"Group": group_type(&g)}))
}

pub async fn update_group(ctx: Ctx, input: GroupRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    let g = ctx
        .admin()
        .update_group(&input.user_pool_id, &input.group_name, input.input())
        .await
        .map_err(group_error)?;
    Ok(json!({"Group": group_type(&g)}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupRef {
    pub group_name: String,
    pub user_pool_id: String,
}

pub async fn get_group(ctx: Ctx, input: GroupRef) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    let g = ctx
        .admin()
        .get_group(&input.user_pool_id, &input.group_name)
        .await
        .map_err(group_error)?;
    Ok(json!({"Group": group_type(&g)}))
}

pub async fn delete_group(ctx: Ctx, input: GroupRef) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    ctx.admin()
        .delete_group(&input.user_pool_id, &input.group_name)
        .await
        .map_err(group_error)?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGroupsRequest {
    pub user_pool_id: String,
    pub limit: Option<i64>,
    pub next_token: Option<String>,
}

fn groups_page(groups: Vec<Group>, token: Option<&str>, limit: usize) -> Value {
    let (items, next) = page(groups, |g| g.name.clone(), token, limit);
    let mut out = json!({"Groups": items.iter().map(group_type).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    out
}

pub async fn list_groups(ctx: Ctx, input: ListGroupsRequest) -> OpResult {
    let limit = max_results(input.limit, 60, 60)?;
    let groups = ctx.admin().list_groups(&input.user_pool_id).await?;
    Ok(groups_page(groups, input.next_token.as_deref(), limit))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MembershipRequest {
    pub user_pool_id: String,
    pub username: String,
    pub group_name: String,
}

pub async fn admin_add_user_to_group(ctx: Ctx, input: MembershipRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    ctx.admin()
        .add_user_to_group(&input.user_pool_id, &input.username, &input.group_name)
        .await
        .map_err(group_error)?;
    Ok(json!({}))
}

pub async fn admin_remove_user_from_group(ctx: Ctx, input: MembershipRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    ctx.admin()
        .remove_user_from_group(&input.user_pool_id, &input.username, &input.group_name)
        .await
        .map_err(group_error)?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupsForUserRequest {
    pub username: String,
    pub user_pool_id: String,
    pub limit: Option<i64>,
    pub next_token: Option<String>,
}

pub async fn admin_list_groups_for_user(ctx: Ctx, input: GroupsForUserRequest) -> OpResult {
    let limit = max_results(input.limit, 60, 60)?;
    ctx.admin().pool(&input.user_pool_id).await?;
    let groups = ctx
        .admin()
        .groups_of_user(&input.user_pool_id, &input.username)
        .await?;
    Ok(groups_page(groups, input.next_token.as_deref(), limit))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsersInGroupRequest {
    pub user_pool_id: String,
    pub group_name: String,
    pub limit: Option<i64>,
    pub next_token: Option<String>,
}

pub async fn list_users_in_group(ctx: Ctx, input: UsersInGroupRequest) -> OpResult {
    let limit = max_results(input.limit, 60, 60)?;
    ctx.admin().pool(&input.user_pool_id).await?;
    let users = ctx
        .admin()
        .users_in_group(&input.user_pool_id, &input.group_name)
        .await
        .map_err(group_error)?;
    let (items, next) = page(
        users,
        |u| u.user.id.clone(),
        input.next_token.as_deref(),
        limit,
    );
    let mut out = json!({"Users": items.iter().map(user_type).collect::<Vec<_>>()});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}
