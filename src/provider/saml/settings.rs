//! The `SAML` registration: its details (`metadata_xml` or `metadata_url`,
//! `allow_idp_initiated`, `encrypted_responses`, `idp_signout`, `name_id_format`,
//! `clock_skew_s`, `subject_attribute`, `sign_requests`), their validation, the AD FS
//! default attribute mapping, and the fetch of `metadata_url`.

use serde_json::Value;
use url::Url;

use crate::model::ProviderRecord;
use crate::provider::protocol::config::{self, Problems};
use crate::provider::protocol::http;
use crate::provider::protocol::saml::{DEFAULT_SKEW_S, IdpMetadata, parse_metadata};
use crate::provider::{ProviderContext, ProviderError, ProviderKind, detail_str};

pub const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
/// Where a fetched `metadata_url` document is kept in the record (shared by every
/// instance through the store), and when it was fetched.
pub const FETCHED: &str = "metadata_fetched";
pub const FETCHED_AT: &str = "metadata_fetched_at";

const KNOWN: &[&str] = &[
    "metadata_xml",
    "metadata_url",
    "allow_idp_initiated",
    "encrypted_responses",
    "idp_signout",
    "name_id_format",
    "clock_skew_s",
    "subject_attribute",
    "sign_requests",
    FETCHED,
    FETCHED_AT,
];

pub struct Kind;
impl ProviderKind for Kind {
    fn secret_fields(&self) -> &'static [&'static str] {
        &[]
    }
    fn default_mapping(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "email",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            ),
            (
                "given_name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
            ),
            (
                "family_name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
            ),
            (
                "name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            ),
            (
                "preferred_username",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
            ),
        ]
    }
}

/// `name_id_format` as written in a registration, to its URN.
fn name_id_urn(v: &str) -> Option<&'static str> {
    Some(match v {
        "persistent" | "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" => {
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
        }
        "emailAddress" | "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" => {
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        }
        "unspecified" | "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" => {
            "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
        }
        "transient" | TRANSIENT => TRANSIENT,
        _ => return None,
    })
}

/// A registration's settings, parsed and checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub idp: IdpMetadata,
    pub metadata_url: Option<Url>,
    pub allow_idp_initiated: bool,
    pub encrypted_responses: bool,
    pub idp_signout: bool,
    pub name_id_format: Option<&'static str>,
    pub clock_skew_s: i64,
    pub subject_attribute: Option<String>,
    pub sign_requests: bool,
}

pub(super) fn parse(record: &ProviderRecord, need_metadata: bool) -> Result<Settings, Vec<String>> {
    let d = &record.details;
    let mut p = Problems::default();
    config::unknown_keys(d, KNOWN, &mut p);
    let metadata_url = config::optional_url(d, "metadata_url", "metadata_url", &mut p);
    let xml = match (detail_str(d, "metadata_xml"), &metadata_url) {
        (Some(x), None) => Some(x),
        (None, Some(_)) => detail_str(d, FETCHED),
        (Some(_), Some(_)) => {
            p.add(
                "metadata_xml",
                "give metadata_xml or metadata_url, not both",
            );
            None
        }
        (None, None) => {
            p.add("metadata_xml", "metadata_xml or metadata_url is required");
            None
        }
    };
    let idp = match xml.map(parse_metadata) {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            p.add("metadata_xml", e);
            None
        }
        None if metadata_url.is_some() && need_metadata => {
            p.add("metadata_url", "the metadata has not been fetched");
            None
        }
        None => None,
    };
    let name_id_format = match detail_str(d, "name_id_format") {
        None => None,
        Some(v) => {
            let urn = name_id_urn(v);
            if urn.is_none() {
                p.add(
                    "name_id_format",
                    "must be persistent, emailAddress, unspecified or transient",
                );
            }
            urn
        }
    };
    let subject_attribute = detail_str(d, "subject_attribute").map(str::to_owned);
    if name_id_format == Some(TRANSIENT) && subject_attribute.is_none() {
        p.add(
            "subject_attribute",
            "is required with a transient NameID (a transient NameID is not a stable subject)",
        );
    }
    let clock_skew_s = match d.get("clock_skew_s") {
        None | Some(Value::Null) => DEFAULT_SKEW_S,
        Some(v) => match v.as_i64().filter(|s| (0..=600).contains(s)) {
            Some(s) => s,
            None => {
                p.add(
                    "clock_skew_s",
                    "must be a whole number of seconds, 0 to 600",
                );
                DEFAULT_SKEW_S
            }
        },
    };
    let allow_idp_initiated = config::optional_bool(d, "allow_idp_initiated", &mut p);
    let encrypted_responses = config::optional_bool(d, "encrypted_responses", &mut p);
    let idp_signout = config::optional_bool(d, "idp_signout", &mut p);
    let sign_requests = d
        .get("sign_requests")
        .is_none_or(|_| config::optional_bool(d, "sign_requests", &mut p));
    if idp_signout && idp.as_ref().is_some_and(|m| m.slo_redirect.is_none()) {
        p.add(
            "idp_signout",
            "the IdP metadata has no HTTP-Redirect SingleLogoutService",
        );
    }
    p.into_result()?;
    let idp = match idp {
        Some(m) => m,
        // Validation before the fetch: the fetched document is checked then.
        None if !need_metadata => IdpMetadata {
            entity_id: String::new(),
            signing_certs: Vec::new(),
            sso_redirect: String::new(),
            slo_redirect: None,
            engine_md: Default::default(),
        },
        None => return Err(vec!["details.metadata_xml: missing".to_owned()]),
    };
    Ok(Settings {
        idp,
        metadata_url,
        allow_idp_initiated,
        encrypted_responses,
        idp_signout,
        name_id_format,
        clock_skew_s,
        subject_attribute,
        sign_requests,
    })
}

pub fn validate(record: &ProviderRecord) -> Result<(), Vec<String>> {
    parse(record, false).map(|_| ())
}

/// Largest metadata document fetched (one IdP's metadata is tens of kilobytes; a
/// federation's aggregate is not what a registration names). Read as it streams in.
pub const MAX_METADATA: usize = 2 * 1024 * 1024;

/// Fetches `metadata_url` into the record (at registration and on refresh). Refuses
/// metadata that cannot be used (no signing certificate, not parseable).
pub async fn fetch_metadata(
    record: &mut ProviderRecord,
    ctx: &ProviderContext,
) -> Result<bool, ProviderError> {
    let Some(url) = detail_str(&record.details, "metadata_url").map(str::to_owned) else {
        return Ok(false);
    };
    let url = config::parse_endpoint(&url)
        .map_err(|e| ProviderError::Config(format!("metadata_url: {e}")))?;
    let resp = http::send_capped(ctx.http.get(url), "metadata_url", MAX_METADATA).await?;
    if !resp.status.is_success() {
        return Err(ProviderError::Upstream(format!(
            "metadata_url answered {}",
            resp.status
        )));
    }
    let body = resp.body;
    let text = String::from_utf8(body)
        .map_err(|_| ProviderError::Config("metadata_url: not UTF-8".into()))?;
    parse_metadata(&text).map_err(|e| ProviderError::Config(format!("metadata_url: {e}")))?;
    let changed = detail_str(&record.details, FETCHED) != Some(text.trim());
    record
        .details
        .insert(FETCHED.into(), Value::String(text.trim().to_owned()));
    record
        .details
        .insert(FETCHED_AT.into(), Value::from(ctx.clock.now()));
    Ok(changed)
}
