//! `/admin/v1/pools/{pool}/users`: list with filters and cursor, read, delete,
//! disable/enable, link/unlink identities, global sign-out.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;

use super::admin::{ApiResult, Empty, body, created, load_pool, ok};
use super::{ApiError, SharedState};
use crate::admin;
use crate::identity::normalize_email;
use crate::model::{IdentityLink, MAX_LINKS_PER_USER, User, UserFilter};
use crate::store::{LinkOutcome, StoreError};

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    email: Option<String>,
    provider: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn load_user(s: &SharedState, pool: &str, username: &str) -> Result<User, ApiError> {
    s.flow
        .store
        .get_user_by_username(pool, username)
        .await?
        .ok_or_else(|| ApiError::not_found("the user"))
}

async fn view(s: &SharedState, u: &User) -> Result<serde_json::Value, ApiError> {
    let links = s.flow.store.list_identities(&u.pool_id, &u.id).await?;
    Ok(admin::user_view(u, &links))
}

async fn list_users(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let p = load_pool(&s, &pool).await?;
    let limit = q.limit.unwrap_or(60);
    if !(1..=60).contains(&limit) {
        return Err(ApiError::bad_request("limit: between 1 and 60"));
    }
    let filter = UserFilter {
        email_norm: q
            .email
            .as_deref()
            .map(|e| normalize_email(e, p.settings.email_case_sensitive)),
        provider: q.provider,
    };
    let page = s
        .flow
        .store
        .list_users(&pool, &filter, limit, q.cursor.as_deref())
        .await
        .map_err(|e| match e {
            // The only conflict a listing reports is a cursor it cannot read: the
            // caller's mistake, not a state conflict.
            StoreError::Conflict(m) => ApiError::bad_request(format!("cursor: {m}")),
            other => other.into(),
        })?;
    let mut items = Vec::new();
    for u in &page.items {
        items.push(view(&s, u).await?);
    }
    ok(json!({"items": items, "next_cursor": page.next_cursor}))
}

async fn get_user(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
) -> ApiResult {
    let u = load_user(&s, &pool, &username).await?;
    ok(view(&s, &u).await?)
}

async fn delete_user(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
) -> ApiResult {
    let u = load_user(&s, &pool, &username).await?;
    s.flow.store.delete_user(&pool, &u.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_enabled(s: &SharedState, pool: &str, username: &str, enabled: bool) -> ApiResult {
    let mut u = load_user(s, pool, username).await?;
    u.enabled = enabled;
    u.updated_at = s.flow.clock.now();
    if !s.flow.store.update_user(&u).await? {
        return Err(ApiError::not_found("the user"));
    }
    ok(view(s, &u).await?)
}

async fn disable(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    set_enabled(&s, &pool, &username, false).await
}

async fn enable(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    set_enabled(&s, &pool, &username, true).await
}

/// Revokes every refresh token, and every access token issued until now.
async fn sign_out(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    let mut u = load_user(&s, &pool, &username).await?;
    let revoked = s.flow.store.revoke_user_refresh(&pool, &u.id).await?;
    // Tokens carry whole seconds: those issued within this second are cut off too.
    u.tokens_valid_after = s.flow.clock.now() + 1;
    s.flow.store.update_user(&u).await?;
    ok(json!({"revoked_refresh_tokens": revoked}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    provider: String,
    subject: String,
}

async fn link(
    State(s): State<SharedState>,
    Path((pool, username)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let b: LinkBody = body(&b)?;
    let u = load_user(&s, &pool, &username).await?;
    if b.subject.trim().is_empty() || b.subject.len() > 512 {
        return Err(ApiError::bad_request(
            "subject: required, at most 512 characters",
        ));
    }
    let provider = s
        .flow
        .store
        .get_provider(&pool, &b.provider)
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "provider: no provider named {:?} in this pool",
                b.provider
            ))
        })?;
    let l = IdentityLink {
        pool_id: pool.clone(),
        provider_name: provider.name.clone(),
        provider_type: provider.provider_type,
        subject: b.subject.clone(),
        issuer: None,
        user_id: u.id.clone(),
        primary: false,
        created_at_ms: s.flow.clock.now_ms(),
    };
    match s.flow.store.link_identity(&l, MAX_LINKS_PER_USER).await? {
        LinkOutcome::Linked => created(view(&s, &u).await?),
        LinkOutcome::AlreadyLinked => ok(view(&s, &u).await?),
        LinkOutcome::LinkedToOther(_) => Err(ApiError::conflict(
            "that identity already belongs to another user",
        )),
        LinkOutcome::LimitReached => Err(ApiError::new(
            409,
            "limit_exceeded",
            format!("a user can have at most {MAX_LINKS_PER_USER} linked identities"),
        )),
        LinkOutcome::NoSuchUser => Err(ApiError::not_found("the user")),
    }
}

async fn unlink(
    State(s): State<SharedState>,
    Path((pool, username, provider, subject)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let u = load_user(&s, &pool, &username).await?;
    if !s
        .flow
        .store
        .unlink_identity(&pool, &u.id, &provider, &subject)
        .await?
    {
        return Err(ApiError::not_found("the identity link"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
