//! TOTP (SOFTWARE_TOKEN_MFA): set up with an access token, then asked at each sign-in;
//! a code is good once. And a temporary password that expired.

use std::sync::Arc;

use poolgate::clock::FixedClock;
use poolgate::native::totp;
use serde_json::json;

use super::*;
use crate::cognito_api::ok;
use crate::harness::Gw;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_is_set_up_then_required_and_codes_are_single_use() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "hana").await;
    let r = password_auth(&gw, &client_id, "hana", PASSWORD).await;
    let access = r["ok"]["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // Enabling before verifying an authenticator is refused.
    let (code, _) = error_of(
        &gw,
        "SetUserMFAPreference",
        json!({"AccessToken": access, "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");

    let assoc = ok(
        &gw,
        "AssociateSoftwareToken",
        json!({"AccessToken": access}),
    )
    .await;
    let secret = assoc["SecretCode"].as_str().unwrap().to_owned();
    // A wrong code does not verify it.
    let (code, _) = error_of(
        &gw,
        "VerifySoftwareToken",
        json!({"AccessToken": access, "UserCode": "000000"}),
    )
    .await;
    assert!(
        code == "EnableSoftwareTokenMFAException"
            || totp::code_at(&secret, (now() / 30) as u64).unwrap() == "000000"
    );
    let step = (now() / 30) as u64;
    let code_now = totp::code_at(&secret, step).unwrap();
    let v = ok(
        &gw,
        "VerifySoftwareToken",
        json!({"AccessToken": access, "UserCode": code_now}),
    )
    .await;
    assert_eq!(v["Status"], "SUCCESS");
    ok(
        &gw,
        "SetUserMFAPreference",
        json!({"AccessToken": access, "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
    )
    .await;
    let me = ok(&gw, "GetUser", json!({"AccessToken": access})).await;
    assert_eq!(me["PreferredMfaSetting"], "SOFTWARE_TOKEN_MFA");

    // The password alone now gives a challenge, no tokens.
    let r = password_auth(&gw, &client_id, "hana", PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{r}");
    assert!(r["ok"].get("AuthenticationResult").is_none());
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    // The code used to verify the authenticator is spent: a replay is refused.
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": session,
               "ChallengeResponses": {"USERNAME": "hana", "SOFTWARE_TOKEN_MFA_CODE": code_now}}),
    )
    .await;
    assert_eq!(code, "CodeMismatchException");
    // The next step's code (one step of drift is allowed) finishes the sign-in, in the
    // same session.
    let next = totp::code_at(&secret, step + 1).unwrap();
    let done = ok(
        &gw,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": session,
               "ChallengeResponses": {"USERNAME": "hana", "SOFTWARE_TOKEN_MFA_CODE": next}}),
    )
    .await;
    assert!(done["AuthenticationResult"]["IdToken"].is_string());
    // Used once: another sign-in cannot reuse it.
    let r = password_auth(&gw, &client_id, "hana", PASSWORD).await;
    let session = r["ok"]["Session"].as_str().unwrap().to_owned();
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": session,
               "ChallengeResponses": {"USERNAME": "hana", "SOFTWARE_TOKEN_MFA_CODE": next}}),
    )
    .await;
    assert_eq!(code, "CodeMismatchException");
    // The admin can turn it off.
    ok(
        &gw,
        "AdminSetUserMFAPreference",
        json!({"UserPoolId": "default", "Username": "hana",
               "SoftwareTokenMfaSettings": {"Enabled": false, "PreferredMfa": false}}),
    )
    .await;
    let r = password_auth(&gw, &client_id, "hana", PASSWORD).await;
    assert!(
        r["ok"]["AuthenticationResult"]["IdToken"].is_string(),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_temporary_password_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
    let clock = Arc::new(FixedClock::at(now() * 1000));
    let gw = Gw::start_with(&store, tmp.path(), None, clock.clone()).await;
    let (client_id, _) = gw.client(super::native_client_body(false)).await;
    create_user(&gw, "ivan", "Temporary-Pass-9").await;
    let r = password_auth(&gw, &client_id, "ivan", "Temporary-Pass-9").await;
    assert_eq!(r["ok"]["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{r}");
    // Cognito's default validity is 7 days.
    clock.advance_secs(7 * 86_400 + 1);
    let r = password_auth(&gw, &client_id, "ivan", "Temporary-Pass-9").await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    assert_eq!(
        r["error"]["Message"],
        "Temporary password has expired and must be reset by an administrator."
    );
}

/// A password sign-in that must answer the `SOFTWARE_TOKEN_MFA` challenge, answered
/// with `code`: it ends with tokens.
async fn sign_in_with_code(gw: &Gw, client_id: &str, user: &str, code: &str) {
    let r = password_auth(gw, client_id, user, PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{r}");
    let done = ok(
        gw,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "SOFTWARE_TOKEN_MFA",
               "Session": r["ok"]["Session"],
               "ChallengeResponses": {"USERNAME": user, "SOFTWARE_TOKEN_MFA_CODE": code}}),
    )
    .await;
    assert!(
        done["AuthenticationResult"]["IdToken"].is_string(),
        "{done}"
    );
}

/// A new authenticator associated with an access token replaces the one in use only
/// once verified: meanwhile MFA stays on and the old authenticator's codes sign in (an
/// access token alone never turns the second factor off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_authenticator_replaces_the_old_only_once_verified() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "iris").await;
    let r = password_auth(&gw, &client_id, "iris", PASSWORD).await;
    let access = r["ok"]["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = ok(
        &gw,
        "AssociateSoftwareToken",
        json!({"AccessToken": access}),
    )
    .await["SecretCode"]
        .as_str()
        .unwrap()
        .to_owned();
    let step = (now() / 30) as u64;
    ok(
        &gw,
        "VerifySoftwareToken",
        json!({"AccessToken": access, "UserCode": totp::code_at(&first, step).unwrap()}),
    )
    .await;
    ok(
        &gw,
        "SetUserMFAPreference",
        json!({"AccessToken": access, "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
    )
    .await;

    let second = ok(
        &gw,
        "AssociateSoftwareToken",
        json!({"AccessToken": access}),
    )
    .await["SecretCode"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let me = ok(&gw, "GetUser", json!({"AccessToken": access})).await;
    assert_eq!(me["PreferredMfaSetting"], "SOFTWARE_TOKEN_MFA", "{me}");
    // The admin sees the same factors.
    let admin = ok(
        &gw,
        "AdminGetUser",
        json!({"UserPoolId": "default", "Username": "iris"}),
    )
    .await;
    assert_eq!(
        admin["PreferredMfaSetting"], "SOFTWARE_TOKEN_MFA",
        "{admin}"
    );
    assert_eq!(admin["UserMFASettingList"], json!(["SOFTWARE_TOKEN_MFA"]));
    sign_in_with_code(
        &gw,
        &client_id,
        "iris",
        &totp::code_at(&first, step + 1).unwrap(),
    )
    .await;

    // A wrong code for the new one changes nothing; the right one makes it the one.
    let (code, _) = error_of(
        &gw,
        "VerifySoftwareToken",
        json!({"AccessToken": access, "UserCode": totp::code_at(&first, step + 1).unwrap()}),
    )
    .await;
    assert_eq!(code, "EnableSoftwareTokenMFAException");
    ok(
        &gw,
        "VerifySoftwareToken",
        json!({"AccessToken": access, "UserCode": totp::code_at(&second, step).unwrap()}),
    )
    .await;
    sign_in_with_code(
        &gw,
        &client_id,
        "iris",
        &totp::code_at(&second, step + 1).unwrap(),
    )
    .await;
}
