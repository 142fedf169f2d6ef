//! HTTP-Redirect binding (SAML bindings 3.4): AuthnRequest and LogoutRequest built,
//! DEFLATEd, base64'd and optionally signed (RSA-SHA256); signatures of received
//! redirect messages verified over the raw query bytes, as the binding defines them
//! (section 3.4.4.1), with poolgate's own code (the engine's verifier is never given
//! untrusted input).

use std::io::{Read, Write};

use aws_lc_rs::signature::{self, RsaKeyPair, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use url::Url;
use url::form_urlencoded::byte_serialize;

use super::SamlError;
use super::metadata::{SigningCert, esc};

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
/// Largest inflated redirect message read (a LogoutResponse is under 2 KB).
const MAX_INFLATED: u64 = 100_000;

/// An xs:dateTime in UTC, seconds precision.
pub fn xml_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub struct AuthnRequestParams<'a> {
    pub id: &'a str,
    pub now: i64,
    pub destination: &'a str,
    pub acs_url: &'a str,
    pub sp_entity_id: &'a str,
    pub name_id_format: Option<&'a str>,
}

pub fn authn_request_xml(p: &AuthnRequestParams<'_>) -> String {
    let policy = p
        .name_id_format
        .map(|f| {
            format!(
                "<samlp:NameIDPolicy Format=\"{}\" AllowCreate=\"true\"/>",
                esc(f)
            )
        })
        .unwrap_or_default();
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" AssertionConsumerServiceURL=\"{}\" ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"><saml:Issuer>{}</saml:Issuer>{policy}</samlp:AuthnRequest>",
        esc(p.id),
        xml_time(p.now),
        esc(p.destination),
        esc(p.acs_url),
        esc(p.sp_entity_id),
    )
}

pub struct LogoutRequestParams<'a> {
    pub id: &'a str,
    pub now: i64,
    pub destination: &'a str,
    pub sp_entity_id: &'a str,
    pub name_id: &'a str,
    pub name_id_format: Option<&'a str>,
    pub session_index: Option<&'a str>,
}

pub fn logout_request_xml(p: &LogoutRequestParams<'_>) -> String {
    let fmt = p
        .name_id_format
        .map(|f| format!(" Format=\"{}\"", esc(f)))
        .unwrap_or_default();
    let si = p
        .session_index
        .map(|s| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", esc(s)))
        .unwrap_or_default();
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\"><saml:Issuer>{}</saml:Issuer><saml:NameID{fmt}>{}</saml:NameID>{si}</samlp:LogoutRequest>",
        esc(p.id),
        xml_time(p.now),
        esc(p.destination),
        esc(p.sp_entity_id),
        esc(p.name_id),
    )
}

/// Raw DEFLATE (RFC 1951) then base64, as the binding requires.
pub fn deflate_b64(xml: &str) -> Result<String, SamlError> {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
    enc.write_all(xml.as_bytes())
        .map_err(|_| SamlError::Config("deflate failed".into()))?;
    let raw = enc
        .finish()
        .map_err(|_| SamlError::Config("deflate failed".into()))?;
    Ok(STANDARD.encode(raw))
}

/// Inverse of `deflate_b64`, capped (no inflation bomb).
pub fn inflate_b64(value: &str) -> Result<String, SamlError> {
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let raw = STANDARD.decode(compact).map_err(|_| SamlError::Encoding)?;
    let mut out = String::new();
    DeflateDecoder::new(raw.as_slice())
        .take(MAX_INFLATED + 1)
        .read_to_string(&mut out)
        .map_err(|_| SamlError::Encoding)?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(SamlError::TooLarge);
    }
    Ok(out)
}

