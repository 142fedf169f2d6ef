//! Console pages of app clients: the list, creation (the secret is shown once, on the
//! page that answers the creation, never again), settings and deletion. Its secrets
//! (rotation) are in `client_secrets`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::pools::{Notice, problems_of};
use super::{Form, Posted, Signed, admin_error, domain_base, notice, page, see_other};
use crate::admin::bodies::STANDARD_SCOPES;
use crate::admin::{ClientBody, ClientPatch};
use crate::http::SharedState;
use crate::model::{
    AppClient, Branding, CONSOLE_CLIENT_ID, MAX_CLIENT_SECRETS, OAuthFlow, TEST_CLIENT_ID,
};

/// What the client form offers: the pool's providers and every scope a client may get.
async fn choices(
    s: &SharedState,
    pool: &str,
) -> Result<(Vec<String>, Vec<String>), crate::admin::AdminError> {
    let providers = s
        .admin
        .list_providers(pool)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let mut scopes: Vec<String> = STANDARD_SCOPES.iter().map(|x| (*x).to_owned()).collect();
    for rs in s.admin.list_resource_servers(pool).await? {
        for sc in rs.scopes {
            scopes.push(format!("{}/{}", rs.identifier, sc.name));
        }
    }
    Ok((providers, scopes))
}

/// The form's values (typed, or of a stored client).
#[derive(Serialize)]
pub(super) struct Values {
    name: String,
    callback_urls: String,
    logout_urls: String,
    scopes: Vec<String>,
    providers: Vec<String>,
    client_credentials: bool,
    generate_secret: bool,
}

impl Default for Values {
    fn default() -> Self {
        Values {
            name: String::new(),
            callback_urls: String::new(),
            logout_urls: String::new(),
            scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            providers: vec![],
            client_credentials: false,
            generate_secret: false,
        }
    }
}

fn values_of(c: &AppClient) -> Values {
    Values {
        name: c.name.clone(),
        callback_urls: c.callback_urls.join("\n"),
        logout_urls: c.logout_urls.join("\n"),
        scopes: c.allowed_scopes.clone(),
        providers: c.supported_identity_providers.clone(),
        client_credentials: c
            .allowed_oauth_flows
            .contains(&OAuthFlow::ClientCredentials),
        generate_secret: c.secret_hash.is_some(),
    }
}

fn typed(f: &Form) -> Values {
    Values {
        name: f.get("name").to_owned(),
        callback_urls: f.get("callback_urls").to_owned(),
        logout_urls: f.get("logout_urls").to_owned(),
        scopes: f.all("scope"),
        providers: f.all("provider"),
        client_credentials: f.checked("client_credentials"),
        generate_secret: f.checked("generate_secret"),
    }
}

fn flows(f: &Form) -> Vec<OAuthFlow> {
    let mut out = Vec::new();
    if !f.lines("callback_urls").is_empty() || !f.checked("client_credentials") {
        out.push(OAuthFlow::Code);
    }
    if f.checked("client_credentials") {
        out.push(OAuthFlow::ClientCredentials);
    }
    out
}

#[derive(Serialize)]
struct Row {
    client_id: String,
    name: String,
    confidential: bool,
    /// The pool's built-in test client (the providers' "Test sign-in") or the
    /// console's own (its sign-in through the pool).
    test: bool,
}

async fn list_page(
    s: &SharedState,
    pool: &str,
    csrf: &str,
    status: StatusCode,
    note: Option<&str>,
    values: Values,
    problems: Vec<String>,
) -> Response {
    let (clients, (providers, scopes)) =
        match (s.admin.list_clients(pool).await, choices(s, pool).await) {
            (Ok(c), Ok(ch)) => (c, ch),
            (Err(e), _) | (_, Err(e)) => return admin_error(e, csrf),
        };
    let rows: Vec<Row> = clients
        .iter()
        .map(|c| Row {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            confidential: c.secret_hash.is_some(),
            test: c.client_id == TEST_CLIENT_ID || c.client_id == CONSOLE_CLIENT_ID,
        })
        .collect();
    page(
        status,
        "clients.html",
        context! { csrf, pool, nav => "clients", clients => rows, providers, scopes, v => values, problems, notice => notice(note) },
    )
}

/// `GET /console/pools/{pool}/clients`: the list and the creation form.
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
        Values::default(),
        vec![],
    )
    .await
}

