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

pub struct Setup {
    pub idp: Idp,
    pub md: IdpMetadata,
    pub sp: SpKeys,
}

pub fn setup() -> Setup {
    let idp = Idp::new("http://adfs.corp.example/adfs/services/trust");
    let md =
        parse_metadata(&idp.metadata("https://adfs.corp.example/adfs/ls/", None, &[])).unwrap();
    let sp = SpKeys::generate("default", now()).unwrap();
    Setup { idp, md, sp }
}

impl Setup {
    pub fn verify_opts(
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
            decryption_keys: keys,
        };
        verify_response(b64(xml).as_bytes(), req, &ctx)
    }
    pub fn verify(&self, xml: &str) -> Result<VerifiedLogin, SamlError> {
        self.verify_opts(xml, Some(REQ), false)
    }
    pub fn spec(&self) -> Spec {
        Spec::adfs(&self.idp, SP, ACS, Some(REQ))
    }
}

pub fn refused(r: Result<VerifiedLogin, SamlError>) -> SamlError {
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
        decryption_keys: keys,
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

/// Regression (found by the fuzzer): characters XML 1.0 forbids are dropped by libxml2
/// while it digests, so they left a signature valid while changing a mapped value.
#[test]
fn forbidden_characters_inserted_after_signing_are_refused() {
    let s = setup();
    for inserted in ["\u{19}", "&#x19;", "&#1;"] {
        let xml = response(&s.spec(), &s.idp).replace("Finance", &format!("Fin{inserted}ance"));
        refused(s.verify(&xml));
    }
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
        decryption_keys: keys,
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
