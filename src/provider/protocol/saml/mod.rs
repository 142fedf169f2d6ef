//! SAML 2.0 Web SSO, the relying side: one narrow entry point, `verify_response`, over
//! the engine (samael and libxmlsec1), so that the engine can be replaced later.
//!
//! Order of work on a hostile `SAMLResponse`: size cap, base64 (whitespace stripped),
//! DOCTYPE/entity refusal, poolgate's own parse and XSW structure rule, decryption
//! (poolgate's own code), signature verification by the engine with an algorithm
//! allowlist and the vetted keys only, then every condition checked again on
//! poolgate's tree with the injected clock, and the engine's reading compared with
//! poolgate's. The replay cache and the one-time request ID live in the flow.

pub mod checks;
pub mod decrypt;
pub mod engine;
pub mod metadata;
pub mod redirect;
pub mod sp;
pub mod stderr;
pub mod xml;

use std::collections::BTreeMap;

use base64::Engine;

pub use decrypt::DecryptionKey;
pub use metadata::{IdpMetadata, SigningCert, parse_metadata};

/// Largest `SAMLResponse` form value accepted, as Cognito does.
pub const MAX_ACS_CHARS: usize = 100_000;
/// Oldest assertion accepted (beyond the clock skew), counted from its IssueInstant.
pub const MAX_AGE_S: i64 = 300;
/// Default tolerated clock difference with the IdP.
pub const DEFAULT_SKEW_S: i64 = 120;

#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    #[error("the SAML response is too large")]
    TooLarge,
    #[error("the SAML response is not valid base64 or UTF-8")]
    Encoding,
    #[error("DOCTYPE and entity declarations are refused")]
    Forbidden,
    #[error("the SAML response is not well-formed XML")]
    Malformed,
    #[error("the SAML response has an unexpected structure: {0}")]
    Structure(&'static str),
    #[error("a signature or digest algorithm is not allowed")]
    Algorithm,
    #[error("neither the response nor the assertion is signed")]
    Unsigned,
    #[error("signature verification failed: {0}")]
    Signature(String),
    /// The one answer for every failure to decrypt (no oracle).
    #[error("the encrypted assertion could not be decrypted")]
    Decryption,
    #[error("the assertion is not valid here: {0}")]
    Conditions(&'static str),
    #[error("the IdP reported a failure status")]
    Status,
    #[error("the IdP metadata has no signing certificate")]
    NoSigningKey,
    #[error("unsolicited (IdP-initiated) responses are not allowed for this provider")]
    IdpInitiated,
    #[error("this provider requires encrypted assertions")]
    EncryptionRequired,
    #[error("the engine and poolgate read the assertion differently")]
    Mismatch,
    #[error("SAML configuration: {0}")]
    Config(String),
}

/// Everything the verification needs about this SP and this IdP.
pub struct SamlVerifyContext<'a> {
    pub idp: &'a IdpMetadata,
    /// `urn:poolgate:sp:{pool}`.
    pub sp_entity_id: &'a str,
    /// `https://{domain}/saml2/idpresponse`, from the issuer the request arrived on.
    pub acs_url: &'a str,
    pub allow_idp_initiated: bool,
    pub require_encrypted: bool,
    pub clock_skew_s: i64,
    /// Unix seconds (the injected clock).
    pub now: i64,
    /// SP encryption keys, current first (older ones during a rotation).
    pub decryption_keys: &'a [DecryptionKey],
}

/// A verified sign-in.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedLogin {
    /// The IdP's entity ID.
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    pub assertion_id: String,
    /// Unix seconds until which the assertion ID must be remembered (replay cache).
    pub replay_until: i64,
    pub attributes: BTreeMap<String, Vec<String>>,
    /// No request was outstanding (IdP-initiated).
    pub unsolicited: bool,
}

