//! Console pages of pool groups (`cognito:groups`): the list with a form to create one
//! (precedence, description, IAM role ARN), a group with its members, adding and
//! removing members by username, and deleting a group. Rules are the admin service's.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::pools::{Notice, problems_of};
use super::{Posted, Signed, admin_error, notice, page, see_other};
use crate::admin::groups::GroupInput;
use crate::http::SharedState;
use crate::model::Group;

#[derive(Serialize)]
struct Row {
    name: String,
    description: String,
    precedence: Option<i64>,
    role_arn: String,
}

fn row(g: Group) -> Row {
    Row {
        name: g.name,
        description: g.description.unwrap_or_default(),
        precedence: g.precedence,
        role_arn: g.role_arn.unwrap_or_default(),
    }
}

/// The values of the create form, kept when it is refused.
#[derive(Default, Serialize)]
struct Typed {
    name: String,
    description: String,
    precedence: String,
    role_arn: String,
}

async fn list_page(
    s: &SharedState,
    pool: &str,
    csrf: &str,
    status: StatusCode,
    note: Option<&str>,
    problems: Vec<String>,
    typed: Typed,
) -> Response {
    let groups = match s.admin.list_groups(pool).await {
        Ok(g) => g,
        Err(e) => return admin_error(e, csrf),
    };
    let rows: Vec<Row> = groups.into_iter().map(row).collect();
    page(
        status,
        "groups.html",
        context! { csrf, pool, nav => "groups", groups => rows, notice => notice(note), problems, v => typed },
    )
}

/// `GET /console/pools/{pool}/groups`.
pub async fn list(
    State(s): State<SharedState>,
    me: Signed,
    Path(pool): Path<String>,
    Query(q): Query<Notice>,
) -> Response {
    list_page(
        &s,
        &pool,
        me.csrf(),
        StatusCode::OK,
        q.ok.as_deref(),
        vec![],
        Typed::default(),
    )
    .await
}

/// `POST /console/pools/{pool}/groups`: creates a group.
pub async fn create(State(s): State<SharedState>, Path(pool): Path<String>, p: Posted) -> Response {
    let f = &p.form;
    let typed = Typed {
        name: f.get("name").to_owned(),
        description: f.get("description").to_owned(),
        precedence: f.get("precedence").to_owned(),
        role_arn: f.get("role_arn").to_owned(),
    };
    let precedence = match f.opt("precedence").map(|v| v.parse::<i64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return list_page(
                &s,
                &pool,
                p.csrf(),
                StatusCode::BAD_REQUEST,
                None,
                vec!["precedence: a whole number, 0 or more".to_owned()],
                typed,
            )
            .await;
        }
    };
    let input = GroupInput {
        description: f.opt("description"),
        precedence,
        role_arn: f.opt("role_arn"),
    };
    match s.admin.create_group(&pool, f.get("name"), input).await {
        Ok(g) => see_other(
            &format!("/console/pools/{pool}/groups/{}", g.name),
            "group-created",
        ),
        Err(e) => {
            let (status, problems) = problems_of(e);
            list_page(&s, &pool, p.csrf(), status, None, problems, typed).await
        }
    }
}

#[derive(Serialize)]
struct Member {
    username: String,
    email: Option<String>,
}

async fn group_page(
    s: &SharedState,
    pool: &str,
    name: &str,
    csrf: &str,
    status: StatusCode,
    note: Option<&str>,
    problems: Vec<String>,
) -> Response {
    let group = match s.admin.get_group(pool, name).await {
        Ok(g) => g,
        Err(e) => return admin_error(e, csrf),
    };
    let members: Vec<Member> = match s.admin.users_in_group(pool, name).await {
        Ok(m) => m
            .into_iter()
            .map(|u| Member {
                username: u.user.username,
                email: u.user.email,
            })
            .collect(),
        Err(e) => return admin_error(e, csrf),
    };
    page(
        status,
        "group.html",
        context! { csrf, pool, nav => "groups", group => row(group), members, notice => notice(note), problems },
    )
}

/// `GET /console/pools/{pool}/groups/{group}`.
pub async fn show(
    State(s): State<SharedState>,
    me: Signed,
    Path((pool, name)): Path<(String, String)>,
    Query(q): Query<Notice>,
) -> Response {
    group_page(
        &s,
        &pool,
        &name,
        me.csrf(),
        StatusCode::OK,
        q.ok.as_deref(),
        vec![],
    )
    .await
}

/// `POST /console/pools/{pool}/groups/{group}/{delete|add|remove}`.
pub async fn act(
    State(s): State<SharedState>,
    Path((pool, name, action)): Path<(String, String, String)>,
    p: Posted,
) -> Response {
    let a = &s.admin;
    let user = p.form.get("username");
    let done = match action.as_str() {
        "delete" => {
            return match a.delete_group(&pool, &name).await {
                Ok(()) => see_other(&format!("/console/pools/{pool}/groups"), "group-deleted"),
                Err(e) => admin_error(e, p.csrf()),
            };
        }
        "add" => a
            .add_user_to_group(&pool, user, &name)
            .await
            .map(|()| "member-added"),
        "remove" => a
            .remove_user_from_group(&pool, user, &name)
            .await
            .map(|()| "member-removed"),
        _ => return super::error(404, "There is no such action.", Some(p.csrf())),
    };
    match done {
        Ok(code) => see_other(&format!("/console/pools/{pool}/groups/{name}"), code),
        Err(e) => {
            let (status, mut problems) = problems_of(e);
            if status == StatusCode::NOT_FOUND && action == "add" {
                problems = vec![format!("There is no user named {user:?} in this pool.")];
            }
            group_page(&s, &pool, &name, p.csrf(), status, None, problems).await
        }
    }
}
