//! The pool's hooks in native sign-ins (issue 16): `PreAuthentication`,
//! `PostAuthentication`, pre-token generation, `UserMigration` and
//! `PreSignUp_AdminCreateUser`, each against a hook server started by the test; and the
//! app client's `ExplicitAuthFlows`.

use serde_json::{Value, json};

use super::*;
use crate::cognito_api::{fails, ok};
use crate::harness::claims;
use crate::hooks::{Call, HookServer, Reply, echo};

/// Sets the default pool's hooks through `/admin/v1`.
async fn set_hooks(gw: &Gw, hooks: Value) {
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"hooks": hooks}})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{v}");
}

fn sources(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .map(|c| c.event["triggerSource"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// A Lambda-style refusal.
fn threw(message: &str) -> Reply {
    Reply::Raw(
        400,
        json!({"errorType": "Error", "errorMessage": message})
            .to_string()
            .into_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_and_post_authentication_and_pre_token_run_around_a_password_sign_in() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "anna").await;
    confirmed_user(&gw, "bert").await;
    let hook = HookServer::start(|event: Value| async move {
        let user = event["userName"].as_str().unwrap_or("").to_owned();
        match event["triggerSource"].as_str().unwrap_or("") {
            "PreAuthentication_Authentication" if user == "bert" => threw("bert is locked"),
            "TokenGeneration_Authentication" | "TokenGeneration_NewPasswordChallenge" => {
                let mut e = event.clone();
                e["response"] = json!({"claimsAndScopeOverrideDetails": {
                    "idTokenGeneration": {"claimsToAddOrOverride": {"tenant": "acme"}},
                    "accessTokenGeneration": {"claimsToAddOrOverride": {"tier": "gold"},
                                              "scopesToAdd": ["poolgate/extra"]},
                }});
                Reply::Json(e)
            }
            _ => echo(event).await,
        }
    })
    .await;
    set_hooks(
        &gw,
        json!({
            "PreAuthentication": hook.url("/pre-auth"),
            "PostAuthentication": hook.url("/post-auth"),
            "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": hook.url("/pre-token")},
        }),
    )
    .await;

    let r = boto3(
        &gw,
        &[(
            "InitiateAuth",
            json!({
                "ClientId": client_id,
                "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": "anna", "PASSWORD": PASSWORD},
                "ClientMetadata": {"app": "web"},
            }),
        )],
    )
    .await
    .remove(0);
    let tokens = &r["ok"]["AuthenticationResult"];
    let id = claims(tokens["IdToken"].as_str().unwrap());
    let access = claims(tokens["AccessToken"].as_str().unwrap());
    assert_eq!(id["tenant"], "acme", "{id}");
    assert_eq!(access["tier"], "gold", "{access}");
    assert!(
        access["scope"].as_str().unwrap().contains("poolgate/extra"),
        "{access}"
    );
    let calls = hook.calls();
    assert_eq!(
        sources(&calls),
        [
            "PreAuthentication_Authentication",
            "PostAuthentication_Authentication",
            "TokenGeneration_Authentication"
        ]
    );
    let pre = &calls[0].event;
    assert_eq!(pre["userName"], "anna");
    assert_eq!(pre["callerContext"]["clientId"], client_id.as_str());
    assert_eq!(pre["request"]["validationData"]["app"], "web");
    assert_eq!(
        pre["request"]["userAttributes"]["cognito:user_status"],
        "CONFIRMED"
    );
    assert_eq!(
        pre["request"]["userAttributes"]["email"],
        "anna@example.test"
    );
    assert_eq!(calls[1].event["request"]["clientMetadata"]["app"], "web");
    assert_eq!(calls[2].event["version"], "2");

    // A refusal before the password check: the function's message, nothing issued,
    // whatever the password.
    for pw in [PASSWORD, "Wrong-Horse-1"] {
        let r = password_auth(&gw, &client_id, "bert", pw).await;
        assert_eq!(r["error"]["Code"], "UserLambdaValidationException", "{r}");
        assert!(
            r["error"]["Message"]
                .as_str()
                .unwrap()
                .contains("bert is locked"),
            "{r}"
        );
        assert!(r.get("ok").is_none());
    }
    // SRP meets the same hook at its first step.
    let (code, _) = error_of(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
               "AuthParameters": {"USERNAME": "bert", "SRP_A": "ab12"}}),
    )
    .await;
    assert_eq!(code, "UserLambdaValidationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_post_authentication_issues_nothing_and_new_passwords_have_their_source() {
    let (gw, client_id) = setup().await;
    create_user(&gw, "carl", "Temporary-Pass-9").await;
    confirmed_user(&gw, "dora").await;
    let hook = HookServer::start(|event: Value| async move {
        match (
            event["triggerSource"].as_str().unwrap_or(""),
            event["userName"].as_str().unwrap_or(""),
        ) {
            ("PostAuthentication_Authentication", "dora") => Reply::Raw(500, b"boom".to_vec()),
            ("TokenGeneration_NewPasswordChallenge", _) => {
                let mut e = event.clone();
                e["response"] = json!({"claimsOverrideDetails": {
                    "claimsToAddOrOverride": {"first_login": "yes", "sub": "forged"}}});
                Reply::Json(e)
            }
            _ => echo(event).await,
        }
    })
    .await;
    set_hooks(
        &gw,
        json!({
            "PostAuthentication": hook.url("/post-auth"),
            "PreTokenGeneration": hook.url("/pre-token"),
        }),
    )
    .await;
    let r = password_auth(&gw, &client_id, "dora", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "UnexpectedLambdaException", "{r}");
    // A refresh token would show in a sign-out: none was stored. The next sign-in
    // with a working hook would work; here the user simply has no session.
    assert!(r.get("ok").is_none());

    let first = password_auth(&gw, &client_id, "carl", "Temporary-Pass-9").await;
    let session = first["ok"]["Session"].as_str().unwrap().to_owned();
    let done = ok(
        &gw,
        "RespondToAuthChallenge",
        json!({
            "ClientId": client_id,
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": session,
            "ChallengeResponses": {"USERNAME": "carl", "NEW_PASSWORD": "Brand-New-Pass-7"},
        }),
    )
    .await;
    let id = claims(done["AuthenticationResult"]["IdToken"].as_str().unwrap());
    assert_eq!(id["first_login"], "yes", "{id}");
    assert_ne!(id["sub"], "forged", "a protected claim stays");
    let srcs = sources(&hook.calls());
    assert!(
        srcs.contains(&"TokenGeneration_NewPasswordChallenge".to_owned()),
        "{srcs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_migration_brings_in_a_user_who_then_signs_in_without_the_hook() {
    let (gw, client_id) = setup().await;
    let hook = HookServer::start(|event: Value| async move {
        let ok = event["userName"] == "legacy" && event["request"]["password"] == PASSWORD;
        if event["triggerSource"] != "UserMigration_Authentication" || !ok {
            return threw("Bad password");
        }
        let mut e = event.clone();
        e["response"] = json!({
            "userAttributes": {"email": "legacy@old.test", "email_verified": "true",
                               "custom:team": "red"},
            "finalUserStatus": "CONFIRMED",
            "messageAction": "SUPPRESS",
        });
        Reply::Json(e)
    })
    .await;
    set_hooks(&gw, json!({"UserMigration": hook.url("/migrate")})).await;

    // SRP cannot carry the password: no migration, the unknown user's answer.
    let r = run_client_srp(&gw, &client_id, "legacy").await;
    assert!(r.get("ok").is_none(), "{r}");
    assert!(hook.calls().is_empty(), "SRP does not call the hook");
    // A wrong password: the hook refuses, the same answer as any failed sign-in.
    let r = password_auth(&gw, &client_id, "legacy", "Wrong-Horse-1").await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    let r = password_auth(&gw, &client_id, "nobody", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    let u = boto3(
        &gw,
        &[(
            "AdminGetUser",
            json!({"UserPoolId": "default", "Username": "legacy"}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(
        u["error"]["Code"], "UserNotFoundException",
        "nothing created: {u}"
    );

    let r = password_auth(&gw, &client_id, "legacy", PASSWORD).await;
    let id = claims(r["ok"]["AuthenticationResult"]["IdToken"].as_str().unwrap());
    assert_eq!(id["email"], "legacy@old.test", "{id}");
    assert_eq!(id["custom:team"], "red");
    let calls = hook.calls();
    let n = calls.len();
    assert_eq!(calls[n - 1].event["userName"], "legacy");
    let u = ok(
        &gw,
        "AdminGetUser",
        json!({"UserPoolId": "default", "Username": "legacy"}),
    )
    .await;
    assert_eq!(u["UserStatus"], "CONFIRMED");
    // Now a pool user: the password and SRP work without the hook.
    let r = password_auth(&gw, &client_id, "legacy", PASSWORD).await;
    assert!(r["ok"]["AuthenticationResult"].is_object(), "{r}");
    let r = run_client_srp(&gw, &client_id, "legacy").await;
    assert!(r["ok"].is_object(), "{r}");
    assert_eq!(hook.calls().len(), n, "no further migration call");
}

async fn run_client_srp(gw: &Gw, client_id: &str, user: &str) -> Value {
    super::clients::run_client(gw, "python3", "srp_pycognito.py", client_id, user, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_sign_up_sees_admin_create_user_and_may_refuse_it() {
    let (gw, _) = setup().await;
    let hook = HookServer::start(|event: Value| async move {
        if event["userName"] == "mallory" {
            return threw("not on the list");
        }
        let mut e = event.clone();
        e["response"]["autoVerifyEmail"] = json!(true);
        Reply::Json(e)
    })
    .await;
    set_hooks(&gw, json!({"PreSignUp": hook.url("/pre-sign-up")})).await;
    let code = fails(
        &gw,
        "AdminCreateUser",
        json!({"UserPoolId": "default", "Username": "mallory", "MessageAction": "SUPPRESS",
               "TemporaryPassword": "Temporary-Pass-9"}),
    )
    .await;
    assert_eq!(code, "UserLambdaValidationException");
    let code = fails(
        &gw,
        "AdminGetUser",
        json!({"UserPoolId": "default", "Username": "mallory"}),
    )
    .await;
    assert_eq!(code, "UserNotFoundException", "nothing was created");

    ok(
        &gw,
        "AdminCreateUser",
        json!({
            "UserPoolId": "default", "Username": "erin", "MessageAction": "SUPPRESS",
            "TemporaryPassword": "Temporary-Pass-9",
            "UserAttributes": [{"Name": "email", "Value": "erin@example.test"}],
            "ValidationData": [{"Name": "invite", "Value": "x1"}],
            "ClientMetadata": {"source": "console"},
        }),
    )
    .await;
    let calls = hook.calls();
    let last = &calls[calls.len() - 1].event;
    assert_eq!(last["triggerSource"], "PreSignUp_AdminCreateUser");
    assert_eq!(
        last["callerContext"]["clientId"],
        "CLIENT_ID_NOT_APPLICABLE"
    );
    assert_eq!(
        last["request"]["userAttributes"]["email"],
        "erin@example.test"
    );
    assert_eq!(last["request"]["validationData"]["invite"], "x1");
    assert_eq!(last["request"]["clientMetadata"]["source"], "console");
    let u = ok(
        &gw,
        "AdminGetUser",
        json!({"UserPoolId": "default", "Username": "erin"}),
    )
    .await;
    let verified = u["UserAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "email_verified")
        .cloned();
    assert_eq!(
        verified.unwrap()["Value"],
        "true",
        "autoVerifyEmail applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_auth_flows_are_enforced() {
    let gw = Gw::start().await;
    // Cognito's defaults: SRP and refresh only.
    let (client_id, _) = gw
        .client(crate::harness::app_client_body(
            "http://127.0.0.1:9/cb",
            &["COGNITO"],
            false,
        ))
        .await;
    confirmed_user(&gw, "fred").await;
    let r = password_auth(&gw, &client_id, "fred", PASSWORD).await;
    assert_eq!(r["error"]["Code"], "InvalidParameterException", "{r}");
    assert_eq!(
        r["error"]["Message"],
        "USER_PASSWORD_AUTH flow not enabled for this client"
    );
    let r = boto3(
        &gw,
        &[(
            "AdminInitiateAuth",
            json!({"UserPoolId": "default", "ClientId": client_id,
                   "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                   "AuthParameters": {"USERNAME": "fred", "PASSWORD": PASSWORD}}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(r["error"]["Code"], "InvalidParameterException", "{r}");
    // The listed flow works.
    let r = run_client_srp(&gw, &client_id, "fred").await;
    assert!(r["ok"].is_object(), "{r}");
}

/// poolgate answers as Cognito with `PreventUserExistenceErrors: ENABLED`: an unknown
/// user meets `PreAuthentication` too, with `request.userNotFound: true` and no
/// attributes, and then gets the answer of a wrong password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_authentication_hears_of_unknown_users() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "anna").await;
    let hook = HookServer::start(echo).await;
    set_hooks(&gw, json!({"PreAuthentication": hook.url("/pre-auth")})).await;

    let r = password_auth(&gw, &client_id, "nobody", "Wrong-Horse-1").await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    assert_eq!(r["error"]["Message"], "Incorrect username or password.");
    let r = password_auth(&gw, &client_id, "anna", "Wrong-Horse-1").await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    assert_eq!(r["error"]["Message"], "Incorrect username or password.");
    // SRP: an unknown user gets a challenge like anyone's (it fails at the proof).
    let r = boto3(
        &gw,
        &[(
            "InitiateAuth",
            json!({"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
                   "AuthParameters": {"USERNAME": "ghost", "SRP_A": "ab12"}}),
        )],
    )
    .await
    .remove(0);
    assert_eq!(r["ok"]["ChallengeName"], "PASSWORD_VERIFIER", "{r}");

    let calls = hook.calls();
    assert_eq!(sources(&calls), ["PreAuthentication_Authentication"; 3]);
    let unknown = &calls[0].event;
    assert_eq!(unknown["userName"], "nobody");
    assert_eq!(unknown["request"]["userNotFound"], true, "{unknown}");
    assert_eq!(unknown["request"]["userAttributes"], json!({}));
    assert_eq!(unknown["callerContext"]["clientId"], client_id.as_str());
    let known = &calls[1].event;
    assert_eq!(known["request"]["userNotFound"], false, "{known}");
    assert_eq!(
        known["request"]["userAttributes"]["email"],
        "anna@example.test"
    );
    assert_eq!(calls[2].event["userName"], "ghost");
    assert_eq!(calls[2].event["request"]["userNotFound"], true);
}
