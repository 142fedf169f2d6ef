//! `SMS_MFA` (issues 15 and 16): the code goes out only through the pool's
//! `CustomSMSSender` hook, here a hook server started by the test that captures it as
//! an SMS gateway behind a Lambda would. Set-up refusals, the challenge and its
//! parameters, the event as Cognito sends it, wrong / reused / expired codes, a
//! failing hook, `SELECT_MFA_TYPE`, and the hosted page's SMS step.

use std::sync::Arc;

use poolgate::clock::FixedClock;
use poolgate::native::totp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::hosted::{begin, post};
use super::*;
use crate::cognito_api::ok;
use crate::harness::{Browser, Gw};
use crate::hooks::{HookServer, Reply, echo};

const PHONE: &str = "+12065551234";
const MASKED: &str = "+*******1234";
const SENDER: &str = "CustomSMSSender_Authentication";

/// Sets the default pool's settings through `/admin/v1`.
async fn settings(gw: &Gw, settings: Value) {
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": settings})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// The pool with MFA `OPTIONAL` and `hook` as its `CustomSMSSender`.
async fn sms_pool(gw: &Gw, hook: &HookServer) {
    settings(
        gw,
        json!({"mfa_configuration": "OPTIONAL", "hooks": {
            "CustomSMSSender": {"LambdaVersion": "V1_0", "LambdaArn": hook.url("/sms")}}}),
    )
    .await;
}

/// A `CONFIRMED` user with [`PASSWORD`] and a phone number (verified or not).
async fn phone_user(gw: &Gw, username: &str, verified: bool) {
    ok(
        gw,
        "AdminCreateUser",
        json!({
            "UserPoolId": "default",
            "Username": username,
            "TemporaryPassword": "Temporary-Pass-9",
            "MessageAction": "SUPPRESS",
            "UserAttributes": [
                {"Name": "email", "Value": format!("{username}@example.test")},
                {"Name": "phone_number", "Value": PHONE},
                {"Name": "phone_number_verified", "Value": verified.to_string()},
            ],
        }),
    )
    .await;
    ok(
        gw,
        "AdminSetUserPassword",
        json!({"UserPoolId": "default", "Username": username, "Password": PASSWORD, "Permanent": true}),
    )
    .await;
}

async fn enable_sms(gw: &Gw, username: &str) {
    ok(
        gw,
        "AdminSetUserMFAPreference",
        json!({"UserPoolId": "default", "Username": username,
               "SMSMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
    )
    .await;
}

/// The codes the hook server was handed, in order.
fn codes(hook: &HookServer) -> Vec<String> {
    hook.calls()
        .iter()
        .filter(|c| c.event["triggerSource"] == SENDER)
        .map(|c| c.event["request"]["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn answer(gw: &Gw, client_id: &str, session: &str, username: &str, code: &str) -> Value {
    boto3(
        gw,
        &[(
            "RespondToAuthChallenge",
            json!({"ClientId": client_id, "ChallengeName": "SMS_MFA", "Session": session,
                   "ChallengeResponses": {"USERNAME": username, "SMS_MFA_CODE": code}}),
        )],
    )
    .await
    .remove(0)
}

/// A code that is not `code`.
fn other(code: &str) -> String {
    if code == "000000" { "111111" } else { "000000" }.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_mfa_set_up_needs_the_pool_the_sender_and_a_verified_phone() {
    let (gw, client_id) = setup().await;
    phone_user(&gw, "sara", true).await;
    phone_user(&gw, "tomas", false).await;
    let sms_on = |u: &str| {
        json!({"UserPoolId": "default", "Username": u,
               "SMSMfaSettings": {"Enabled": true, "PreferredMfa": true}})
    };
    // The pool's MFA is OFF: refused.
    let (code, _) = error_of(&gw, "AdminSetUserMFAPreference", sms_on("sara")).await;
    assert_eq!(code, "InvalidParameterException");
    let d = ok(&gw, "DescribeUserPool", json!({"UserPoolId": "default"})).await;
    assert_eq!(d["UserPool"]["MfaConfiguration"], "OFF");
    // OPTIONAL, but no CustomSMSSender: no SMS can be sent, nothing changes.
    settings(&gw, json!({"mfa_configuration": "OPTIONAL"})).await;
    let (code, message) = error_of(&gw, "AdminSetUserMFAPreference", sms_on("sara")).await;
    assert_eq!(code, "CodeDeliveryFailureException");
    assert!(message.contains("CustomSMSSender"), "{message}");
    let r = password_auth(&gw, &client_id, "sara", PASSWORD).await;
    assert!(
        r["ok"]["AuthenticationResult"]["IdToken"].is_string(),
        "SMS MFA stayed off: {r}"
    );
    let access = r["ok"]["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = ok(&gw, "GetUser", json!({"AccessToken": access})).await;
    assert!(me.get("UserMFASettingList").is_none(), "{me}");

    let hook = HookServer::start(echo).await;
    sms_pool(&gw, &hook).await;
    // A phone number not verified: refused.
    let (code, _) = error_of(&gw, "AdminSetUserMFAPreference", sms_on("tomas")).await;
    assert_eq!(code, "InvalidParameterException");
    // Both preferred at once: refused.
    let (code, _) = error_of(
        &gw,
        "SetUserMFAPreference",
        json!({"AccessToken": access,
               "SMSMfaSettings": {"Enabled": true, "PreferredMfa": true},
               "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    // The user's own call, with its access token.
    ok(
        &gw,
        "SetUserMFAPreference",
        json!({"AccessToken": access, "SMSMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
    )
    .await;
    let me = ok(&gw, "GetUser", json!({"AccessToken": access})).await;
    assert_eq!(me["UserMFASettingList"], json!(["SMS_MFA"]));
    assert_eq!(me["PreferredMfaSetting"], "SMS_MFA");
    let d = ok(&gw, "DescribeUserPool", json!({"UserPoolId": "default"})).await;
    assert_eq!(d["UserPool"]["MfaConfiguration"], "OPTIONAL");
    // MFA `ON` with no factor offered is refused, the pool unchanged.
    let (s, _) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"mfa_configuration": "ON",
                "software_token_mfa_configuration": {"Enabled": false}}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let d = ok(&gw, "DescribeUserPool", json!({"UserPoolId": "default"})).await;
    assert_eq!(d["UserPool"]["MfaConfiguration"], "OPTIONAL");
    assert!(hook.calls().is_empty(), "no SMS was sent during set-up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_mfa_codes_come_from_the_hook_and_are_good_once() {
    let (gw, client_id) = setup().await;
    let hook = HookServer::start(echo).await;
    sms_pool(&gw, &hook).await;
    phone_user(&gw, "ulla", true).await;
    enable_sms(&gw, "ulla").await;

    let r = boto3(
        &gw,
        &[(
            "InitiateAuth",
            json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                   "AuthParameters": {"USERNAME": "ulla", "PASSWORD": PASSWORD},
                   "ClientMetadata": {"app": "web"}}),
        )],
    )
    .await
    .remove(0);
    let c = &r["ok"];
    assert_eq!(c["ChallengeName"], "SMS_MFA", "{r}");
    assert!(c.get("AuthenticationResult").is_none());
    assert_eq!(
        c["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"],
        "SMS"
    );
    assert_eq!(
        c["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"],
        MASKED
    );
    assert_eq!(c["ChallengeParameters"]["USER_ID_FOR_SRP"], "ulla");
    let session = c["Session"].as_str().unwrap().to_owned();

    // The event, as Cognito sends it to a CustomSMSSender function.
    let calls = hook.calls();
    assert_eq!(calls.len(), 1);
    let e = &calls[0].event;
    assert_eq!(e["triggerSource"], SENDER);
    assert_eq!(e["version"], "1");
    assert_eq!(e["userName"], "ulla");
    assert_eq!(e["userPoolId"], "default");
    assert_eq!(e["callerContext"]["clientId"], client_id.as_str());
    assert_eq!(e["request"]["type"], "customSMSSenderRequestV1");
    assert_eq!(e["request"]["userAttributes"]["phone_number"], PHONE);
    assert_eq!(
        e["request"]["userAttributes"]["cognito:user_status"],
        "CONFIRMED"
    );
    assert_eq!(e["request"]["clientMetadata"]["app"], "web");
    assert!(calls[0].signature.starts_with("t="), "the call is signed");
    let code = codes(&hook)[0].clone();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));

    // A wrong code, then the right one in the same session.
    let r = answer(&gw, &client_id, &session, "ulla", &other(&code)).await;
    assert_eq!(r["error"]["Code"], "CodeMismatchException", "{r}");
    let r = answer(&gw, &client_id, &session, "ulla", &code).await;
    let id = r["ok"]["AuthenticationResult"]["IdToken"].as_str().unwrap();
    let claims = verified_claims(&gw, id).await;
    assert_eq!(claims["cognito:username"], "ulla");
    // Reused: the session is spent.
    let r = answer(&gw, &client_id, &session, "ulla", &code).await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    assert!(r.get("ok").is_none());

    // A new sign-in gets a new code; the old one is no good in it.
    let r = password_auth(&gw, &client_id, "ulla", PASSWORD).await;
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    let fresh = codes(&hook)[1].clone();
    if fresh != code {
        let r = answer(&gw, &client_id, &session, "ulla", &code).await;
        assert_eq!(r["error"]["Code"], "CodeMismatchException", "{r}");
    }
    // Five wrong codes spend a session: the right one comes too late.
    let r = password_auth(&gw, &client_id, "ulla", PASSWORD).await;
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    let fresh = codes(&hook)[2].clone();
    for _ in 0..5 {
        let r = answer(&gw, &client_id, &session, "ulla", &other(&fresh)).await;
        assert_eq!(r["error"]["Code"], "CodeMismatchException", "{r}");
    }
    let r = answer(&gw, &client_id, &session, "ulla", &fresh).await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");

    // The admin flow passes through the same second factor.
    let r = boto3(
        &gw,
        &[(
            "AdminInitiateAuth",
            json!({"UserPoolId": "default", "ClientId": client_id,
                   "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                   "AuthParameters": {"USERNAME": "ulla", "PASSWORD": PASSWORD}}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(r["ok"]["ChallengeName"], "SMS_MFA", "{r}");
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    let code = codes(&hook).last().unwrap().clone();
    let r = boto3(
        &gw,
        &[(
            "AdminRespondToAuthChallenge",
            json!({"UserPoolId": "default", "ClientId": client_id, "ChallengeName": "SMS_MFA",
                   "Session": session,
                   "ChallengeResponses": {"USERNAME": "ulla", "SMS_MFA_CODE": code}}),
        )],
    )
    .await
    .remove(0);
    assert!(
        r["ok"]["AuthenticationResult"]["AccessToken"].is_string(),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_sms_code_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let clock = Arc::new(FixedClock::at(now * 1000));
    let gw = Gw::start_with(&store, tmp.path(), None, clock.clone()).await;
    let (client_id, _) = gw.client(native_client_body(false)).await;
    let hook = HookServer::start(echo).await;
    sms_pool(&gw, &hook).await;
    phone_user(&gw, "vera", true).await;
    enable_sms(&gw, "vera").await;
    let r = password_auth(&gw, &client_id, "vera", PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "SMS_MFA", "{r}");
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    let code = codes(&hook)[0].clone();
    // Cognito's code (and session) lasts 3 minutes.
    clock.advance_secs(181);
    let r = answer(&gw, &client_id, &session, "vera", &code).await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    assert!(r.get("ok").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sms_sender_fails_the_sign_in_cleanly() {
    let (gw, client_id) = setup().await;
    let hook = HookServer::start(|_| async { Reply::Raw(500, b"boom".to_vec()) }).await;
    sms_pool(&gw, &hook).await;
    phone_user(&gw, "wera", true).await;
    enable_sms(&gw, "wera").await;
    let r = password_auth(&gw, &client_id, "wera", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "UnexpectedLambdaException", "{r}");
    assert!(r.get("ok").is_none(), "no session, no tokens: {r}");
    assert_eq!(hook.calls().len(), 1, "the hook was asked once");

    // The sender removed afterwards: the sign-in refuses (no code can go out); the
    // user's MFA is not skipped.
    settings(&gw, json!({"hooks": {}})).await;
    let r = password_auth(&gw, &client_id, "wera", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "CodeDeliveryFailureException", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_factors_without_a_preference_ask_to_select_one() {
    let (gw, client_id) = setup().await;
    let hook = HookServer::start(echo).await;
    sms_pool(&gw, &hook).await;
    phone_user(&gw, "xena", true).await;
    let r = password_auth(&gw, &client_id, "xena", PASSWORD).await;
    let access = r["ok"]["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = ok(
        &gw,
        "AssociateSoftwareToken",
        json!({"AccessToken": access}),
    )
    .await["SecretCode"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let step = now / 30;
    ok(
        &gw,
        "VerifySoftwareToken",
        json!({"AccessToken": access, "UserCode": totp::code_at(&secret, step).unwrap()}),
    )
    .await;
    ok(
        &gw,
        "SetUserMFAPreference",
        json!({"AccessToken": access,
               "SMSMfaSettings": {"Enabled": true, "PreferredMfa": false},
               "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": false}}),
    )
    .await;
    let me = ok(&gw, "GetUser", json!({"AccessToken": access})).await;
    assert_eq!(
        me["UserMFASettingList"],
        json!(["SMS_MFA", "SOFTWARE_TOKEN_MFA"])
    );
    assert!(me.get("PreferredMfaSetting").is_none(), "{me}");

    let r = password_auth(&gw, &client_id, "xena", PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "SELECT_MFA_TYPE", "{r}");
    let can: Vec<String> = serde_json::from_str(
        r["ok"]["ChallengeParameters"]["MFAS_CAN_CHOOSE"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(can, ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]);
    assert!(codes(&hook).is_empty(), "no SMS before the choice");
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    let select = |session: &str, answer: &str| {
        json!({"ClientId": client_id, "ChallengeName": "SELECT_MFA_TYPE", "Session": session,
               "ChallengeResponses": {"USERNAME": "xena", "ANSWER": answer}})
    };
    let (code, _) = error_of(&gw, "RespondToAuthChallenge", select(&session, "EMAIL_OTP")).await;
    assert_eq!(code, "InvalidParameterException");
    let r = ok(&gw, "RespondToAuthChallenge", select(&session, "SMS_MFA")).await;
    assert_eq!(r["ChallengeName"], "SMS_MFA", "{r}");
    assert_eq!(
        r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"],
        MASKED
    );
    let sms_session = r["Session"].as_str().unwrap().to_owned();
    let code = codes(&hook)[0].clone();
    let r = answer(&gw, &client_id, &sms_session, "xena", &code).await;
    assert!(
        r["ok"]["AuthenticationResult"]["IdToken"].is_string(),
        "{r}"
    );

    // The other choice: the authenticator app's code.
    let r = password_auth(&gw, &client_id, "xena", PASSWORD).await;
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    let r = ok(
        &gw,
        "RespondToAuthChallenge",
        select(&session, "SOFTWARE_TOKEN_MFA"),
    )
    .await;
    assert_eq!(r["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{r}");
    let totp_session = r["Session"].as_str().unwrap().to_owned();
    let done = ok(
        &gw,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": totp_session,
               "ChallengeResponses": {"USERNAME": "xena",
                                      "SOFTWARE_TOKEN_MFA_CODE": totp::code_at(&secret, step + 1).unwrap()}}),
    )
    .await;
    assert!(done["AuthenticationResult"]["IdToken"].is_string());
    assert_eq!(codes(&hook).len(), 1, "no SMS for the TOTP choice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_sign_in_with_an_sms_code() {
    let (gw, client_id) = setup().await;
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f = fail.clone();
    let hook = HookServer::start(move |event| {
        let fail = f.load(std::sync::atomic::Ordering::SeqCst);
        async move {
            if fail {
                Reply::Raw(500, b"down".to_vec())
            } else {
                echo(event).await
            }
        }
    })
    .await;
    sms_pool(&gw, &hook).await;
    phone_user(&gw, "yuki", true).await;
    enable_sms(&gw, "yuki").await;
    let b = Browser::new();
    let s = begin(&gw, &b, &client_id).await;
    let t = s.token.as_str();
    let r = post(
        &gw,
        &b,
        &[
            ("csrf_token", t),
            ("username", "yuki"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("text message") && page.contains(MASKED),
        "{page}"
    );
    assert!(page.contains("autocomplete=\"one-time-code\""));
    let code = codes(&hook)[0].clone();
    // A wrong code: the form again with the error.
    let wrong = other(&code);
    let r = post(&gw, &b, &[("csrf_token", t), ("code", wrong.as_str())]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"") && page.contains("text message"),
        "{page}"
    );
    // The right one: back to the app with a code.
    let r = post(&gw, &b, &[("csrf_token", t), ("code", code.as_str())]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with("http://127.0.0.1:9/cb?") && loc.contains("code="),
        "{loc}"
    );
    let q: std::collections::BTreeMap<String, String> = url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let (st, tok) = gw
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", q["code"].as_str()),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("client_id", client_id.as_str()),
                ("code_verifier", s.verifier.as_str()),
            ],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{tok}");

    // The sender fails: the browser goes back to the app with access_denied, no code.
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let s = begin(&gw, &b, &client_id).await;
    let r = post(
        &gw,
        &b,
        &[
            ("csrf_token", s.token.as_str()),
            ("username", "yuki"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.contains("error=access_denied") && !loc.contains("code="),
        "{loc}"
    );
    assert!(loc.contains("state=st-1"), "{loc}");
}
