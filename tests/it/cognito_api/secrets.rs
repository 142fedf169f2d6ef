//! Client secrets through boto3: sealed at rest, shown by `DescribeUserPoolClient`,
//! rotated with `AddUserPoolClientSecret` / `DeleteUserPoolClientSecret` (both current
//! secrets authenticate at the token endpoint), refused changes change nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{aws_cli, boto3, fails, ok};
use crate::harness::Gw;

const API: &str = "https://api.example.com";

/// A confidential client allowed `client_credentials` for `{API}/read`: (id, secret).
async fn service_client(gw: &Gw) -> (String, String) {
    ok(
        gw,
        "CreateResourceServer",
        json!({"UserPoolId": "default", "Identifier": API, "Name": "api",
            "Scopes": [{"ScopeName": "read", "ScopeDescription": "Read"}]}),
    )
    .await;
    let made = ok(
        gw,
        "CreateUserPoolClient",
        json!({"UserPoolId": "default", "ClientName": "svc", "GenerateSecret": true,
            "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": [format!("{API}/read")]}),
    )
    .await;
    let c = &made["UserPoolClient"];
    (
        c["ClientId"].as_str().unwrap().to_owned(),
        c["ClientSecret"].as_str().unwrap().to_owned(),
    )
}

async fn token_status(gw: &Gw, id: &str, secret: &str) -> StatusCode {
    let scope = format!("{API}/read");
    gw.token(
        &[("grant_type", "client_credentials"), ("scope", &scope)],
        Some((id, secret)),
    )
    .await
    .0
}

async fn secret_list(gw: &Gw, id: &str) -> Vec<Value> {
    ok(
        gw,
        "ListUserPoolClientSecrets",
        json!({"UserPoolId": "default", "ClientId": id}),
    )
    .await["ClientSecrets"]
        .as_array()
        .unwrap()
        .clone()
}

