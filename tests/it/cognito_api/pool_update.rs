//! `UpdateUserPool` (replaces what poolgate models: members left out take Cognito's
//! defaults; name and tags are kept) and `UpdateUserPoolDomain`, through boto3;
//! refused updates change nothing.

use serde_json::json;

use super::{boto3, ok};
use crate::harness::Gw;

#[tokio::test]
async fn update_user_pool_replaces_the_modelled_configuration() {
    let gw = Gw::start().await;
    let hook = "http://127.0.0.1:9/pre-sign-up";
    let made = ok(
        &gw,
        "CreateUserPool",
        json!({"PoolName": "before", "LambdaConfig": {"PreSignUp": hook},
            "UserPoolTags": {"env": "dev"}}),
    )
    .await;
    let id = made["UserPool"]["Id"].as_str().unwrap().to_owned();
    let describe = json!({"UserPoolId": id});
    let d = ok(&gw, "DescribeUserPool", describe.clone()).await;
    assert_eq!(d["UserPool"]["LambdaConfig"]["PreSignUp"], hook);
    assert_eq!(
        d["UserPool"]["Policies"]["PasswordPolicy"]["MinimumLength"],
        8
    );

    // Refused updates first: each changes nothing.
    let r = boto3(
        &gw,
        &[
            ("UpdateUserPool", json!({"UserPoolId": id, "PoolName": "x",
                "LambdaConfig": {"PreSignUp": "http://hooks.example.com/x"}})),
            ("UpdateUserPool", json!({"UserPoolId": id, "PoolName": "x",
                "Policies": {"PasswordPolicy": {"MinimumLength": 6, "TemporaryPasswordValidityDays": 400}}})),
            ("UpdateUserPool", json!({"UserPoolId": id, "UserPoolTags": {"aws:x": "y"}})),
            ("UpdateUserPool", json!({"UserPoolId": "eu-west-1_Nope12345"})),
        ],
    )
    .await;
    let codes: Vec<&str> = r
        .iter()
        .map(|a| a["error"]["Code"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(
        codes,
        [
            "InvalidParameterException",
            "InvalidParameterException",
            "InvalidParameterException",
            "ResourceNotFoundException"
        ],
        "{r:?}"
    );
    let again = ok(&gw, "DescribeUserPool", describe.clone()).await;
    assert_eq!(again, d);

    // A real update: the name and policy given, LambdaConfig left out (no hooks now),
    // tags left out (kept).
    ok(
        &gw,
        "UpdateUserPool",
        json!({"UserPoolId": id, "PoolName": "after",
            "Policies": {"PasswordPolicy": {"MinimumLength": 12, "RequireSymbols": false,
                "PasswordHistorySize": 3}}}),
    )
    .await;
    let d = ok(&gw, "DescribeUserPool", describe.clone()).await;
    let p = &d["UserPool"];
    assert_eq!(p["Name"], "after");
    assert_eq!(p["LambdaConfig"], json!({}));
    assert_eq!(p["Policies"]["PasswordPolicy"]["MinimumLength"], 12);
    assert_eq!(p["Policies"]["PasswordPolicy"]["RequireSymbols"], false);
    assert_eq!(p["Policies"]["PasswordPolicy"]["RequireUppercase"], true);
    assert_eq!(p["UserPoolTags"], json!({"env": "dev"}));
    // The admin API reads the same pool.
    let (_, v) = gw.admin("GET", &format!("/pools/{id}"), None).await;
    assert_eq!(v["settings"]["name"], "after");
    assert_eq!(v["settings"]["password_policy"]["MinimumLength"], 12);

    // An update that gives nothing resets the policy to Cognito's default.
    ok(&gw, "UpdateUserPool", json!({"UserPoolId": id})).await;
    let d = ok(&gw, "DescribeUserPool", describe).await;
    assert_eq!(
        d["UserPool"]["Policies"]["PasswordPolicy"]["MinimumLength"],
        8
    );
    assert_eq!(d["UserPool"]["Name"], "after");
}

#[tokio::test]
async fn update_user_pool_domain_takes_the_pools_own_domain() {
    let gw = Gw::start().await;
    let id = ok(&gw, "CreateUserPool", json!({"PoolName": "d"})).await["UserPool"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &gw,
        "CreateUserPoolDomain",
        json!({"UserPoolId": id, "Domain": "auth.example.test"}),
    )
    .await;
    let acm = "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd";
    let r = boto3(
        &gw,
        &[
            ("UpdateUserPoolDomain", json!({"UserPoolId": id, "Domain": "auth.example.test",
                "ManagedLoginVersion": 2})),
            ("UpdateUserPoolDomain", json!({"UserPoolId": id, "Domain": "auth.example.test",
                "CustomDomainConfig": {"CertificateArn": acm}})),
            ("UpdateUserPoolDomain", json!({"UserPoolId": id, "Domain": "auth.example.test",
                "CustomDomainConfig": {"CertificateArn": "arn:aws:iam::123456789012:server-certificate/x"}})),
            ("UpdateUserPoolDomain", json!({"UserPoolId": id, "Domain": "nope.example.test"})),
            // The default pool's domain is not this pool's.
            ("UpdateUserPoolDomain", json!({"UserPoolId": id, "Domain": gw.base.trim_start_matches("http://")})),
            ("UpdateUserPoolDomain", json!({"UserPoolId": id, "Domain": "auth.example.test",
                "ManagedLoginVersion": 3})),
        ],
    )
    .await;
    assert_eq!(
        r[0]["ok"],
        json!({"ManagedLoginVersion": 2, "CloudFrontDomain": "auth.example.test"}),
        "{r:?}"
    );
    assert_eq!(r[1]["ok"]["ManagedLoginVersion"], 1, "{r:?}");
    let codes: Vec<&str> = r[2..]
        .iter()
        .map(|a| a["error"]["Code"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(
        codes,
        [
            "InvalidParameterException",
            "ResourceNotFoundException",
            "ResourceNotFoundException",
            "InvalidParameterException"
        ],
        "{r:?}"
    );
    let d = ok(
        &gw,
        "DescribeUserPoolDomain",
        json!({"Domain": "auth.example.test"}),
    )
    .await;
    assert_eq!(d["DomainDescription"]["UserPoolId"], id.as_str());
}
