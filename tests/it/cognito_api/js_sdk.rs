//! The AWS SDK for JavaScript v3 (`@aws-sdk/client-cognito-identity-provider`, run by
//! node through `tests/node/cognito-sdk.mjs`) manages poolgate by its endpoint: its own
//! SigV4 signer (which signs more headers than botocore's), serializer and error
//! parser. A pool, a client, a provider, a group, a native user signed in with
//! `AdminInitiateAuth` on the pool without a domain (tokens verified by aws-jwt-verify
//! under the pool's Cognito-style issuer), tags; what the SDK made is what `/admin/v1` shows; and the
//! refusals, each a Cognito error the SDK names, with nothing created.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Creds, REGION, command, run};
use crate::harness::{Gw, claims};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node");

/// Runs operations through the JavaScript SDK, in order; one answer per call:
/// `{"ok": answer}` or `{"error": {"Code", "Message"}, "status"}`.
async fn js(gw: &Gw, creds: &Creds, calls: &[(&str, Value)]) -> Vec<Value> {
    assert!(
        std::path::Path::new(DIR)
            .join("node_modules/@aws-sdk/client-cognito-identity-provider/package.json")
            .exists(),
        "the AWS SDK for JavaScript is missing: run scripts/setup.sh --test"
    );
    let mut c = command(gw, "node", creds);
    c.arg("cognito-sdk.mjs").current_dir(DIR);
    let input: Vec<Value> = calls.iter().map(|(op, p)| json!([op, p])).collect();
    let (ok, out, err) = run(c, json!(input).to_string().as_bytes()).await;
    assert!(ok, "cognito-sdk.mjs failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"))
}

async fn js_ok(gw: &Gw, op: &str, params: Value) -> Value {
    let r = js(gw, &Creds::default(), &[(op, params)]).await.remove(0);
    assert!(r.get("ok").is_some(), "{op}: {r}");
    r["ok"].clone()
}

