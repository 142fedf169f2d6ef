//! poolgate's own provider types (`OAuth2`, `GitHub`) through the Cognito API: shown
//! under their own type name by Describe, List and GetIdentityProviderByIdentifier
//! (read raw: the type is outside the model's enum, which boto3 does not check but the
//! answer check of [`super::boto3`] does), refused by CreateIdentityProvider and for
//! details by UpdateIdentityProvider, with nothing changed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Creds, aws_cli, boto3, fails, raw};
use crate::harness::Gw;

const JSON11: &str = "application/x-amz-json-1.1";

/// An operation signed by botocore, its body sent as is: (status, answer).
async fn call(gw: &Gw, op: &str, body: Value) -> (u16, Value) {
    let (status, _, text) = raw(
        gw,
        &Creds::default(),
        &format!("AWSCognitoIdentityProviderService.{op}"),
        JSON11,
        body.to_string().as_bytes(),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{op}: {e}: {text}")),
    )
}

fn oauth2_details() -> Value {
    json!({"client_id": "plain-client", "client_secret": "plain-secret-0123456789",
           "authorize_url": "https://oauth.example.test/authorize",
           "token_url": "https://oauth.example.test/token",
           "userinfo_url": "https://oauth.example.test/me",
           "authorize_scopes": "identify email"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_provider_types_are_shown_as_they_are_and_made_only_through_admin_v1() {
    let gw = Gw::start().await;
    for (name, body) in [
        (
            "Plain",
            json!({"type": "OAuth2", "details": oauth2_details(),
                   "attribute_mapping": {"email": "email"}, "idp_identifiers": ["plain.example.test"]}),
        ),
        (
            "GitHub",
            json!({"type": "GitHub", "details": {"client_id": "Iv1.0123456789abcdef",
                   "client_secret": "gh-secret-0123456789"}}),
        ),
    ] {
        let (s, v) = gw
            .admin(
                "PUT",
                &format!("/pools/default/providers/{name}"),
                Some(body),
            )
            .await;
        assert!(s.is_success(), "{name}: {v}");
    }

    let (s, v) = call(
        &gw,
        "DescribeIdentityProvider",
        json!({"UserPoolId": "default", "ProviderName": "Plain"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let idp = &v["IdentityProvider"];
    assert_eq!(idp["ProviderType"], "OAuth2");
    let d = &idp["ProviderDetails"];
    assert_eq!(d["authorize_url"], "https://oauth.example.test/authorize");
    assert_eq!(d["token_url"], "https://oauth.example.test/token");
    assert_eq!(d["attributes_url"], "https://oauth.example.test/me");
    assert_eq!(d["authorize_scopes"], "identify email");
    assert!(
        d.as_object().unwrap().values().all(Value::is_string),
        "every detail a string, as Cognito's: {d}"
    );
    let (s, v) = call(
        &gw,
        "DescribeIdentityProvider",
        json!({"UserPoolId": "default", "ProviderName": "GitHub"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["IdentityProvider"]["ProviderType"], "GitHub");

    let (s, v) = call(
        &gw,
        "ListIdentityProviders",
        json!({"UserPoolId": "default"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let types: Vec<(String, String)> = v["Providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["ProviderName"].as_str().unwrap().to_owned(),
                p["ProviderType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        types.contains(&("Plain".into(), "OAuth2".into())),
        "{types:?}"
    );
    assert!(
        types.contains(&("GitHub".into(), "GitHub".into())),
        "{types:?}"
    );
    let (s, v) = call(
        &gw,
        "GetIdentityProviderByIdentifier",
        json!({"UserPoolId": "default", "IdpIdentifier": "plain.example.test"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["IdentityProvider"]["ProviderName"], "Plain");

    // The AWS CLI reads them too (it parses the type as a string).
    let (done, v, err) = aws_cli(
        &gw,
        &[
            "describe-identity-provider",
            "--user-pool-id",
            "default",
            "--provider-name",
            "GitHub",
        ],
    )
    .await;
    assert!(done, "{err}");
    assert_eq!(v["IdentityProvider"]["ProviderType"], "GitHub");

    // Creating one through the Cognito API is refused, and nothing is made.
    for kind in ["OAuth2", "GitHub"] {
        let mut details: Value = oauth2_details();
        details["authorize_scopes"] = json!("read:user");
        assert_eq!(
            fails(
                &gw,
                "CreateIdentityProvider",
                json!({"UserPoolId": "default", "ProviderName": format!("New{kind}"),
                       "ProviderType": kind, "ProviderDetails": details}),
            )
            .await,
            "InvalidParameterException",
            "{kind}"
        );
        let (s, _) = gw
            .admin("GET", &format!("/pools/default/providers/New{kind}"), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{kind}");
    }

    // Their details change only through /admin/v1; mapping and identifiers here.
    let r = boto3(
        &gw,
        &[(
            "UpdateIdentityProvider",
            json!({"UserPoolId": "default", "ProviderName": "Plain",
                   "ProviderDetails": {"client_id": "other", "client_secret": "x",
                                       "authorize_url": "https://evil.example.test/a"}}),
        )],
    )
    .await;
    assert_eq!(
        r[0]["error"]["Code"], "InvalidParameterException",
        "{}",
        r[0]
    );
    let (s, v) = gw
        .admin("GET", "/pools/default/providers/Plain", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["details"]["authorize_url"],
        "https://oauth.example.test/authorize"
    );
    assert_eq!(v["details"]["client_id"], "plain-client");
    let (s, v) = call(
        &gw,
        "UpdateIdentityProvider",
        json!({"UserPoolId": "default", "ProviderName": "Plain",
               "AttributeMapping": {"email": "email", "name": "username"}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["IdentityProvider"]["ProviderType"], "OAuth2");
    let (_, v) = gw
        .admin("GET", "/pools/default/providers/Plain", None)
        .await;
    assert_eq!(v["attribute_mapping"]["name"], "username");
    assert_eq!(
        v["details"]["token_url"],
        "https://oauth.example.test/token"
    );
}
