//! `/admin/v1`: pools, domains, app clients, providers, resource servers, keys
//! (users are in `admin_users`). Bearer token compared in constant time.

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
use crate::admin::bodies::{PoolPatch, validate_client};
use crate::admin::{self, ClientBody, ClientPatch, PoolBody, ProviderBody, ResourceServerBody};
use crate::model::{DomainRecord, Pool, ResourceServer};
use crate::secret::{constant_time_eq, random_token, sha256_hex};

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

pub fn invalid(errors: Vec<String>) -> ApiError {
    ApiError::bad_request(errors.join("; "))
}

pub fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

pub fn created(v: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

fn list(items: Vec<Value>) -> ApiResult {
    ok(json!({"items": items, "next_cursor": null}))
}

pub async fn load_pool(s: &SharedState, id: &str) -> Result<Pool, ApiError> {
    s.flow
        .store
        .get_pool(id)
        .await?
        .ok_or_else(|| ApiError::not_found("the pool"))
}

async fn domains_of(s: &SharedState, pool: &str) -> Result<Vec<String>, ApiError> {
    Ok(s.flow
        .store
        .list_domains(Some(pool))
        .await?
        .into_iter()
        .map(|d| d.domain)
        .collect())
}

async fn list_pools(State(s): State<SharedState>) -> ApiResult {
    let mut items = Vec::new();
    for p in s.flow.store.list_pools().await? {
        let d = domains_of(&s, &p.id).await?;
        items.push(admin::pool_view(&p, &d));
    }
    list(items)
}

async fn create_pool(State(s): State<SharedState>, b: Bytes) -> ApiResult {
    let b: PoolBody = body(&b)?;
    if !admin::valid_pool_id(&b.id) {
        return Err(ApiError::bad_request("id: 1 to 63 of a-z, 0-9 and '-'"));
    }
    for d in &b.domains {
        if !admin::valid_domain(d) {
            return Err(ApiError::bad_request(format!(
                "domains: {d:?} is not host[:port] in lower case"
            )));
        }
        if s.flow.store.get_domain(d).await?.is_some() {
            return Err(ApiError::conflict(format!(
                "domain {d} already belongs to a pool"
            )));
        }
    }
    let now = s.flow.clock.now();
    let pool = Pool {
        id: b.id.clone(),
        settings: b.settings,
        created_at: now,
    };
    s.flow.store.create_pool(&pool).await?;
    for d in &b.domains {
        let rec = DomainRecord {
            domain: d.clone(),
            pool_id: pool.id.clone(),
            certificate_pem: None,
            private_key_pem: None,
            created_at: now,
        };
        if let Err(e) = s.flow.store.put_domain(&rec).await {
            // Leave nothing half-made.
            let _ = s.flow.store.delete_pool(&pool.id).await;
            return Err(e.into());
        }
    }
    s.domains_changed().await;
    created(admin::pool_view(&pool, &b.domains))
}

async fn get_pool(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult {
    let p = load_pool(&s, &id).await?;
    ok(admin::pool_view(&p, &domains_of(&s, &id).await?))
}

async fn patch_pool(State(s): State<SharedState>, Path(id): Path<String>, b: Bytes) -> ApiResult {
    let patch: PoolPatch = body(&b)?;
    let mut p = load_pool(&s, &id).await?;
    let old_alg = p.settings.signing_alg;
    if let Some(changes) = patch.settings {
        let mut merged =
            serde_json::to_value(&p.settings).map_err(|_| ApiError::bad_request("settings"))?;
        for (k, v) in changes {
            merged[k] = v;
        }
        p.settings = serde_json::from_value(merged)
            .map_err(|e| ApiError::bad_request(format!("settings: {e}")))?;
    }
    if !s.flow.store.update_pool(&p).await? {
        return Err(ApiError::not_found("the pool"));
    }
    if p.settings.signing_alg != old_alg {
        s.flow
            .keys
            .rotate(&p.id, p.settings.signing_alg, crate::flow::MAX_ACCESS_TTL_S)
            .await
            .map_err(|e| match e {
                crate::token::KeyError::Store(e) => ApiError::from(e),
                _ => ApiError::new(500, "internal_error", "key generation failed"),
            })?;
    }
    s.domains_changed().await;
    ok(admin::pool_view(&p, &domains_of(&s, &id).await?))
}

async fn delete_pool(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult {
    if id == crate::model::DEFAULT_POOL {
        return Err(ApiError::bad_request("the default pool cannot be deleted"));
    }
    if !s.flow.store.delete_pool(&id).await? {
        return Err(ApiError::not_found("the pool"));
    }
    s.domains_changed().await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DomainBody {
    certificate_pem: Option<String>,
    private_key_pem: Option<String>,
}

async fn put_domain(
    State(s): State<SharedState>,
    Path((pool, domain)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let b: DomainBody = body(&b)?;
    load_pool(&s, &pool).await?;
    let domain = domain.to_ascii_lowercase();
    if !admin::valid_domain(&domain) {
        return Err(ApiError::bad_request("domain: not host[:port]"));
    }
    if b.certificate_pem.is_some() != b.private_key_pem.is_some() {
        return Err(ApiError::bad_request(
            "certificate_pem and private_key_pem go together",
        ));
    }
    let mut not_after = None;
    if let (Some(cert), Some(key)) = (&b.certificate_pem, &b.private_key_pem) {
        let loaded = crate::tls::check_pair(&domain, cert, key, s.flow.clock.now())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        not_after = Some(loaded.not_after);
    }
    let rec = DomainRecord {
        domain: domain.clone(),
        pool_id: pool.clone(),
        certificate_pem: b.certificate_pem,
        private_key_pem: b.private_key_pem,
        created_at: s.flow.clock.now(),
    };
    s.flow.store.put_domain(&rec).await?;
    s.domains_changed().await;
    ok(
        json!({"domain": domain, "pool": pool, "tls": rec.certificate_pem.is_some(), "certificate_not_after": not_after}),
    )
}

async fn delete_domain(
    State(s): State<SharedState>,
    Path((pool, domain)): Path<(String, String)>,
) -> ApiResult {
    if !s
        .flow
        .store
        .delete_domain(&pool, &domain.to_ascii_lowercase())
        .await?
    {
        return Err(ApiError::not_found("the domain"));
    }
    s.domains_changed().await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn client_refs(s: &SharedState, pool: &str) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let providers = s
        .flow
        .store
        .list_providers(pool)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let scopes = s
        .flow
        .store
        .list_resource_servers(pool)
        .await?
        .into_iter()
        .flat_map(|rs| {
            rs.scopes
                .into_iter()
                .map(move |sc| format!("{}/{}", rs.identifier, sc.name))
        })
        .collect();
    Ok((providers, scopes))
}

async fn list_clients(State(s): State<SharedState>, Path(pool): Path<String>) -> ApiResult {
    load_pool(&s, &pool).await?;
    list(
        s.flow
            .store
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
    load_pool(&s, &pool).await?;
    // Cognito-shaped ids: 26 lower-case alphanumerics.
    let client_id: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(26)
        .collect();
    let secret = b.generate_secret.then(|| random_token(32));
    let client = b.into_client(
        &pool,
        client_id,
        secret.as_deref().map(sha256_hex),
        s.flow.clock.now(),
    );
    let (providers, scopes) = client_refs(&s, &pool).await?;
    validate_client(&client, &providers, &scopes).map_err(invalid)?;
    s.flow.store.put_client(&client).await?;
    let mut v = admin::client_view(&client);
    if let Some(secret) = secret {
        v["client_secret"] = json!(secret);
    }
    created(v)
}

async fn get_client(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    let c = s
        .flow
        .store
        .get_client(&pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("the client"))?;
    ok(admin::client_view(&c))
}

async fn patch_client(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let patch: ClientPatch = body(&b)?;
    let mut c = s
        .flow
        .store
        .get_client(&pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("the client"))?;
    patch.apply(&mut c);
    let (providers, scopes) = client_refs(&s, &pool).await?;
    validate_client(&c, &providers, &scopes).map_err(invalid)?;
    s.flow.store.put_client(&c).await?;
    ok(admin::client_view(&c))
}

async fn delete_client(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    if !s.flow.store.delete_client(&pool, &id).await? {
        return Err(ApiError::not_found("the client"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_providers(State(s): State<SharedState>, Path(pool): Path<String>) -> ApiResult {
    load_pool(&s, &pool).await?;
    list(
        s.flow
            .store
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
    load_pool(&s, &pool).await?;
    let previous = s.flow.store.get_provider(&pool, &name).await?;
    let mut rec = b
        .into_record(&pool, &name, previous.as_ref(), s.flow.clock.now())
        .map_err(invalid)?;
    crate::provider::registry::prepare(&mut rec, s.flow.providers.context())
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    // Build it once now, so a registration that cannot work is refused here.
    s.flow
        .providers
        .get(&rec)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    s.flow.store.put_provider(&rec).await?;
    let v = admin::provider_view(&rec);
    if previous.is_some() {
        ok(v)
    } else {
        created(v)
    }
}

async fn get_provider(
    State(s): State<SharedState>,
    Path((pool, name)): Path<(String, String)>,
) -> ApiResult {
    let p = s
        .flow
        .store
        .get_provider(&pool, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("the provider"))?;
    ok(admin::provider_view(&p))
}

async fn delete_provider(
    State(s): State<SharedState>,
    Path((pool, name)): Path<(String, String)>,
) -> ApiResult {
    if !s.flow.store.delete_provider(&pool, &name).await? {
        return Err(ApiError::not_found("the provider"));
    }
    s.flow.providers.forget(&pool, &name);
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
    load_pool(&s, &pool).await?;
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_whitespace) {
        return Err(ApiError::bad_request(
            "identifier: 1 to 256 characters, no spaces",
        ));
    }
    for sc in &b.scopes {
        if sc.name.is_empty()
            || sc.name.len() > 256
            || sc.name.contains(' ')
            || sc.name.contains('/')
        {
            return Err(ApiError::bad_request(format!(
                "scopes: invalid scope name {:?}",
                sc.name
            )));
        }
    }
    let rs = ResourceServer {
        pool_id: pool,
        identifier: id,
        name: b.name,
        scopes: b.scopes,
    };
    s.flow.store.put_resource_server(&rs).await?;
    ok(rs_view(&rs))
}

async fn get_rs(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    let rs = s
        .flow
        .store
        .get_resource_server(&pool, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("the resource server"))?;
    ok(rs_view(&rs))
}

async fn delete_rs(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    if !s.flow.store.delete_resource_server(&pool, &id).await? {
        return Err(ApiError::not_found("the resource server"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_keys(State(s): State<SharedState>, Path(pool): Path<String>) -> ApiResult {
    let p = load_pool(&s, &pool).await?;
    // Make sure the first key exists before listing.
    s.flow
        .keys
        .ring(&p.id, p.settings.signing_alg)
        .await
        .map_err(|_| ApiError::new(503, "temporarily_unavailable", "keys unavailable"))?;
    let keys = s.flow.store.list_keys(&pool).await?;
    list(
        keys.iter()
            .map(|k| json!({"kid": k.kid, "alg": k.alg, "active": k.active, "created_at": k.created_at, "visible_until": k.visible_until, "public_jwk": k.public_jwk}))
            .collect(),
    )
}

async fn rotate_keys(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    let p = load_pool(&s, &pool).await?;
    let kid = s
        .flow
        .keys
        .rotate(&p.id, p.settings.signing_alg, crate::flow::MAX_ACCESS_TTL_S)
        .await
        .map_err(|_| ApiError::new(503, "temporarily_unavailable", "key rotation failed"))?;
    ok(json!({"active_kid": kid}))
}

/// A new generation of the pool's SAML SP keys; the previous stays published (and able
/// to decrypt) until the next rotation, so IdPs can pick up the new certificates.
async fn rotate_sp_keys(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    b: Bytes,
) -> ApiResult {
    let _: Empty = body(&b)?;
    let p = load_pool(&s, &pool).await?;
    let keys =
        s.flow.rotate_sp_keys(&p.id).await.map_err(|_| {
            ApiError::new(409, "conflict", "the SP keys changed meanwhile; try again")
        })?;
    ok(json!({"created_at": keys.current.created_at, "previous_kept": keys.previous.is_some()}))
}
