//! User attributes through boto3 and the AWS CLI: `AdminUpdateUserAttributes`,
//! `AdminDeleteUserAttributes` against a pool's schema, the user's own
//! `UpdateUserAttributes`, `DeleteUserAttributes` and `DeleteUser` with its access
//! token, and the refusals (each a Cognito error code, nothing changed).

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use super::{aws_cli, fails, ok};
use crate::harness::{Browser, Gw, json_str};
use crate::native_users::hosted::{begin, post};
use crate::native_users::{PASSWORD, confirmed_user, password_auth, setup};

/// `[{Name, Value}]` as a map.
fn attr_map(list: &Value) -> BTreeMap<String, String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|a| {
            (
                a["Name"].as_str().unwrap().to_owned(),
                a["Value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn admin_attrs(gw: &Gw, pool: &str, username: &str) -> BTreeMap<String, String> {
    let u = ok(
        gw,
        "AdminGetUser",
        json!({"UserPoolId": pool, "Username": username}),
    )
    .await;
    attr_map(&u["UserAttributes"])
}

fn set(pool: &str, username: &str, attrs: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = attrs
        .iter()
        .map(|(k, v)| json!({"Name": k, "Value": v}))
        .collect();
    json!({"UserPoolId": pool, "Username": username, "UserAttributes": list})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_change_attributes_as_the_pool_schema_allows() {
    let gw = Gw::start().await;
    let made = ok(
        &gw,
        "CreateUserPool",
        json!({"PoolName": "attrs", "Schema": [
            {"Name": "email", "AttributeDataType": "String", "Required": true, "Mutable": true},
            {"Name": "team", "AttributeDataType": "String", "Mutable": true,
             "StringAttributeConstraints": {"MaxLength": "10"}},
            {"Name": "badge", "AttributeDataType": "String", "Mutable": false},
            {"Name": "age", "AttributeDataType": "Number",
             "NumberAttributeConstraints": {"MinValue": "0", "MaxValue": "150"}},
        ]}),
    )
    .await;
    let pool = made["UserPool"]["Id"].as_str().unwrap().to_owned();
    let schema = &made["UserPool"]["SchemaAttributes"];
    let badge = schema
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "custom:badge")
        .unwrap_or_else(|| panic!("{schema}"));
    assert_eq!(badge["Mutable"], false);
    let described = ok(&gw, "DescribeUserPool", json!({"UserPoolId": pool})).await;
    assert_eq!(&described["UserPool"]["SchemaAttributes"], schema);

    let create = |name: &str, extra: (&str, &str)| {
        json!({"UserPoolId": pool, "Username": name, "MessageAction": "SUPPRESS",
               "TemporaryPassword": "Temporary-Pass-9",
               "UserAttributes": [
                   {"Name": "email", "Value": format!("{name}@example.test")},
                   {"Name": "email_verified", "Value": "true"},
                   {"Name": "custom:badge", "Value": "b-1"},
                   {"Name": extra.0, "Value": extra.1}]})
    };
    ok(
        &gw,
        "AdminCreateUser",
        create("ann", ("custom:team", "red")),
    )
    .await;
    // A custom attribute the schema does not declare is refused at creation too.
    assert_eq!(
        fails(&gw, "AdminCreateUser", create("bob", ("custom:nope", "x"))).await,
        "InvalidParameterException"
    );
    assert_eq!(
        fails(
            &gw,
            "AdminGetUser",
            json!({"UserPoolId": pool, "Username": "bob"})
        )
        .await,
        "UserNotFoundException"
    );

    // Refusals: each InvalidParameterException, and the user as it was.
    let before = admin_attrs(&gw, &pool, "ann").await;
    assert_eq!(before["email_verified"], "true");
    let refused: &[&[(&str, &str)]] = &[
        &[("sub", "00000000-0000-0000-0000-000000000000")],
        &[("custom:badge", "b-2")],
        &[("custom:nope", "x")],
        &[("cognito:user_status", "CONFIRMED")],
        &[("identities", "[]")],
        &[("nope", "x")],
        &[("custom:age", "200")],
        &[("custom:age", "old")],
        &[("custom:team", "far-too-long-a-team")],
        &[("email_verified", "maybe")],
        &[("email", "not-an-address")],
        &[("phone_number", "555-0100")],
        // One bad attribute refuses the whole call: the good one is not written.
        &[("name", "Ann"), ("sub", "x")],
        &[("name", "Ann"), ("name", "Anne")],
    ];
    for attrs in refused {
        assert_eq!(
            fails(&gw, "AdminUpdateUserAttributes", set(&pool, "ann", attrs)).await,
            "InvalidParameterException",
            "{attrs:?}"
        );
    }
    for names in [
        vec!["sub"],
        vec!["custom:badge"],
        vec!["email"],
        vec!["custom:nope"],
        vec!["name", "sub"],
    ] {
        assert_eq!(
            fails(
                &gw,
                "AdminDeleteUserAttributes",
                json!({"UserPoolId": pool, "Username": "ann", "UserAttributeNames": names})
            )
            .await,
            "InvalidParameterException",
            "{names:?}"
        );
    }
    assert_eq!(
        fails(
            &gw,
            "AdminUpdateUserAttributes",
            set(&pool, "nobody", &[("name", "x")])
        )
        .await,
        "UserNotFoundException"
    );
    assert_eq!(
        fails(
            &gw,
            "AdminUpdateUserAttributes",
            set("eu-west-1_nope00000", "ann", &[("name", "x")])
        )
        .await,
        "ResourceNotFoundException"
    );
    assert_eq!(admin_attrs(&gw, &pool, "ann").await, before);

    // A new email is unverified, unless the admin says otherwise in the same call.
    ok(
        &gw,
        "AdminUpdateUserAttributes",
        set(
            &pool,
            "ann",
            &[
                ("email", "new@example.test"),
                ("custom:team", "blue"),
                ("custom:age", "42"),
                ("name", "Ann"),
            ],
        ),
    )
    .await;
    let a = admin_attrs(&gw, &pool, "ann").await;
    assert_eq!(a["email"], "new@example.test");
    assert_eq!(a["email_verified"], "false");
    assert_eq!(a["custom:team"], "blue");
    assert_eq!(a["custom:age"], "42");
    assert_eq!(a["custom:badge"], "b-1");
    assert_eq!(a["sub"], before["sub"]);
    ok(
        &gw,
        "AdminUpdateUserAttributes",
        set(
            &pool,
            "ann",
            &[("email", "ann2@example.test"), ("email_verified", "true")],
        ),
    )
    .await;
    assert_eq!(
        admin_attrs(&gw, &pool, "ann").await["email_verified"],
        "true"
    );
    ok(
        &gw,
        "AdminUpdateUserAttributes",
        set(
            &pool,
            "ann",
            &[
                ("phone_number", "+15555550100"),
                ("phone_number_verified", "true"),
            ],
        ),
    )
    .await;
    assert_eq!(
        admin_attrs(&gw, &pool, "ann").await["phone_number_verified"],
        "true"
    );
    ok(
        &gw,
        "AdminUpdateUserAttributes",
        set(&pool, "ann", &[("phone_number", "+15555550199")]),
    )
    .await;
    assert_eq!(
        admin_attrs(&gw, &pool, "ann").await["phone_number_verified"],
        "false"
    );

    // The change names only attributes: a disabled user stays disabled.
    ok(
        &gw,
        "AdminDisableUser",
        json!({"UserPoolId": pool, "Username": "ann"}),
    )
    .await;
    ok(
        &gw,
        "AdminUpdateUserAttributes",
        set(&pool, "ann", &[("name", "Ann B")]),
    )
    .await;
    let u = ok(
        &gw,
        "AdminGetUser",
        json!({"UserPoolId": pool, "Username": "ann"}),
    )
    .await;
    assert_eq!(u["Enabled"], false);
    assert_eq!(attr_map(&u["UserAttributes"])["name"], "Ann B");

    ok(
        &gw,
        "AdminDeleteUserAttributes",
        json!({"UserPoolId": pool, "Username": "ann",
               "UserAttributeNames": ["custom:team", "name", "phone_number"]}),
    )
    .await;
    let a = admin_attrs(&gw, &pool, "ann").await;
    for gone in [
        "custom:team",
        "name",
        "phone_number",
        "phone_number_verified",
    ] {
        assert!(!a.contains_key(gone), "{gone}: {a:?}");
    }
    assert_eq!(a["email"], "ann2@example.test");

    // The AWS CLI, and /admin/v1 sees the same user.
    let (done, _, err) = aws_cli(
        &gw,
        &[
            "admin-update-user-attributes",
            "--user-pool-id",
            &pool,
            "--username",
            "ann",
            "--user-attributes",
            "Name=custom:team,Value=green",
        ],
    )
    .await;
    assert!(done, "{err}");
    let (s, v) = gw
        .admin("GET", &format!("/pools/{pool}/users/ann"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["attributes"]["custom:team"], "green");

    // AddCustomAttributes declares one more; a declared one cannot be added again.
    assert_eq!(
        fails(
            &gw,
            "AdminUpdateUserAttributes",
            set(&pool, "ann", &[("custom:dept", "ops")])
        )
        .await,
        "InvalidParameterException"
    );
    ok(
        &gw,
        "AddCustomAttributes",
        json!({"UserPoolId": pool, "CustomAttributes": [{"Name": "dept", "AttributeDataType": "String"}]}),
    )
    .await;
    assert_eq!(
        fails(
            &gw,
            "AddCustomAttributes",
            json!({"UserPoolId": pool, "CustomAttributes": [{"Name": "team"}]})
        )
        .await,
        "InvalidParameterException"
    );
    ok(
        &gw,
        "AdminUpdateUserAttributes",
        set(&pool, "ann", &[("custom:dept", "ops")]),
    )
    .await;
    assert_eq!(admin_attrs(&gw, &pool, "ann").await["custom:dept"], "ops");
}

async fn own_attrs(gw: &Gw, token: &str) -> BTreeMap<String, String> {
    let u = ok(gw, "GetUser", json!({"AccessToken": token})).await;
    attr_map(&u["UserAttributes"])
}

/// A hosted sign-in with scopes `openid email profile`: an access token without
/// `aws.cognito.signin.user.admin`.
async fn token_without_admin_scope(gw: &Gw, client_id: &str, username: &str) -> String {
    let b = Browser::new();
    let s = begin(gw, &b, client_id).await;
    let r = post(
        gw,
        &b,
        &[
            ("csrf_token", &s.token),
            ("username", username),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (st, tok) = gw
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("client_id", client_id),
                ("code_verifier", &s.verifier),
            ],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    json_str(&tok, "access_token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_change_their_own_attributes_and_delete_themselves() {
    let (gw, client) = setup().await;
    confirmed_user(&gw, "carl").await;
    let r = password_auth(&gw, &client, "carl", PASSWORD).await;
    let token = r["ok"]["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();

    ok(
        &gw,
        "UpdateUserAttributes",
        json!({"AccessToken": token, "UserAttributes": [
            {"Name": "given_name", "Value": "Carl"}, {"Name": "custom:team", "Value": "red"}]}),
    )
    .await;
    let a = own_attrs(&gw, &token).await;
    assert_eq!(a["given_name"], "Carl");
    assert_eq!(a["custom:team"], "red");
    assert_eq!(a["email_verified"], "true");

    // Refusals, nothing changed: the verification flags are the admin's.
    let before = own_attrs(&gw, &token).await;
    for (attrs, code) in [
        (
            json!([{"Name": "email_verified", "Value": "true"}]),
            "NotAuthorizedException",
        ),
        (
            json!([{"Name": "phone_number_verified", "Value": "true"}]),
            "NotAuthorizedException",
        ),
        (
            json!([{"Name": "given_name", "Value": "X"}, {"Name": "email_verified", "Value": "false"}]),
            "NotAuthorizedException",
        ),
        (
            json!([{"Name": "sub", "Value": "x"}]),
            "InvalidParameterException",
        ),
        (
            json!([{"Name": "unknown", "Value": "x"}]),
            "InvalidParameterException",
        ),
    ] {
        assert_eq!(
            fails(
                &gw,
                "UpdateUserAttributes",
                json!({"AccessToken": token, "UserAttributes": attrs})
            )
            .await,
            code,
            "{attrs}"
        );
    }
    assert_eq!(
        fails(
            &gw,
            "DeleteUserAttributes",
            json!({"AccessToken": token, "UserAttributeNames": ["sub"]})
        )
        .await,
        "InvalidParameterException"
    );
    for op in ["UpdateUserAttributes", "DeleteUserAttributes", "DeleteUser"] {
        let params = json!({"AccessToken": "not-a-token", "UserAttributes": [],
                            "UserAttributeNames": []});
        let mut p = params.clone();
        // Each operation gets only its own members.
        match op {
            "UpdateUserAttributes" => {
                p.as_object_mut().unwrap().remove("UserAttributeNames");
            }
            "DeleteUserAttributes" => {
                p.as_object_mut().unwrap().remove("UserAttributes");
            }
            _ => {
                p = json!({"AccessToken": "not-a-token"});
            }
        }
        assert_eq!(fails(&gw, op, p).await, "NotAuthorizedException", "{op}");
    }
    // A token without the user-pool API scope changes nothing.
    let narrow = token_without_admin_scope(&gw, &client, "carl").await;
    assert_eq!(
        fails(
            &gw,
            "UpdateUserAttributes",
            json!({"AccessToken": narrow, "UserAttributes": [{"Name": "given_name", "Value": "Y"}]})
        )
        .await,
        "NotAuthorizedException"
    );
    assert_eq!(
        fails(&gw, "DeleteUser", json!({"AccessToken": narrow})).await,
        "NotAuthorizedException"
    );
    assert_eq!(own_attrs(&gw, &token).await, before);

    // A new email from the user is unverified (no code is sent).
    ok(
        &gw,
        "UpdateUserAttributes",
        json!({"AccessToken": token, "UserAttributes": [
            {"Name": "email", "Value": "carl2@example.test"}]}),
    )
    .await;
    let a = own_attrs(&gw, &token).await;
    assert_eq!(a["email"], "carl2@example.test");
    assert_eq!(a["email_verified"], "false");
    ok(
        &gw,
        "DeleteUserAttributes",
        json!({"AccessToken": token, "UserAttributeNames": ["custom:team"]}),
    )
    .await;
    assert!(!own_attrs(&gw, &token).await.contains_key("custom:team"));

    // DeleteUser: the user, its tokens and its group memberships are gone.
    ok(
        &gw,
        "CreateGroup",
        json!({"UserPoolId": "default", "GroupName": "crew"}),
    )
    .await;
    ok(
        &gw,
        "AdminAddUserToGroup",
        json!({"UserPoolId": "default", "Username": "carl", "GroupName": "crew"}),
    )
    .await;
    ok(&gw, "DeleteUser", json!({"AccessToken": token})).await;
    assert_eq!(
        fails(
            &gw,
            "AdminGetUser",
            json!({"UserPoolId": "default", "Username": "carl"})
        )
        .await,
        "UserNotFoundException"
    );
    let members = ok(
        &gw,
        "ListUsersInGroup",
        json!({"UserPoolId": "default", "GroupName": "crew"}),
    )
    .await;
    assert_eq!(members["Users"], json!([]));
    assert_eq!(
        fails(&gw, "GetUser", json!({"AccessToken": token})).await,
        "NotAuthorizedException"
    );
    assert_eq!(
        fails(&gw, "DeleteUser", json!({"AccessToken": token})).await,
        "NotAuthorizedException"
    );
}
