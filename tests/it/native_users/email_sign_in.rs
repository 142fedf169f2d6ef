//! Signing in with an email, as Cognito's pools with `UsernameAttributes: ["email"]`
//! (the email is the sign-in name, the username is the `sub`) and `AliasAttributes:
//! ["email"]` (a verified email also names the user): boto3 for the admin side and
//! `USER_PASSWORD_AUTH`, pycognito and amazon-cognito-identity-js for SRP with the
//! email; the refusals change nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::clients::run_client;
use super::*;
use crate::cognito_api::{fails, ok};

async fn settings(gw: &Gw, settings: Value) -> (StatusCode, Value) {
    gw.admin(
        "PATCH",
        "/pools/default",
        Some(json!({"settings": settings})),
    )
    .await
}

fn attr<'a>(user: &'a Value, name: &str) -> Option<&'a str> {
    user["Attributes"]
        .as_array()
        .or(user["UserAttributes"].as_array())?
        .iter()
        .find(|a| a["Name"] == name)?["Value"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_is_the_sign_in_name() {
    let (gw, client_id) = setup().await;
    let (s, v) = settings(&gw, json!({"username_attributes": ["email"]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let made = ok(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "dana@example.test",
               "TemporaryPassword": "Temporary-Pass-9", "MessageAction": "SUPPRESS",
               "UserAttributes": [{"Name": "email_verified", "Value": "true"}]}),
    )
    .await;
    let user = &made["User"];
    let username = user["Username"].as_str().unwrap().to_owned();
    assert_eq!(Some(username.as_str()), attr(user, "sub"), "{user}");
    assert_eq!(attr(user, "email"), Some("dana@example.test"));
    // The admin names the user by its email too.
    ok(
        &gw,
        "AdminSetUserPassword",
        json!({"UserPoolId": "default", "Username": "dana@example.test",
               "Password": PASSWORD, "Permanent": true}),
    )
    .await;
    let got = ok(
        &gw,
        "AdminGetUser",
        json!({"UserPoolId": "default", "Username": "dana@example.test"}),
    )
    .await;
    assert_eq!(got["Username"], username.as_str());
    assert_eq!(got["UserStatus"], "CONFIRMED");

    let r = password_auth(&gw, &client_id, "dana@example.test", PASSWORD).await;
    let id = verified_claims(
        &gw,
        r["ok"]["AuthenticationResult"]["IdToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}")),
    )
    .await;
    assert_eq!(id["cognito:username"], username.as_str());
    assert_eq!(id["email"], "dana@example.test");
    // SRP with the email: the clients take USER_ID_FOR_SRP from the challenge.
    for (program, script) in [
        ("python3", "srp_pycognito.py"),
        ("node", "srp_identity_js.js"),
    ] {
        let r = run_client(
            &gw,
            program,
            script,
            &client_id,
            "dana@example.test",
            PASSWORD,
        )
        .await;
        let access = verified_claims(
            &gw,
            r["ok"]["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("{script}: {r}")),
        )
        .await;
        assert_eq!(access["username"], username.as_str(), "{script}");
    }

    // One user per email; a username that is no email is refused; nothing is made.
    for (name, want) in [
        ("dana@example.test", "UsernameExistsException"),
        ("DANA@example.test", "UsernameExistsException"),
        ("dana", "InvalidParameterException"),
    ] {
        assert_eq!(
            fails(
                &gw,
                "AdminCreateUser",
                json!({"UserPoolId": "default", "Username": name, "MessageAction": "SUPPRESS"})
            )
            .await,
            want,
            "{name}"
        );
    }
    let (e, _) = error_of(
        &gw,
        "SignUp",
        json!({"ClientId": client_id, "Username": "dana@example.test", "Password": PASSWORD}),
    )
    .await;
    assert_eq!(e, "UsernameExistsException");
    let users = ok(&gw, "ListUsers", json!({"UserPoolId": "default"})).await;
    assert_eq!(users["Users"].as_array().unwrap().len(), 1, "{users}");
    // A wrong password by email answers as an unknown email does.
    let wrong = password_auth(&gw, &client_id, "dana@example.test", "Wrong-Horse-1").await;
    let unknown = password_auth(&gw, &client_id, "nobody@example.test", "Wrong-Horse-1").await;
    assert_eq!(wrong["error"]["Code"], "NotAuthorizedException", "{wrong}");
    assert_eq!(wrong["error"], unknown["error"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_email_is_an_alias() {
    let (gw, client_id) = setup().await;
    let (s, v) = settings(&gw, json!({"alias_attributes": ["email"]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    confirmed_user(&gw, "erin").await;
    ok(
        &gw,
        "AdminUpdateUserAttributes",
        json!({"UserPoolId": "default", "Username": "erin",
               "UserAttributes": [{"Name": "email_verified", "Value": "false"}]}),
    )
    .await;
    // Not verified: the email names nobody.
    let r = password_auth(&gw, &client_id, "erin@example.test", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    ok(
        &gw,
        "AdminUpdateUserAttributes",
        json!({"UserPoolId": "default", "Username": "erin",
               "UserAttributes": [{"Name": "email_verified", "Value": "true"}]}),
    )
    .await;
    let r = password_auth(&gw, &client_id, "erin@example.test", PASSWORD).await;
    let id = verified_claims(
        &gw,
        r["ok"]["AuthenticationResult"]["IdToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}")),
    )
    .await;
    assert_eq!(id["cognito:username"], "erin");
    // The username still works, and a username is not forced to be an email.
    let r = password_auth(&gw, &client_id, "erin", PASSWORD).await;
    assert!(r["ok"]["AuthenticationResult"].is_object(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attributes_are_checked_when_the_pool_is_made() {
    let gw = Gw::start().await;
    for bad in [
        json!({"UsernameAttributes": ["phone_number"]}),
        json!({"UsernameAttributes": ["nickname"]}),
        json!({"AliasAttributes": ["preferred_username"]}),
        json!({"UsernameAttributes": ["email"], "AliasAttributes": ["email"]}),
    ] {
        let mut params = json!({"PoolName": "p"});
        for (k, v) in bad.as_object().unwrap() {
            params[k] = v.clone();
        }
        assert_eq!(
            fails(&gw, "CreateUserPool", params).await,
            "InvalidParameterException",
            "{bad}"
        );
    }
    let pools = ok(&gw, "ListUserPools", json!({"MaxResults": 60})).await;
    assert_eq!(pools["UserPools"].as_array().unwrap().len(), 1, "{pools}");
    let made = ok(
        &gw,
        "CreateUserPool",
        json!({"PoolName": "by-email", "UsernameAttributes": ["email"]}),
    )
    .await;
    let id = made["UserPool"]["Id"].as_str().unwrap();
    let d = ok(&gw, "DescribeUserPool", json!({"UserPoolId": id})).await;
    assert_eq!(d["UserPool"]["UsernameAttributes"], json!(["email"]));
}
