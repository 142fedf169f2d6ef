//! SAML endpoints of a pool: SP metadata, the assertion consumer service, and the end
//! of single logout. Thin: parse, call the flow, render.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::error::FlowResponse;
use super::{HostPool, SharedState, pages, parse_form};
use crate::flow::FlowError;

/// The ACS body cap: a 100,000-character `SAMLResponse` grows when form-encoded
/// (`+`, `/`, `=` become three characters), plus `RelayState`. Larger bodies are
/// refused with 413 before anything is parsed.
pub const MAX_ACS_BODY: usize = 320_000;

pub fn routes() -> Router<SharedState> {
    Router::new().route("/saml2/metadata", get(metadata)).route(
        "/saml2/idpresponse",
        post(acs).layer(DefaultBodyLimit::max(MAX_ACS_BODY)),
    )
}

async fn metadata(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
) -> Result<Response, FlowResponse> {
    let xml = s.flow.sp_metadata(&ctx).await?;
    let mut r = xml.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    Ok(r)
}

async fn acs(
    State(s): State<SharedState>,
    HostPool(ctx): HostPool,
    body: Bytes,
) -> Result<Response, FlowResponse> {
    let form = parse_form(&body)
        .map_err(|_| FlowError::page(400, "The sign-in response is malformed."))?;
    let url = s.flow.saml_acs(&ctx, &form).await?;
    Ok(pages::redirect(url.as_str()))
}
