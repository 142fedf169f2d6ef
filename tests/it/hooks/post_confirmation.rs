//! `PostConfirmation_ConfirmSignUp` for federated users: Cognito runs it when a first
//! sign-in creates the user, never on later sign-ins. A failing one fails that sign-in
//! (the app gets `access_denied`, no code) and, as in Cognito, the user it was told
//! about stays: the next sign-in is not a first one.

use serde_json::{Value, json};

use super::{app_error, echo, hooked, sign_in, users};
use crate::harness::Landing;
use crate::hooks::HookServer;

const SOURCE: &str = "PostConfirmation_ConfirmSignUp";

fn post_confirmations(server: &HookServer) -> Vec<Value> {
    server
        .calls()
        .into_iter()
        .filter(|c| c.event["triggerSource"] == SOURCE)
        .map(|c| c.event)
        .collect()
}

fn landed_with_code(l: &Landing) -> bool {
    matches!(l, Landing::App(q) if q.contains_key("code") && !q.contains_key("error"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_federated_sign_in_runs_post_confirmation_once() {
    let server = HookServer::start(echo).await;
    let (env, _) = hooked(json!({
        "PostConfirmation": server.url("/post-confirmation"),
        "PreSignUp": server.url("/pre-sign-up"),
    }))
    .await;
    let (landing, _) = sign_in(&env, "Corp").await;
    assert!(landed_with_code(&landing), "{landing:?}");
    let sources: Vec<String> = server
        .calls()
        .iter()
        .map(|c| c.event["triggerSource"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        sources,
        ["PreSignUp_ExternalProvider", SOURCE],
        "pre-sign-up before the user exists, post-confirmation after"
    );
    let pc = &post_confirmations(&server)[0];
    let u = &users(&env).await[0];
    assert_eq!(pc["userName"], u["username"]);
    assert_eq!(pc["callerContext"]["clientId"], env.client.as_str());
    let attrs = &pc["request"]["userAttributes"];
    assert_eq!(attrs["sub"], u["sub"]);
    assert_eq!(attrs["cognito:user_status"], "EXTERNAL_PROVIDER");
    let identities: Value = serde_json::from_str(attrs["identities"].as_str().unwrap()).unwrap();
    assert_eq!(identities[0]["providerName"], "Corp");
    assert_eq!(pc["response"], json!({}));

    // A later sign-in is not a confirmation.
    let (landing, _) = sign_in(&env, "Corp").await;
    assert!(landed_with_code(&landing), "{landing:?}");
    assert_eq!(post_confirmations(&server).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_post_confirmation_fails_that_sign_in_and_the_user_stays() {
    let server = HookServer::refusing(SOURCE, "CRM is down").await;
    let (env, _) = hooked(json!({"PostConfirmation": server.url("/post-confirmation")})).await;
    let (landing, _) = sign_in(&env, "Corp").await;
    let (error, description) = app_error(&landing);
    assert_eq!(error, "access_denied");
    assert!(
        description.contains("PostConfirmation failed with error CRM is down"),
        "{description}"
    );
    // Cognito created the user before it ran the trigger, and keeps it.
    let list = users(&env).await;
    assert_eq!(list.len(), 1, "{list:?}");
    // The next sign-in is a later one: no post-confirmation, and a code.
    let (landing, _) = sign_in(&env, "Corp").await;
    assert!(landed_with_code(&landing), "{landing:?}");
    assert_eq!(post_confirmations(&server).len(), 1);
    assert_eq!(users(&env).await.len(), 1);
}
