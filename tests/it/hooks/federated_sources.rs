//! The hooks a federated sign-in runs, as Cognito's developer guide lists them
//! ("Lambda triggers for federated users"): a first sign-in runs
//! `PreSignUp_ExternalProvider` and `PostConfirmation_ConfirmSignUp` but not
//! `PreAuthentication`; later sign-ins run `PreAuthentication_Authentication`, which
//! may refuse them.

use serde_json::json;

use super::{app_error, hooked, sign_in, users};
use crate::harness::Landing;
use crate::hooks::HookServer;

const PRE_AUTH: &str = "PreAuthentication_Authentication";

fn sources(server: &HookServer) -> Vec<String> {
    server
        .calls()
        .iter()
        .map(|c| c.event["triggerSource"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_authentication_runs_on_later_federated_sign_ins_only() {
    // A pre-authentication function that refuses everyone.
    let server = HookServer::refusing(PRE_AUTH, "Not today").await;
    let (env, _) = hooked(json!({
        "PreSignUp": server.url("/pre-sign-up"),
        "PreAuthentication": server.url("/pre-authentication"),
        "PostConfirmation": server.url("/post-confirmation"),
    }))
    .await;

    // The first sign-in: no pre-authentication, so it is not refused.
    let (landing, _) = sign_in(&env, "Corp").await;
    assert!(
        matches!(&landing, Landing::App(q) if q.contains_key("code") && !q.contains_key("error")),
        "{landing:?}"
    );
    assert_eq!(
        sources(&server),
        [
            "PreSignUp_ExternalProvider",
            "PostConfirmation_ConfirmSignUp"
        ]
    );
    let list = users(&env).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let user = &list[0];

    // A later sign-in asks it about the existing user, and it refuses: no code.
    let (landing, _) = sign_in(&env, "Corp").await;
    let (error, description) = app_error(&landing);
    assert_eq!(error, "access_denied");
    assert_eq!(
        description,
        "PreAuthentication failed with error Not today."
    );
    let calls = server.calls();
    assert_eq!(
        sources(&server),
        [
            "PreSignUp_ExternalProvider",
            "PostConfirmation_ConfirmSignUp",
            PRE_AUTH
        ]
    );
    let e = &calls[2].event;
    assert_eq!(e["userName"], user["username"]);
    assert_eq!(e["request"]["userAttributes"]["sub"], user["sub"]);
    assert_eq!(
        e["request"]["userAttributes"]["cognito:user_status"],
        "EXTERNAL_PROVIDER"
    );
    assert_eq!(users(&env).await.len(), 1);
}
