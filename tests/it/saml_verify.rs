//! `verify_response` against signed fixtures: the accepted shapes and the negative
//! catalogue of issue 4 (tampering, keys, algorithms, conditions, XSW1..XSW8, comment
//! in NameID, DTDs, sizes, base64, encryption).

use poolgate::provider::protocol::saml::sp::SpKeys;
use poolgate::provider::protocol::saml::{
    IdpMetadata, SamlError, SamlVerifyContext, VerifiedLogin, parse_metadata, verify_response,
};

use super::saml_fixtures::*;

const SP: &str = "urn:poolgate:sp:default";
const ACS: &str = "https://login.acme.test/saml2/idpresponse";
const REQ: &str = "_3f7d0b9c2a6e4c1f8d5b7a9e0c2d4f6a";

struct Setup {
    idp: Idp,
    md: IdpMetadata,
    sp: SpKeys,
}

fn setup() -> Setup {
    let idp = Idp::new("http://adfs.corp.example/adfs/services/trust");
    let md =
        parse_metadata(&idp.metadata("https://adfs.corp.example/adfs/ls/", None, &[])).unwrap();
    let sp = SpKeys::generate("default", now()).unwrap();
    Setup { idp, md, sp }
}

impl Setup {
    fn verify_opts(
        &self,
        xml: &str,
        req: Option<&str>,
        allow_idp: bool,
    ) -> Result<VerifiedLogin, SamlError> {
        let keys = self.sp.decryption_keys();
        let ctx = SamlVerifyContext {
            idp: &self.md,
            sp_entity_id: SP,
            acs_url: ACS,
            allow_idp_initiated: allow_idp,
            require_encrypted: false,
            clock_skew_s: 120,
            now: now(),
            decryption_keys: &keys,
        };
        verify_response(b64(xml).as_bytes(), req, &ctx)
    }
    fn verify(&self, xml: &str) -> Result<VerifiedLogin, SamlError> {
        self.verify_opts(xml, Some(REQ), false)
    }
    fn spec(&self) -> Spec {
        Spec::adfs(&self.idp, SP, ACS, Some(REQ))
    }
}

fn refused(r: Result<VerifiedLogin, SamlError>) -> SamlError {
    match r {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn adfs_response_signed_assertion_is_accepted() {
    let s = setup();
    let v = s.verify(&response(&s.spec(), &s.idp)).unwrap();
    assert_eq!(v.name_id, "CORP\\jdoe");
    assert_eq!(v.issuer, s.idp.entity_id);
    assert_eq!(
        v.attributes[&format!("{ADFS}/emailaddress")],
        vec!["jdoe@corp.example"]
    );
    assert_eq!(
        v.attributes["http://schemas.xmlsoap.org/claims/Group"],
        vec!["Domain Users", "Finance"]
    );
    assert!(v.replay_until > now() + 3000);
    assert!(!v.unsolicited);
}

#[test]
fn signed_response_and_both_signed_are_accepted() {
    let s = setup();
    let mut spec = s.spec();
    spec.sign_assertion = false;
    spec.sign_response = true;
    s.verify(&response(&spec, &s.idp)).unwrap();
    spec.sign_assertion = true;
    s.verify(&response(&spec, &s.idp)).unwrap();
}

#[test]
fn base64_wrapped_at_76_columns_is_accepted() {
    let s = setup();
    let raw = b64(&response(&s.spec(), &s.idp));
    let wrapped: String = raw
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    let keys = s.sp.decryption_keys();
    let ctx = SamlVerifyContext {
        idp: &s.md,
        sp_entity_id: SP,
        acs_url: ACS,
        allow_idp_initiated: false,
        require_encrypted: false,
        clock_skew_s: 120,
        now: now(),
        decryption_keys: &keys,
    };
    verify_response(wrapped.as_bytes(), Some(REQ), &ctx).unwrap();
}

#[test]
fn modified_after_signing_is_refused() {
    let s = setup();
    let xml = response(&s.spec(), &s.idp).replace("CORP\\jdoe", "CORP\\admin");
    assert!(matches!(refused(s.verify(&xml)), SamlError::Signature(_)));
    let xml = response(&s.spec(), &s.idp).replace("Finance", "Domain Admins");
    assert!(matches!(refused(s.verify(&xml)), SamlError::Signature(_)));
}

#[test]
fn unsigned_is_refused() {
    let s = setup();
    let mut spec = s.spec();
    spec.sign_assertion = false;
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Unsigned
    ));
}

