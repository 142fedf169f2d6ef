//! Issue 14: a pool's SAML SP entity ID set to Cognito's `urn:amazon:cognito:sp:{pool}`
//! is the issuer of its AuthnRequests and the audience its assertions must name, so an
//! AD FS relying-party trust made for Cognito works unchanged.

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

use crate::harness::authorize_url;
use crate::saml_e2e::{APP, Env, SP, code_of, env};
use crate::saml_fixtures::{Spec, response};

const URN: &str = "urn:amazon:cognito:sp:us-east-1_AbCdEfGhI";

/// Starts a sign-in; the AuthnRequest's XML and the RelayState.
async fn begin(e: &Env) -> (String, String) {
    let url = authorize_url(
        &e.gw,
        &e.client_id,
        APP,
        &[
            ("identity_provider", "AcmeADFS"),
            ("scope", "openid email"),
            ("state", "st"),
        ],
    );
    let r = e.gw.http.get(url).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let loc = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: BTreeMap<String, String> = loc.query_pairs().into_owned().collect();
    let raw = STANDARD.decode(&q["SAMLRequest"]).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(raw.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    (xml, q["RelayState"].clone())
}

fn request_id(xml: &str) -> String {
    let at = xml.find(" ID=\"").unwrap() + 5;
    xml[at..at + xml[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn cognito_sp_entity_id_in_requests_metadata_and_audience() {
    let e = env(json!({})).await;
    let (s, v) =
        e.gw.admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"sp_entity_id": URN}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let (xml, relay) = begin(&e).await;
    assert!(
        xml.contains(&format!("<saml:Issuer>{URN}</saml:Issuer>")),
        "{xml}"
    );
    // An assertion for the former entity ID is for someone else now.
    let old = Spec::adfs(&e.idp, SP, &e.acs(), Some(&request_id(&xml)));
    let refused = e
        .post(&STANDARD.encode(response(&old, &e.idp)), &relay)
        .await;
    assert!(!refused.0.is_server_error(), "{refused:?}");
    assert!(code_of(&refused.1).is_none(), "{refused:?}");

    let (xml, relay) = begin(&e).await;
    let spec = Spec::adfs(&e.idp, URN, &e.acs(), Some(&request_id(&xml)));
    let (status, loc) = e
        .post(&STANDARD.encode(response(&spec, &e.idp)), &relay)
        .await;
    assert!(status.is_redirection(), "{status}");
    assert!(code_of(&loc).is_some(), "{loc:?}");
}
