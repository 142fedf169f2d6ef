//! `/admin/v1`: pools, domains, app clients, providers, resource servers, keys
//! (users are in `admin_users`). Bearer token compared in constant time. Each handler
//! parses, calls one method of the admin service, and renders.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{ApiError, SharedState};
use crate::admin::{
    self, ClientBody, ClientPatch, DomainBody, PoolBody, PoolInfo, PoolPatch, ProviderBody,
    ResourceServerBody,
};
use crate::model::ResourceServer;
use crate::secret::constant_time_eq;

pub type ApiResult = Result<Response, ApiError>;

pub fn routes(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/pools", get(list_pools).post(create_pool))
        .route(
            "/pools/{pool}",
            get(get_pool).patch(patch_pool).delete(delete_pool),
        )
        .route(
            "/pools/{pool}/domains/{domain}",
            put(put_domain).delete(delete_domain),
        )
        .route(
            "/pools/{pool}/clients",
            get(list_clients).post(create_client),
        )
        .route(
            "/pools/{pool}/clients/{client}",
            get(get_client).patch(patch_client).delete(delete_client),
        )
        .route("/pools/{pool}/providers", get(list_providers))
        .route(
            "/pools/{pool}/providers/{name}",
            put(put_provider).get(get_provider).delete(delete_provider),
        )
        .route(
            "/pools/{pool}/resource-servers/{id}",
            put(put_rs).get(get_rs).delete(delete_rs),
        )
        .route("/pools/{pool}/keys", get(list_keys))
        .route("/pools/{pool}/keys/rotate", post(rotate_keys))
        .route("/pools/{pool}/hook-secret/rotate", post(rotate_hook_secret))
        .route("/pools/{pool}/saml/sp-keys/rotate", post(rotate_sp_keys))
        .merge(super::admin_users::routes())
        .fallback(|| async { ApiError::not_found("this admin endpoint") })
        .layer(middleware::from_fn_with_state(state, require_token))
}

async fn require_token(State(s): State<SharedState>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), s.admin_token.as_bytes()));
    if !ok {
        let mut r = ApiError::new(
            401,
            "unauthorized",
            "A valid admin bearer token is required.",
        )
        .into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    next.run(req).await
}

/// Parses a JSON body; unknown fields and type errors are 400 naming the field.
pub fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &bytes[..]
    };
    serde_json::from_slice(text).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

/// The body of an action endpoint: empty or `{}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

pub fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

