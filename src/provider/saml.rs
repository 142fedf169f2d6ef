//! The `SAML` provider type (AD FS, Entra ID, Okta, Shibboleth, Keycloak as IdP): the
//! registration's details, the AuthnRequest by HTTP-Redirect binding, and the ACS
//! verification through `protocol::saml::verify_response`. SP key material is handed
//! in by the flow (adapters never touch the store).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use super::protocol::config::{self, Problems};
use super::protocol::saml::redirect::{self, AuthnRequestParams, LogoutRequestParams};
use super::protocol::saml::sp::{SpKeyPair, SpKeys};
use super::protocol::saml::{
    DEFAULT_SKEW_S, DecryptionKey, IdpMetadata, SamlError, SamlVerifyContext, VerifiedLogin,
    parse_metadata, verify_response,
};
use super::{
    BeginRequest, BeginResponse, BrowserAction, CallbackParams, Provider, ProviderContext,
    ProviderError, ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState, detail_str,
};
use crate::model::{ProviderRecord, ProviderType};

const ADFS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";
const GROUP_CLAIMS: &[&str] = &[
    "http://schemas.xmlsoap.org/claims/Group",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
];
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

fn parse(record: &ProviderRecord, need_metadata: bool) -> Result<Settings, Vec<String>> {
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

pub fn build(
    record: &ProviderRecord,
    ctx: &ProviderContext,
) -> Result<SharedProvider, ProviderError> {
    let settings = parse(record, true).map_err(|e| ProviderError::Config(e.join("; ")))?;
    Ok(std::sync::Arc::new(SamlProvider {
        name: record.name.clone(),
        settings,
        ctx: ctx.clone(),
    }))
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
    let resp = ctx
        .http
        .get(url)
        .send()
        .await
        .map_err(|e| ProviderError::Upstream(format!("metadata_url: {e}")))?;
    if !resp.status().is_success() {
        return Err(ProviderError::Upstream(format!(
            "metadata_url answered {}",
            resp.status()
        )));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| ProviderError::Upstream(format!("metadata_url: {e}")))?;
    let text = String::from_utf8(body.to_vec())
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

pub struct SamlProvider {
    name: String,
    settings: Settings,
    ctx: ProviderContext,
}

/// The SAML-only capability, for the flow's ACS and logout steps.
pub trait SamlSp: Send + Sync {
    fn settings(&self) -> &Settings;
    /// The AuthnRequest redirect; `relay_state` is the flow's state. Signed with the
    /// SP key when given and the registration says so.
    fn begin_saml(
        &self,
        relay_state: &str,
        acs_url: &str,
        sp_entity_id: &str,
        signer: Option<&SpKeyPair>,
    ) -> Result<BeginResponse, ProviderError>;
    /// Verifies an ACS post.
    fn verify_acs(
        &self,
        saml_response: &str,
        request_id: Option<&str>,
        acs_url: &str,
        sp_entity_id: &str,
        keys: Option<&SpKeys>,
    ) -> Result<(VerifiedLogin, UpstreamIdentity), ProviderError>;
    /// A signed LogoutRequest redirect to the IdP (single logout).
    fn logout_redirect(
        &self,
        request_id: &str,
        relay_state: &str,
        sp_entity_id: &str,
        name_id: &str,
        session_index: Option<&str>,
        signer: &SpKeyPair,
    ) -> Result<Url, ProviderError>;
}

fn rejected(e: SamlError) -> ProviderError {
    match e {
        SamlError::Config(m) => ProviderError::Config(m),
        SamlError::NoSigningKey => ProviderError::Config(e.to_string()),
        other => ProviderError::Rejected(other.to_string()),
    }
}

/// 128 random bits, as an XML ID (must not start with a digit).
pub fn new_request_id() -> String {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        b = *uuid::Uuid::new_v4().as_bytes();
    }
    format!("_{}", hex::encode(b))
}

impl SamlProvider {
    fn identity(&self, login: &VerifiedLogin) -> Result<UpstreamIdentity, ProviderError> {
        let first = |k: &str| login.attributes.get(k).and_then(|v| v.first()).cloned();
        let transient = login.name_id_format.as_deref() == Some(TRANSIENT)
            || self.settings.name_id_format == Some(TRANSIENT);
        let subject = match &self.settings.subject_attribute {
            Some(a) => first(a).ok_or_else(|| {
                ProviderError::Rejected(format!("the assertion lacks the subject attribute {a}"))
            })?,
            None if transient => {
                return Err(ProviderError::Rejected(
                    "a transient NameID cannot be a stable subject".into(),
                ));
            }
            None => login.name_id.clone(),
        };
        let mut raw = serde_json::Map::new();
        for (k, v) in &login.attributes {
            let value = match v.as_slice() {
                [one] => Value::String(one.clone()),
                many => Value::Array(many.iter().cloned().map(Value::String).collect()),
            };
            raw.insert(k.clone(), value);
        }
        raw.insert("NameID".into(), Value::String(login.name_id.clone()));
        let groups: Vec<String> = GROUP_CLAIMS
            .iter()
            .flat_map(|g| login.attributes.get(*g).cloned().unwrap_or_default())
            .collect();
        Ok(UpstreamIdentity {
            subject,
            issuer: Some(login.issuer.clone()),
            email: first(&format!("{ADFS}/emailaddress")),
            // SAML carries no verification claim: never treated as verified.
            email_verified: false,
            name: first(&format!("{ADFS}/name")),
            given_name: first(&format!("{ADFS}/givenname")),
            family_name: first(&format!("{ADFS}/surname")),
            picture: None,
            groups,
            raw,
        })
    }
}

impl SamlSp for SamlProvider {
    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn begin_saml(
        &self,
        relay_state: &str,
        acs_url: &str,
        sp_entity_id: &str,
        signer: Option<&SpKeyPair>,
    ) -> Result<BeginResponse, ProviderError> {
        let id = new_request_id();
        let xml = redirect::authn_request_xml(&AuthnRequestParams {
            id: &id,
            now: self.ctx.clock.now(),
            destination: &self.settings.idp.sso_redirect,
            acs_url,
            sp_entity_id,
            name_id_format: self.settings.name_id_format,
        });
        let key = match signer.filter(|_| self.settings.sign_requests) {
            Some(s) => Some(s.signing_key().map_err(rejected)?),
            None => None,
        };
        let payload = redirect::deflate_b64(&xml).map_err(rejected)?;
        let url = redirect::redirect_url(
            &self.settings.idp.sso_redirect,
            "SAMLRequest",
            &payload,
            Some(relay_state),
            key.as_ref(),
        )
        .map_err(rejected)?;
        let mut state = UpstreamState::default();
        state.set("request_id", id);
        state.set("sp_entity_id", sp_entity_id);
        Ok(BeginResponse {
            action: BrowserAction::Redirect(url),
            upstream_state: state,
        })
    }

    fn verify_acs(
        &self,
        saml_response: &str,
        request_id: Option<&str>,
        acs_url: &str,
        sp_entity_id: &str,
        keys: Option<&SpKeys>,
    ) -> Result<(VerifiedLogin, UpstreamIdentity), ProviderError> {
        let decryption: Vec<DecryptionKey> = keys.map(SpKeys::decryption_keys).unwrap_or_default();
        let ctx = SamlVerifyContext {
            idp: &self.settings.idp,
            sp_entity_id,
            acs_url,
            allow_idp_initiated: self.settings.allow_idp_initiated,
            require_encrypted: self.settings.encrypted_responses,
            clock_skew_s: self.settings.clock_skew_s,
            now: self.ctx.clock.now(),
            decryption_keys: &decryption,
        };
        let login =
            verify_response(saml_response.as_bytes(), request_id, &ctx).map_err(rejected)?;
        let identity = self.identity(&login)?;
        Ok((login, identity))
    }

    fn logout_redirect(
        &self,
        request_id: &str,
        relay_state: &str,
        sp_entity_id: &str,
        name_id: &str,
        session_index: Option<&str>,
        signer: &SpKeyPair,
    ) -> Result<Url, ProviderError> {
        let slo = self
            .settings
            .idp
            .slo_redirect
            .as_deref()
            .ok_or_else(|| ProviderError::Config("the IdP has no logout endpoint".into()))?;
        let xml = redirect::logout_request_xml(&LogoutRequestParams {
            id: request_id,
            now: self.ctx.clock.now(),
            destination: slo,
            sp_entity_id,
            name_id,
            name_id_format: self.settings.name_id_format,
            session_index,
        });
        let key = signer.signing_key().map_err(rejected)?;
        let payload = redirect::deflate_b64(&xml).map_err(rejected)?;
        redirect::redirect_url(slo, "SAMLRequest", &payload, Some(relay_state), Some(&key))
            .map_err(rejected)
    }
}

/// The ACS URL of a pool domain, from any URL on it.
pub fn acs_url_for(base: &Url) -> Url {
    let mut u = base.clone();
    u.set_path("/saml2/idpresponse");
    u.set_query(None);
    u
}

#[async_trait]
impl Provider for SamlProvider {
    fn name(&self) -> &str {
        &self.name
    }
    fn provider_type(&self) -> ProviderType {
        ProviderType::SAML
    }
    fn saml(&self) -> Option<&dyn SamlSp> {
        Some(self)
    }
    /// Unsigned AuthnRequest (the flow uses `begin_saml` with the SP key instead).
    async fn begin(&self, req: &BeginRequest<'_>) -> Result<BeginResponse, ProviderError> {
        let acs = acs_url_for(req.redirect_uri);
        let sp = req
            .sp_entity_id
            .ok_or_else(|| ProviderError::Config("SAML needs the SP entity ID".into()))?;
        self.begin_saml(req.state, acs.as_str(), sp, None)
    }
    /// Verifies `SAMLResponse` (unencrypted only: decryption keys come with the flow's
    /// ACS step). The SP entity ID is taken from `state`.
    async fn complete(
        &self,
        params: &CallbackParams,
        state: &UpstreamState,
        redirect_uri: &Url,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let resp = params
            .get("SAMLResponse")
            .ok_or_else(|| ProviderError::Rejected("no SAMLResponse".into()))?;
        let sp = state
            .get("sp_entity_id")
            .ok_or_else(|| ProviderError::Config("no SP entity ID in the sign-in state".into()))?;
        let acs = acs_url_for(redirect_uri);
        self.verify_acs(resp, state.get("request_id"), acs.as_str(), sp, None)
            .map(|(_, id)| id)
    }
}

/// Seconds until each signing certificate expires, by subject (metrics and warnings).
pub fn cert_expiries(s: &Settings, now: i64) -> BTreeMap<String, i64> {
    s.idp
        .signing_certs
        .iter()
        .map(|c| (c.subject.clone(), c.not_after - now))
        .collect()
}
