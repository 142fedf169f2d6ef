//! An app client's `ExplicitAuthFlows` and `RefreshTokenRotation` through boto3, as
//! Cognito keeps them: given at creation, shown by `DescribeUserPoolClient`, replaced
//! (or reset to Cognito's defaults when left out) by `UpdateUserPoolClient`, enforced
//! by `InitiateAuth`; the same settings `/admin/v1` shows. And a pool made by
//! `CreateUserPool` with no domain: its issuer serves the keys and a document naming
//! only what it serves.

use reqwest::StatusCode;
use serde_json::json;

use super::{fails, ok};
use crate::harness::Gw;
use crate::native_users::{PASSWORD, confirmed_user, password_auth};

const DEFAULTS: &[&str] = &[
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_SRP_AUTH",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_auth_flows_and_rotation_round_trip_and_are_enforced() {
    let gw = Gw::start().await;
    confirmed_user(&gw, "fran").await;
    let made = ok(
        &gw,
        "CreateUserPoolClient",
        json!({"UserPoolId": "default", "ClientName": "app",
               "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
               "RefreshTokenRotation": {"Feature": "ENABLED", "RetryGracePeriodSeconds": 10}}),
    )
    .await;
    let c = &made["UserPoolClient"];
    let id = c["ClientId"].as_str().unwrap().to_owned();
    assert_eq!(
        c["ExplicitAuthFlows"],
        json!(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    );
    assert_eq!(
        c["RefreshTokenRotation"],
        json!({"Feature": "ENABLED", "RetryGracePeriodSeconds": 10})
    );
    let (s, admin) = gw
        .admin("GET", &format!("/pools/default/clients/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{admin}");
    assert_eq!(
        admin["refresh_token_rotation"],
        json!({"enabled": true, "retry_grace_s": 10})
    );
    let r = password_auth(&gw, &id, "fran", PASSWORD).await;
    assert!(
        r["ok"]["AuthenticationResult"]["IdToken"].is_string(),
        "{r}"
    );

    // An update that leaves them out resets them to Cognito's defaults, which do not
    // allow USER_PASSWORD_AUTH.
    let updated = ok(
        &gw,
        "UpdateUserPoolClient",
        json!({"UserPoolId": "default", "ClientId": id, "ClientName": "app"}),
    )
    .await;
    assert_eq!(
        updated["UserPoolClient"]["ExplicitAuthFlows"],
        json!(DEFAULTS)
    );
    assert_eq!(
        updated["UserPoolClient"]["RefreshTokenRotation"]["Feature"],
        "DISABLED"
    );
    let r = password_auth(&gw, &id, "fran", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "InvalidParameterException", "{r}");

    // Refusals change nothing.
    for bad in [
        json!({"ExplicitAuthFlows": ["ALLOW_EVERYTHING"]}),
        json!({"ExplicitAuthFlows": ["USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"]}),
        json!({"RefreshTokenRotation": {"Feature": "SOMETIMES"}}),
        json!({"RefreshTokenRotation": {"Feature": "ENABLED", "RetryGracePeriodSeconds": 61}}),
    ] {
        let mut params = json!({"UserPoolId": "default", "ClientId": id, "ClientName": "app"});
        for (k, v) in bad.as_object().unwrap() {
            params[k] = v.clone();
        }
        assert_eq!(
            fails(&gw, "UpdateUserPoolClient", params).await,
            "InvalidParameterException",
            "{bad}"
        );
    }
    let described = ok(
        &gw,
        "DescribeUserPoolClient",
        json!({"UserPoolId": "default", "ClientId": id}),
    )
    .await;
    assert_eq!(
        described["UserPoolClient"]["ExplicitAuthFlows"],
        json!(DEFAULTS)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_without_a_domain_publishes_its_keys_under_its_issuer() {
    let gw = Gw::start().await;
    let pool = ok(&gw, "CreateUserPool", json!({"PoolName": "bare"})).await["UserPool"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let issuer = format!("{}/{pool}", gw.base.trim_end_matches('/'));
    let doc: serde_json::Value = gw
        .http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(
        doc["jwks_uri"],
        format!("{issuer}/.well-known/jwks.json").as_str()
    );
    assert!(
        doc.get("token_endpoint").is_none(),
        "no hosted endpoint without a domain: {doc}"
    );
    let jwks: serde_json::Value = gw
        .http
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jwks["keys"].as_array().unwrap().is_empty(), "{jwks}");
    // Another pool's id, or one that is no pool, is not served there.
    for other in ["eu-west-1_Nope12345", "eu-west-1_../x"] {
        let r = gw
            .http
            .get(format!(
                "{}/{other}/.well-known/jwks.json",
                gw.base.trim_end_matches('/')
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{other}");
    }
}
