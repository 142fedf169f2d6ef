//! Fuzz target over the ACS input path: `verify_response` on (a) raw form values,
//! (b) raw XML, and (c) edit scripts applied to a genuine signed AD FS response, so
//! that mutations reach the signature, decryption and condition layers. Properties:
//! no panic, no hang, and nothing accepted but the identity that was signed.
#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use poolgate::provider::protocol::saml::redirect::xml_time;
use poolgate::provider::protocol::saml::{
    IdpMetadata, SamlVerifyContext, parse_metadata, verify_response,
};
use samael::crypto::{Crypto, CryptoProvider};

const SP: &str = "urn:poolgate:sp:default";
const ACS: &str = "https://login.acme.test/saml2/idpresponse";
const REQ: &str = "_0123456789abcdef0123456789abcdef";
const IDP: &str = "http://adfs.corp.example/adfs/services/trust";

struct Fixture {
    md: IdpMetadata,
    seed: String,
}

/// Pieces an edit may insert: the syntax attacks care about.
const SNIPPETS: &[&str] = &[
    "<!---->",
    "<!DOCTYPE r [<!ENTITY x \"y\">]>",
    "&x;",
    "&#0;",
    "<![CDATA[x]]>",
    "<saml:Assertion ID=\"_e\">",
    "</saml:Assertion>",
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">",
    "<ds:Object>",
    " ID=\"_a1\"",
    "xmlns:saml=\"urn:x\"",
    "CORP\\admin",
    "<?pi x?>",
    "\u{feff}",
];

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = KeyPair::generate(KeySize::Rsa2048).expect("key");
        let der = key.as_der().expect("der").as_ref().to_vec();
        let rk = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der.as_slice().into(), &rcgen::PKCS_RSA_SHA256)
            .expect("rcgen key");
        let cert = rcgen::CertificateParams::new(Vec::<String>::new())
            .expect("params")
            .self_signed(&rk)
            .expect("cert");
        let cert_b64 = STANDARD.encode(cert.der());
        let md = format!(
            "<EntityDescriptor entityID=\"{IDP}\" xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"><IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>{cert_b64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://adfs.corp.example/adfs/ls/\"/></IDPSSODescriptor></EntityDescriptor>"
        );
        let t = chrono::Utc::now().timestamp();
        let sig = format!(
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><ds:Reference URI=\"#_a1\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"
        );
        let assertion = format!(
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a1\" IssueInstant=\"{ii}\" Version=\"2.0\"><saml:Issuer>{IDP}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\">CORP\\jdoe</saml:NameID><saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml:SubjectConfirmationData InResponseTo=\"{REQ}\" NotOnOrAfter=\"{noa}\" Recipient=\"{ACS}\"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{noa}\"><saml:AudienceRestriction><saml:Audience>{SP}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement><saml:Attribute Name=\"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress\"><saml:AttributeValue>jdoe@corp.example</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>",
            ii = xml_time(t),
            nb = xml_time(t - 5),
            noa = xml_time(t + 86_400),
        );
        let signed = Crypto::sign_xml(&assertion, &der).expect("sign");
        let signed = &signed[signed.find("<saml:Assertion").expect("assertion")..];
        let seed = format!(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_r1\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{ACS}\" InResponseTo=\"{REQ}\"><Issuer xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\">{IDP}</Issuer><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>{}</samlp:Response>",
            xml_time(t),
            signed.trim_end()
        );
        Fixture {
            md: parse_metadata(&md).expect("metadata"),
            seed,
        }
    })
}

/// Applies an edit script: each 4 bytes are (position hi, position lo, op, value).
fn edit(seed: &str, script: &[u8]) -> Vec<u8> {
    let mut doc = seed.as_bytes().to_vec();
    for e in script.chunks_exact(4).take(16) {
        let pos = (usize::from(e[0]) << 8 | usize::from(e[1])) % (doc.len() + 1);
        match e[2] % 4 {
            0 if pos < doc.len() => doc[pos] = e[3],
            1 => doc.insert(pos, e[3]),
            2 if pos < doc.len() => {
                doc.remove(pos);
            }
            _ => {
                let s = SNIPPETS[usize::from(e[3]) % SNIPPETS.len()];
                doc.splice(pos..pos, s.bytes());
            }
        }
    }
    doc
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else { return };
    let form: Vec<u8> = match mode % 3 {
        0 => rest.to_vec(),
        1 => STANDARD.encode(rest).into_bytes(),
        _ => STANDARD.encode(edit(&f.seed, rest)).into_bytes(),
    };
    let ctx = SamlVerifyContext {
        idp: &f.md,
        sp_entity_id: SP,
        acs_url: ACS,
        allow_idp_initiated: mode & 0x80 != 0,
        require_encrypted: false,
        clock_skew_s: 120,
        now: chrono::Utc::now().timestamp(),
        decryption_keys: &[],
    };
    let req = if mode & 0x40 != 0 { None } else { Some(REQ) };
    if let Ok(v) = verify_response(&form, req, &ctx) {
        // Whatever was accepted must be exactly what the IdP signed.
        assert_eq!(v.name_id, "CORP\\jdoe");
        assert_eq!(v.assertion_id, "_a1");
        assert_eq!(v.issuer, IDP);
        assert_eq!(
            v.attributes.get("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"),
            Some(&vec!["jdoe@corp.example".to_owned()])
        );
    }
});
