//! Discovery and JWKS where Cognito serves them, under the issuer
//! `{POOLGATE_PUBLIC_URL}/{pool id}` of a pool with `issuer_style: cognito`
//! (interface.md section 4), so that an app configured with a Cognito "authority"
//! works by changing that URL. Served on the public URL's host only; the endpoints in
//! the document are on the pool's first domain. A pool without a domain (a pool made by
//! `CreateUserPool` for native users only) still has its JWKS here, and a document
//! naming only what it serves, as Cognito's for such a pool.

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use url::Url;

use super::error::FlowResponse;
use super::hosted::{discovery_response, jwks_response};
use super::{ApiError, SharedState, clean_host, cognito_issuer, pool_issuer, scheme_of};
use crate::flow::PoolCtx;
use crate::model::{IssuerStyle, Pool};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/{pool}/.well-known/openid-configuration", get(discovery))
        .route("/{pool}/.well-known/jwks.json", get(jwks))
}

/// The pool named in the path, when the request came to the public URL's host and
/// the pool issues as Cognito does; anything else is 404. `false`: the pool has no
/// domain (its context's base is the public URL, where no hosted endpoint of it is).
struct IssuerPool(PoolCtx, bool);

impl FromRequestParts<SharedState> for IssuerPool {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let not_found = || ApiError::new(404, "not_found", "No such endpoint.");
        let Path(pool_id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(clean_host)
            .ok_or_else(not_found)?;
        if host != state.settings.public_domain() || !crate::admin::valid_any_pool_id(&pool_id) {
            return Err(not_found());
        }
        let pool = state
            .flow
            .pool_by_id(&pool_id)
            .await
            .map_err(ApiError::from)?
            .filter(|p| p.settings.issuer_style == IssuerStyle::Cognito)
            .ok_or_else(not_found)?;
        // A `cognito` pool's issuer is the same on every domain.
        if let Some(ctx) = pool_ctx(state, pool.clone()).await? {
            return Ok(IssuerPool(ctx, true));
        }
        let issuer = cognito_issuer(&state.settings, &pool.id);
        let base = state.settings.public_url.clone();
        Ok(IssuerPool(PoolCtx { pool, issuer, base }, false))
    }
}

/// The context of `pool` outside a hosted request (the Cognito API, `POST /` on any
/// host): endpoints on the pool's first domain, and the pool's issuer as a request on
/// that domain sees it. `None` when the pool has no domain.
pub async fn pool_ctx(state: &SharedState, pool: Pool) -> Result<Option<PoolCtx>, ApiError> {
    let Some(first) = state
        .flow
        .first_domain(&pool.id)
        .await
        .map_err(ApiError::from)?
    else {
        return Ok(None);
    };
    let origin = format!("{}://{}", scheme_of(&state.settings, &first, false), first);
    let Ok(base) = Url::parse(&origin) else {
        return Ok(None);
    };
    let issuer = pool_issuer(&state.settings, &pool, origin);
    Ok(Some(PoolCtx { pool, issuer, base }))
}

async fn discovery(State(_s): State<SharedState>, IssuerPool(ctx, domain): IssuerPool) -> Response {
    if domain {
        return discovery_response(&ctx);
    }
    // Without a domain there is no hosted endpoint: Cognito's document for such a pool
    // names its issuer as the authorization endpoint and lists the keys.
    let doc = serde_json::json!({
        "issuer": ctx.issuer,
        "authorization_endpoint": ctx.issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", ctx.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ctx.pool.settings.signing_alg.as_str()],
    });
    let mut r = axum::Json(doc).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=300"),
    );
    r
}

async fn jwks(
    State(s): State<SharedState>,
    IssuerPool(ctx, _): IssuerPool,
) -> Result<Response, FlowResponse> {
    jwks_response(&s, &ctx).await
}