#[test]
fn key_not_in_metadata_is_refused() {
    let s = setup();
    let other = Idp::new(&s.idp.entity_id);
    let xml = response(&s.spec(), &other);
    assert!(matches!(refused(s.verify(&xml)), SamlError::Signature(_)));
}

#[test]
fn rollover_second_certificate_is_accepted() {
    let s = setup();
    let next = Idp::new(&s.idp.entity_id);
    let md = parse_metadata(
        &s.idp
            .metadata("https://adfs.corp.example/adfs/ls/", None, &[&next]),
    )
    .unwrap();
    assert_eq!(md.signing_certs.len(), 2);
    let s2 = Setup { md, ..s };
    s2.verify(&response(&s2.spec(), &next)).unwrap();
}

#[test]
fn metadata_without_signing_key_is_refused() {
    let s = setup();
    let md = s
        .idp
        .metadata("https://adfs.corp.example/adfs/ls/", None, &[])
        .replace("use=\"signing\"", "use=\"encryption\"");
    assert!(matches!(parse_metadata(&md), Err(SamlError::NoSigningKey)));
    // And before every verification, should keys ever be missing.
    let empty = IdpMetadata {
        signing_certs: vec![],
        ..s.md.clone()
    };
    let s2 = Setup { md: empty, ..s };
    let xml = response(&s2.spec(), &s2.idp);
    assert!(matches!(refused(s2.verify(&xml)), SamlError::NoSigningKey));
}

#[test]
fn rsa_sha1_is_refused() {
    let s = setup();
    let mut spec = s.spec();
    spec.sig_alg = RSA_SHA1;
    spec.digest = SHA1;
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Algorithm
    ));
    spec.digest = SHA256;
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Algorithm
    ));
}

#[test]
fn wrong_audience_recipient_destination_are_refused() {
    let s = setup();
    let mut spec = s.spec();
    spec.audience = "urn:poolgate:sp:other".into();
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Conditions(_)
    ));
    let mut spec = s.spec();
    spec.recipient = "https://evil.example/saml2/idpresponse".into();
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Conditions(_)
    ));
    let mut spec = s.spec();
    spec.destination = Some("https://evil.example/saml2/idpresponse".into());
    spec.sign_response = true;
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Conditions(_)
    ));
    let mut spec = s.spec();
    spec.issuer = "http://evil.example/adfs/services/trust".into();
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Conditions(_)
    ));
}

#[test]
fn time_window_is_enforced() {
    let s = setup();
    let t = now();
    let mut spec = s.spec();
    spec.issue_instant = t - 4000;
    spec.not_before = t - 4000;
    spec.not_on_or_after = t - 3600;
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Conditions(_)
    ));
    let mut spec = s.spec();
    spec.not_before = t + 600;
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Conditions(_)
    ));
    // Within the skew: accepted.
    let mut spec = s.spec();
    spec.not_before = t + 60;
    s.verify(&response(&spec, &s.idp)).unwrap();
}

#[test]
fn in_response_to_is_enforced() {
    let s = setup();
    let mut spec = s.spec();
    spec.in_response_to = Some("_someone_elses_request".into());
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Conditions(_)
    ));
    let mut spec = s.spec();
    spec.in_response_to = None;
    assert!(matches!(
        refused(s.verify(&response(&spec, &s.idp))),
        SamlError::Conditions(_)
    ));
    // Unsolicited: refused unless the provider allows IdP-initiated sign-in.
    assert!(matches!(
        refused(s.verify_opts(&response(&spec, &s.idp), None, false)),
        SamlError::IdpInitiated
    ));
    let v = s.verify_opts(&response(&spec, &s.idp), None, true).unwrap();
    assert!(v.unsolicited);
    // An unsolicited response naming some request is refused even then.
    let spec = s.spec();
    assert!(matches!(
        refused(s.verify_opts(&response(&spec, &s.idp), None, true)),
        SamlError::Conditions(_)
    ));
}

#[test]
fn comment_inside_name_id_is_refused() {
    let s = setup();
    let mut spec = s.spec();
    spec.name_id = "admin@corp.example.evil.example".into();
    let xml = response(&spec, &s.idp).replace(
        "admin@corp.example.evil.example",
        "admin@corp.example<!---->.evil.example",
    );
    assert!(matches!(refused(s.verify(&xml)), SamlError::Structure(_)));
}

