//! SAML fixtures made at test time: a fake IdP with a fresh RSA key and self-signed
//! certificate, AD FS-shaped Responses signed with libxmlsec1 (through samael's
//! signer), and XML Encryption of assertions (RSA-OAEP + AES-CBC/GCM). No private key
//! is committed; `tests/fixtures/saml/README.md` says how to regenerate by hand.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{AES_128, AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{
    KeyPair as RsaKeyPair, KeySize, OAEP_SHA1_MGF1SHA1, OaepPublicEncryptingKey,
    PublicEncryptingKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poolgate::provider::protocol::saml::redirect::xml_time;
use samael::crypto::{Crypto, CryptoProvider};

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
pub const ADFS: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A fake IdP: key pair and certificate.
pub struct Idp {
    pub entity_id: String,
    pub key_pkcs8: Vec<u8>,
    pub cert_der: Vec<u8>,
}

pub fn rsa_key_and_cert(cn: &str) -> (Vec<u8>, Vec<u8>) {
    let kp = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = kp.as_der().unwrap().as_ref().to_vec();
    let rk = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &der.as_slice().into(),
        &rcgen::PKCS_RSA_SHA256,
    )
    .unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&rk).unwrap();
    (der, cert.der().to_vec())
}

impl Idp {
    pub fn new(entity_id: &str) -> Self {
        let (key_pkcs8, cert_der) = rsa_key_and_cert("ADFS Signing - test");
        Self {
            entity_id: entity_id.to_owned(),
            key_pkcs8,
            cert_der,
        }
    }

    pub fn cert_b64(&self) -> String {
        STANDARD.encode(&self.cert_der)
    }

    /// AD FS-shaped metadata, the certificate wrapped at 64 columns as AD FS does.
    pub fn metadata(&self, sso: &str, slo: Option<&str>, extra_certs: &[&Idp]) -> String {
        let wrap = |b: String| {
            b.as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut keys = String::new();
        for c in std::iter::once(self).chain(extra_certs.iter().copied()) {
            keys.push_str(&format!(
                "<KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>{}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>",
                wrap(c.cert_b64())
            ));
        }
        let slo = slo
            .map(|s| format!("<SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{s}\"/>"))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><EntityDescriptor ID=\"_md\" entityID=\"{}\" xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"><IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{keys}{slo}<NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat><SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{sso}\"/><SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{sso}\"/></IDPSSODescriptor></EntityDescriptor>",
            self.entity_id
        )
    }
}

/// What goes into a Response.
#[derive(Clone)]
pub struct Spec {
    pub response_id: String,
    pub assertion_id: String,
    pub issuer: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub recipient: String,
    pub audience: String,
    pub name_id: String,
    pub name_id_format: String,
    pub issue_instant: i64,
    pub not_before: i64,
    pub not_on_or_after: i64,
    pub attributes: Vec<(String, Vec<String>)>,
    pub sign_assertion: bool,
    pub sign_response: bool,
    pub sig_alg: &'static str,
    pub digest: &'static str,
}

impl Spec {
    /// An AD FS-shaped, SP-initiated response to `request_id`.
    pub fn adfs(idp: &Idp, sp_entity: &str, acs: &str, request_id: Option<&str>) -> Self {
        let t = now();
        Self {
            response_id: format!("_r{}", uuid::Uuid::new_v4().simple()),
            assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
            issuer: idp.entity_id.clone(),
            destination: Some(acs.to_owned()),
            in_response_to: request_id.map(str::to_owned),
            recipient: acs.to_owned(),
            audience: sp_entity.to_owned(),
            name_id: "CORP\\jdoe".to_owned(),
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".to_owned(),
            issue_instant: t,
            not_before: t - 5,
            not_on_or_after: t + 3600,
            attributes: vec![
                (
                    format!("{ADFS}/emailaddress"),
                    vec!["jdoe@corp.example".into()],
                ),
                (format!("{ADFS}/givenname"), vec!["Jane".into()]),
                (format!("{ADFS}/surname"), vec!["Doe".into()]),
                (format!("{ADFS}/upn"), vec!["jdoe@corp.example".into()]),
                (
                    "http://schemas.xmlsoap.org/claims/Group".into(),
                    vec!["Domain Users".into(), "Finance".into()],
                ),
            ],
            sign_assertion: true,
            sign_response: false,
            sig_alg: RSA_SHA256,
            digest: SHA256,
        }
    }
}

pub fn sig_template(id: &str, alg: &str, digest: &str, cert_b64: &str) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"{alg}\"/><ds:Reference URI=\"#{id}\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"{digest}\"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
    )
}

/// Signs the first signature template of `xml` with libxmlsec1; returns the document
/// without its XML declaration.
pub fn sign(xml: &str, key_pkcs8: &[u8]) -> String {
    let out = Crypto::sign_xml(xml, key_pkcs8).unwrap();
    strip_decl(&out)
}

pub fn strip_decl(s: &str) -> String {
    let s = s.trim_start();
    match s.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..].trim_start().to_owned(),
        None => s.to_owned(),
    }
}

