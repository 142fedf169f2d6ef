//! Console pages of pools: the list and creation, a pool's settings and domains (with
//! certificates and the DNS record to create), and its signing keys.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{Posted, Signed, admin_error, domain_base, notice, page, see_other};
use crate::admin::{AdminError, DomainBody, PoolBody, PoolPatch};
use crate::http::SharedState;
use crate::model::{PoolSettings, SigningAlg};

#[derive(Deserialize)]
pub struct Notice {
    pub ok: Option<String>,
}

#[derive(Serialize)]
struct PoolRow {
    id: String,
    domains: Vec<String>,
}

async fn pools_page(
    s: &SharedState,
    csrf: &str,
    status: StatusCode,
    note: Option<&str>,
    problems: Vec<String>,
    typed: (&str, &str),
) -> Response {
    let pools = match s.admin.list_pools().await {
        Ok(p) => p,
        Err(e) => return admin_error(e, csrf),
    };
    let rows: Vec<PoolRow> = pools
        .into_iter()
        .map(|p| PoolRow {
            id: p.pool.id,
            domains: p.domains,
        })
        .collect();
    page(
        status,
        "pools.html",
        context! { csrf, pools => rows, notice => notice(note), problems, new_id => typed.0, new_domains => typed.1 },
    )
}

/// `GET /console/pools`.
pub async fn list(State(s): State<SharedState>, me: Signed, Query(q): Query<Notice>) -> Response {
    pools_page(
        &s,
        me.csrf(),
        StatusCode::OK,
        q.ok.as_deref(),
        vec![],
        ("", ""),
    )
    .await
}

/// `POST /console/pools`: a new pool with its domains.
pub async fn create(State(s): State<SharedState>, p: Posted) -> Response {
    let body = PoolBody {
        id: p.form.get("id").to_owned(),
        domains: p.form.lines("domains"),
        settings: PoolSettings::default(),
    };
    match s.admin.create_pool(body).await {
        Ok(info) => see_other(&format!("/console/pools/{}", info.pool.id), "pool-created"),
        Err(e) => {
            let (status, problems) = problems_of(e);
            pools_page(
                &s,
                p.csrf(),
                status,
                None,
                problems,
                (p.form.get("id"), p.form.get("domains")),
            )
            .await
        }
    }
}

/// What a refused change shows next to its form: the service's problems, each in
/// words, and the status that goes with them.
pub fn problems_of(e: AdminError) -> (StatusCode, Vec<String>) {
    match e {
        AdminError::Invalid(p) => (StatusCode::BAD_REQUEST, p),
        AdminError::Conflict(m) | AdminError::LimitExceeded(m) => (StatusCode::CONFLICT, vec![m]),
        other => {
            let api = crate::http::ApiError::from(other);
            (
                StatusCode::from_u16(api.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                vec![api.message],
            )
        }
    }
}

#[derive(Serialize)]
struct DomainRow {
    domain: String,
    base: String,
    tls: bool,
    not_after: Option<i64>,
    /// The DNS record that sends this domain to the gateway (none for its own name).
    record: Option<String>,
}

fn dns_record(s: &SharedState, domain: &str) -> Option<String> {
    let own = s.settings.public_url.host_str()?;
    let host = crate::tls::host_of(domain);
    if host == own {
        return None;
    }
    Some(if own.parse::<std::net::IpAddr>().is_ok() {
        format!("{host}. A {own}")
    } else {
        format!("{host}. CNAME {own}.")
    })
}

async fn pool_page(
    s: &SharedState,
    id: &str,
    csrf: &str,
    status: StatusCode,
    note: Option<&str>,
    problems: Vec<String>,
) -> Response {
    let (info, domains) = match (s.admin.get_pool(id).await, s.admin.list_domains(id).await) {
        (Ok(i), Ok(d)) => (i, d),
        (Err(e), _) | (_, Err(e)) => return admin_error(e, csrf),
    };
    let rows: Vec<DomainRow> = domains
        .into_iter()
        .map(|d| DomainRow {
            base: domain_base(s, &d.domain),
            record: dns_record(s, &d.domain),
            tls: d.tls,
            not_after: d.certificate_not_after,
            domain: d.domain,
        })
        .collect();
    let algs = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA].map(SigningAlg::as_str);
    page(
        status,
        "pool.html",
        context! {
            csrf, pool => id, nav => "pool", notice => notice(note), problems,
            settings => info.pool.settings, alg => info.pool.settings.signing_alg.as_str(),
            algs, domains => rows, gateway => s.settings.public_url.host_str(),
        },
    )
}

