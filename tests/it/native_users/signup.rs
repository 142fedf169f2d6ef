//! Self-service accounts end to end: `SignUp` -> `ConfirmSignUp` -> sign-in and
//! `ForgotPassword` -> `ConfirmForgotPassword` -> sign-in with the new password, codes
//! read from an SMTP sink started by the test; the invitation mail of
//! `AdminCreateUser`; the hooks around them; and refusals that create nothing.

use serde_json::{Value, json};

use super::smtp_sink::SmtpSink;
use super::*;
use crate::cognito_api::{fails, ok};
use crate::hooks::{HookServer, Reply, echo};

/// A gateway mailing through a fresh sink, with a client that has the test flows.
async fn mailing() -> (Gw, String, SmtpSink) {
    let (gw, sink) = mailing_gateway(None).await;
    let (client_id, _) = gw.client(native_client_body(false)).await;
    (gw, client_id, sink)
}

async fn settings(gw: &Gw, settings: Value) {
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": settings})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{v}");
}

fn sign_up_params(client_id: &str, user: &str) -> Value {
    json!({
        "ClientId": client_id,
        "Username": user,
        "Password": PASSWORD,
        "UserAttributes": [{"Name": "email", "Value": format!("{user}@example.test")}],
    })
}

async fn status_of(gw: &Gw, user: &str) -> Value {
    admin_get_user(gw, user).await["ok"]["UserStatus"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_confirm_then_sign_in() {
    let (gw, client_id, sink) = mailing().await;
    settings(
        &gw,
        json!({"verification_message_template": {
            "EmailSubject": "Welcome to the pool", "EmailMessage": "Your code: {####} (keep it)"}}),
    )
    .await;
    let r = ok(&gw, "SignUp", sign_up_params(&client_id, "gina")).await;
    assert_eq!(r["UserConfirmed"], false, "{r}");
    assert!(r["UserSub"].as_str().unwrap().len() >= 32);
    assert_eq!(
        r["CodeDeliveryDetails"],
        json!({"Destination": "g***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"})
    );
    let mail = sink.wait_for("gina@example.test", 0).await;
    assert!(
        mail.data.contains("Subject: Welcome to the pool"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("Your code: "), "{}", mail.data);
    let code = mail.code().expect("a code in the mail");

    // Not yet confirmed: no sign-in. The same name cannot sign up twice.
    let r = password_auth(&gw, &client_id, "gina", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "UserNotConfirmedException", "{r}");
    let code2 = fails(&gw, "SignUp", sign_up_params(&client_id, "gina")).await;
    assert_eq!(code2, "UsernameExistsException");
    // A wrong code is refused and the right one still works.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (c, _) = error_of(
        &gw,
        "ConfirmSignUp",
        json!({"ClientId": client_id, "Username": "gina", "ConfirmationCode": wrong}),
    )
    .await;
    assert_eq!(c, "CodeMismatchException");
    assert_eq!(status_of(&gw, "gina").await, "UNCONFIRMED");
    // A resent code replaces the first.
    ok(
        &gw,
        "ResendConfirmationCode",
        json!({"ClientId": client_id, "Username": "gina"}),
    )
    .await;
    let code = sink.wait_for("gina@example.test", 1).await.code().unwrap();
    ok(
        &gw,
        "ConfirmSignUp",
        json!({"ClientId": client_id, "Username": "gina", "ConfirmationCode": code}),
    )
    .await;
    assert_eq!(status_of(&gw, "gina").await, "CONFIRMED");
    // Good once.
    let (c, _) = error_of(
        &gw,
        "ConfirmSignUp",
        json!({"ClientId": client_id, "Username": "gina", "ConfirmationCode": code}),
    )
    .await;
    assert_eq!(c, "NotAuthorizedException");
    let r = password_auth(&gw, &client_id, "gina", PASSWORD).await;
    let id = verified_claims(
        &gw,
        r["ok"]["AuthenticationResult"]["IdToken"].as_str().unwrap(),
    )
    .await;
    assert_eq!(id["email"], "gina@example.test");
    assert_eq!(id["email_verified"], true, "the code verified the email");
    let r = super::clients::run_client(
        &gw,
        "python3",
        "srp_pycognito.py",
        &client_id,
        "gina",
        PASSWORD,
    )
    .await;
    assert!(r["ok"].is_object(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_then_sign_in_with_the_new_one() {
    let (gw, client_id, sink) = mailing().await;
    confirmed_user(&gw, "hans").await;
    // An unknown user gets an answer of the same shape, and no mail goes out.
    let r = ok(
        &gw,
        "ForgotPassword",
        json!({"ClientId": client_id, "Username": "nobody"}),
    )
    .await;
    assert_eq!(r["CodeDeliveryDetails"]["DeliveryMedium"], "EMAIL", "{r}");
    let r = ok(
        &gw,
        "ForgotPassword",
        json!({"ClientId": client_id, "Username": "hans"}),
    )
    .await;
    assert_eq!(r["CodeDeliveryDetails"]["Destination"], "h***@e***");
    let code = sink.wait_for("hans@example.test", 0).await.code().unwrap();
    assert_eq!(
        sink.mails().len(),
        1,
        "nothing was sent for the unknown user"
    );
    let new_pw = "Another-Horse-2";
    // A password the policy refuses leaves the code usable.
    let (c, _) = error_of(
        &gw,
        "ConfirmForgotPassword",
        json!({"ClientId": client_id, "Username": "hans", "ConfirmationCode": code, "Password": "short"}),
    )
    .await;
    assert_eq!(c, "InvalidPasswordException");
    let (c, _) = error_of(
        &gw,
        "ConfirmForgotPassword",
        json!({"ClientId": client_id, "Username": "nobody", "ConfirmationCode": code, "Password": new_pw}),
    )
    .await;
    assert_eq!(c, "CodeMismatchException");
    ok(
        &gw,
        "ConfirmForgotPassword",
        json!({"ClientId": client_id, "Username": "hans", "ConfirmationCode": code, "Password": new_pw}),
    )
    .await;
    let (c, _) = error_of(
        &gw,
        "ConfirmForgotPassword",
        json!({"ClientId": client_id, "Username": "hans", "ConfirmationCode": code, "Password": "Third-Horse-3"}),
    )
    .await;
    assert_eq!(c, "ExpiredCodeException", "a code is good once");
    let r = password_auth(&gw, &client_id, "hans", PASSWORD).await;
    assert_eq!(
        r["error"]["Code"], "NotAuthorizedException",
        "the old password is gone"
    );
    let r = password_auth(&gw, &client_id, "hans", new_pw).await;
    assert!(r["ok"]["AuthenticationResult"].is_object(), "{r}");
    let r = super::clients::run_client(
        &gw,
        "python3",
        "srp_pycognito.py",
        &client_id,
        "hans",
        new_pw,
    )
    .await;
    assert!(r["ok"].is_object(), "{r}");

    // Five wrong codes spend a code.
    ok(
        &gw,
        "ForgotPassword",
        json!({"ClientId": client_id, "Username": "hans"}),
    )
    .await;
    let code = sink.wait_for("hans@example.test", 1).await.code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (c, _) = error_of(
            &gw,
            "ConfirmForgotPassword",
            json!({"ClientId": client_id, "Username": "hans", "ConfirmationCode": wrong, "Password": "Fourth-Horse-4"}),
        )
        .await;
        assert_eq!(c, "CodeMismatchException");
    }
    let (c, _) = error_of(
        &gw,
        "ConfirmForgotPassword",
        json!({"ClientId": client_id, "Username": "hans", "ConfirmationCode": code, "Password": "Fourth-Horse-4"}),
    )
    .await;
    assert_eq!(c, "ExpiredCodeException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invitation_is_mailed_with_the_pool_template() {
    let (gw, client_id, sink) = mailing().await;
    settings(
        &gw,
        json!({"admin_create_user_config": {"InviteMessageTemplate": {
            "EmailSubject": "Join us", "EmailMessage": "Hello {username}, your password is {####}"}}}),
    )
    .await;
    ok(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "ines",
               "UserAttributes": [{"Name": "email", "Value": "ines@example.test"}]}),
    )
    .await;
    let mail = sink.wait_for("ines@example.test", 0).await;
    assert!(mail.data.contains("Subject: Join us"), "{}", mail.data);
    let body = mail.data.split("\r\n\r\n").nth(1).unwrap().to_owned();
    let temporary = body
        .trim()
        .strip_prefix("Hello ines, your password is ")
        .unwrap_or_else(|| panic!("{body}"))
        .trim()
        .to_owned();
    let r = password_auth(&gw, &client_id, "ines", &temporary).await;
    assert_eq!(r["ok"]["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{r}");
    // A template without the code is refused.
    let (s, _) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"verification_message_template": {"EmailMessage": "no code here"}}})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mail_nothing_is_created_and_self_sign_up_can_be_closed() {
    let (gw, client_id) = setup().await;
    let (c, m) = error_of(&gw, "SignUp", sign_up_params(&client_id, "jack")).await;
    assert_eq!(c, "CodeDeliveryFailureException", "{m}");
    let c = fails(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "jill",
               "UserAttributes": [{"Name": "email", "Value": "jill@example.test"}]}),
    )
    .await;
    assert_eq!(c, "CodeDeliveryFailureException");
    for u in ["jack", "jill"] {
        let c = fails(
            &gw,
            "AdminGetUser",
            json!({"UserPoolId": "default", "Username": u}),
        )
        .await;
        assert_eq!(c, "UserNotFoundException", "{u} was not created");
    }
    let (c, _) = error_of(
        &gw,
        "ForgotPassword",
        json!({"ClientId": client_id, "Username": "jack"}),
    )
    .await;
    assert_eq!(c, "CodeDeliveryFailureException");

    settings(
        &gw,
        json!({"admin_create_user_config": {"AllowAdminCreateUserOnly": true}}),
    )
    .await;
    let (c, _) = error_of(&gw, "SignUp", sign_up_params(&client_id, "jack")).await;
    assert_eq!(c, "NotAuthorizedException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_confirm_rewrite_and_deliver_codes() {
    // No SMTP: the CustomEmailSender hook delivers the codes.
    let (gw, client_id) = setup().await;
    let hook = HookServer::start(|event: Value| async move {
        let user = event["userName"].as_str().unwrap_or("").to_owned();
        match event["triggerSource"].as_str().unwrap_or("") {
            "PreSignUp_SignUp" if user == "auto" => {
                let mut e = event.clone();
                e["response"]["autoConfirmUser"] = json!(true);
                e["response"]["autoVerifyEmail"] = json!(true);
                Reply::Json(e)
            }
            "PostConfirmation_ConfirmSignUp" if user == "flaky" => Reply::Raw(
                400,
                json!({"errorMessage": "audit down", "errorType": "Error"})
                    .to_string()
                    .into_bytes(),
            ),
            _ => echo(event).await,
        }
    })
    .await;
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"hooks": {
                "PreSignUp": hook.url("/pre"),
                "PostConfirmation": hook.url("/post"),
                "CustomEmailSender": {"LambdaVersion": "V1_0", "LambdaArn": hook.url("/send")},
            }}})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{v}");

    let r = ok(&gw, "SignUp", sign_up_params(&client_id, "auto")).await;
    assert_eq!(r["UserConfirmed"], true, "{r}");
    assert!(r.get("CodeDeliveryDetails").is_none());
    let r = password_auth(&gw, &client_id, "auto", PASSWORD).await;
    assert!(r["ok"]["AuthenticationResult"].is_object(), "{r}");

    let r = ok(&gw, "SignUp", sign_up_params(&client_id, "flaky")).await;
    assert_eq!(r["UserConfirmed"], false);
    let sent: Vec<Value> = hook
        .calls()
        .into_iter()
        .map(|c| c.event)
        .filter(|e| e["triggerSource"] == "CustomEmailSender_SignUp")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["request"]["type"], "customEmailSenderRequestV1");
    assert_eq!(
        sent[0]["request"]["userAttributes"]["email"],
        "flaky@example.test"
    );
    let code = sent[0]["request"]["code"].as_str().unwrap().to_owned();
    // The post-confirmation hook refuses: the user stays unconfirmed, the code usable.
    let (c, m) = error_of(
        &gw,
        "ConfirmSignUp",
        json!({"ClientId": client_id, "Username": "flaky", "ConfirmationCode": code}),
    )
    .await;
    assert_eq!(c, "UserLambdaValidationException", "{m}");
    assert_eq!(status_of(&gw, "flaky").await, "UNCONFIRMED");
}