/// Decodes the form value: ASCII whitespace removed first (Shibboleth wraps base64 at
/// 76 columns), then standard base64, then UTF-8.
pub fn decode_form_value(bytes: &[u8]) -> Result<String, SamlError> {
    if bytes.len() > MAX_ACS_CHARS {
        return Err(SamlError::TooLarge);
    }
    let compact: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|_| SamlError::Encoding)?;
    String::from_utf8(raw).map_err(|_| SamlError::Encoding)
}

/// Refuses any markup declaration (`<!DOCTYPE`, `<!ENTITY`, ...) before any parser
/// sees the text: one linear scan, so billion-laughs payloads cost nothing.
pub fn refuse_declarations(text: &str) -> Result<(), SamlError> {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(off) = b[i..].windows(2).position(|w| w == b"<!") {
        let at = i + off;
        let rest = &b[at..];
        if !(rest.starts_with(b"<!--") || rest.starts_with(b"<![CDATA[")) {
            return Err(SamlError::Forbidden);
        }
        i = at + 2;
    }
    Ok(())
}

fn parse(text: &str) -> Result<xml::Element, SamlError> {
    xml::parse(text).map_err(|e| match e {
        xml::XmlError::Forbidden => SamlError::Forbidden,
        _ => SamlError::Malformed,
    })
}

/// Replaces byte ranges of `text` (non-overlapping) with new text.
fn splice(text: &str, mut edits: Vec<((usize, usize), String)>) -> Option<String> {
    edits.sort_by_key(|e| std::cmp::Reverse(e.0.0));
    let mut out = text.to_owned();
    for ((from, to), with) in edits {
        if from > to || to > out.len() || !out.is_char_boundary(from) || !out.is_char_boundary(to) {
            return None;
        }
        out.replace_range(from..to, &with);
    }
    Some(out)
}

/// Decrypts the one EncryptedAssertion in place. When the Response was signed over the
/// ciphertext, that signature is verified first and then removed (it no longer
/// matches the decrypted document). Returns the new text and whether the plaintext
/// is covered by that Response signature.
fn decrypt_in_place(
    text: &str,
    root: &xml::Element,
    signed: checks::Signed,
    ctx: &SamlVerifyContext<'_>,
) -> Result<(String, bool), SamlError> {
    if signed.response {
        engine::verify_signatures_only(text, ctx.idp)?;
    }
    let ea = root
        .child(checks::NS_ASSERTION, "EncryptedAssertion")
        .ok_or(SamlError::Structure("no EncryptedAssertion"))?;
    let plain = decrypt::decrypt_assertion(ea, ctx.decryption_keys)?;
    let mut edits = vec![(ea.span, plain)];
    if signed.response
        && let Some(sig) = root.child(checks::NS_DSIG, "Signature")
    {
        edits.push((sig.span, String::new()));
    }
    let out = splice(text, edits).ok_or(SamlError::Decryption)?;
    Ok((out, signed.response))
}

/// The Issuer a Response claims, unverified: only to choose which provider's keys
/// verify an unsolicited response.
pub fn peek_issuer(bytes: &[u8]) -> Option<String> {
    let text = decode_form_value(bytes).ok()?;
    refuse_declarations(&text).ok()?;
    let root = parse(&text).ok()?;
    root.child(checks::NS_ASSERTION, "Issuer")
        .or_else(|| {
            root.child(checks::NS_ASSERTION, "Assertion")
                .and_then(|a| a.child(checks::NS_ASSERTION, "Issuer"))
        })
        .and_then(xml::Element::text)
        .map(|t| t.trim().to_owned())
}

