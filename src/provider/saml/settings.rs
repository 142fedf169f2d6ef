//! The `SAML` registration: its details (`metadata_xml` or `metadata_url`,
//! `allow_idp_initiated`, `encrypted_responses`, `idp_signout`, `name_id_format`,
//! `clock_skew_s`, `subject_attribute`, `sign_requests`, `request_signing_algorithm`),
//! their validation, the AD FS default attribute mapping, and the fetch of
//! `metadata_url`.

use serde_json::Value;
use url::Url;

use async_trait::async_trait;
use serde::Deserialize;

use crate::model::ProviderRecord;
use crate::provider::kind::{ConsoleForm, FormField, Give};
use crate::provider::protocol::config::{self, Flag, Number, Problems, Text};
use crate::provider::protocol::http;
use crate::provider::protocol::saml::{DEFAULT_SKEW_S, IdpMetadata, parse_metadata};
use crate::provider::{
    FetchedDetails, ProviderContext, ProviderError, ProviderKind, SharedProvider, detail_str,
};

pub const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
/// The only `request_signing_algorithm` (Cognito's `RequestSigningAlgorithm` value):
/// AuthnRequests are signed with RSA-SHA256.
pub const RSA_SHA256: &str = "rsa-sha256";
/// Where a fetched `metadata_url` document is kept in the record (shared by every
/// instance through the store), and when it was fetched.
pub const FETCHED: &str = "metadata_fetched";
pub const FETCHED_AT: &str = "metadata_fetched_at";

/// The registration's details.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    metadata_xml: Text,
    metadata_url: Text,
    allow_idp_initiated: Flag,
    encrypted_responses: Flag,
    idp_signout: Flag,
    name_id_format: Text,
    clock_skew_s: Number,
    subject_attribute: Text,
    sign_requests: Flag,
    /// Cognito's `RequestSigningAlgorithm`: the one AuthnRequests are signed with.
    request_signing_algorithm: Text,
    /// The fetched `metadata_url` document and when it was fetched (bookkeeping the
    /// gateway writes; never shown).
    metadata_fetched: Text,
    metadata_fetched_at: Number,
}

pub struct Kind;
impl ProviderKind for Kind {
    fn type_name(&self) -> &'static str {
        "SAML"
    }
    fn console(&self) -> &'static ConsoleForm {
        static FORM: ConsoleForm = ConsoleForm {
            title: "SAML 2.0",
            register_at: "your identity provider's relying party trust / SAML app",
            fields: &[
                FormField::new(
                    "metadata_url",
                    "IdP metadata URL",
                    "Fetched and checked on save. Give this or the metadata document.",
                    "text",
                    false,
                ),
                FormField::new(
                    "metadata_xml",
                    "IdP metadata document",
                    "The XML the IdP exports, pasted here.",
                    "area",
                    false,
                ),
            ],
            give: &[
                Give::SpEntityId("SP entity ID (audience)"),
                Give::Endpoint("Assertion consumer service (ACS) URL", "/saml2/idpresponse"),
                Give::Endpoint(
                    "SP metadata URL (import this at the IdP)",
                    "/saml2/metadata",
                ),
            ],
        };
        &FORM
    }
    fn validate(&self, record: &ProviderRecord) -> Result<(), Vec<String>> {
        parse(record, false).map(|_| ())
    }
    fn build(
        &self,
        record: &ProviderRecord,
        ctx: &ProviderContext,
    ) -> Result<SharedProvider, ProviderError> {
        super::build(record, ctx)
    }
    fn fetched_details(&self) -> Option<&dyn FetchedDetails> {
        Some(&MetadataUrl)
    }
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
    let mut p = Problems::default();
    let c: Config = config::typed(&record.details, &mut p);
    let metadata_url = config::optional_url(&c.metadata_url, "metadata_url", &mut p);
    let xml = match (c.metadata_xml.get(), &metadata_url) {
        (Some(x), None) => Some(x),
        (None, Some(_)) => c.metadata_fetched.get(),
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
    let name_id_format = match c.name_id_format.get() {
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
    let subject_attribute = c.subject_attribute.get().map(str::to_owned);
    if name_id_format == Some(TRANSIENT) && subject_attribute.is_none() {
        p.add(
            "subject_attribute",
            "is required with a transient NameID (a transient NameID is not a stable subject)",
        );
    }
    let clock_skew_s = match c.clock_skew_s {
        Number::Absent => DEFAULT_SKEW_S,
        Number::Given(s) if (0..=600).contains(&s) => s,
        _ => {
            p.add(
                "clock_skew_s",
                "must be a whole number of seconds, 0 to 600",
            );
            DEFAULT_SKEW_S
        }
    };
    let allow_idp_initiated =
        config::flag(c.allow_idp_initiated, "allow_idp_initiated", false, &mut p);
    let encrypted_responses =
        config::flag(c.encrypted_responses, "encrypted_responses", false, &mut p);
    let idp_signout = config::flag(c.idp_signout, "idp_signout", false, &mut p);
    let sign_requests = config::flag(c.sign_requests, "sign_requests", true, &mut p);
    match config::optional(&c.request_signing_algorithm, "request_signing_algorithm", &mut p) {
        Some(RSA_SHA256) if !sign_requests => p.add(
            "request_signing_algorithm",
            "names how requests are signed, and sign_requests is false",
        ),
        None | Some(RSA_SHA256) => {}
        Some(_) => p.add(
            "request_signing_algorithm",
            "must be rsa-sha256 (Cognito's RequestSigningAlgorithm; AuthnRequests are signed with RSA-SHA256 only)",
        ),
    }
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

/// Largest metadata document fetched (one IdP's metadata is tens of kilobytes; a
/// federation's aggregate is not what a registration names). Read as it streams in.
pub const MAX_METADATA: usize = 2 * 1024 * 1024;

/// The fetch of `metadata_url`: SAML's fetched details.
struct MetadataUrl;

#[async_trait]
impl FetchedDetails for MetadataUrl {
    async fn fetch(
        &self,
        record: &mut ProviderRecord,
        ctx: &ProviderContext,
    ) -> Result<bool, ProviderError> {
        fetch_metadata(record, ctx).await
    }
    fn failed_message(&self) -> &'static str {
        "metadata_url: the metadata could not be fetched or was refused; the gateway log has the cause"
    }
}

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