#[test]
fn dtd_and_entities_are_refused() {
    let s = setup();
    let xml = response(&s.spec(), &s.idp);
    let laughs = "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>";
    let xxe = "<!DOCTYPE r [<!ENTITY x SYSTEM \"http://127.0.0.1:9/steal\">]>";
    for dtd in [laughs, xxe] {
        let evil = format!("{dtd}{}", xml.replace("CORP\\jdoe", "&d;"));
        assert!(matches!(refused(s.verify(&evil)), SamlError::Forbidden));
    }
    let undeclared = xml.replace("CORP\\jdoe", "&x;");
    assert!(matches!(
        refused(s.verify(&undeclared)),
        SamlError::Forbidden
    ));
}

#[test]
fn oversized_and_malformed_inputs_are_refused() {
    let s = setup();
    let keys = s.sp.decryption_keys();
    let ctx = SamlVerifyContext {
        idp: &s.md,
        sp_entity_id: SP,
        acs_url: ACS,
        allow_idp_initiated: false,
        require_encrypted: false,
        clock_skew_s: 120,
        now: now(),
        decryption_keys: &keys,
    };
    let big = vec![b'A'; 2_000_000];
    assert!(matches!(
        verify_response(&big, Some(REQ), &ctx),
        Err(SamlError::TooLarge)
    ));
    assert!(matches!(
        verify_response(b"PHNhbWxw%%%Oi==", Some(REQ), &ctx),
        Err(SamlError::Encoding)
    ));
    assert!(matches!(
        verify_response(b64("<samlp:Response").as_bytes(), Some(REQ), &ctx),
        Err(SamlError::Malformed)
    ));
}

/// Pieces of a signed response for the wrapping attacks.
struct Parts {
    signed_assertion: String,
    evil_assertion: String,
    signature: String,
}

fn parts(s: &Setup) -> Parts {
    let spec = s.spec();
    let signed_assertion = assertion(&spec, &s.idp);
    let start = signed_assertion.find("<ds:Signature").unwrap();
    let end = signed_assertion.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let signature = signed_assertion[start..end].to_owned();
    let evil_assertion = format!("{}{}", &signed_assertion[..start], &signed_assertion[end..])
        .replace("CORP\\jdoe", "CORP\\Administrator")
        .replace(&spec.assertion_id, "_evil");
    Parts {
        signed_assertion,
        evil_assertion,
        signature,
    }
}

fn envelope(s: &Setup, inner: &str) -> String {
    let mut spec = s.spec();
    spec.sign_response = false;
    response_with(&spec, inner, &s.idp)
}

