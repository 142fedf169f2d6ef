//! Users: `ListUsers` (Cognito's filter syntax), `AdminGetUser`, `AdminDeleteUser`,
//! `AdminDisableUser`, `AdminEnableUser`, `AdminUserGlobalSignOut`,
//! `AdminLinkProviderForUser`, `AdminDisableProviderForUser` (in `links.rs`).

use serde::Deserialize;
use serde_json::{Value, json};

pub use super::links::{admin_disable_provider_for_user, admin_link_provider_for_user};
use super::shapes::{epoch, max_results};
use super::{CognitoError, Ctx, OpResult};
use crate::admin::{AdminError, UserInfo, UserQuery};
use crate::model::User;
use crate::token::identities_claim;

/// `[{Name, Value}]` of a user, as Cognito lists them (every value a string).
pub fn attributes(u: &UserInfo) -> Vec<Value> {
    let mut out = vec![json!({"Name": "sub", "Value": u.user.id})];
    if let Some(e) = &u.user.email {
        out.push(json!({"Name": "email", "Value": e}));
        out.push(json!({"Name": "email_verified", "Value": u.user.email_verified.to_string()}));
    }
    for (k, v) in &u.user.attributes {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push(json!({"Name": k, "Value": text}));
    }
    if !u.links.is_empty() {
        out.push(json!({"Name": "identities", "Value": identities_claim(&u.links).to_string()}));
    }
    out
}

/// A user's status, as Cognito shows it: a native user's is its credential's
/// (`FORCE_CHANGE_PASSWORD`, `RESET_REQUIRED`, ...); a federated user is
/// `EXTERNAL_PROVIDER` (`CONFIRMED` while it has no link left).
fn status(u: &UserInfo) -> &'static str {
    match u.status {
        Some(s) => s.as_str(),
        None if u.links.is_empty() => "CONFIRMED",
        None => "EXTERNAL_PROVIDER",
    }
}

/// `UserType`.
pub fn user_type(u: &UserInfo) -> Value {
    json!({
        "Username": u.user.username,
        "Attributes": attributes(u),
        "UserCreateDate": epoch(u.user.created_at),
        "UserLastModifiedDate": epoch(u.user.updated_at),
        "Enabled": u.user.enabled,
        "UserStatus": status(u),
    })
}

/// A parsed `ListUsers` filter: `attr = "value"` or `attr ^= "value"`.
#[derive(Debug, PartialEq, Eq)]
pub struct Filter {
    pub attribute: String,
    pub prefix: bool,
    pub value: String,
}

/// The attributes Cognito lets `ListUsers` filter on.
const FILTERABLE: &[&str] = &[
    "username",
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "cognito:user_status",
    "status",
    "sub",
];

pub fn parse_filter(text: &str) -> Result<Filter, CognitoError> {
    let bad = || CognitoError::invalid_parameter("Error while parsing filter.");
    let t = text.trim();
    let i = t.find(['=', '^']).ok_or_else(bad)?;
    let attribute = t[..i].trim().to_owned();
    let (prefix, value) = if let Some(v) = t[i..].strip_prefix("^=") {
        (true, v)
    } else if let Some(v) = t[i..].strip_prefix('=') {
        (false, v)
    } else {
        return Err(bad());
    };
    let value = value.trim();
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|v| !v.contains('"'))
        .ok_or_else(bad)?;
    if !FILTERABLE.contains(&attribute.as_str()) {
        return Err(CognitoError::invalid_parameter(format!(
            "Invalid search attribute: {attribute}"
        )));
    }
    Ok(Filter {
        attribute,
        prefix,
        value: inner.to_owned(),
    })
}

fn value_of(u: &UserInfo, attribute: &str) -> Option<String> {
    let user: &User = &u.user;
    match attribute {
        "username" => Some(user.username.clone()),
        "email" => user.email.clone(),
        "sub" => Some(user.id.clone()),
        "status" => Some(if user.enabled { "Enabled" } else { "Disabled" }.into()),
        "cognito:user_status" => Some(status(u).into()),
        other => user.attributes.get(other).map(|v| match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        }),
    }
}

