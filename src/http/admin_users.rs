//! `/admin/v1/pools/{pool}/users`: list with filters and cursor, read, delete,
//! disable/enable, link/unlink identities, global sign-out. Each handler parses, calls
//! one method of the admin service, and renders.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::admin::{ApiResult, Empty, body, created, ok};
use super::{ApiError, SharedState};
use crate::admin::{self, LinkBody, UserInfo, UserQuery};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/pools/{pool}/users", get(list_users))
        .route(
            "/pools/{pool}/users/{username}",
            get(get_user).delete(delete_user),
        )
        .route("/pools/{pool}/users/{username}/disable", post(disable))
        .route("/pools/{pool}/users/{username}/enable", post(enable))
        .route("/pools/{pool}/users/{username}/sign-out", post(sign_out))
        .route("/pools/{pool}/users/{username}/identities", post(link))
        .route(
            "/pools/{pool}/users/{username}/identities/{provider}/{subject}",
            delete(unlink),
        )
}

fn view(u: &UserInfo) -> Value {
    admin::user_view(&u.user, &u.links)
}

async fn list_users(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    q: Result<Query<UserQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let page = s.admin.list_users(&pool, q).await?;
    let items: Vec<Value> = page.items.iter().map(view).collect();
    ok(json!({"items": items, "next_cursor": page.next_cursor}))
}

async fn get_user(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
) -> ApiResult {
    ok(view(&s.admin.get_user(&pool, &username).await?))
}

async fn delete_user(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
) -> ApiResult {
    s.admin.delete_user(&pool, &username).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn disable(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    ok(view(&s.admin.set_enabled(&pool, &username, false).await?))
}

async fn enable(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    ok(view(&s.admin.set_enabled(&pool, &username, true).await?))
}

/// Revokes every refresh token, and every access token issued until now.
async fn sign_out(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    let revoked = s.admin.global_sign_out(&pool, &username).await?;
    ok(json!({"revoked_refresh_tokens": revoked}))
}

async fn link(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let b: LinkBody = body(&b)?;
    let (u, is_new) = s.admin.link_identity(&pool, &username, b).await?;
    if is_new {
        created(view(&u))
    } else {
        ok(view(&u))
    }
}

async fn unlink(
    State(s): State<SharedState>,
    Path((pool, username, provider, subject)): Path<(String, String, String, String)>,
) -> ApiResult {
    s.admin
        .unlink_identity(&pool, &username, &provider, &subject)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
