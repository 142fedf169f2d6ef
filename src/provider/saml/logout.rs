//! The IdP's answer to a single logout: the LogoutResponse by HTTP-Redirect binding,
//! checked for the signature over the raw query, `InResponseTo` (our request), the
//! `Issuer` (the IdP) and the `Destination` (our logout endpoint).

use crate::provider::ProviderError;
use crate::provider::protocol::saml::checks::{NS_ASSERTION, NS_PROTOCOL, STATUS_SUCCESS};
use crate::provider::protocol::saml::redirect::{inflate_b64, verify_redirect};
use crate::provider::protocol::saml::{IdpMetadata, refuse_declarations, xml};

/// How the IdP answered a logout that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoutStatus {
    Success,
    /// The IdP reported another status (a partial logout): its `StatusCode`.
    Other(Option<String>),
}

/// Verifies a LogoutResponse to the request `request_id`; `destination` is the pool
/// domain's `/saml2/logout`.
pub fn check_logout_response(
    idp: &IdpMetadata,
    raw_query: &str,
    request_id: &str,
    destination: &str,
) -> Result<LogoutStatus, ProviderError> {
    let rejected = |m: &str| ProviderError::Rejected(format!("LogoutResponse: {m}"));
    let text = verify_redirect(raw_query, "SAMLResponse", &idp.signing_certs)
        .and_then(|payload| inflate_b64(&payload))
        .map_err(|e| ProviderError::Rejected(format!("LogoutResponse: {e}")))?;
    refuse_declarations(&text).map_err(|_| rejected("carries a DTD"))?;
    let root = xml::parse(&text).map_err(|_| rejected("is not XML"))?;
    let issuer = root
        .child(NS_ASSERTION, "Issuer")
        .and_then(xml::Element::text);
    let ok = root.is(NS_PROTOCOL, "LogoutResponse")
        && root.attr("InResponseTo") == Some(request_id)
        && issuer.as_deref().map(str::trim) == Some(idp.entity_id.as_str())
        && root.attr("Destination").is_none_or(|d| d == destination);
    if !ok {
        return Err(rejected("does not answer our request"));
    }
    let status = root
        .child(NS_PROTOCOL, "Status")
        .and_then(|s| s.child(NS_PROTOCOL, "StatusCode"))
        .and_then(|c| c.attr("Value"));
    Ok(if status == Some(STATUS_SUCCESS) {
        LogoutStatus::Success
    } else {
        LogoutStatus::Other(status.map(str::to_owned))
    })
}
