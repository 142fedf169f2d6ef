//! Resource servers and the signing certificate through boto3: one resource with
//! `/admin/v1`, usable as client scopes.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::json;

use super::{boto3, fails, ok};
use crate::harness::Gw;

#[tokio::test]
async fn resource_servers_are_the_admin_apis_and_scope_clients() {
    let gw = Gw::start().await;
    let scopes = json!([{"ScopeName": "read", "ScopeDescription": "Read"}, {"ScopeName": "write", "ScopeDescription": "Write"}]);
    let r = boto3(
        &gw,
        &[
            ("CreateResourceServer", json!({"UserPoolId": "default", "Identifier": "https://api.example.com", "Name": "api", "Scopes": scopes})),
            ("CreateResourceServer", json!({"UserPoolId": "default", "Identifier": "https://api.example.com", "Name": "again"})),
            ("DescribeResourceServer", json!({"UserPoolId": "default", "Identifier": "https://api.example.com"})),
            ("CreateUserPoolClient", json!({"UserPoolId": "default", "ClientName": "svc", "GenerateSecret": true,
                "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": ["https://api.example.com/read"]})),
            ("UpdateResourceServer", json!({"UserPoolId": "default", "Identifier": "https://api.example.com", "Name": "api v2", "Scopes": [{"ScopeName": "read", "ScopeDescription": "Read"}]})),
            ("ListResourceServers", json!({"UserPoolId": "default", "MaxResults": 10})),
            ("DescribeResourceServer", json!({"UserPoolId": "default", "Identifier": "https://nope"})),
        ],
    )
    .await;
    assert!(r[0].get("ok").is_some(), "{}", r[0]);
    assert_eq!(
        r[1]["error"]["Code"], "InvalidParameterException",
        "{}",
        r[1]
    );
    assert_eq!(
        r[2]["ok"]["ResourceServer"]["Scopes"][1]["ScopeName"],
        "write"
    );
    let client = &r[3]["ok"]["UserPoolClient"];
    assert_eq!(
        client["AllowedOAuthScopes"],
        json!(["https://api.example.com/read"]),
        "{}",
        r[3]
    );
    assert!(
        client["ClientSecret"]
            .as_str()
            .is_some_and(|s| s.len() >= 32)
    );
    assert_eq!(r[4]["ok"]["ResourceServer"]["Name"], "api v2");
    assert_eq!(r[5]["ok"]["ResourceServers"].as_array().unwrap().len(), 1);
    assert_eq!(r[6]["error"]["Code"], "ResourceNotFoundException");

    // The client made here gets tokens for the scope.
    let (id, secret) = (
        client["ClientId"].as_str().unwrap(),
        client["ClientSecret"].as_str().unwrap(),
    );
    let (s, t) = gw
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "https://api.example.com/read"),
            ],
            Some((id, secret)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");

    let (s, v) = gw
        .admin(
            "GET",
            "/pools/default/resource-servers/https%3A%2F%2Fapi.example.com",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "api v2");
    ok(
        &gw,
        "DeleteResourceServer",
        json!({"UserPoolId": "default", "Identifier": "https://api.example.com"}),
    )
    .await;
    assert_eq!(
        fails(
            &gw,
            "DeleteResourceServer",
            json!({"UserPoolId": "default", "Identifier": "https://api.example.com"})
        )
        .await,
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn the_signing_certificate_is_the_saml_sp_certificate() {
    let gw = Gw::start().await;
    let v = ok(
        &gw,
        "GetSigningCertificate",
        json!({"UserPoolId": "default"}),
    )
    .await;
    let cert = v["Certificate"].as_str().unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(cert)
        .unwrap();
    assert_eq!(der[0], 0x30, "a DER certificate");
    let metadata = gw
        .http
        .get(gw.url("/saml2/metadata"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metadata.contains(cert),
        "the certificate the SP metadata publishes"
    );
    assert_eq!(
        fails(
            &gw,
            "GetSigningCertificate",
            json!({"UserPoolId": "eu-west-1_Nope12345"})
        )
        .await,
        "ResourceNotFoundException"
    );
}
