//! Signatures and protocol errors: each bad call answers Cognito's error code with
//! HTTP 400 and changes nothing.

use serde_json::{Value, json};

use super::{Creds, aws_cli, boto3, boto3_as, raw};
use crate::harness::Gw;

const LIST: &str = "AWSCognitoIdentityProviderService.ListUserPools";
const JSON11: &str = "application/x-amz-json-1.1";

fn code(r: &Value) -> &str {
    r["error"]["Code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {r}"))
}

#[tokio::test]
async fn boto3_and_the_aws_cli_list_pools_with_the_admin_token_as_secret() {
    let gw = Gw::start().await;
    let r = boto3(&gw, &[("ListUserPools", json!({"MaxResults": 10}))]).await;
    let pools = r[0]["ok"]["UserPools"]
        .as_array()
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!(pools.iter().any(|p| p["Id"] == "default"), "{r:?}");
    let (ok, v, err) = aws_cli(&gw, &["list-user-pools", "--max-results", "5"]).await;
    assert!(ok, "{err}");
    assert!(
        v["UserPools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Id"] == "default"),
        "{v}"
    );
}

#[tokio::test]
async fn bad_credentials_and_clocks_are_refused_as_aws_does() {
    let gw = Gw::start().await;
    let call = [("ListUserPools", json!({"MaxResults": 10}))];
    let cases = [
        (
            Creds {
                secret: "not-the-admin-token-0123".into(),
                ..Creds::default()
            },
            "InvalidSignatureException",
        ),
        (
            Creds {
                key: "AKIDSOMEONEELSE".into(),
                ..Creds::default()
            },
            "UnrecognizedClientException",
        ),
        (
            Creds {
                skew_s: -600,
                ..Creds::default()
            },
            "InvalidSignatureException",
        ),
        (
            Creds {
                skew_s: 600,
                ..Creds::default()
            },
            "InvalidSignatureException",
        ),
    ];
    for (creds, want) in cases {
        let r = boto3_as(&gw, &creds, &call).await;
        assert_eq!(code(&r[0]), want, "{r:?}");
        assert_eq!(r[0]["status"], 400, "{r:?}");
        assert_eq!(r[0]["headers"]["x-amzn-errortype"], want, "{r:?}");
    }
    // Within five minutes is fine.
    let r = boto3_as(
        &gw,
        &Creds {
            skew_s: -200,
            ..Creds::default()
        },
        &call,
    )
    .await;
    assert!(r[0].get("ok").is_some(), "{r:?}");
}

#[tokio::test]
async fn an_unsigned_admin_call_is_unrecognized() {
    let gw = Gw::start().await;
    let resp = gw
        .http
        .post(gw.url("/"))
        .header("x-amz-target", LIST)
        .header("content-type", JSON11)
        .body(r#"{"MaxResults": 10}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "UnrecognizedClientException"
    );
    assert_eq!(resp.headers()["content-type"], JSON11);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["__type"], "UnrecognizedClientException");
    assert!(v["message"].is_string());
}

#[tokio::test]
async fn malformed_bodies_and_targets_answer_cognito_codes() {
    let gw = Gw::start().await;
    let c = Creds::default();
    let cases: [(&str, &str, &[u8], &str); 7] = [
        (
            LIST,
            JSON11,
            b"{\"MaxResults\": 10",
            "SerializationException",
        ),
        (LIST, JSON11, b"[1, 2]", "SerializationException"),
        (
            LIST,
            JSON11,
            br#"{"MaxResults": "ten"}"#,
            "SerializationException",
        ),
        (
            LIST,
            JSON11,
            br#"{"NextToken": "x"}"#,
            "InvalidParameterException",
        ),
        (
            LIST,
            JSON11,
            br#"{"MaxResults": 0}"#,
            "InvalidParameterException",
        ),
        (
            "AWSCognitoIdentityProviderService.NoSuchOperation",
            JSON11,
            b"{}",
            "UnknownOperationException",
        ),
        (
            "SomeOtherService.ListUserPools",
            JSON11,
            b"{}",
            "UnknownOperationException",
        ),
    ];
    for (target, ct, body, want) in cases {
        let (status, headers, text) = raw(&gw, &c, target, ct, body).await;
        assert_eq!(status, 400, "{target} {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["__type"],
            want,
            "{} -> {text}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(headers["x-amzn-errortype"], want);
    }
    // A body over the cap is refused without being read whole.
    let big = format!(
        "{{\"NextToken\": \"{}\", \"MaxResults\": 1}}",
        "a".repeat(300 * 1024)
    );
    let (status, _, text) = raw(&gw, &c, LIST, JSON11, big.as_bytes()).await;
    assert_eq!(status, 400, "{text}");
    // The same, well formed, works: the failures above were the bodies' fault.
    let (status, _, text) = raw(&gw, &c, LIST, JSON11, br#"{"MaxResults": 1}"#).await;
    assert_eq!(status, 200, "{text}");
    assert!(serde_json::from_str::<Value>(&text).unwrap()["UserPools"].is_array());
}