#[test]
fn xml_signature_wrapping_is_refused() {
    let s = setup();
    let p = parts(&s);
    let obj = |content: &str| {
        p.signature.replace(
            "</ds:Signature>",
            &format!("<ds:Object>{content}</ds:Object></ds:Signature>"),
        )
    };
    // A signed Response (for XSW1/2).
    let mut rs = s.spec();
    rs.sign_response = true;
    rs.sign_assertion = false;
    let signed_response = response(&rs, &s.idp);
    let rsig_start = signed_response.find("<ds:Signature").unwrap();
    let rsig_end = signed_response.find("</ds:Signature>").unwrap() + 15;
    let rsig = &signed_response[rsig_start..rsig_end];
    let evil_unsigned = p.evil_assertion.clone();
    let cases = vec![
        // XSW1: the signed Response moved into the Signature's Object of an evil one.
        (
            "XSW1",
            envelope(
                &s,
                &format!(
                    "{}{evil_unsigned}",
                    rsig.replace(
                        "</ds:Signature>",
                        &format!("<ds:Object>{signed_response}</ds:Object></ds:Signature>")
                    )
                ),
            ),
        ),
        // XSW2: the signed Response as a detached sibling of its signature.
        (
            "XSW2",
            envelope(&s, &format!("{signed_response}{rsig}{evil_unsigned}")),
        ),
        // XSW3: an evil assertion before the signed one.
        (
            "XSW3",
            envelope(&s, &format!("{evil_unsigned}{}", p.signed_assertion)),
        ),
        // XSW4: the evil assertion wraps the signed one.
        (
            "XSW4",
            envelope(
                &s,
                &evil_unsigned.replace(
                    "</saml:Assertion>",
                    &format!("{}</saml:Assertion>", p.signed_assertion),
                ),
            ),
        ),
        // XSW5: the evil assertion carries the copied signature; the original follows.
        (
            "XSW5",
            envelope(
                &s,
                &format!(
                    "{}{}",
                    evil_unsigned
                        .replace("</saml:Issuer>", &format!("</saml:Issuer>{}", p.signature)),
                    p.signed_assertion
                ),
            ),
        ),
        // XSW6: the original inside the copied signature's Object of the evil one.
        (
            "XSW6",
            envelope(
                &s,
                &evil_unsigned.replace(
                    "</saml:Issuer>",
                    &format!("</saml:Issuer>{}", obj(&p.signed_assertion)),
                ),
            ),
        ),
        // XSW7: the original hidden in Extensions.
        (
            "XSW7",
            envelope(
                &s,
                &format!(
                    "<samlp:Extensions>{}</samlp:Extensions>{evil_unsigned}",
                    p.signed_assertion
                ),
            ),
        ),
        // XSW8: the original, without its signature, inside an Object of the evil one.
        (
            "XSW8",
            envelope(
                &s,
                &evil_unsigned.replace(
                    "</saml:Issuer>",
                    &format!(
                        "</saml:Issuer>{}",
                        obj(&p.signed_assertion.replace(&p.signature, ""))
                    ),
                ),
            ),
        ),
        // The evil assertion re-using the signed one's ID and signature.
        (
            "copied-signature",
            envelope(
                &s,
                &evil_unsigned
                    .replace("_evil", &s.spec().assertion_id)
                    .replace("</saml:Issuer>", &format!("</saml:Issuer>{}", p.signature)),
            ),
        ),
    ];
    for (name, xml) in cases {
        let r = s.verify(&xml);
        assert!(r.is_err(), "{name} accepted: {r:?}");
    }
    // The untouched parts still verify (the attacks fail for the right reason).
    s.verify(&envelope(&s, &p.signed_assertion)).unwrap();
}

#[test]
fn encrypted_assertions_decrypt_and_sign_in() {
    let s = setup();
    let cert = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &s.sp.current.encryption_cert,
    )
    .unwrap();
    for enc in [Enc::Cbc256, Enc::Gcm256, Enc::Cbc128, Enc::Gcm128] {
        let spec = s.spec();
        let ea = encrypt(&assertion(&spec, &s.idp), &cert, enc);
        let v = s.verify(&response_with(&spec, &ea, &s.idp)).unwrap();
        assert_eq!(v.name_id, "CORP\\jdoe");
    }
    // Response signed over the ciphertext, assertion unsigned inside.
    let mut spec = s.spec();
    spec.sign_assertion = false;
    spec.sign_response = true;
    let ea = encrypt(&assertion(&spec, &s.idp), &cert, Enc::Gcm256);
    s.verify(&response_with(&spec, &ea, &s.idp)).unwrap();
    // Neither signed: refused.
    spec.sign_response = false;
    let ea = encrypt(&assertion(&spec, &s.idp), &cert, Enc::Gcm256);
    assert!(s.verify(&response_with(&spec, &ea, &s.idp)).is_err());
}

#[test]
fn decryption_failures_are_uniform() {
    let s = setup();
    let spec = s.spec();
    let (_, other_cert) = rsa_key_and_cert("not the SP");
    let wrong = encrypt(&assertion(&spec, &s.idp), &other_cert, Enc::Cbc256);
    let e_wrong = refused(s.verify(&response_with(&spec, &wrong, &s.idp)));
    assert!(matches!(e_wrong, SamlError::Decryption));
    let cert = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &s.sp.current.encryption_cert,
    )
    .unwrap();
    for enc in [Enc::Cbc256, Enc::Gcm256] {
        let good = encrypt(&assertion(&spec, &s.idp), &cert, enc);
        // Flip one base64 character of the content's ciphertext (the last CipherValue).
        let at = good.rfind("</xenc:CipherValue>").unwrap() - 30;
        let mut bytes = good.into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        let e = refused(s.verify(&response_with(&spec, &tampered, &s.idp)));
        assert!(matches!(e, SamlError::Decryption));
        assert_eq!(e.to_string(), e_wrong.to_string());
    }
}
