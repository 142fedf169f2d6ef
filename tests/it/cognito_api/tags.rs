//! Pool tags through boto3 and the AWS CLI: `UserPoolTags` at creation and in
//! `DescribeUserPool`, `TagResource` / `UntagResource` / `ListTagsForResource` on the
//! pool's ARN, the same tags in `/admin/v1`; refused tags change nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{aws_cli, boto3, ok};
use crate::harness::Gw;

async fn tags_of(gw: &Gw, arn: &str) -> Value {
    ok(gw, "ListTagsForResource", json!({"ResourceArn": arn})).await["Tags"].clone()
}

#[tokio::test]
async fn tags_live_with_the_pool_and_refused_ones_change_nothing() {
    let gw = Gw::start().await;
    let made = ok(
        &gw,
        "CreateUserPool",
        json!({"PoolName": "tagged", "UserPoolTags": {"env": "dev", "cost center": "42"}}),
    )
    .await;
    let pool = &made["UserPool"];
    let (id, arn) = (
        pool["Id"].as_str().unwrap().to_owned(),
        pool["Arn"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        pool["UserPoolTags"],
        json!({"env": "dev", "cost center": "42"})
    );

    ok(
        &gw,
        "TagResource",
        json!({"ResourceArn": arn, "Tags": {"env": "prod", "team": "identity"}}),
    )
    .await;
    assert_eq!(
        tags_of(&gw, &arn).await,
        json!({"env": "prod", "team": "identity", "cost center": "42"})
    );
    ok(
        &gw,
        "UntagResource",
        json!({"ResourceArn": arn, "TagKeys": ["cost center", "not-there"]}),
    )
    .await;
    let d = ok(&gw, "DescribeUserPool", json!({"UserPoolId": id})).await;
    assert_eq!(
        d["UserPool"]["UserPoolTags"],
        json!({"env": "prod", "team": "identity"})
    );
    // One pool, two interfaces.
    let (s, v) = gw.admin("GET", &format!("/pools/{id}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["settings"]["tags"],
        json!({"env": "prod", "team": "identity"})
    );
    // The AWS CLI reads them as Terraform's provider does.
    let (done, v, err) = aws_cli(&gw, &["list-tags-for-resource", "--resource-arn", &arn]).await;
    assert!(done, "{err}");
    assert_eq!(v["Tags"]["team"], "identity");

    let other_region = arn.replacen(":eu-west-1:", ":us-west-2:", 1);
    let unknown = arn.replace(&id, "eu-west-1_Nope12345");
    let fifty_one: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let r = boto3(
        &gw,
        &[
            (
                "TagResource",
                json!({"ResourceArn": arn, "Tags": {"aws:owner": "x"}}),
            ),
            (
                "TagResource",
                json!({"ResourceArn": arn, "Tags": {"ok": "fine", "bad": "new\nline"}}),
            ),
            (
                "TagResource",
                json!({"ResourceArn": arn, "Tags": fifty_one}),
            ),
            (
                "TagResource",
                json!({"ResourceArn": unknown, "Tags": {"a": "b"}}),
            ),
            (
                "TagResource",
                json!({"ResourceArn": other_region, "Tags": {"a": "b"}}),
            ),
            (
                "ListTagsForResource",
                json!({"ResourceArn": "arn:aws:s3:::some-bucket-name"}),
            ),
            (
                "UntagResource",
                json!({"ResourceArn": unknown, "TagKeys": ["env"]}),
            ),
            (
                "CreateUserPool",
                json!({"PoolName": "refused", "UserPoolTags": {"aws:x": "y"}}),
            ),
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
            "ResourceNotFoundException",
            "ResourceNotFoundException",
            "InvalidParameterException",
            "ResourceNotFoundException",
            "InvalidParameterException",
        ],
        "{r:?}"
    );
    assert_eq!(
        tags_of(&gw, &arn).await,
        json!({"env": "prod", "team": "identity"})
    );
    let pools = ok(&gw, "ListUserPools", json!({"MaxResults": 60})).await;
    let names: Vec<&str> = pools["UserPools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["Name"].as_str())
        .collect();
    assert!(!names.contains(&"refused"), "{names:?}");
}
