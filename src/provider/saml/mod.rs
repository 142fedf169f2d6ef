//! The `SAML` provider type (AD FS, Entra ID, Okta, Shibboleth, Keycloak as IdP): the
//! registration's details, the AuthnRequest by HTTP-Redirect binding, and the ACS
//! verification through `protocol::saml::verify_response`. SP key material is handed
//! in by the flow (adapters never touch the store).

mod logout;
mod settings;

pub use logout::LogoutStatus;
use settings::parse;
pub use settings::{Config, FETCHED, FETCHED_AT, Kind, Settings, TRANSIENT, fetch_metadata};

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use crate::model::ProviderRecord;
use crate::provider::protocol::saml::redirect::{self, AuthnRequestParams, LogoutRequestParams};
use crate::provider::protocol::saml::sp::{SpKeyPair, SpKeys};
use crate::provider::protocol::saml::{
    DecryptionKey, SamlError, SamlVerifyContext, VerifiedLogin, verify_response,
};
use crate::provider::{
    BeginRequest, BeginResponse, BrowserAction, CallbackParams, Provider, ProviderContext,
    ProviderError, SharedProvider, UpstreamIdentity, UpstreamState,
};

const ADFS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";
const GROUP_CLAIMS: &[&str] = &[
    "http://schemas.xmlsoap.org/claims/Group",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
];
fn build(record: &ProviderRecord, ctx: &ProviderContext) -> Result<SharedProvider, ProviderError> {
    let settings = parse(record, true).map_err(|e| ProviderError::Config(e.join("; ")))?;
    Ok(std::sync::Arc::new(SamlProvider {
        name: record.name.clone(),
        settings,
        ctx: ctx.clone(),
    }))
}

pub struct SamlProvider {
    name: String,
    settings: Settings,
    ctx: ProviderContext,
}

/// The SAML-only capability, for the flow's ACS and logout steps: every check of what
/// the IdP sends lives behind it, the flow keeps only the sign-in's state.
pub trait SamlSp: Send + Sync {
    /// Single logout through the IdP (`idp_signout`): the ACS keeps a session handle.
    fn single_logout(&self) -> bool;
    /// Whether an unsolicited (IdP-initiated) response whose `Issuer` is `issuer` is
    /// accepted by this registration (`allow_idp_initiated`, and the IdP's entity ID).
    fn accepts_unsolicited(&self, issuer: Option<&str>) -> bool;
    /// The soonest expiry (unix seconds) among the IdP's signing certificates.
    fn signing_cert_expiry(&self) -> Option<i64>;
    /// Verifies the IdP's LogoutResponse (HTTP-Redirect) to our request `request_id`:
    /// the signature over `raw_query` exactly as received, `InResponseTo`, `Issuer`
    /// and `Destination` (this domain's `/saml2/logout`).
    fn verify_logout_response(
        &self,
        raw_query: &str,
        request_id: &str,
        destination: &str,
    ) -> Result<LogoutStatus, ProviderError>;
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
    fn single_logout(&self) -> bool {
        self.settings.idp_signout
    }

    fn accepts_unsolicited(&self, issuer: Option<&str>) -> bool {
        self.settings.allow_idp_initiated && issuer == Some(self.settings.idp.entity_id.as_str())
    }

    fn signing_cert_expiry(&self) -> Option<i64> {
        self.settings
            .idp
            .signing_certs
            .iter()
            .map(|c| c.not_after)
            .min()
    }

    fn verify_logout_response(
        &self,
        raw_query: &str,
        request_id: &str,
        destination: &str,
    ) -> Result<LogoutStatus, ProviderError> {
        logout::check_logout_response(&self.settings.idp, raw_query, request_id, destination)
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
            key.as_deref(),
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
        let decryption: &[DecryptionKey] = keys.map(SpKeys::decryption_keys).unwrap_or(&[]);
        let ctx = SamlVerifyContext {
            idp: &self.settings.idp,
            sp_entity_id,
            acs_url,
            allow_idp_initiated: self.settings.allow_idp_initiated,
            require_encrypted: self.settings.encrypted_responses,
            clock_skew_s: self.settings.clock_skew_s,
            now: self.ctx.clock.now(),
            decryption_keys: decryption,
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
        redirect::redirect_url(slo, "SAMLRequest", &payload, Some(relay_state), Some(&*key))
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
    fn kind(&self) -> &'static dyn crate::provider::ProviderKind {
        &Kind
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