/// The assertion, signed when the spec says so (signed with `key`).
pub fn assertion(spec: &Spec, key: &Idp) -> String {
    let mut attrs = String::new();
    for (name, values) in &spec.attributes {
        attrs.push_str(&format!("<saml:Attribute Name=\"{name}\">"));
        for v in values {
            attrs.push_str(&format!("<saml:AttributeValue>{v}</saml:AttributeValue>"));
        }
        attrs.push_str("</saml:Attribute>");
    }
    let irt = spec
        .in_response_to
        .as_ref()
        .map(|i| format!(" InResponseTo=\"{i}\""))
        .unwrap_or_default();
    let sig = if spec.sign_assertion {
        sig_template(
            &spec.assertion_id,
            spec.sig_alg,
            spec.digest,
            &key.cert_b64(),
        )
    } else {
        String::new()
    };
    let xml = format!(
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" IssueInstant=\"{ii}\" Version=\"2.0\"><saml:Issuer>{iss}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format=\"{nf}\">{nid}</saml:NameID><saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml:SubjectConfirmationData{irt} NotOnOrAfter=\"{scnoa}\" Recipient=\"{rcp}\"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{noa}\"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement>{attrs}</saml:AttributeStatement><saml:AuthnStatement AuthnInstant=\"{ii}\" SessionIndex=\"{id}\"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement></saml:Assertion>",
        id = spec.assertion_id,
        ii = xml_time(spec.issue_instant),
        iss = spec.issuer,
        nf = spec.name_id_format,
        nid = spec.name_id,
        scnoa = xml_time(spec.not_on_or_after.min(spec.issue_instant + 300)),
        rcp = spec.recipient,
        nb = xml_time(spec.not_before),
        noa = xml_time(spec.not_on_or_after),
        aud = spec.audience,
    );
    if spec.sign_assertion {
        sign(&xml, &key.key_pkcs8)
    } else {
        xml
    }
}

/// A Response around `inner` (an Assertion or EncryptedAssertion element).
pub fn response_with(spec: &Spec, inner: &str, key: &Idp) -> String {
    let irt = spec
        .in_response_to
        .as_ref()
        .map(|i| format!(" InResponseTo=\"{i}\""))
        .unwrap_or_default();
    let dest = spec
        .destination
        .as_ref()
        .map(|d| format!(" Destination=\"{d}\""))
        .unwrap_or_default();
    let sig = if spec.sign_response {
        sig_template(
            &spec.response_id,
            spec.sig_alg,
            spec.digest,
            &key.cert_b64(),
        )
    } else {
        String::new()
    };
    let xml = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\"{dest}{irt} Consent=\"urn:oasis:names:tc:SAML:2.0:consent:unspecified\"><Issuer xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\">{}</Issuer>{sig}<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>{inner}</samlp:Response>",
        spec.response_id,
        xml_time(spec.issue_instant),
        spec.issuer,
    );
    if spec.sign_response {
        sign(&xml, &key.key_pkcs8)
    } else {
        xml
    }
}

pub fn response(spec: &Spec, key: &Idp) -> String {
    response_with(spec, &assertion(spec, key), key)
}

pub fn b64(xml: &str) -> String {
    STANDARD.encode(xml)
}

#[derive(Clone, Copy)]
pub enum Enc {
    Cbc128,
    Cbc256,
    Gcm128,
    Gcm256,
}

/// `EncryptedAssertion` as AD FS writes it: RSA-OAEP (SHA-1) key transport to the SP
/// encryption certificate, content encrypted with `enc`.
pub fn encrypt(assertion_xml: &str, sp_cert_der: &[u8], enc: Enc) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(sp_cert_der).unwrap();
    let spki = cert.public_key().raw;
    let pk = OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(spki).unwrap()).unwrap();
    let (klen, uri) = match enc {
        Enc::Cbc128 => (16, "http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
        Enc::Cbc256 => (32, "http://www.w3.org/2001/04/xmlenc#aes256-cbc"),
        Enc::Gcm128 => (16, "http://www.w3.org/2009/xmlenc11#aes128-gcm"),
        Enc::Gcm256 => (32, "http://www.w3.org/2009/xmlenc11#aes256-gcm"),
    };
    let mut cek = vec![0u8; klen];
    aws_lc_rs::rand::fill(&mut cek).unwrap();
    let mut ek = vec![0u8; pk.ciphertext_size()];
    let ek = pk
        .encrypt(&OAEP_SHA1_MGF1SHA1, &cek, &mut ek, None)
        .unwrap()
        .to_vec();
    let data = match enc {
        Enc::Cbc128 | Enc::Cbc256 => {
            let alg = if klen == 16 { &AES_128 } else { &AES_256 };
            let mut pt = assertion_xml.as_bytes().to_vec();
            let pad = 16 - pt.len() % 16;
            pt.extend(std::iter::repeat_n(0xA5u8, pad - 1));
            pt.push(pad as u8);
            let mut iv = [0u8; 16];
            aws_lc_rs::rand::fill(&mut iv).unwrap();
            let k = EncryptingKey::cbc(UnboundCipherKey::new(alg, &cek).unwrap()).unwrap();
            k.less_safe_encrypt(&mut pt, EncryptionContext::Iv128(FixedLength::from(iv)))
                .unwrap();
            [iv.to_vec(), pt].concat()
        }
        Enc::Gcm128 | Enc::Gcm256 => {
            let alg = if klen == 16 {
                &AES_128_GCM
            } else {
                &AES_256_GCM
            };
            let mut iv = [0u8; 12];
            aws_lc_rs::rand::fill(&mut iv).unwrap();
            let k = LessSafeKey::new(UnboundKey::new(alg, &cek).unwrap());
            let mut buf = assertion_xml.as_bytes().to_vec();
            k.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut buf)
                .unwrap();
            [iv.to_vec(), buf].concat()
        }
    };
    format!(
        "<saml:EncryptedAssertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\"><xenc:EncryptionMethod Algorithm=\"{uri}\"/><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><e:EncryptedKey xmlns:e=\"http://www.w3.org/2001/04/xmlenc#\"><e:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"><DigestMethod Algorithm=\"{SHA1}\"/></e:EncryptionMethod><e:CipherData><e:CipherValue>{}</e:CipherValue></e:CipherData></e:EncryptedKey></KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>",
        STANDARD.encode(ek),
        STANDARD.encode(data)
    )
}
