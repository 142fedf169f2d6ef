//! Passwords: an admin-created user changes its temporary password, signs in, reads
//! itself, refreshes, signs out; and what must be refused.

use serde_json::json;

use super::*;
use crate::cognito_api::{boto3, ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_password_then_tokens_refresh_get_user_and_sign_out() {
    let (gw, client_id) = setup().await;
    let created = create_user(&gw, "carol", "Temporary-Pass-9").await;
    assert_eq!(created["User"]["UserStatus"], "FORCE_CHANGE_PASSWORD");
    assert_eq!(created["User"]["Enabled"], true);

    // The temporary password leads to NEW_PASSWORD_REQUIRED, not to tokens.
    let first = password_auth(&gw, &client_id, "carol", "Temporary-Pass-9").await;
    let first = &first["ok"];
    assert_eq!(first["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{first}");
    assert!(first.get("AuthenticationResult").is_none());
    let session = first["Session"].as_str().unwrap().to_owned();
    assert_eq!(first["ChallengeParameters"]["USER_ID_FOR_SRP"], "carol");

    // A new password the policy refuses: InvalidPasswordException, same session works after.
    let weak = boto3(
        &gw,
        &[(
            "RespondToAuthChallenge",
            json!({"ClientId": client_id, "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
                   "ChallengeResponses": {"USERNAME": "carol", "NEW_PASSWORD": "weakpass"}}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(weak["error"]["Code"], "InvalidPasswordException", "{weak}");

    let done = ok(
        &gw,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
               "ChallengeResponses": {"USERNAME": "carol", "NEW_PASSWORD": PASSWORD}}),
    )
    .await;
    let result = &done["AuthenticationResult"];
    assert_eq!(result["TokenType"], "Bearer");
    assert_eq!(result["ExpiresIn"], 3600);
    let id = verified_claims(&gw, result["IdToken"].as_str().unwrap()).await;
    assert_eq!(id["aud"], client_id);
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["email"], "carol@example.test");
    assert_eq!(id["custom:team"], "blue");
    assert_eq!(id["iss"], gw.base);
    assert!(
        id.get("identities").is_none(),
        "a native user has no identities claim"
    );
    let access = verified_claims(&gw, result["AccessToken"].as_str().unwrap()).await;
    assert_eq!(access["username"], "carol");
    assert!(
        access["scope"]
            .as_str()
            .unwrap()
            .contains("aws.cognito.signin.user.admin")
    );
    let access_token = result["AccessToken"].as_str().unwrap().to_owned();
    let refresh = result["RefreshToken"].as_str().unwrap().to_owned();

    // The session was used: it cannot set the password again.
    let again = boto3(
        &gw,
        &[(
            "RespondToAuthChallenge",
            json!({"ClientId": client_id, "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
                   "ChallengeResponses": {"USERNAME": "carol", "NEW_PASSWORD": "Other-Pass-77"}}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(again["error"]["Code"], "NotAuthorizedException", "{again}");

    // The old temporary password no longer works; the new one gives tokens at once.
    let old = password_auth(&gw, &client_id, "carol", "Temporary-Pass-9").await;
    assert_eq!(old["error"]["Code"], "NotAuthorizedException");
    let direct = password_auth(&gw, &client_id, "carol", PASSWORD).await;
    assert!(
        direct["ok"]["AuthenticationResult"]["AccessToken"].is_string(),
        "{direct}"
    );

    // GetUser with the access token.
    let me = ok(&gw, "GetUser", json!({"AccessToken": access_token})).await;
    assert_eq!(me["Username"], "carol");
    let attrs = me["UserAttributes"].as_array().unwrap();
    let attr = |n: &str| {
        attrs
            .iter()
            .find(|a| a["Name"] == n)
            .map(|a| a["Value"].clone())
    };
    assert_eq!(attr("sub"), Some(json!(id["sub"])));
    assert_eq!(attr("email_verified"), Some(json!("true")));
    assert_eq!(attr("custom:team"), Some(json!("blue")));

    // REFRESH_TOKEN_AUTH: new ID and access tokens for the same user.
    let refreshed = ok(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
               "AuthParameters": {"REFRESH_TOKEN": refresh}}),
    )
    .await;
    let r = &refreshed["AuthenticationResult"];
    let id2 = verified_claims(&gw, r["IdToken"].as_str().unwrap()).await;
    assert_eq!(id2["sub"], id["sub"]);
    let next_refresh = r["RefreshToken"].as_str().unwrap_or(&refresh).to_owned();
    // GetTokensFromRefreshToken works the same way.
    let again = ok(
        &gw,
        "GetTokensFromRefreshToken",
        json!({"ClientId": client_id, "RefreshToken": next_refresh}),
    )
    .await;
    assert!(again["AuthenticationResult"]["AccessToken"].is_string());
    let latest_refresh = again["AuthenticationResult"]["RefreshToken"]
        .as_str()
        .unwrap_or(&next_refresh)
        .to_owned();

    // GlobalSignOut: the access token and the refresh tokens stop working.
    ok(&gw, "GlobalSignOut", json!({"AccessToken": access_token})).await;
    let (code, _) = error_of(&gw, "GetUser", json!({"AccessToken": access_token})).await;
    assert_eq!(code, "NotAuthorizedException");
    let (code, _) = error_of(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
               "AuthParameters": {"REFRESH_TOKEN": latest_refresh}}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "dave").await;
    let wrong = password_auth(&gw, &client_id, "dave", "Wrong-Horse-1").await;
    let unknown = password_auth(&gw, &client_id, "nobody-here", "Wrong-Horse-1").await;
    assert_eq!(wrong["error"]["Code"], "NotAuthorizedException", "{wrong}");
    assert_eq!(wrong["error"], unknown["error"], "same code and message");
    assert!(wrong.get("ok").is_none());
    // The right password still works.
    let good = password_auth(&gw, &client_id, "dave", PASSWORD).await;
    assert!(
        good["ok"]["AuthenticationResult"]["IdToken"].is_string(),
        "{good}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_slow_down_without_a_permanent_lock() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "erin").await;
    let attempt = |pw: &str| {
        (
            "InitiateAuth",
            json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                   "AuthParameters": {"USERNAME": "erin", "PASSWORD": pw}}),
        )
    };
    // Five failures, then the right password at once (one client process: no pause).
    let mut calls: Vec<_> = (0..5).map(|_| attempt("Wrong-Horse-1")).collect();
    calls.push(attempt(PASSWORD));
    let answers = boto3(&gw, &calls).await;
    for a in &answers[..5] {
        assert_eq!(
            a["error"]["Message"], "Incorrect username or password.",
            "{a}"
        );
    }
    assert_eq!(
        answers[5]["error"]["Message"], "Password attempts exceeded",
        "after five failures attempts wait, even with the right password: {}",
        answers[5]
    );
    assert!(answers[5].get("ok").is_none());
    // Once the delay (1 s after the fifth failure) has passed, the right password works.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let good = password_auth(&gw, &client_id, "erin", PASSWORD).await;
    assert!(
        good["ok"]["AuthenticationResult"]["IdToken"].is_string(),
        "{good}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_users_get_nothing_and_cannot_refresh() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "frank").await;
    let r = password_auth(&gw, &client_id, "frank", PASSWORD).await;
    let refresh = r["ok"]["AuthenticationResult"]["RefreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = gw
        .admin("POST", "/pools/default/users/frank/disable", None)
        .await;
    assert!(s.is_success());
    let r = password_auth(&gw, &client_id, "frank", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException");
    assert_eq!(r["error"]["Message"], "User is disabled.");
    let (code, msg) = error_of(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
               "AuthParameters": {"REFRESH_TOKEN": refresh}}),
    )
    .await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("NotAuthorizedException", "User is disabled.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rules_and_refusals() {
    let (gw, client_id) = setup().await;
    // A temporary password the policy refuses creates nothing.
    let (code, _) = error_of_signed(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "gina", "TemporaryPassword": "short",
               "MessageAction": "SUPPRESS"}),
    )
    .await;
    assert_eq!(code, "InvalidPasswordException");
    // Without SUPPRESS an invitation must be mailed: no SMTP, a clear error, no user.
    let (code, msg) = error_of_signed(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "gina"}),
    )
    .await;
    assert_eq!(code, "CodeDeliveryFailureException");
    assert!(msg.contains("POOLGATE_SMTP_URL"), "{msg}");
    let (s, _) = gw.admin("GET", "/pools/default/users/gina", None).await;
    assert_eq!(s.as_u16(), 404, "nothing was created");
    // A generated temporary password; the same name again is refused.
    let created = ok(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "gina", "MessageAction": "SUPPRESS"}),
    )
    .await;
    assert_eq!(created["User"]["UserStatus"], "FORCE_CHANGE_PASSWORD");
    let (code, _) = error_of_signed(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "gina", "MessageAction": "SUPPRESS"}),
    )
    .await;
    assert_eq!(code, "UsernameExistsException");
    // Unknown users and pools.
    let (code, _) = error_of_signed(
        &gw,
        "AdminSetUserPassword",
        json!({"UserPoolId": "default", "Username": "nobody", "Password": PASSWORD, "Permanent": true}),
    )
    .await;
    assert_eq!(code, "UserNotFoundException");
    let (code, _) = error_of_signed(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "nope", "Username": "x", "MessageAction": "SUPPRESS"}),
    )
    .await;
    assert_eq!(code, "ResourceNotFoundException");
    // A temporary password set by the admin is again FORCE_CHANGE_PASSWORD.
    ok(
        &gw,
        "AdminSetUserPassword",
        json!({"UserPoolId": "default", "Username": "gina", "Password": "Temporary-Pass-8", "Permanent": false}),
    )
    .await;
    let r = password_auth(&gw, &client_id, "gina", "Temporary-Pass-8").await;
    assert_eq!(r["ok"]["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{r}");
    // AdminConfirmSignUp refuses a user that is not UNCONFIRMED.
    let (code, msg) = error_of_signed(
        &gw,
        "AdminConfirmSignUp",
        json!({"UserPoolId": "default", "Username": "gina"}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    assert!(msg.contains("FORCE_CHANGE_PASSWORD"), "{msg}");
    // Admin operations need a signature.
    let unsigned = crate::cognito_api::boto3_as(
        &gw,
        &crate::cognito_api::Creds {
            secret: "wrong-secret".into(),
            ..Default::default()
        },
        &[(
            "AdminSetUserPassword",
            json!({"UserPoolId": "default", "Username": "gina", "Password": PASSWORD, "Permanent": true}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(
        unsigned["error"]["Code"], "InvalidSignatureException",
        "{unsigned}"
    );
    let r = password_auth(&gw, &client_id, "gina", PASSWORD).await;
    assert_eq!(
        r["error"]["Code"], "NotAuthorizedException",
        "the password did not change"
    );
}

/// A signed operation expected to fail: its error code and message.
pub async fn error_of_signed(gw: &Gw, op: &str, params: serde_json::Value) -> (String, String) {
    error_of(gw, op, params).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_redis_a_challenge_started_on_one_gateway_finishes_on_another() {
    use std::sync::Arc;

    use poolgate::clock::SystemClock;

    let server = crate::redis_server::RedisServer::start();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Gw::start_with(&server.url(), da.path(), None, Arc::new(SystemClock)).await;
    let b = Gw::start_with(&server.url(), db.path(), None, Arc::new(SystemClock)).await;
    let (client_id, _) = a.client(super::native_client_body(false)).await;
    create_user(&a, "olga", "Temporary-Pass-9").await;
    let first = password_auth(&a, &client_id, "olga", "Temporary-Pass-9").await;
    let session = first["ok"]["Session"].as_str().unwrap().to_owned();
    // The session lives in Redis: the other instance finishes the challenge.
    let done = ok(
        &b,
        "RespondToAuthChallenge",
        json!({"ClientId": client_id, "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
               "ChallengeResponses": {"USERNAME": "olga", "NEW_PASSWORD": PASSWORD}}),
    )
    .await;
    assert!(
        done["AuthenticationResult"]["IdToken"].is_string(),
        "{done}"
    );
    let again = password_auth(&a, &client_id, "olga", PASSWORD).await;
    assert!(
        again["ok"]["AuthenticationResult"]["AccessToken"].is_string(),
        "{again}"
    );
}

/// A pool with `issuer_style: cognito` (the default of pools made by `CreateUserPool`):
/// tokens from the API carry `{POOLGATE_PUBLIC_URL}/{pool id}` and `GetUser` takes them.
#[tokio::test]
async fn a_cognito_style_pool_issues_under_its_id_and_get_user_takes_the_token() {
    let (gw, client_id) = setup().await;
    let (s, b) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"issuer_style": "cognito"}})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{b}");
    confirmed_user(&gw, "dora").await;
    let r = password_auth(&gw, &client_id, "dora", PASSWORD).await;
    let result = &r["ok"]["AuthenticationResult"];
    let access = result["AccessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    let claims = verified_claims(&gw, access).await;
    assert_eq!(claims["iss"], format!("{}/default", gw.base));
    let me = ok(&gw, "GetUser", json!({"AccessToken": access})).await;
    assert_eq!(me["Username"], "dora");

    // A token naming a pool id whose issuer style is not cognito is refused.
    let (s, b) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"issuer_style": "domain"}})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{b}");
    assert_eq!(
        fails_with(&gw, "GetUser", json!({"AccessToken": access})).await,
        "NotAuthorizedException"
    );
}