impl Filter {
    pub fn matches(&self, u: &UserInfo) -> bool {
        value_of(u, &self.attribute).is_some_and(|v| {
            if self.prefix {
                v.starts_with(&self.value)
            } else {
                v == self.value
            }
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListUsersRequest {
    pub user_pool_id: String,
    pub attributes_to_get: Option<Vec<String>>,
    pub limit: Option<i64>,
    pub pagination_token: Option<String>,
    pub filter: Option<String>,
}

/// Pages scanned for one answer when the filter is not an indexed one.
const MAX_SCANNED_PAGES: usize = 50;

pub async fn list_users(ctx: Ctx, input: ListUsersRequest) -> OpResult {
    let limit = max_results(input.limit, 60, 60)?;
    let filter = input
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(parse_filter)
        .transpose()?;
    // An exact email is looked up by the store's index; any other filter is applied to
    // the pages as they come, and an answer may hold fewer users than asked with a
    // token for more (clients follow the token until it is absent).
    let indexed_email = filter
        .as_ref()
        .filter(|f| f.attribute == "email" && !f.prefix)
        .map(|f| f.value.clone());
    let mut cursor = input.pagination_token.clone();
    let mut users = Vec::new();
    for _ in 0..MAX_SCANNED_PAGES {
        let q = UserQuery {
            email: indexed_email.clone(),
            provider: None,
            limit: Some(limit),
            cursor: cursor.clone(),
        };
        let page = ctx
            .admin()
            .list_users(&input.user_pool_id, q)
            .await
            .map_err(|e| match e {
                AdminError::Invalid(_) => {
                    CognitoError::invalid_parameter("Invalid pagination token.")
                }
                other => other.into(),
            })?;
        cursor = page.next_cursor;
        users.extend(
            page.items
                .into_iter()
                .filter(|u| filter.as_ref().is_none_or(|f| f.matches(u))),
        );
        if !users.is_empty() || cursor.is_none() {
            break;
        }
    }
    let list: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut v = user_type(u);
            if let Some(want) = &input.attributes_to_get {
                let kept: Vec<Value> = attributes(u)
                    .into_iter()
                    .filter(|a| {
                        a["Name"]
                            .as_str()
                            .is_some_and(|n| want.iter().any(|w| w == n))
                    })
                    .collect();
                v["Attributes"] = json!(kept);
            }
            v
        })
        .collect();
    let mut out = json!({"Users": list});
    if let Some(t) = cursor {
        out["PaginationToken"] = json!(t);
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserRef {
    pub user_pool_id: String,
    pub username: String,
}

async fn pool_checked(ctx: &Ctx, pool: &str) -> Result<(), CognitoError> {
    ctx.admin().pool(pool).await?;
    Ok(())
}

pub async fn admin_get_user(ctx: Ctx, input: UserRef) -> OpResult {
    pool_checked(&ctx, &input.user_pool_id).await?;
    let u = ctx
        .admin()
        .get_user(&input.user_pool_id, &input.username)
        .await?;
    let mut out = json!({
        "Username": u.user.username,
        "UserAttributes": attributes(&u),
        "UserCreateDate": epoch(u.user.created_at),
        "UserLastModifiedDate": epoch(u.user.updated_at),
        "Enabled": u.user.enabled,
        "UserStatus": status(&u),
    });
    // The user's second factors, as GetUser shows them.
    let view = ctx
        .state
        .flow
        .user_view(&input.user_pool_id, &u.user)
        .await?;
    super::native_users::mfa_json(&view, &mut out);
    Ok(out)
}

pub async fn admin_delete_user(ctx: Ctx, input: UserRef) -> OpResult {
    pool_checked(&ctx, &input.user_pool_id).await?;
    ctx.admin()
        .delete_user(&input.user_pool_id, &input.username)
        .await?;
    Ok(json!({}))
}

pub async fn admin_disable_user(ctx: Ctx, input: UserRef) -> OpResult {
    pool_checked(&ctx, &input.user_pool_id).await?;
    ctx.admin()
        .set_enabled(&input.user_pool_id, &input.username, false)
        .await?;
    Ok(json!({}))
}

pub async fn admin_enable_user(ctx: Ctx, input: UserRef) -> OpResult {
    pool_checked(&ctx, &input.user_pool_id).await?;
    ctx.admin()
        .set_enabled(&input.user_pool_id, &input.username, true)
        .await?;
    Ok(json!({}))
}

pub async fn admin_user_global_sign_out(ctx: Ctx, input: UserRef) -> OpResult {
    pool_checked(&ctx, &input.user_pool_id).await?;
    ctx.admin()
        .global_sign_out(&input.user_pool_id, &input.username)
        .await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_as_cognito_writes_them() {
        assert_eq!(
            parse_filter(r#"email = "a@b.c""#).unwrap(),
            Filter {
                attribute: "email".into(),
                prefix: false,
                value: "a@b.c".into()
            }
        );
        assert_eq!(
            parse_filter(r#"username ^= "Google_""#).unwrap(),
            Filter {
                attribute: "username".into(),
                prefix: true,
                value: "Google_".into()
            }
        );
        assert!(parse_filter(r#"status="Enabled""#).is_ok());
        for bad in [
            r#"email "x""#,
            r#"email = x"#,
            r#"custom:x = "1""#,
            r#"email = "a"b""#,
            "",
            "=",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }
}
