//! `PUT /import/{job id}?token=...`: the `PreSignedUrl` of a user import job (see
//! `admin::imports`). One upload, at most `POOLGATE_IMPORT_MAX_BYTES`: a larger body is
//! answered 413 before anything is stored.

use std::collections::BTreeMap;

use axum::body::{Body, to_bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, SharedState};
use crate::flow::native::NativeError;

pub async fn upload(
    State(s): State<SharedState>,
    Path(job_id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let max = usize::try_from(s.settings.import_max_bytes).unwrap_or(usize::MAX);
    let too_large = || {
        ApiError::new(
            413,
            "payload_too_large",
            "The file is larger than an import job takes.",
        )
        .into_response()
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > s.settings.import_max_bytes) {
        return too_large();
    }
    let Ok(bytes) = to_bytes(body, max).await else {
        return too_large();
    };
    let token = q.get("token").map(String::as_str).unwrap_or("");
    match s.admin.upload_import_csv(&job_id, token, &bytes).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(NativeError::NotAuthorized(_)) => ApiError::new(
            403,
            "forbidden",
            "The upload URL is not valid or was already used.",
        )
        .into_response(),
        Err(NativeError::Flow(crate::flow::FlowError::Unavailable)) => {
            ApiError::new(503, "unavailable", "The store is unavailable; try again.")
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "import upload failed");
            ApiError::new(500, "internal", "The upload could not be stored.").into_response()
        }
    }
}
