//! Client secret rotation in the console: a second secret added (shown once, on the
//! page that answers the addition), and a secret deleted (never the last one), as
//! Cognito's `AddUserPoolClientSecret` / `DeleteUserPoolClientSecret`. The rules
//! (at most two, sealed at rest) are the admin service's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::clients::client_page;
use super::pools::problems_of;
use super::{Posted, admin_error, see_other};
use crate::http::SharedState;

/// `POST /console/pools/{pool}/clients/{client}/secrets`: adds a generated secret.
pub async fn add(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
    p: Posted,
) -> Response {
    let added = s.admin.add_client_secret(&pool, &id, None).await;
    let client = match s.admin.get_client(&pool, &id).await {
        Ok(c) => c,
        Err(e) => return admin_error(e, p.csrf()),
    };
    match added {
        Ok(info) => {
            let value = info.value.as_ref().map(|v| v.expose().to_owned());
            client_page(
                &s,
                &pool,
                p.csrf(),
                &client,
                value.as_deref(),
                StatusCode::CREATED,
                Some("secret-added"),
                vec![],
                None,
            )
            .await
        }
        Err(e) => {
            let (status, problems) = problems_of(e);
            client_page(
                &s,
                &pool,
                p.csrf(),
                &client,
                None,
                status,
                None,
                problems,
                None,
            )
            .await
        }
    }
}

/// `POST /console/pools/{pool}/clients/{client}/secrets/{secret}/delete`.
pub async fn delete(
    State(s): State<SharedState>,
    Path((pool, id, secret)): Path<(String, String, String)>,
    p: Posted,
) -> Response {
    match s.admin.delete_client_secret(&pool, &id, &secret).await {
        Ok(()) => see_other(
            &format!("/console/pools/{pool}/clients/{id}"),
            "secret-deleted",
        ),
        Err(e) => {
            let (status, problems) = problems_of(e);
            match s.admin.get_client(&pool, &id).await {
                Ok(c) => {
                    client_page(&s, &pool, p.csrf(), &c, None, status, None, problems, None).await
                }
                Err(e) => admin_error(e, p.csrf()),
            }
        }
    }
}