/// `POST /console/pools/{pool}/clients`: creates a client; the answer shows its secret.
pub async fn create(State(s): State<SharedState>, Path(pool): Path<String>, p: Posted) -> Response {
    let f = &p.form;
    let body = ClientBody {
        name: f.get("name").to_owned(),
        generate_secret: f.checked("generate_secret") || f.checked("client_credentials"),
        callback_urls: f.lines("callback_urls"),
        logout_urls: f.lines("logout_urls"),
        allowed_oauth_flows: flows(f),
        allowed_scopes: f.all("scope"),
        supported_identity_providers: f.all("provider"),
        id_token_validity_s: None,
        access_token_validity_s: None,
        refresh_token_validity_s: None,
        branding: Branding::default(),
        refresh_token_rotation: Default::default(),
        explicit_auth_flows: crate::admin::bodies::default_auth_flows(),
    };
    match s.admin.create_client(&pool, body).await {
        Ok(new) => {
            client_page(
                &s,
                &pool,
                p.csrf(),
                &new.client,
                new.secret.as_deref(),
                StatusCode::CREATED,
                None,
                vec![],
                None,
            )
            .await
        }
        Err(e) => {
            let (status, problems) = problems_of(e);
            list_page(&s, &pool, p.csrf(), status, None, typed(f), problems).await
        }
    }
}

/// One secret of a client, as its page lists it (never the value).
#[derive(Serialize)]
struct SecretRow {
    id: String,
    created_at: i64,
    masked: String,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn client_page(
    s: &SharedState,
    pool: &str,
    csrf: &str,
    c: &AppClient,
    secret: Option<&str>,
    status: StatusCode,
    note: Option<&str>,
    problems: Vec<String>,
    values: Option<Values>,
) -> Response {
    let (providers, scopes) = match choices(s, pool).await {
        Ok(ch) => ch,
        Err(e) => return admin_error(e, csrf),
    };
    let secrets: Vec<SecretRow> = match s.admin.list_client_secrets(pool, &c.client_id).await {
        Ok(list) => list
            .into_iter()
            .map(|i| SecretRow {
                id: i.id,
                created_at: i.created_at,
                masked: i.masked,
            })
            .collect(),
        Err(e) => return admin_error(e, csrf),
    };
    let issuer = s
        .admin
        .get_pool(pool)
        .await
        .ok()
        .and_then(|p| p.domains.first().map(|d| domain_base(s, d)));
    page(
        status,
        "client.html",
        context! {
            csrf, pool, nav => "clients", client_id => c.client_id, confidential => c.secret_hash.is_some(),
            secret, providers, scopes, v => values.unwrap_or_else(|| values_of(c)), problems,
            notice => notice(note), issuer, created_at => c.created_at,
            can_add_secret => c.secret_hash.is_some() && secrets.len() < MAX_CLIENT_SECRETS,
            secrets, test_client => c.client_id == TEST_CLIENT_ID,
            console_client => c.client_id == CONSOLE_CLIENT_ID,
        },
    )
}

/// `GET /console/pools/{pool}/clients/{client}`.
pub async fn show(
    State(s): State<SharedState>,
    me: Signed,
    Path((pool, id)): Path<(String, String)>,
    Query(q): Query<Notice>,
) -> Response {
    match s.admin.get_client(&pool, &id).await {
        Ok(c) => {
            client_page(
                &s,
                &pool,
                me.csrf(),
                &c,
                None,
                StatusCode::OK,
                q.ok.as_deref(),
                vec![],
                None,
            )
            .await
        }
        Err(e) => admin_error(e, me.csrf()),
    }
}

/// `POST /console/pools/{pool}/clients/{client}`: changes the client's settings.
pub async fn update(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
    p: Posted,
) -> Response {
    let f = &p.form;
    let patch = ClientPatch {
        name: Some(f.get("name").to_owned()),
        callback_urls: Some(f.lines("callback_urls")),
        logout_urls: Some(f.lines("logout_urls")),
        allowed_oauth_flows: Some(flows(f)),
        allowed_scopes: Some(f.all("scope")),
        supported_identity_providers: Some(f.all("provider")),
        ..ClientPatch::default()
    };
    match s.admin.patch_client(&pool, &id, patch).await {
        Ok(_) => see_other(
            &format!("/console/pools/{pool}/clients/{id}"),
            "client-saved",
        ),
        Err(e) => {
            let (status, problems) = problems_of(e);
            match s.admin.get_client(&pool, &id).await {
                Ok(c) => {
                    client_page(
                        &s,
                        &pool,
                        p.csrf(),
                        &c,
                        None,
                        status,
                        None,
                        problems,
                        Some(typed(f)),
                    )
                    .await
                }
                Err(e) => admin_error(e, p.csrf()),
            }
        }
    }
}

/// `POST /console/pools/{pool}/clients/{client}/delete`.
pub async fn delete(
    State(s): State<SharedState>,
    Path((pool, id)): Path<(String, String)>,
    p: Posted,
) -> Response {
    match s.admin.delete_client(&pool, &id).await {
        Ok(()) => see_other(&format!("/console/pools/{pool}/clients"), "client-deleted"),
        Err(e) => admin_error(e, p.csrf()),
    }
}
