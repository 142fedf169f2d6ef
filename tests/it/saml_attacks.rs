//! The attacks on the signature and encryption layers: XML signature wrapping
//! (XSW1..XSW8) and decryption (AES-CBC/GCM sign-in, uniform failures).

use poolgate::provider::protocol::saml::SamlError;

use super::saml_fixtures::*;
use super::saml_verify::{Setup, refused, setup};

/// Pieces of a signed response for the wrapping attacks.
struct Parts {
    assertion_id: String,
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
        assertion_id: spec.assertion_id.clone(),
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
        // A twin of the signed ID as xml:id elsewhere (libxml2 registers xml:id).
        (
            "xml:id twin",
            envelope(
                &s,
                &format!(
                    "<samlp:Extensions><x:Twin xmlns:x=\"urn:x\" xml:id=\"{}\"/></samlp:Extensions>{}",
                    p.assertion_id, p.signed_assertion
                ),
            ),
        ),
        // The evil assertion re-using the signed one's ID and signature.
        (
            "copied-signature",
            envelope(
                &s,
                &evil_unsigned
                    .replace("_evil", &p.assertion_id)
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