async fn js_fails(gw: &Gw, creds: &Creds, op: &str, params: Value) -> String {
    let r = js(gw, creds, &[(op, params)]).await.remove(0);
    assert_eq!(r["status"], 400, "{op}: {r}");
    r["error"]["Code"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_script_on_the_javascript_sdk() {
    let gw = Gw::start().await;
    let made = js_ok(
        &gw,
        "CreateUserPool",
        json!({"PoolName": "js", "UserPoolTags": {"team": "web"}}),
    )
    .await;
    let pool = made["UserPool"]["Id"].as_str().unwrap().to_owned();
    let (region, suffix) = pool.split_once('_').unwrap();
    assert_eq!(region, REGION);
    assert_eq!(suffix.len(), 9, "{pool}");
    let (s, admin_pool) = gw.admin("GET", &format!("/pools/{pool}"), None).await;
    assert_eq!(s, StatusCode::OK, "{admin_pool}");
    assert_eq!(admin_pool["settings"]["tags"]["team"], "web");

    let client = js_ok(
        &gw,
        "CreateUserPoolClient",
        json!({"UserPoolId": pool, "ClientName": "script",
               "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    let provider = js_ok(
        &gw,
        "CreateIdentityProvider",
        json!({"UserPoolId": pool, "ProviderName": "Corp", "ProviderType": "OIDC",
               "ProviderDetails": {"client_id": "web", "client_secret": "s3cret",
                   "oidc_issuer": "https://idp.example.test", "authorize_scopes": "openid email",
                   "attributes_request_method": "GET"},
               "AttributeMapping": {"email": "email"}}),
    )
    .await;
    assert_eq!(provider["IdentityProvider"]["ProviderType"], "OIDC");
    let (s, p) = gw
        .admin("GET", &format!("/pools/{pool}/providers/Corp"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["details"]["issuer"], "https://idp.example.test");

    for (op, params) in [
        (
            "CreateGroup",
            json!({"UserPoolId": pool, "GroupName": "admins", "Precedence": 1}),
        ),
        (
            "AdminCreateUser",
            json!({"UserPoolId": pool, "Username": "carol", "MessageAction": "SUPPRESS",
                   "TemporaryPassword": "Temporary-Pass-9",
                   "UserAttributes": [{"Name": "email", "Value": "carol@example.test"}]}),
        ),
        (
            "AdminSetUserPassword",
            json!({"UserPoolId": pool, "Username": "carol",
                   "Password": "Correct-Horse-1", "Permanent": true}),
        ),
        (
            "AdminAddUserToGroup",
            json!({"UserPoolId": pool, "Username": "carol", "GroupName": "admins"}),
        ),
    ] {
        js_ok(&gw, op, params).await;
    }
    let auth = js_ok(
        &gw,
        "AdminInitiateAuth",
        json!({"UserPoolId": pool, "ClientId": client, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
               "AuthParameters": {"USERNAME": "carol", "PASSWORD": "Correct-Horse-1"}}),
    )
    .await;
    let id = claims(auth["AuthenticationResult"]["IdToken"].as_str().unwrap());
    assert_eq!(id["cognito:groups"], json!(["admins"]));
    assert_eq!(id["cognito:username"], "carol");
    let iss = id["iss"].as_str().unwrap().to_owned();
    assert!(iss.ends_with(&format!("/{pool}")), "{id}");
    // The pool has no domain: its issuer still serves discovery and keys, and a
    // backend written for Cognito verifies the tokens (aws-jwt-verify).
    let verified = crate::cognito_tokens::aws_jwt_verify(json!({
        "authority": iss, "client_id": client, "groups": ["admins"],
        "id_token": auth["AuthenticationResult"]["IdToken"],
        "access_token": auth["AuthenticationResult"]["AccessToken"],
    }))
    .await
    .expect("aws-jwt-verify accepts the tokens of a pool without a domain");
    assert_eq!(verified["access_token"]["payload"]["username"], "carol");
    let who = js_ok(
        &gw,
        "GetUser",
        json!({"AccessToken": auth["AuthenticationResult"]["AccessToken"]}),
    )
    .await;
    assert_eq!(who["Username"], "carol");

    let users = js_ok(
        &gw,
        "ListUsers",
        json!({"UserPoolId": pool, "Filter": "username = \"carol\""}),
    )
    .await;
    let listed = users["Users"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["UserStatus"], "CONFIRMED");
    assert!(
        listed[0]["UserCreateDate"].is_number(),
        "dates parsed by the SDK: {}",
        listed[0]
    );
    let (s, u) = gw
        .admin("GET", &format!("/pools/{pool}/users/carol"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["sub"], id["sub"]);

    let arn = made["UserPool"]["Arn"].as_str().unwrap().to_owned();
    js_ok(
        &gw,
        "TagResource",
        json!({"ResourceArn": arn, "Tags": {"env": "prod"}}),
    )
    .await;
    let tags = js_ok(&gw, "ListTagsForResource", json!({"ResourceArn": arn})).await;
    assert_eq!(tags["Tags"], json!({"team": "web", "env": "prod"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_sdk_reads_cognito_errors_and_nothing_is_made() {
    let gw = Gw::start().await;
    let wrong = Creds {
        secret: "not-the-admin-token".into(),
        ..Creds::default()
    };
    assert_eq!(
        js_fails(&gw, &wrong, "CreateUserPool", json!({"PoolName": "evil"})).await,
        "InvalidSignatureException"
    );
    let unknown = Creds {
        key: "someone-else".into(),
        ..Creds::default()
    };
    assert_eq!(
        js_fails(&gw, &unknown, "CreateUserPool", json!({"PoolName": "evil"})).await,
        "UnrecognizedClientException"
    );
    assert_eq!(
        js_fails(
            &gw,
            &Creds::default(),
            "DescribeUserPool",
            json!({"UserPoolId": "eu-west-1_nope00000"})
        )
        .await,
        "ResourceNotFoundException"
    );
    assert_eq!(
        js_fails(
            &gw,
            &Creds::default(),
            "CreateGroup",
            json!({"UserPoolId": "default", "GroupName": "g", "Precedence": -1})
        )
        .await,
        "InvalidParameterException"
    );
    js_ok(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "dup", "MessageAction": "SUPPRESS"}),
    )
    .await;
    assert_eq!(
        js_fails(
            &gw,
            &Creds::default(),
            "AdminCreateUser",
            json!({"UserPoolId": "default", "Username": "dup", "MessageAction": "SUPPRESS"})
        )
        .await,
        "UsernameExistsException"
    );
    let pools = js_ok(&gw, "ListUserPools", json!({"MaxResults": 60})).await;
    let names: Vec<&str> = pools["UserPools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap_or_default())
        .collect();
    assert!(!names.contains(&"evil"), "{names:?}");
    let groups = js_ok(&gw, "ListGroups", json!({"UserPoolId": "default"})).await;
    assert_eq!(groups["Groups"], json!([]), "no group made");
}
