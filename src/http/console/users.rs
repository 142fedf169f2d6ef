//! Console pages of pool users: search by email or provider, a user's detail with its
//! linked identities and groups, and the actions on it (disable, enable, sign out, link
//! and unlink an identity, join and leave a group, remove a test user).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{Posted, Signed, admin_error, notice, page, see_other};
use crate::admin::{LinkBody, UserInfo, UserQuery};
use crate::http::SharedState;

#[derive(Deserialize)]
pub struct Search {
    email: Option<String>,
    provider: Option<String>,
    cursor: Option<String>,
    ok: Option<String>,
}

#[derive(Serialize)]
struct Row {
    username: String,
    email: Option<String>,
    enabled: bool,
    providers: Vec<String>,
    created_at: i64,
    /// Made by a console test sign-in (removable as such).
    test: bool,
}

#[derive(Serialize)]
struct Link {
    provider: String,
    kind: String,
    subject: String,
    primary: bool,
}

fn row(u: &UserInfo) -> Row {
    Row {
        username: u.user.username.clone(),
        email: u.user.email.clone(),
        enabled: u.user.enabled,
        providers: u.links.iter().map(|l| l.provider_name.clone()).collect(),
        created_at: u.user.created_at,
        test: crate::admin::test_signin::is_test_user(&u.user),
    }
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `GET /console/pools/{pool}/users?email=&provider=&cursor=`.
pub async fn list(
    State(s): State<SharedState>,
    me: Signed,
    Path(pool): Path<String>,
    Query(q): Query<Search>,
) -> Response {
    let query = UserQuery {
        email: nonempty(q.email.clone()),
        provider: nonempty(q.provider.clone()),
        limit: Some(25),
        cursor: nonempty(q.cursor),
    };
    let (users, problem) = match s.admin.list_users(&pool, query).await {
        Ok(p) => (p, None),
        Err(crate::admin::AdminError::Invalid(p)) => (
            crate::model::Page {
                items: vec![],
                next_cursor: None,
            },
            Some(p.join("; ")),
        ),
        Err(e) => return admin_error(e, me.csrf()),
    };
    let rows: Vec<Row> = users.items.iter().map(row).collect();
    page(
        StatusCode::OK,
        "users.html",
        context! {
            csrf => me.csrf(), pool, nav => "users", users => rows, next => users.next_cursor,
            email => q.email, provider => q.provider, problem, notice => notice(q.ok.as_deref()),
        },
    )
}

/// `GET /console/pools/{pool}/users/{user}`.
pub async fn show(
    State(s): State<SharedState>,
    me: Signed,
    Path((pool, username)): Path<(String, String)>,
    Query(q): Query<Search>,
) -> Response {
    let u = match s.admin.get_user(&pool, &username).await {
        Ok(u) => u,
        Err(e) => return admin_error(e, me.csrf()),
    };
    let links: Vec<Link> = u
        .links
        .iter()
        .map(|l| Link {
            provider: l.provider_name.clone(),
            kind: l.provider_type.as_str().to_owned(),
            subject: l.subject.clone(),
            primary: l.primary,
        })
        .collect();
    let attributes: Vec<(String, String)> = u
        .user
        .attributes
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    let providers: Vec<String> = match s.admin.list_providers(&pool).await {
        Ok(p) => p.into_iter().map(|p| p.name).collect(),
        Err(e) => return admin_error(e, me.csrf()),
    };
    let member_of: Vec<String> = match s.admin.groups_of_user(&pool, &username).await {
        Ok(g) => g.into_iter().map(|g| g.name).collect(),
        Err(e) => return admin_error(e, me.csrf()),
    };
    let other_groups: Vec<String> = match s.admin.list_groups(&pool).await {
        Ok(g) => g
            .into_iter()
            .map(|g| g.name)
            .filter(|n| !member_of.contains(n))
            .collect(),
        Err(e) => return admin_error(e, me.csrf()),
    };
    page(
        StatusCode::OK,
        "user.html",
        context! {
            csrf => me.csrf(), pool, nav => "users", user => row(&u), sub => u.user.id,
            email_verified => u.user.email_verified, attributes, links,
            updated_at => u.user.updated_at, notice => notice(q.ok.as_deref()),
            providers, member_of, other_groups,
        },
    )
}

/// `POST /console/pools/{pool}/users/{user}/{disable|enable|signout|unlink|link|add-group|
/// remove-group|remove-test}`.
pub async fn act(
    State(s): State<SharedState>,
    Path((pool, username, action)): Path<(String, String, String)>,
    p: Posted,
) -> Response {
    let a = &s.admin;
    let done = match action.as_str() {
        "disable" => a
            .set_enabled(&pool, &username, false)
            .await
            .map(|_| "user-disabled"),
        "enable" => a
            .set_enabled(&pool, &username, true)
            .await
            .map(|_| "user-enabled"),
        "signout" => a
            .global_sign_out(&pool, &username)
            .await
            .map(|_| "user-signed-out"),
        "unlink" => a
            .unlink_identity(
                &pool,
                &username,
                p.form.get("provider"),
                p.form.get("subject"),
            )
            .await
            .map(|()| "identity-unlinked"),
        "link" => a
            .link_identity(
                &pool,
                &username,
                LinkBody {
                    provider: p.form.get("provider").to_owned(),
                    subject: p.form.get("subject").to_owned(),
                },
            )
            .await
            .map(|_| "identity-linked"),
        "add-group" => a
            .add_user_to_group(&pool, &username, p.form.get("group"))
            .await
            .map(|()| "member-added"),
        "remove-group" => a
            .remove_user_from_group(&pool, &username, p.form.get("group"))
            .await
            .map(|()| "member-removed"),
        "remove-test" => {
            return match a.remove_test_user(&pool, &username).await {
                Ok(()) => see_other(&format!("/console/pools/{pool}/users"), "test-user-removed"),
                Err(e) => admin_error(e, p.csrf()),
            };
        }
        _ => return super::error(404, "There is no such action.", Some(p.csrf())),
    };
    match done {
        Ok(code) => see_other(&format!("/console/pools/{pool}/users/{username}"), code),
        Err(e) => admin_error(e, p.csrf()),
    }
}
