//! The one place that calls samael (libxmlsec1): signature verification of a Response
//! that already passed poolgate's own structural checks. Every guard the engine lacks
//! is applied here: entity ID and ACS always set, an algorithm allowlist, metadata
//! holding only vetted signing keys, and its non-`Send` error converted at the call.

use samael::crypto::{AllowedSignatureAlgorithm, ReduceMode};
use samael::service_provider::ServiceProviderBuilder;

use super::SamlError;
use super::metadata::IdpMetadata;

/// What the engine returned, for comparison with poolgate's own reading.
#[derive(Debug, PartialEq)]
pub struct EngineView {
    pub assertion_id: String,
    pub issuer: Option<String>,
    pub name_id: Option<String>,
}

pub struct EngineInput<'a> {
    pub idp: &'a IdpMetadata,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub request_id: Option<&'a str>,
    pub skew_s: i64,
    pub max_age_s: i64,
}

/// Verifies every signature of `xml` against the IdP's signing keys and runs the
/// engine's own checks; the result is only compared, never trusted alone.
pub fn verify(xml: &str, x: &EngineInput<'_>) -> Result<EngineView, SamlError> {
    x.idp.require_keys()?;
    let md = x.idp.engine_descriptor()?;
    let sp = ServiceProviderBuilder::default()
        .entity_id(x.sp_entity_id.to_owned())
        .acs_url(x.acs_url.to_owned())
        .metadata_url(None::<String>)
        .slo_url(None::<String>)
        .idp_metadata(md)
        .allow_idp_initiated(x.request_id.is_none())
        .max_clock_skew(chrono::Duration::seconds(x.skew_s))
        .max_issue_delay(chrono::Duration::seconds(x.max_age_s + x.skew_s))
        .allowed_signature_algorithms(vec![
            AllowedSignatureAlgorithm::RsaSha256,
            AllowedSignatureAlgorithm::RsaSha512,
            AllowedSignatureAlgorithm::EcdsaSha256,
        ])
        .build()
        .map_err(|e| SamlError::Config(format!("engine setup: {e}")))?;
    // The engine must never run without keys: it would skip signature checks.
    match sp.idp_signing_certs() {
        Ok(Some(c)) if !c.is_empty() => {}
        _ => return Err(SamlError::NoSigningKey),
    }
    let ids: Vec<&str> = x.request_id.into_iter().collect();
    let possible = x.request_id.map(|_| ids.as_slice());
    // The strictest reduction: the engine reads exactly the bytes the one verified
    // reference covers (xmlsec's pre-digest content: the Response when it is signed,
    // else the Assertion), rather than a copy of the document with the unsigned nodes
    // pruned. poolgate's structure rule already allows only one shape; the pruning
    // search cost about a quarter of an ACS post.
    // samael's error holds a `Box<dyn Error>` (not Send): keep only its text, here.
    let assertion = sp
        .parse_xml_response_with_mode(xml, possible, ReduceMode::PreDigest)
        .map_err(|e| {
            let detail = e.to_string();
            tracing::debug!(error = %detail, "SAML engine refused the response");
            SamlError::Signature(detail)
        })?;
    Ok(EngineView {
        assertion_id: assertion.id.clone(),
        issuer: assertion.issuer.value.clone(),
        name_id: assertion
            .subject
            .as_ref()
            .and_then(|s| s.name_id.as_ref())
            .map(|n| n.value.trim().to_owned()),
    })
}

/// Verifies every signature of `xml` (a Response signed over an EncryptedAssertion)
/// without the engine's SAML checks, which would try to decrypt with its own code.
pub fn verify_signatures_only(xml: &str, idp: &IdpMetadata) -> Result<(), SamlError> {
    use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
    idp.require_keys()?;
    let certs: Vec<CertificateDer> = idp
        .signing_certs
        .iter()
        .map(|c| CertificateDer::from(c.der.clone()))
        .collect();
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &certs,
        // Only validity matters here: no reduced copy of the document is built.
        ReduceMode::PreDigest,
        Some(&[
            AllowedSignatureAlgorithm::RsaSha256,
            AllowedSignatureAlgorithm::RsaSha512,
            AllowedSignatureAlgorithm::EcdsaSha256,
        ]),
    )
    .map(|_| ())
    .map_err(|e| SamlError::Signature(e.to_string()))
}