/// `GET /console/pools/{pool}`: settings and domains.
pub async fn show(
    State(s): State<SharedState>,
    me: Signed,
    Path(pool): Path<String>,
    Query(q): Query<Notice>,
) -> Response {
    pool_page(
        &s,
        &pool,
        me.csrf(),
        StatusCode::OK,
        q.ok.as_deref(),
        vec![],
    )
    .await
}

/// `POST /console/pools/{pool}/settings`.
pub async fn settings(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    p: Posted,
) -> Response {
    // Only the fields this form shows change (the service merges them into the
    // pool's settings); an unknown algorithm is the service's to refuse.
    let mut changes = serde_json::Map::new();
    changes.insert(
        "signing_alg".into(),
        serde_json::Value::String(p.form.get("signing_alg").to_owned()),
    );
    changes.insert(
        "email_case_sensitive".into(),
        serde_json::Value::Bool(p.form.checked("email_case_sensitive")),
    );
    let patch = PoolPatch {
        settings: Some(changes),
    };
    match s.admin.patch_pool(&pool, patch).await {
        Ok(_) => see_other(&format!("/console/pools/{pool}"), "settings-saved"),
        Err(e) => {
            let (status, problems) = problems_of(e);
            pool_page(&s, &pool, p.csrf(), status, None, problems).await
        }
    }
}

/// `POST /console/pools/{pool}/domains`: adds (or replaces) a domain, with its
/// certificate and key when given.
pub async fn add_domain(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    p: Posted,
) -> Response {
    let body = DomainBody {
        certificate_pem: p.form.opt("certificate_pem"),
        private_key_pem: p.form.opt("private_key_pem"),
    };
    match s.admin.put_domain(&pool, p.form.get("domain"), body).await {
        Ok(_) => see_other(&format!("/console/pools/{pool}"), "domain-added"),
        Err(e) => {
            let (status, problems) = problems_of(e);
            pool_page(&s, &pool, p.csrf(), status, None, problems).await
        }
    }
}

/// `POST /console/pools/{pool}/domains/{domain}/delete`.
pub async fn delete_domain(
    State(s): State<SharedState>,
    Path((pool, domain)): Path<(String, String)>,
    p: Posted,
) -> Response {
    match s.admin.delete_domain(&pool, &domain).await {
        Ok(()) => see_other(&format!("/console/pools/{pool}"), "domain-removed"),
        Err(e) => admin_error(e, p.csrf()),
    }
}

#[derive(Serialize)]
struct KeyRow {
    kid: String,
    alg: String,
    active: bool,
    created_at: i64,
    visible_until: Option<i64>,
}

/// `GET /console/pools/{pool}/keys`.
pub async fn keys(
    State(s): State<SharedState>,
    me: Signed,
    Path(pool): Path<String>,
    Query(q): Query<Notice>,
) -> Response {
    let keys = match s.admin.list_keys(&pool).await {
        Ok(k) => k,
        Err(e) => return admin_error(e, me.csrf()),
    };
    let rows: Vec<KeyRow> = keys
        .into_iter()
        .map(|k| KeyRow {
            kid: k.kid,
            alg: k.alg.as_str().to_owned(),
            active: k.active,
            created_at: k.created_at,
            visible_until: k.visible_until,
        })
        .collect();
    page(
        StatusCode::OK,
        "keys.html",
        context! { csrf => me.csrf(), pool, nav => "keys", keys => rows, notice => notice(q.ok.as_deref()) },
    )
}

/// `POST /console/pools/{pool}/keys/rotate`.
pub async fn rotate(State(s): State<SharedState>, Path(pool): Path<String>, p: Posted) -> Response {
    match s.admin.rotate_keys(&pool).await {
        Ok(_) => see_other(&format!("/console/pools/{pool}/keys"), "keys-rotated"),
        Err(e) => admin_error(e, p.csrf()),
    }
}

/// `POST /console/pools/{pool}/keys/rotate-sp`.
pub async fn rotate_sp(
    State(s): State<SharedState>,
    Path(pool): Path<String>,
    p: Posted,
) -> Response {
    match s.admin.rotate_sp_keys(&pool).await {
        Ok(_) => see_other(&format!("/console/pools/{pool}/keys"), "sp-keys-rotated"),
        Err(e) => admin_error(e, p.csrf()),
    }
}