fn enc(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

/// The redirect URL: `param` (SAMLRequest/SAMLResponse), RelayState, and when a key is
/// given SigAlg and Signature over exactly those octets (bindings 3.4.4.1).
pub fn redirect_url(
    endpoint: &str,
    param: &str,
    payload_b64: &str,
    relay_state: Option<&str>,
    key: Option<&RsaKeyPair>,
) -> Result<Url, SamlError> {
    let mut signed = format!("{param}={}", enc(payload_b64));
    if let Some(rs) = relay_state {
        signed.push_str(&format!("&RelayState={}", enc(rs)));
    }
    if let Some(k) = key {
        signed.push_str(&format!("&SigAlg={}", enc(RSA_SHA256)));
        let mut sig = vec![0u8; k.public_modulus_len()];
        k.sign(
            &signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut sig,
        )
        .map_err(|_| SamlError::Config("signing the request failed".into()))?;
        signed.push_str(&format!("&Signature={}", enc(&STANDARD.encode(sig))));
    }
    let mut url = Url::parse(endpoint)
        .map_err(|_| SamlError::Config("the IdP endpoint is not a URL".into()))?;
    let query = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&{signed}"),
        _ => signed,
    };
    url.set_query(Some(&query));
    Ok(url)
}

/// The raw (still percent-encoded) value of each parameter of a query; a repeated
/// parameter is refused.
fn raw_params(query: &str) -> Result<Vec<(&str, &str)>, SamlError> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        if out.iter().any(|(ok, _)| *ok == k) {
            return Err(SamlError::Structure("repeated query parameter"));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn pct_decode(v: &str) -> String {
    url::form_urlencoded::parse(format!("x={v}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The public key of a certificate, with the verification algorithm for `sig_alg`.
fn verifier(
    cert: &SigningCert,
    sig_alg: &str,
) -> Option<(Vec<u8>, &'static dyn VerificationAlgorithm)> {
    let (_, c) = x509_parser::parse_x509_certificate(&cert.der).ok()?;
    let spki = c.public_key();
    let key = spki.subject_public_key.data.to_vec();
    let is_rsa = spki.algorithm.algorithm.to_id_string() == "1.2.840.113549.1.1.1";
    let alg: &'static dyn VerificationAlgorithm = match (sig_alg, is_rsa) {
        (RSA_SHA256, true) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (RSA_SHA512, true) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (ECDSA_SHA256, false) => &signature::ECDSA_P256_SHA256_ASN1,
        _ => return None,
    };
    Some((key, alg))
}

/// Verifies a received redirect-binding message's signature over the raw query.
/// Returns the decoded (still deflated, base64) `param` value.
pub fn verify_redirect(
    raw_query: &str,
    param: &str,
    certs: &[SigningCert],
) -> Result<String, SamlError> {
    if raw_query.len() > super::MAX_ACS_CHARS {
        return Err(SamlError::TooLarge);
    }
    let params = raw_params(raw_query)?;
    let get = |k: &str| params.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
    let payload = get(param).ok_or(SamlError::Structure("no SAML message in the query"))?;
    let sig_alg = get("SigAlg").ok_or(SamlError::Unsigned)?;
    let sig = get("Signature").ok_or(SamlError::Unsigned)?;
    let mut octets = format!("{param}={payload}");
    if let Some(rs) = get("RelayState") {
        octets.push_str(&format!("&RelayState={rs}"));
    }
    octets.push_str(&format!("&SigAlg={sig_alg}"));
    let alg = pct_decode(sig_alg);
    if ![RSA_SHA256, RSA_SHA512, ECDSA_SHA256].contains(&alg.as_str()) {
        return Err(SamlError::Algorithm);
    }
    let sig_bytes = super::metadata::b64_loose(&pct_decode(sig)).ok_or(SamlError::Encoding)?;
    let ok = certs.iter().any(|c| {
        verifier(c, &alg).is_some_and(|(key, v)| {
            UnparsedPublicKey::new(v, key)
                .verify(octets.as_bytes(), &sig_bytes)
                .is_ok()
        })
    });
    if !ok {
        return Err(SamlError::Signature("redirect signature invalid".into()));
    }
    Ok(pct_decode(payload))
}
