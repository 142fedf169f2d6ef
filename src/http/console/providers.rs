//! Console pages of identity providers: the pool's providers by type, and one form per
//! type with what to give the IdP (redirect URI, SP entity ID and metadata URL) and
//! what to take from it. Saving goes through the admin service, which checks the
//! registration (and fetches SAML metadata); its problems are listed in words.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kinds::{Kind, kind_for, kind_of, kinds};
use super::pools::{Notice, problems_of};
use super::{Posted, Signed, admin_error, domain_base, notice, page, see_other};
use crate::admin::{MASK, ProviderBody};
use crate::http::SharedState;
use crate::model::{LinkPolicy, ProviderRecord};
use crate::provider::kind::Give as GiveIdp;

#[derive(Serialize)]
struct Row {
    name: String,
    title: &'static str,
    slug: &'static str,
}

#[derive(Serialize)]
struct KindLink {
    slug: &'static str,
    title: &'static str,
}

/// `GET /console/pools/{pool}/providers`.
pub async fn list(
    State(s): State<SharedState>,
    me: Signed,
    Path(pool): Path<String>,
    Query(q): Query<Notice>,
) -> Response {
    let providers = match s.admin.list_providers(&pool).await {
        Ok(p) => p,
        Err(e) => return admin_error(e, me.csrf()),
    };
    let mut rows: Vec<Row> = providers
        .into_iter()
        .map(|p| {
            let k = kind_for(&p.provider_type);
            Row {
                name: p.name,
                title: k.as_ref().map_or("", Kind::title),
                slug: k.as_ref().map_or("", |k| k.slug),
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.title, &a.name).cmp(&(b.title, &b.name)));
    let kinds: Vec<KindLink> = kinds()
        .iter()
        .map(|k| KindLink {
            slug: k.slug,
            title: k.title(),
        })
        .collect();
    page(
        StatusCode::OK,
        "providers.html",
        context! { csrf => me.csrf(), pool, nav => "providers", providers => rows, kinds, notice => notice(q.ok.as_deref()) },
    )
}

/// What to give the IdP, for each domain of the pool.
#[derive(Serialize)]
struct Give {
    label: &'static str,
    value: String,
}

async fn to_give(s: &SharedState, pool: &str, kind: &Kind) -> Vec<Give> {
    let info = s.admin.get_pool(pool).await.ok();
    let sp_entity = info.as_ref().map_or_else(
        || format!("urn:poolgate:sp:{pool}"),
        |i| crate::flow::saml::sp_entity_id(&i.pool),
    );
    let domains = info.map(|p| p.domains).unwrap_or_default();
    let mut out = Vec::new();
    // Pool-wide values first, then each domain's.
    for g in kind.form.give {
        if let GiveIdp::SpEntityId(label) = *g {
            out.push(Give {
                label,
                value: sp_entity.clone(),
            });
        }
    }
    for d in &domains {
        let base = domain_base(s, d);
        for g in kind.form.give {
            match *g {
                GiveIdp::SpEntityId(_) => {}
                GiveIdp::Host(label) => out.push(Give {
                    label,
                    value: crate::tls::host_of(d).to_owned(),
                }),
                GiveIdp::Endpoint(label, path) => out.push(Give {
                    label,
                    value: format!("{base}{path}"),
                }),
            }
        }
    }
    out
}

/// What the form shows: the values typed (or stored, secrets masked).
#[derive(Default, Serialize)]
struct Values {
    name: String,
    details: serde_json::Map<String, Value>,
    idp_identifiers: String,
    link_verified: bool,
    mapping: String,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    s: &SharedState,
    pool: &str,
    csrf: &str,
    kind: &Kind,
    existing: bool,
    values: Values,
    status: StatusCode,
    problems: Vec<String>,
) -> Response {
    let give = to_give(s, pool, kind).await;
    page(
        status,
        "provider.html",
        context! {
            csrf, pool, nav => "providers", slug => kind.slug, title => kind.title(),
            console => kind.form.register_at, fields => kind.fields(), give, existing, v => values,
            problems, mask => MASK,
        },
    )
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(rename = "type")]
    t: Option<String>,
}

