//! Cognito's SAML provider detail `RequestSigningAlgorithm` (`rsa-sha256`, as a
//! provider described on a real pool carries it): accepted by `CreateIdentityProvider`
//! and `UpdateIdentityProvider` (boto3) and by `/admin/v1` as
//! `request_signing_algorithm`, shown back by `DescribeIdentityProvider`, and what
//! AuthnRequests are signed with; any other value is refused (400,
//! `InvalidParameterException`) and changes nothing.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use super::boto3;
use crate::harness::authorize_url;
use crate::saml_e2e::{APP, env};
use crate::saml_fixtures::RSA_SHA256;

fn provider(name: &str) -> Value {
    json!({"UserPoolId": "default", "ProviderName": name})
}

fn saml_details(metadata: &str, algorithm: &str) -> Value {
    json!({
        "MetadataFile": metadata,
        "IDPSignout": "false",
        "RequestSigningAlgorithm": algorithm,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_signing_algorithm_round_trips_through_the_cognito_api() {
    let e = env(json!({})).await;
    let md = e
        .idp
        .metadata("https://adfs.corp.example/adfs/ls/", None, &[]);
    let mut create = provider("Signed");
    create["ProviderType"] = json!("SAML");
    create["ProviderDetails"] = saml_details(&md, "rsa-sha256");
    let mut update = provider("Signed");
    update["ProviderDetails"] = saml_details(&md, "rsa-sha1");
    let mut other = provider("Sha512");
    other["ProviderType"] = json!("SAML");
    other["ProviderDetails"] = saml_details(&md, "rsa-sha512");
    let r = boto3(
        &e.gw,
        &[
            ("CreateIdentityProvider", create),
            ("DescribeIdentityProvider", provider("Signed")),
            ("UpdateIdentityProvider", update),
            ("CreateIdentityProvider", other),
            ("DescribeIdentityProvider", provider("Sha512")),
            ("DescribeIdentityProvider", provider("Signed")),
        ],
    )
    .await;
    assert!(r[0].get("ok").is_some(), "{}", r[0]);
    let described = &r[1]["ok"]["IdentityProvider"]["ProviderDetails"];
    assert_eq!(
        described["RequestSigningAlgorithm"], "rsa-sha256",
        "{}",
        r[1]
    );
    assert_eq!(described["IDPSignout"], "false");

    // Another algorithm: refused, naming the detail and the one value it takes.
    for refused in [&r[2], &r[3]] {
        assert_eq!(refused["status"], 400, "{refused}");
        assert_eq!(refused["error"]["Code"], "InvalidParameterException");
        let message = refused["error"]["Message"].as_str().unwrap();
        assert!(
            message.contains("request_signing_algorithm") && message.contains("rsa-sha256"),
            "{message}"
        );
    }
    // ... and nothing changed: no provider made, the other one as it was.
    assert_eq!(
        r[4]["error"]["Code"], "ResourceNotFoundException",
        "{}",
        r[4]
    );
    assert_eq!(
        r[5]["ok"]["IdentityProvider"]["ProviderDetails"]["RequestSigningAlgorithm"],
        "rsa-sha256"
    );
    let (s, v) =
        e.gw.admin("GET", "/pools/default/providers/Signed", None)
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["details"]["request_signing_algorithm"], "rsa-sha256");
}

#[tokio::test]
async fn request_signing_algorithm_in_the_admin_api_signs_requests_with_rsa_sha256() {
    let e = env(json!({"request_signing_algorithm": "rsa-sha256"})).await;
    let (s, v) =
        e.gw.admin("GET", "/pools/default/providers/AcmeADFS", None)
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["details"]["request_signing_algorithm"], "rsa-sha256");

    // The AuthnRequest is signed (HTTP-Redirect binding) with RSA-SHA256.
    let url = authorize_url(
        &e.gw,
        &e.client_id,
        APP,
        &[("identity_provider", "AcmeADFS"), ("scope", "openid")],
    );
    let r = e.gw.http.get(url).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: BTreeMap<String, String> = to.query_pairs().into_owned().collect();
    assert_eq!(q["SigAlg"], RSA_SHA256);
    assert!(!q["Signature"].is_empty());

    // Another value, or a signing algorithm for requests that are not signed: 400
    // naming the detail, and nothing registered.
    let md = e
        .idp
        .metadata("https://adfs.corp.example/adfs/ls/", None, &[]);
    for details in [
        json!({"metadata_xml": md, "request_signing_algorithm": "hmac-sha256"}),
        json!({"metadata_xml": md, "request_signing_algorithm": "RSA-SHA1"}),
        json!({"metadata_xml": md, "request_signing_algorithm": 256}),
        json!({"metadata_xml": md, "request_signing_algorithm": "rsa-sha256", "sign_requests": false}),
    ] {
        let (s, v) =
            e.gw.admin(
                "PUT",
                "/pools/default/providers/Refused",
                Some(json!({"type": "SAML", "details": details})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v.to_string().contains("details.request_signing_algorithm"),
            "{v}"
        );
    }
    let (s, _) =
        e.gw.admin("GET", "/pools/default/providers/Refused", None)
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