/// Verifies a `SAMLResponse` form value. `expected_request_id` is the ID of the
/// AuthnRequest this browser's sign-in sent (already consumed by the caller), or
/// `None` for an unsolicited response.
pub fn verify_response(
    bytes: &[u8],
    expected_request_id: Option<&str>,
    ctx: &SamlVerifyContext<'_>,
) -> Result<VerifiedLogin, SamlError> {
    if expected_request_id.is_none() && !ctx.allow_idp_initiated {
        return Err(SamlError::IdpInitiated);
    }
    ctx.idp.require_keys()?;
    let text = decode_form_value(bytes)?;
    refuse_declarations(&text)?;
    let root = parse(&text)?;
    let encrypted = {
        let mut all = Vec::new();
        root.walk(&mut all, 0);
        all.iter().any(|(e, _)| e.local == "EncryptedAssertion")
    };
    if ctx.require_encrypted && !encrypted {
        return Err(SamlError::EncryptionRequired);
    }
    let signed = checks::check_structure(&root, encrypted)?;
    let x = checks::Expect {
        idp_entity_id: &ctx.idp.entity_id,
        sp_entity_id: ctx.sp_entity_id,
        acs_url: ctx.acs_url,
        request_id: expected_request_id,
        now: ctx.now,
        skew: ctx.clock_skew_s,
        max_age: MAX_AGE_S,
    };
    let input = engine::EngineInput {
        idp: ctx.idp,
        sp_entity_id: ctx.sp_entity_id,
        acs_url: ctx.acs_url,
        request_id: expected_request_id,
        skew_s: ctx.clock_skew_s,
        max_age_s: MAX_AGE_S,
    };
    let (facts, view) = if encrypted {
        let (plain_doc, covered) = decrypt_in_place(&text, &root, signed, ctx)?;
        // Until the decrypted assertion's signature is verified, every failure reads
        // the same as a decryption failure (no oracle on the plaintext).
        let uniform = |_| SamlError::Decryption;
        refuse_declarations(&plain_doc).map_err(uniform)?;
        let root2 = parse(&plain_doc).map_err(uniform)?;
        let signed2 = checks::check_structure(&root2, false).map_err(uniform)?;
        let view = if signed2.assertion {
            Some(engine::verify(&plain_doc, &input).map_err(uniform)?)
        } else if covered {
            None
        } else {
            return Err(SamlError::Decryption);
        };
        (checks::check_and_read(&root2, &x)?, view)
    } else {
        if !signed.response && !signed.assertion {
            return Err(SamlError::Unsigned);
        }
        // Conditions first (cheap, and a clear reason), then the signatures; nothing
        // is returned unless both pass.
        let facts = checks::check_and_read(&root, &x)?;
        (facts, Some(engine::verify(&text, &input)?))
    };
    if let Some(v) = view {
        let same = v.assertion_id == facts.assertion_id
            && v.issuer.as_deref() == Some(facts.issuer.as_str())
            && v.name_id.as_deref() == Some(facts.name_id.as_str());
        if !same {
            return Err(SamlError::Mismatch);
        }
    }
    Ok(VerifiedLogin {
        issuer: facts.issuer,
        name_id: facts.name_id,
        name_id_format: facts.name_id_format,
        session_index: facts.session_index,
        assertion_id: facts.assertion_id,
        replay_until: facts.valid_until,
        attributes: facts.attributes,
        unsolicited: expected_request_id.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_refused_quickly() {
        assert!(refuse_declarations("<a><!-- c --><![CDATA[x]]></a>").is_ok());
        assert!(matches!(
            refuse_declarations("<!DOCTYPE a [<!ENTITY x SYSTEM \"http://x\">]><a/>"),
            Err(SamlError::Forbidden)
        ));
        assert!(matches!(
            refuse_declarations("<a><!ENTITY x 'y'></a>"),
            Err(SamlError::Forbidden)
        ));
    }

    #[test]
    fn base64_with_line_breaks() {
        let wrapped = "PGE+\r\nPC9h\nPg==";
        assert_eq!(decode_form_value(wrapped.as_bytes()).unwrap(), "<a></a>");
        assert!(matches!(
            decode_form_value(b"%%%"),
            Err(SamlError::Encoding)
        ));
        let big = vec![b'A'; MAX_ACS_CHARS + 1];
        assert!(matches!(decode_form_value(&big), Err(SamlError::TooLarge)));
    }
}
