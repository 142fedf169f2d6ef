//! A signed-in user verifies its email with boto3: `GetUserAttributeVerificationCode`
//! mails a code (read from the test's SMTP sink), `VerifyUserAttribute` with it marks
//! the address verified. Refusals change nothing: a wrong code, a code sent to an
//! address the user has since changed, an attribute that cannot be verified, a token
//! without the user-pool API scope, and a gateway that cannot mail.

use serde_json::{Value, json};

use super::smtp_sink::SmtpSink;
use super::*;
use crate::cognito_api::ok;

async fn mailing() -> (Gw, String, SmtpSink) {
    let sink = SmtpSink::start().await;
    let gw = Gw::start_env(&[("POOLGATE_SMTP_URL", &sink.url)]).await;
    let (client_id, _) = gw.client(native_client_body(false)).await;
    (gw, client_id, sink)
}

/// A confirmed user whose email is not verified, and its access token.
async fn unverified_user(gw: &Gw, client_id: &str, name: &str) -> String {
    confirmed_user(gw, name).await;
    ok(
        gw,
        "AdminUpdateUserAttributes",
        json!({"UserPoolId": "default", "Username": name,
               "UserAttributes": [{"Name": "email_verified", "Value": "false"}]}),
    )
    .await;
    let r = password_auth(gw, client_id, name, PASSWORD).await;
    r["ok"]["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

async fn email_verified(gw: &Gw, name: &str) -> String {
    let u = ok(
        gw,
        "AdminGetUser",
        json!({"UserPoolId": "default", "Username": name}),
    )
    .await;
    u["UserAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "email_verified")
        .map(|a| a["Value"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn get_code(token: &str, attribute: &str) -> Value {
    json!({"AccessToken": token, "AttributeName": attribute})
}

fn verify(token: &str, code: &str) -> Value {
    json!({"AccessToken": token, "AttributeName": "email", "Code": code})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_verifies_its_email_with_a_mailed_code() {
    let (gw, client_id, sink) = mailing().await;
    let token = unverified_user(&gw, &client_id, "vera").await;
    assert_eq!(email_verified(&gw, "vera").await, "false");

    let r = ok(
        &gw,
        "GetUserAttributeVerificationCode",
        get_code(&token, "email"),
    )
    .await;
    assert_eq!(
        r["CodeDeliveryDetails"],
        json!({"Destination": "v***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"})
    );
    let code = sink
        .wait_for("vera@example.test", 0)
        .await
        .code()
        .expect("a code in the mail");

    // A wrong code is refused and verifies nothing.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (e, _) = error_of(&gw, "VerifyUserAttribute", verify(&token, wrong)).await;
    assert_eq!(e, "CodeMismatchException");
    assert_eq!(email_verified(&gw, "vera").await, "false");

    ok(&gw, "VerifyUserAttribute", verify(&token, &code)).await;
    assert_eq!(email_verified(&gw, "vera").await, "true");
    // Taken once.
    let (e, _) = error_of(&gw, "VerifyUserAttribute", verify(&token, &code)).await;
    assert_eq!(e, "ExpiredCodeException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_for_an_address_the_user_has_left_verifies_nothing() {
    let (gw, client_id, sink) = mailing().await;
    let token = unverified_user(&gw, &client_id, "walt").await;
    ok(
        &gw,
        "GetUserAttributeVerificationCode",
        get_code(&token, "email"),
    )
    .await;
    let code = sink.wait_for("walt@example.test", 0).await.code().unwrap();
    ok(
        &gw,
        "UpdateUserAttributes",
        json!({"AccessToken": token,
               "UserAttributes": [{"Name": "email", "Value": "walt.new@example.test"}]}),
    )
    .await;
    let (e, _) = error_of(&gw, "VerifyUserAttribute", verify(&token, &code)).await;
    assert_eq!(e, "ExpiredCodeException");
    assert_eq!(email_verified(&gw, "walt").await, "false");

    // A code sent to the new address verifies it.
    ok(
        &gw,
        "GetUserAttributeVerificationCode",
        get_code(&token, "email"),
    )
    .await;
    let code = sink
        .wait_for("walt.new@example.test", 0)
        .await
        .code()
        .unwrap();
    ok(&gw, "VerifyUserAttribute", verify(&token, &code)).await;
    assert_eq!(email_verified(&gw, "walt").await, "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_send_nothing_and_change_nothing() {
    let (gw, client_id, sink) = mailing().await;
    let token = unverified_user(&gw, &client_id, "xena").await;
    for (attribute, want) in [
        ("name", "InvalidParameterException"),
        ("phone_number", "InvalidParameterException"),
        ("email\u{0}\r\n", "InvalidParameterException"),
    ] {
        let (e, m) = error_of(
            &gw,
            "GetUserAttributeVerificationCode",
            get_code(&token, attribute),
        )
        .await;
        assert_eq!(e, want, "{attribute:?}: {m}");
        assert!(!m.contains('\u{0}') && !m.contains('\n'), "{m:?}");
    }
    let (e, _) = error_of(
        &gw,
        "GetUserAttributeVerificationCode",
        get_code("not-a-token", "email"),
    )
    .await;
    assert_eq!(e, "NotAuthorizedException");
    let (e, _) = error_of(&gw, "VerifyUserAttribute", verify("not-a-token", "123456")).await;
    assert_eq!(e, "NotAuthorizedException");
    // Never asked for: no code to match.
    let (e, _) = error_of(&gw, "VerifyUserAttribute", verify(&token, "123456")).await;
    assert_eq!(e, "ExpiredCodeException");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(sink.mails().is_empty(), "no mail for a refused request");
    assert_eq!(email_verified(&gw, "xena").await, "false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mail_the_request_is_refused() {
    let (gw, client_id) = setup().await;
    let token = unverified_user(&gw, &client_id, "yuri").await;
    let (e, _) = error_of(
        &gw,
        "GetUserAttributeVerificationCode",
        get_code(&token, "email"),
    )
    .await;
    assert_eq!(e, "CodeDeliveryFailureException");
    let (e, _) = error_of(&gw, "VerifyUserAttribute", verify(&token, "123456")).await;
    assert_eq!(e, "ExpiredCodeException");
}