pub fn created(v: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

fn list(items: Vec<Value>) -> ApiResult {
    ok(json!({"items": items, "next_cursor": null}))
}

/// A pool; with `settings.hook_secret` only in the answer that made the secret.
fn pool_view(p: &PoolInfo) -> Value {
    let view = admin::pool_view(&p.pool, &p.domains);
    match &p.new_hook_secret {
        Some(secret) => admin::hooks::show_secret(view, secret),
        None => view,
    }
}

async fn list_pools(State(s): State<SharedState>) -> ApiResult {
    list(s.admin.list_pools().await?.iter().map(pool_view).collect())
}

async fn create_pool(State(s): State<SharedState>, b: Bytes) -> ApiResult {
    let b: PoolBody = body(&b)?;
    created(pool_view(&s.admin.create_pool(b).await?))
}

async fn get_pool(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult {
    ok(pool_view(&s.admin.get_pool(&id).await?))
}

async fn patch_pool(State(s): State<SharedState>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let patch: PoolPatch = body(&b)?;
    ok(pool_view(&s.admin.patch_pool(&id, patch).await?))
}

/// `POST .../hook-secret/rotate`: the pool, with the new secret as `hook_secret` and
/// `settings.hook_secret`.
async fn rotate_hook_secret(
    State(s): State<SharedState>,
    Path(id): Path<String>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    let info = s.admin.rotate_hook_secret(&id).await?;
    let mut view = pool_view(&info);
    if let Some(secret) = &info.new_hook_secret {
        view["hook_secret"] = Value::String(secret.0.clone());
    }
    ok(view)
}

async fn delete_pool(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult {
    s.admin.delete_pool(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn put_domain(
    State(s): State<SharedState>,
    Path((pool, domain)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let b: DomainBody = body(&b)?;
    let d = s.admin.put_domain(&pool, &domain, b).await?;
    ok(
        json!({"domain": d.domain, "pool": d.pool, "tls": d.tls, "certificate_not_after": d.certificate_not_after}),
    )
}

async fn delete_domain(
    State(s): State<SharedState>,
    Path((pool, domain)): Path<(String, String)>,
) -> ApiResult {
    s.admin.delete_domain(&pool, &domain).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_clients(State(s): State<SharedState>, Path(pool): Path<String>) -> ApiResult {
    list(
        s.admin
            .list_clients(&pool)
            .await?
            .iter()
            .map(admin::client_view)
            .collect(),
    )
}

async fn create_client(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    b: Bytes,
) -> ApiResult {
    let b: ClientBody = body(&b)?;
    let new = s.admin.create_client(&pool, b).await?;
    let mut v = admin::client_view(&new.client);
    if let Some(secret) = new.secret {
        v["client_secret"] = json!(secret);
    }
    created(v)
}

async fn get_client(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    ok(admin::client_view(&s.admin.get_client(&pool, &id).await?))
}

async fn patch_client(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let patch: ClientPatch = body(&b)?;
    ok(admin::client_view(
        &s.admin.patch_client(&pool, &id, patch).await?,
    ))
}

async fn delete_client(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    s.admin.delete_client(&pool, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_providers(State(s): State<SharedState>, Path(pool): Path<String>) -> ApiResult {
    list(
        s.admin
            .list_providers(&pool)
            .await?
            .iter()
            .map(admin::provider_view)
            .collect(),
    )
}

async fn put_provider(
    State(s): State<SharedState>,
    Path((pool, name)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let b: ProviderBody = body(&b)?;
    let put = s.admin.put_provider(&pool, &name, b).await?;
    let v = admin::provider_view(&put.record);
    if put.created { created(v) } else { ok(v) }
}

async fn get_provider(
    State(s): State<SharedState>,
    Path((pool, name)): Path<(String, String)>,
) -> ApiResult {
    ok(admin::provider_view(
        &s.admin.get_provider(&pool, &name).await?,
    ))
}

async fn delete_provider(
    State(s): State<SharedState>,
    Path((pool, name)): Path<(String, String)>,
) -> ApiResult {
    s.admin.delete_provider(&pool, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn rs_view(rs: &ResourceServer) -> Value {
    json!({"identifier": rs.identifier, "name": rs.name, "scopes": rs.scopes})
}

async fn put_rs(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let b: ResourceServerBody = body(&b)?;
    ok(rs_view(&s.admin.put_resource_server(&pool, &id, b).await?))
}

async fn get_rs(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    ok(rs_view(&s.admin.get_resource_server(&pool, &id).await?))
}

async fn delete_rs(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    s.admin.delete_resource_server(&pool, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_keys(State(s): State<SharedState>, Path(pool): Path<String>) -> ApiResult {
    let keys = s.admin.list_keys(&pool).await?;
    let signing = s.admin.signing_kid(&pool).await?;
    // `active`: the newest key, published; `signing`: what this instance signs with.
    list(
        keys.iter()
            .map(|k| json!({"kid": k.kid, "alg": k.alg, "active": k.active, "signing": k.kid == signing, "created_at": k.created_at, "visible_until": k.visible_until, "public_jwk": k.public_jwk}))
            .collect(),
    )
}

async fn rotate_keys(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    let (kid, signs_from) = s.admin.rotate_keys(&pool).await?;
    ok(json!({"active_kid": kid, "signs_from": signs_from}))
}

/// A new generation of the pool's SAML SP keys (see [`crate::admin::Admin::rotate_sp_keys`]).
async fn rotate_sp_keys(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    let keys = s.admin.rotate_sp_keys(&pool).await?;
    ok(json!({"created_at": keys.current.created_at, "previous_kept": keys.previous.is_some()}))
}
