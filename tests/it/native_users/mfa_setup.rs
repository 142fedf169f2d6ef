//! MFA `ON`: `SetUserPoolMfaConfig`/`GetUserPoolMfaConfig` through boto3 (and the same
//! settings in `/admin/v1`), then `MFA_SETUP` at sign-in with real clients (a boto3
//! script that computes its own TOTP, amazon-cognito-identity-js's `mfaSetup` over
//! SRP), the admin and new-password paths, the last factor kept, federated users not
//! asked; and the negatives, each a Cognito error that issues nothing.

use std::sync::Arc;

use poolgate::clock::{Clock, FixedClock};
use poolgate::native::totp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::clients::run_client;
use super::*;
use crate::cognito_api::ok;
use crate::harness::Gw;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Turns the default pool's MFA `ON` with TOTP; the answer.
pub(super) async fn mfa_on(gw: &Gw) -> Value {
    ok(
        gw,
        "SetUserPoolMfaConfig",
        json!({"UserPoolId": "default", "MfaConfiguration": "ON",
               "SoftwareTokenMfaConfiguration": {"Enabled": true}}),
    )
    .await
}

/// A 6-digit code that is not good at `at` (no step within the drift gives it).
fn wrong_code(secret: &str, at: i64) -> String {
    let good: Vec<String> = (-1..=1)
        .map(|d| totp::code_at(secret, (at / 30 + d) as u64).unwrap())
        .collect();
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !good.iter().any(|g| g == c))
        .unwrap()
        .to_owned()
}