/// `GET /console/pools/{pool}/providers/new?type=OIDC`.
pub async fn new(
    State(s): State<SharedState>,
    me: Signed,
    Path(pool): Path<String>,
    Query(q): Query<NewQuery>,
) -> Response {
    let Some(kind) = kind_of(q.t.as_deref().unwrap_or("")) else {
        return super::error(404, "There is no such provider type.", Some(me.csrf()));
    };
    if let Err(e) = s.admin.get_pool(&pool).await {
        return admin_error(e, me.csrf());
    }
    form_page(
        &s,
        &pool,
        me.csrf(),
        &kind,
        false,
        Values::default(),
        StatusCode::OK,
        vec![],
    )
    .await
}

fn values_of(p: &ProviderRecord) -> Values {
    let view = crate::admin::provider_view(p);
    Values {
        name: p.name.clone(),
        details: view["details"].as_object().cloned().unwrap_or_default(),
        idp_identifiers: p.idp_identifiers.join(", "),
        link_verified: p.link_by_email == LinkPolicy::Verified,
        mapping: p
            .attribute_mapping
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// `GET /console/pools/{pool}/providers/{name}`: the form of a stored provider.
pub async fn edit(
    State(s): State<SharedState>,
    me: Signed,
    Path((pool, name)): Path<(String, String)>,
) -> Response {
    let p = match s.admin.get_provider(&pool, &name).await {
        Ok(p) => p,
        Err(e) => return admin_error(e, me.csrf()),
    };
    let Some(kind) = kind_for(&p.provider_type) else {
        return super::error(404, "There is no such provider type.", Some(me.csrf()));
    };
    form_page(
        &s,
        &pool,
        me.csrf(),
        &kind,
        true,
        values_of(&p),
        StatusCode::OK,
        vec![],
    )
    .await
}

/// `POST /console/pools/{pool}/providers`: creates or replaces the named provider.
/// On an existing provider, details the form does not show are kept (sent back as
/// they are stored, secrets as the mask, which the service keeps).
pub async fn save(State(s): State<SharedState>, Path(pool): Path<String>, p: Posted) -> Response {
    let Some(kind) = kind_of(p.form.get("type")) else {
        return super::error(400, "There is no such provider type.", Some(p.csrf()));
    };
    let name = p.form.get("name").to_owned();
    let mut details = match s.admin.get_provider(&pool, &name).await {
        Ok(prev) if prev.provider_type == kind.type_name() && p.form.checked("existing") => {
            values_of(&prev).details
        }
        _ => serde_json::Map::new(),
    };
    for field in kind.fields() {
        match p.form.opt(field.key) {
            Some(v) => {
                details.insert(field.key.to_owned(), Value::String(v));
            }
            None => {
                details.remove(field.key);
            }
        }
    }
    let mut mapping = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for line in p.form.get("attribute_mapping").lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                mapping.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            _ => problems.push(format!(
                "Attribute mapping: the line {line:?} is not \"pool attribute = provider attribute\"."
            )),
        }
    }
    let values = Values {
        name: name.clone(),
        details: details.clone(),
        idp_identifiers: p.form.get("idp_identifiers").to_owned(),
        link_verified: p.form.checked("link_verified"),
        mapping: p.form.get("attribute_mapping").to_owned(),
    };
    let existing = p.form.checked("existing");
    if !problems.is_empty() {
        return form_page(
            &s,
            &pool,
            p.csrf(),
            &kind,
            existing,
            values,
            StatusCode::BAD_REQUEST,
            problems,
        )
        .await;
    }
    let body = ProviderBody {
        provider_type: kind.slug.to_owned(),
        details,
        attribute_mapping: mapping,
        idp_identifiers: p.form.lines("idp_identifiers"),
        link_by_email: if values.link_verified {
            LinkPolicy::Verified
        } else {
            LinkPolicy::Never
        },
    };
    match s.admin.put_provider(&pool, &name, body).await {
        Ok(_) => see_other(
            &format!("/console/pools/{pool}/providers"),
            "provider-saved",
        ),
        Err(e) => {
            let (status, problems) = problems_of(e);
            form_page(
                &s,
                &pool,
                p.csrf(),
                &kind,
                existing,
                values,
                status,
                problems,
            )
            .await
        }
    }
}

/// `POST /console/pools/{pool}/providers/{name}/delete`.
pub async fn delete(
    State(s): State<SharedState>,
    Path((pool, name)): Path<(String, String)>,
    p: Posted,
) -> Response {
    match s.admin.delete_provider(&pool, &name).await {
        Ok(()) => see_other(
            &format!("/console/pools/{pool}/providers"),
            "provider-deleted",
        ),
        Err(e) => admin_error(e, p.csrf()),
    }
}
