//! SAML single logout: `/logout` sends a signed LogoutRequest to the IdP, and
//! `/saml2/logout` accepts only the IdP's signed LogoutResponse to that request,
//! verified over the raw query bytes (lower-case percent escapes, as .NET writes them).

use std::collections::BTreeMap;
use std::io::Read;

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poolgate::provider::protocol::saml::redirect::deflate_b64;
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

use super::saml_e2e::*;
use super::saml_fixtures::*;

/// Percent-encodes with lower-case hex, as .NET's UrlEncode does.
fn dotnet_encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02x}"));
        }
    }
    o
}

/// The IdP's signed redirect query carrying `xml` as SAMLResponse.
fn idp_query(idp: &Idp, xml: &str, relay: &str) -> String {
    let signed = format!(
        "SAMLResponse={}&RelayState={}&SigAlg={}",
        dotnet_encode(&deflate_b64(xml).unwrap()),
        dotnet_encode(relay),
        dotnet_encode("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    );
    let key = RsaKeyPair::from_pkcs8(&idp.key_pkcs8).unwrap();
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!(
        "{signed}&Signature={}",
        dotnet_encode(&STANDARD.encode(sig))
    )
}

fn logout_response(idp: &Idp, in_response_to: &str, dest: &str) -> String {
    format!(
        "<samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_lr1\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{dest}\" InResponseTo=\"{in_response_to}\"><Issuer xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\">{}</Issuer><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status></samlp:LogoutResponse>",
        poolgate::provider::protocol::saml::redirect::xml_time(now()),
        idp.entity_id
    )
}

#[tokio::test]
async fn single_logout_round_trip() {
    let e = env(json!({"idp_signout": true})).await;
    let sent = e.begin().await;
    let r =
        e.gw.http
            .post(e.acs())
            .form(&[
                (
                    "SAMLResponse",
                    b64(&response(&e.spec(&sent), &e.idp)).as_str(),
                ),
                ("RelayState", sent.relay_state.as_str()),
            ])
            .send()
            .await
            .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("pg_saml=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let handle = cookie.split(';').next().unwrap().to_owned();

    let bye = "https://app.example/bye";
    let logout = format!(
        "{}?client_id={}&logout_uri={}",
        e.gw.url("/logout"),
        e.client_id,
        dotnet_encode(bye)
    );
    let r =
        e.gw.http
            .get(&logout)
            .header("cookie", &handle)
            .send()
            .await
            .unwrap();
    assert!(r.status().is_redirection());
    let loc = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(loc.as_str().starts_with(SLO), "{loc}");
    let q: BTreeMap<String, String> = loc.query_pairs().into_owned().collect();
    assert!(q.contains_key("Signature"));
    let raw = STANDARD.decode(&q["SAMLRequest"]).unwrap();
    let mut req = String::new();
    flate2::read::DeflateDecoder::new(raw.as_slice())
        .read_to_string(&mut req)
        .unwrap();
    assert!(req.contains(">CORP\\jdoe</saml:NameID>"), "{req}");
    assert!(req.contains("<samlp:SessionIndex>"), "{req}");
    let id_at = req.find(" ID=\"").unwrap() + 5;
    let request_id = &req[id_at..id_at + req[id_at..].find('"').unwrap()];
    let relay = &q["RelayState"];
    let dest = e.gw.url("/saml2/logout");

    // A forged response (signed by another key) is refused and does not consume.
    let other = Idp::new(&e.idp.entity_id);
    let forged = idp_query(&other, &logout_response(&other, request_id, &dest), relay);
    let r =
        e.gw.http
            .get(format!("{dest}?{forged}"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A response to another request is refused.
    let wrong = idp_query(&e.idp, &logout_response(&e.idp, "_other", &dest), relay);
    let r =
        e.gw.http
            .get(format!("{dest}?{wrong}"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let good = idp_query(&e.idp, &logout_response(&e.idp, request_id, &dest), relay);
    assert!(good.contains("%2f") || good.contains("%2b") || good.contains("%3d"));
    let r =
        e.gw.http
            .get(format!("{dest}?{good}"))
            .send()
            .await
            .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"].to_str().unwrap(), bye);
    // Once only.
    let r =
        e.gw.http
            .get(format!("{dest}?{good}"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