/// `GetUser`'s MFA members for an access token.
async fn mfa_of(gw: &Gw, access_token: &str) -> (Value, Value) {
    let u = ok(gw, "GetUser", json!({"AccessToken": access_token})).await;
    (
        u.get("UserMFASettingList").cloned().unwrap_or(Value::Null),
        u.get("PreferredMfaSetting").cloned().unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_sets_and_reads_the_pools_mfa_config() {
    let gw = Gw::start().await;
    let get = json!({"UserPoolId": "default"});
    let before = ok(&gw, "GetUserPoolMfaConfig", get.clone()).await;
    assert_eq!(before["MfaConfiguration"], "OFF");

    // No factor with ON or OPTIONAL, factors not served, a bad SMS text, an unknown
    // pool: each refused, nothing changed.
    let (code, message) = error_of(
        &gw,
        "SetUserPoolMfaConfig",
        json!({"UserPoolId": "default", "MfaConfiguration": "ON"}),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        message,
        "Invalid MFA configuration given, can't disable all MFAs with a required or optional configuration."
    );
    for (params, want) in [
        (
            json!({"UserPoolId": "default", "MfaConfiguration": "OPTIONAL",
                   "SoftwareTokenMfaConfiguration": {"Enabled": false}}),
            "InvalidParameterException",
        ),
        (
            json!({"UserPoolId": "default", "MfaConfiguration": "ON",
                   "SoftwareTokenMfaConfiguration": {"Enabled": true},
                   "EmailMfaConfiguration": {"Message": "Code {####}", "Subject": "Code"}}),
            "InvalidParameterException",
        ),
        (
            json!({"UserPoolId": "default", "MfaConfiguration": "ON",
                   "SmsMfaConfiguration": {"SmsAuthenticationMessage": "there is no code"}}),
            "InvalidParameterException",
        ),
        (
            json!({"UserPoolId": "eu-west-1_Nope12345", "MfaConfiguration": "ON",
                   "SoftwareTokenMfaConfiguration": {"Enabled": true}}),
            "ResourceNotFoundException",
        ),
    ] {
        let (code, _) = error_of(&gw, "SetUserPoolMfaConfig", params.clone()).await;
        assert_eq!(code, want, "{params}");
    }
    let (code, _) = error_of(
        &gw,
        "GetUserPoolMfaConfig",
        json!({"UserPoolId": "eu-west-1_Nope12345"}),
    )
    .await;
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(ok(&gw, "GetUserPoolMfaConfig", get.clone()).await, before);

    // ON with TOTP: the answer, the read, DescribeUserPool and /admin/v1 agree.
    let set = mfa_on(&gw).await;
    assert_eq!(set["MfaConfiguration"], "ON");
    assert_eq!(
        set["SoftwareTokenMfaConfiguration"],
        json!({"Enabled": true})
    );
    assert!(set.get("SmsMfaConfiguration").is_none(), "{set}");
    assert_eq!(ok(&gw, "GetUserPoolMfaConfig", get.clone()).await, set);
    let d = ok(&gw, "DescribeUserPool", get.clone()).await;
    assert_eq!(d["UserPool"]["MfaConfiguration"], "ON");
    let (_, p) = gw.admin("GET", "/pools/default", None).await;
    assert_eq!(p["settings"]["mfa_configuration"], "ON");
    assert_eq!(
        p["settings"]["software_token_mfa_configuration"],
        json!({"Enabled": true})
    );

    // SMS as well, its SNS role kept and shown (codes go to the CustomSMSSender hook).
    let sms = json!({"SmsAuthenticationMessage": "Your code is {####}",
                     "SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::000000000000:role/sms",
                                          "ExternalId": "pool-ext"}});
    let set = ok(
        &gw,
        "SetUserPoolMfaConfig",
        json!({"UserPoolId": "default", "MfaConfiguration": "OPTIONAL",
               "SoftwareTokenMfaConfiguration": {"Enabled": true},
               "SmsMfaConfiguration": sms}),
    )
    .await;
    assert_eq!(set["MfaConfiguration"], "OPTIONAL");
    assert_eq!(set["SmsMfaConfiguration"], sms);
    let d = ok(&gw, "DescribeUserPool", get.clone()).await;
    assert_eq!(
        d["UserPool"]["SmsAuthenticationMessage"],
        "Your code is {####}"
    );
    // MfaConfiguration left out stays; a factor left out is off, as Cognito's.
    let set = ok(
        &gw,
        "SetUserPoolMfaConfig",
        json!({"UserPoolId": "default", "SoftwareTokenMfaConfiguration": {"Enabled": true}}),
    )
    .await;
    assert_eq!(set["MfaConfiguration"], "OPTIONAL");
    assert!(set.get("SmsMfaConfiguration").is_none(), "{set}");

    // /admin/v1 takes ON now, and refuses it without a factor.
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"mfa_configuration": "ON"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"software_token_mfa_configuration": {"Enabled": false}}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("settings.mfa_configuration"),
        "{v}"
    );
    let got = ok(&gw, "GetUserPoolMfaConfig", get).await;
    assert_eq!(got["MfaConfiguration"], "ON");
    assert_eq!(
        got["SoftwareTokenMfaConfiguration"],
        json!({"Enabled": true})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_sets_up_totp_during_sign_in_then_it_is_asked_for() {
    let (gw, client_id) = setup().await;
    mfa_on(&gw).await;
    confirmed_user(&gw, "mia").await;
    let r = run_client(
        &gw,
        "python3",
        "mfa_setup_boto3.py",
        &client_id,
        "mia",
        PASSWORD,
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(r["challenge"], "MFA_SETUP");
    assert!(
        r.get("early_tokens").is_none(),
        "no tokens with the challenge"
    );
    assert_eq!(
        r["parameters"]["MFAS_CAN_SETUP"],
        r#"["SOFTWARE_TOKEN_MFA"]"#
    );
    assert_eq!(r["status"], "SUCCESS");
    let secret = r["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 16 && secret.bytes().all(|b| b.is_ascii_alphanumeric()));
    // Python's RFC 6238 and the gateway's agree.
    let step = r["step"].as_u64().unwrap();
    let setup_code = r["code"].as_str().unwrap().to_owned();
    assert_eq!(Some(setup_code.clone()), totp::code_at(&secret, step));
    let sessions: Vec<String> = r["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sessions.len(), 3);
    assert!(sessions[0] != sessions[1] && sessions[1] != sessions[2]);
    let tokens = &r["result"];
    let id = verified_claims(&gw, tokens["IdToken"].as_str().unwrap()).await;
    assert_eq!(id["cognito:username"], "mia");
    let access = tokens["AccessToken"].as_str().unwrap().to_owned();
    assert_eq!(
        mfa_of(&gw, &access).await,
        (json!(["SOFTWARE_TOKEN_MFA"]), json!("SOFTWARE_TOKEN_MFA"))
    );

    // Every session was good once.
    let (code, _) = error_of(
        &gw,
        "AssociateSoftwareToken",
        json!({"Session": sessions[0]}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    let (code, _) = error_of(
        &gw,
        "VerifySoftwareToken",
        json!({"Session": sessions[1], "UserCode": totp::code_at(&secret, step + 1).unwrap()}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "MFA_SETUP", "Session": sessions[2],
               "ChallengeResponses": {"USERNAME": "mia"}}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");

    // The next sign-in asks for the code; the one that verified the set-up is spent.
    let r = password_auth(&gw, &client_id, "mia", PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{r}");
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    let answer = |code: String| {
        json!({"ClientId": client_id, "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": session,
               "ChallengeResponses": {"USERNAME": "mia", "SOFTWARE_TOKEN_MFA_CODE": code}})
    };
    let (code, _) = error_of(&gw, "RespondToAuthChallenge", answer(setup_code)).await;
    assert_eq!(code, "CodeMismatchException");
    let done = ok(
        &gw,
        "RespondToAuthChallenge",
        answer(totp::code_at(&secret, step + 1).unwrap()),
    )
    .await;
    assert!(done["AuthenticationResult"]["IdToken"].is_string());

    // With MFA ON the last factor stays: the user's own call and the admin's.
    let (code, _) = error_of(
        &gw,
        "SetUserMFAPreference",
        json!({"AccessToken": access, "SoftwareTokenMfaSettings": {"Enabled": false, "PreferredMfa": false}}),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = error_of(
        &gw,
        "AdminSetUserMFAPreference",
        json!({"UserPoolId": "default", "Username": "mia",
               "SoftwareTokenMfaSettings": {"Enabled": false}}),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(
        mfa_of(&gw, &access).await,
        (json!(["SOFTWARE_TOKEN_MFA"]), json!("SOFTWARE_TOKEN_MFA"))
    );
    let r = password_auth(&gw, &client_id, "mia", PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amazon_cognito_identity_js_sets_up_totp_after_srp() {
    let (gw, client_id) = setup().await;
    mfa_on(&gw).await;
    confirmed_user(&gw, "noah").await;
    let r = run_client(
        &gw,
        "node",
        "mfa_setup_identity_js.js",
        &client_id,
        "noah",
        PASSWORD,
    )
    .await;
    assert!(r["ok"].is_object(), "{r}");
    assert_eq!(r["setup"]["challenge"], "MFA_SETUP");
    assert_eq!(
        r["setup"]["parameters"]["MFAS_CAN_SETUP"],
        r#"["SOFTWARE_TOKEN_MFA"]"#
    );
    let id = verified_claims(&gw, r["ok"]["id_token"].as_str().unwrap()).await;
    assert_eq!(id["cognito:username"], "noah");
    assert_eq!(
        mfa_of(&gw, r["ok"]["access_token"].as_str().unwrap()).await,
        (json!(["SOFTWARE_TOKEN_MFA"]), json!("SOFTWARE_TOKEN_MFA"))
    );
    // The library signs in again: now the TOTP challenge, not another set-up.
    let again = run_client(
        &gw,
        "node",
        "srp_identity_js.js",
        &client_id,
        "noah",
        PASSWORD,
    )
    .await;
    assert_eq!(again["error"]["Code"], "SOFTWARE_TOKEN_MFA", "{again}");
}

/// Sets up TOTP from an `MFA_SETUP` session through boto3 with `respond` (the admin or
/// the public operation); the tokens.
async fn set_up(gw: &Gw, session: &str, respond: Value) -> (String, Value) {
    let a = ok(gw, "AssociateSoftwareToken", json!({"Session": session})).await;
    let secret = a["SecretCode"].as_str().unwrap().to_owned();
    let v = ok(
        gw,
        "VerifySoftwareToken",
        json!({"Session": a["Session"], "UserCode": totp::code_at(&secret, (now() / 30) as u64).unwrap()}),
    )
    .await;
    assert_eq!(v["Status"], "SUCCESS");
    let mut respond = respond;
    respond["Session"] = v["Session"].clone();
    let op = if respond.get("UserPoolId").is_some() {
        "AdminRespondToAuthChallenge"
    } else {
        "RespondToAuthChallenge"
    };
    (secret, ok(gw, op, respond).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_flow_and_a_new_password_lead_to_mfa_setup_and_federated_users_are_not_asked() {
    let env = crate::e2e::setup("never", false).await;
    let gw = &env.gw;
    let (client_id, _) = gw.client(native_client_body(false)).await;
    mfa_on(gw).await;

    // ADMIN_USER_PASSWORD_AUTH, answered with AdminRespondToAuthChallenge.
    confirmed_user(gw, "olive").await;
    let r = ok(
        gw,
        "AdminInitiateAuth",
        json!({"UserPoolId": "default", "ClientId": client_id, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
               "AuthParameters": {"USERNAME": "olive", "PASSWORD": PASSWORD}}),
    )
    .await;
    assert_eq!(r["ChallengeName"], "MFA_SETUP", "{r}");
    assert!(r.get("AuthenticationResult").is_none());
    let (_, done) = set_up(
        gw,
        r["Session"].as_str().unwrap(),
        json!({"UserPoolId": "default", "ClientId": client_id, "ChallengeName": "MFA_SETUP",
               "ChallengeResponses": {"USERNAME": "olive"}}),
    )
    .await;
    assert!(
        done["AuthenticationResult"]["AccessToken"].is_string(),
        "{done}"
    );

    // A temporary password: NEW_PASSWORD_REQUIRED, then MFA_SETUP, then tokens.
    create_user(gw, "pablo", "Temporary-Pass-9").await;
    let r = password_auth(gw, &client_id, "pablo", "Temporary-Pass-9").await;
    assert_eq!(r["ok"]["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{r}");
    let r = ok(
        gw,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "NEW_PASSWORD_REQUIRED",
               "Session": r["ok"]["Session"],
               "ChallengeResponses": {"USERNAME": "pablo", "NEW_PASSWORD": "Brand-New-Pass-5"}}),
    )
    .await;
    assert_eq!(r["ChallengeName"], "MFA_SETUP", "{r}");
    assert!(r.get("AuthenticationResult").is_none());
    let (_, done) = set_up(
        gw,
        r["Session"].as_str().unwrap(),
        json!({"ClientId": client_id, "ChallengeName": "MFA_SETUP",
               "ChallengeResponses": {"USERNAME": "pablo"}}),
    )
    .await;
    let id = verified_claims(
        gw,
        done["AuthenticationResult"]["IdToken"].as_str().unwrap(),
    )
    .await;
    assert_eq!(id["cognito:username"], "pablo");

    // A federated user signs in through its provider: no second factor, as Cognito.
    let t = crate::e2e::tokens_via(&env, "Corp", "n-mfa").await;
    assert!(t["id_token"].is_string(), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_setup_sessions_refuse_what_they_were_not_made_for() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
    let clock = Arc::new(FixedClock::at(now() * 1000));
    let gw = Gw::start_with(&store, tmp.path(), None, clock.clone()).await;
    let (client_a, _) = gw.client(native_client_body(false)).await;
    let (client_b, _) = gw.client(native_client_body(false)).await;
    mfa_on(&gw).await;
    for user in ["quinn", "rosa", "sven"] {
        confirmed_user(&gw, user).await;
    }
    let begin = |user: &'static str, client: String| {
        let gw = &gw;
        async move {
            let r = password_auth(gw, &client, user, PASSWORD).await;
            assert_eq!(r["ok"]["ChallengeName"], "MFA_SETUP", "{r}");
            r["ok"]["Session"].as_str().unwrap().to_owned()
        }
    };
    let respond = |client: &str, user: &str, session: &str| {
        json!({"ClientId": client, "ChallengeName": "MFA_SETUP", "Session": session,
               "ChallengeResponses": {"USERNAME": user}})
    };

    // The MFA_SETUP answer before any verification: refused, no tokens.
    let s = begin("quinn", client_a.clone()).await;
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        respond(&client_a, "quinn", &s),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    let s = begin("quinn", client_a.clone()).await;
    let a = ok(&gw, "AssociateSoftwareToken", json!({"Session": s})).await;
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        respond(&client_a, "quinn", a["Session"].as_str().unwrap()),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    // Verifying needs an associated secret first.
    let s = begin("quinn", client_a.clone()).await;
    let (code, _) = error_of(
        &gw,
        "VerifySoftwareToken",
        json!({"Session": s, "UserCode": "123456"}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    // Neither a token nor a session, or both: refused.
    let (code, _) = error_of(&gw, "AssociateSoftwareToken", json!({})).await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = error_of(
        &gw,
        "AssociateSoftwareToken",
        json!({"Session": "x".repeat(40), "AccessToken": "y.y.y"}),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = error_of(
        &gw,
        "AssociateSoftwareToken",
        json!({"Session": "not-a-session-of-this-gateway"}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");

    // A wrong code changes nothing and keeps the session; the right one then works.
    let s = begin("quinn", client_a.clone()).await;
    let a = ok(&gw, "AssociateSoftwareToken", json!({"Session": s})).await;
    let secret = a["SecretCode"].as_str().unwrap().to_owned();
    let at = clock.now();
    let (code, _) = error_of(
        &gw,
        "VerifySoftwareToken",
        json!({"Session": a["Session"], "UserCode": wrong_code(&secret, at)}),
    )
    .await;
    assert_eq!(code, "EnableSoftwareTokenMFAException");
    let r = password_auth(&gw, &client_a, "quinn", PASSWORD).await;
    assert_eq!(
        r["ok"]["ChallengeName"], "MFA_SETUP",
        "still no factor: {r}"
    );
    let right = totp::code_at(&secret, (at / 30) as u64).unwrap();
    let v = ok(
        &gw,
        "VerifySoftwareToken",
        json!({"Session": a["Session"], "UserCode": right}),
    )
    .await;
    let verified = v["Session"].as_str().unwrap().to_owned();

    // That session answered by another client, then for another user: refused, and
    // spent (a misuse burns it).
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        respond(&client_b, "quinn", &verified),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        respond(&client_a, "quinn", &verified),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    let s = begin("rosa", client_a.clone()).await;
    let a = ok(&gw, "AssociateSoftwareToken", json!({"Session": s})).await;
    let rosa_secret = a["SecretCode"].as_str().unwrap().to_owned();
    let v = ok(
        &gw,
        "VerifySoftwareToken",
        json!({"Session": a["Session"],
               "UserCode": totp::code_at(&rosa_secret, (at / 30) as u64).unwrap()}),
    )
    .await;
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        respond(&client_a, "quinn", v["Session"].as_str().unwrap()),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    // Neither was signed in and no tokens came out of it; rosa's authenticator is
    // registered (verified), and it is what her next sign-in asks for.
    let r = password_auth(&gw, &client_a, "rosa", PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{r}");

    // An expired session: three minutes and one second later.
    let s = begin("sven", client_a.clone()).await;
    clock.advance_secs(181);
    let (code, message) = error_of(&gw, "AssociateSoftwareToken", json!({"Session": s})).await;
    assert_eq!(code, "NotAuthorizedException");
    assert!(message.contains("expired"), "{message}");
    let s = begin("sven", client_a.clone()).await;
    let a = ok(&gw, "AssociateSoftwareToken", json!({"Session": s})).await;
    clock.advance_secs(181);
    let (code, _) = error_of(
        &gw,
        "VerifySoftwareToken",
        json!({"Session": a["Session"],
               "UserCode": totp::code_at(a["SecretCode"].as_str().unwrap(), (clock.now() / 30) as u64).unwrap()}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");

    // Five wrong codes spend the session.
    let s = begin("sven", client_a.clone()).await;
    let a = ok(&gw, "AssociateSoftwareToken", json!({"Session": s})).await;
    let secret = a["SecretCode"].as_str().unwrap().to_owned();
    let wrong = wrong_code(&secret, clock.now());
    for _ in 0..5 {
        let (code, _) = error_of(
            &gw,
            "VerifySoftwareToken",
            json!({"Session": a["Session"], "UserCode": wrong}),
        )
        .await;
        assert_eq!(code, "EnableSoftwareTokenMFAException");
    }
    let (code, _) = error_of(
        &gw,
        "VerifySoftwareToken",
        json!({"Session": a["Session"],
               "UserCode": totp::code_at(&secret, (clock.now() / 30) as u64).unwrap()}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_pool_that_signs_in_by_email_the_email_answers_mfa_setup() {
    let (gw, client_id) = setup().await;
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"username_attributes": ["email"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    mfa_on(&gw).await;
    ok(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "vera@example.test",
               "TemporaryPassword": "Temporary-Pass-9", "MessageAction": "SUPPRESS",
               "UserAttributes": [{"Name": "email_verified", "Value": "true"}]}),
    )
    .await;
    ok(
        &gw,
        "AdminSetUserPassword",
        json!({"UserPoolId": "default", "Username": "vera@example.test",
               "Password": PASSWORD, "Permanent": true}),
    )
    .await;
    // The boto3 script answers MFA_SETUP with the email it signed in with.
    let r = run_client(
        &gw,
        "python3",
        "mfa_setup_boto3.py",
        &client_id,
        "vera@example.test",
        PASSWORD,
    )
    .await;
    assert_eq!(r["challenge"], "MFA_SETUP", "{r}");
    let id = verified_claims(
        &gw,
        r["result"]["IdToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}")),
    )
    .await;
    assert_eq!(id["email"], "vera@example.test");
}