/// Every byte the SQLite store keeps on disk (the file and its write-ahead log).
fn store_bytes(gw: &Gw) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["poolgate.db", "poolgate.db-wal"] {
        if let Ok(b) = std::fs::read(gw.dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn secrets_are_sealed_shown_by_describe_and_rotated_with_two_current() {
    let mut gw = Gw::start().await;
    let (id, first) = service_client(&gw).await;
    let describe = json!({"UserPoolId": "default", "ClientId": id});
    let d = ok(&gw, "DescribeUserPoolClient", describe.clone()).await;
    assert_eq!(d["UserPoolClient"]["ClientSecret"], first.as_str());

    // Never in clear in the store; the key poolgate made is beside it, mode 0600.
    assert!(!contains(&store_bytes(&gw), &first));
    let key = gw.dir.join("secret-key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let listed = secret_list(&gw, &id).await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("ClientSecretValue").is_none(), "{listed:?}");
    let first_id = listed[0]["ClientSecretId"].as_str().unwrap().to_owned();
    assert!(first_id.starts_with(&format!("{id}--")), "{first_id}");

    // A second secret: both authenticate.
    let added = ok(
        &gw,
        "AddUserPoolClientSecret",
        json!({"UserPoolId": "default", "ClientId": id}),
    )
    .await;
    let desc = &added["ClientSecretDescriptor"];
    let second = desc["ClientSecretValue"].as_str().unwrap().to_owned();
    let second_id = desc["ClientSecretId"].as_str().unwrap().to_owned();
    assert!(desc["ClientSecretCreateDate"].is_number(), "{added}");
    assert_ne!(second, first);
    assert_ne!(second_id, first_id);
    assert!(!contains(&store_bytes(&gw), &second));
    assert_eq!(token_status(&gw, &id, &first).await, StatusCode::OK);
    assert_eq!(token_status(&gw, &id, &second).await, StatusCode::OK);
    assert_eq!(
        token_status(&gw, &id, "not-a-secret-of-this-client").await,
        StatusCode::UNAUTHORIZED
    );
    let d = ok(&gw, "DescribeUserPoolClient", describe.clone()).await;
    assert_eq!(d["UserPoolClient"]["ClientSecret"], second.as_str());

    // A third is refused and adds nothing.
    let e = fails(
        &gw,
        "AddUserPoolClientSecret",
        json!({"UserPoolId": "default", "ClientId": id}),
    )
    .await;
    assert_eq!(e, "LimitExceededException");
    assert_eq!(secret_list(&gw, &id).await.len(), 2);

    // The key file keeps the secrets readable across a restart.
    gw.restart().await;
    let d = ok(&gw, "DescribeUserPoolClient", describe.clone()).await;
    assert_eq!(d["UserPoolClient"]["ClientSecret"], second.as_str());

    // Retiring the first: it stops working, the second goes on.
    ok(
        &gw,
        "DeleteUserPoolClientSecret",
        json!({"UserPoolId": "default", "ClientId": id, "ClientSecretId": first_id}),
    )
    .await;
    assert_eq!(
        token_status(&gw, &id, &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token_status(&gw, &id, &second).await, StatusCode::OK);

    // The last one cannot be deleted; an unknown id is not found; nothing changes.
    let r = boto3(
        &gw,
        &[
            (
                "DeleteUserPoolClientSecret",
                json!({"UserPoolId": "default", "ClientId": id, "ClientSecretId": second_id}),
            ),
            (
                "DeleteUserPoolClientSecret",
                json!({"UserPoolId": "default", "ClientId": id, "ClientSecretId": first_id}),
            ),
        ],
    )
    .await;
    assert_eq!(r[0]["error"]["Code"], "InvalidParameterException", "{r:?}");
    assert_eq!(r[1]["error"]["Code"], "ResourceNotFoundException", "{r:?}");
    let listed = secret_list(&gw, &id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["ClientSecretId"], second_id.as_str());
    assert_eq!(token_status(&gw, &id, &second).await, StatusCode::OK);

    // A secret the caller chooses: not echoed back, authenticates.
    let custom = "my_own_secret_value_0123456789_abc";
    let r = boto3(
        &gw,
        &[(
            "AddUserPoolClientSecret",
            json!({"UserPoolId": "default", "ClientId": id, "ClientSecret": custom}),
        )],
    )
    .await;
    let made = &r[0]["ok"]["ClientSecretDescriptor"];
    assert!(made.get("ClientSecretValue").is_none(), "{r:?}");
    assert_eq!(secret_list(&gw, &id).await.len(), 2);
    assert_eq!(token_status(&gw, &id, custom).await, StatusCode::OK);
    assert!(!contains(&store_bytes(&gw), custom));
}

#[tokio::test]
async fn refused_secret_changes_change_nothing() {
    let gw = Gw::start().await;
    let (id, secret) = service_client(&gw).await;
    let public = ok(
        &gw,
        "CreateUserPoolClient",
        json!({"UserPoolId": "default", "ClientName": "spa"}),
    )
    .await["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = boto3(
        &gw,
        &[
            // A public client has no secret to rotate.
            (
                "AddUserPoolClientSecret",
                json!({"UserPoolId": "default", "ClientId": public}),
            ),
            (
                "ListUserPoolClientSecrets",
                json!({"UserPoolId": "default", "ClientId": public}),
            ),
            (
                "AddUserPoolClientSecret",
                json!({"UserPoolId": "default", "ClientId": "nope"}),
            ),
            (
                "AddUserPoolClientSecret",
                json!({"UserPoolId": "eu-west-1_Nope", "ClientId": id}),
            ),
            // A custom secret with characters Cognito's pattern refuses.
            (
                "AddUserPoolClientSecret",
                json!({"UserPoolId": "default", "ClientId": id,
                "ClientSecret": "has spaces and a - dash, long enough"}),
            ),
            // The same secret again.
            (
                "AddUserPoolClientSecret",
                json!({"UserPoolId": "default", "ClientId": id, "ClientSecret": secret}),
            ),
            (
                "DeleteUserPoolClientSecret",
                json!({"UserPoolId": "default", "ClientId": id, "ClientSecretId": "x"}),
            ),
            (
                "DescribeUserPoolClient",
                json!({"UserPoolId": "default", "ClientId": public}),
            ),
        ],
    )
    .await;
    assert_eq!(r[0]["error"]["Code"], "InvalidParameterException", "{r:?}");
    assert_eq!(r[1]["ok"]["ClientSecrets"], json!([]), "{r:?}");
    assert_eq!(r[2]["error"]["Code"], "ResourceNotFoundException", "{r:?}");
    assert_eq!(r[3]["error"]["Code"], "ResourceNotFoundException", "{r:?}");
    assert_eq!(r[4]["error"]["Code"], "InvalidParameterException", "{r:?}");
    assert_eq!(r[5]["error"]["Code"], "InvalidParameterException", "{r:?}");
    assert_eq!(r[6]["error"]["Code"], "ResourceNotFoundException", "{r:?}");
    assert!(r[7]["ok"]["UserPoolClient"].get("ClientSecret").is_none());
    assert_eq!(secret_list(&gw, &id).await.len(), 1);
    assert_eq!(token_status(&gw, &id, &secret).await, StatusCode::OK);
}

/// A client stored before secrets were sealed (only a digest): it authenticates, shows
/// no secret, lists its one secret, and can be rotated onto a sealed one.
#[tokio::test]
async fn a_digest_only_client_keeps_working_and_can_rotate() {
    let gw = Gw::start().await;
    let (id, _) = service_client(&gw).await;
    let store = &gw.running.as_ref().unwrap().store;
    let mut c = store.get_client("default", &id).await.unwrap().unwrap();
    let legacy = "legacy-secret-kept-as-a-digest-only";
    c.secret_hash = Some(poolgate::secret::sha256_hex(legacy));
    c.secrets.clear();
    store.put_client(&c).await.unwrap();

    assert_eq!(token_status(&gw, &id, legacy).await, StatusCode::OK);
    let d = ok(
        &gw,
        "DescribeUserPoolClient",
        json!({"UserPoolId": "default", "ClientId": id}),
    )
    .await;
    assert!(d["UserPoolClient"].get("ClientSecret").is_none(), "{d}");
    let listed = secret_list(&gw, &id).await;
    assert_eq!(listed.len(), 1);
    let old_id = listed[0]["ClientSecretId"].as_str().unwrap().to_owned();

    let added = ok(
        &gw,
        "AddUserPoolClientSecret",
        json!({"UserPoolId": "default", "ClientId": id}),
    )
    .await;
    let new = added["ClientSecretDescriptor"]["ClientSecretValue"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(token_status(&gw, &id, legacy).await, StatusCode::OK);
    assert_eq!(token_status(&gw, &id, &new).await, StatusCode::OK);
    ok(
        &gw,
        "DeleteUserPoolClientSecret",
        json!({"UserPoolId": "default", "ClientId": id, "ClientSecretId": old_id}),
    )
    .await;
    assert_eq!(
        token_status(&gw, &id, legacy).await,
        StatusCode::UNAUTHORIZED
    );
    let d = ok(
        &gw,
        "DescribeUserPoolClient",
        json!({"UserPoolId": "default", "ClientId": id}),
    )
    .await;
    assert_eq!(d["UserPoolClient"]["ClientSecret"], new.as_str());

    // The AWS CLI lists the one secret left.
    let (done, v, err) = aws_cli(
        &gw,
        &[
            "list-user-pool-client-secrets",
            "--user-pool-id",
            "default",
            "--client-id",
            &id,
        ],
    )
    .await;
    assert!(done, "{err}");
    assert_eq!(v["ClientSecrets"].as_array().unwrap().len(), 1, "{v}");
    assert!(v["ClientSecrets"][0].get("ClientSecretValue").is_none());
}
