//! `settings.hooks` through `/admin/v1`: validated when set, the hook secret shown once
//! and rotated, `{}` removes every hook; and the secret that signs the calls is the one
//! shown.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{HookServer, echo, sign_in};
use crate::e2e::setup;

async fn patch(env: &crate::e2e::Env, body: Value) -> (StatusCode, Value) {
    env.gw.admin("PATCH", "/pools/default", Some(body)).await
}

#[tokio::test]
async fn hooks_are_validated_and_the_secret_is_shown_once() {
    let env = setup("never", false).await;
    // Refused: plain http off loopback, an unknown trigger, a sender that is not V1_0,
    // and an attempt to set the secret. Nothing changes.
    for bad in [
        json!({"hooks": {"PreSignUp": "http://hooks.example.com/x"}}),
        json!({"hooks": {"PreSignIn": "https://hooks.example.com/x"}}),
        json!({"hooks": {"CustomEmailSender": {"LambdaVersion": "V2_0", "LambdaArn": "https://h.example.com/"}}}),
        json!({"hooks": {"DefineAuthChallenge": "https://hooks.example.com/x"}}),
        json!({"hook_secret": "mine"}),
    ] {
        let (s, v) = patch(&env, json!({"settings": bad})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(v["error"], "invalid_request", "{v}");
    }
    let (_, pool) = env.gw.admin("GET", "/pools/default", None).await;
    assert!(pool["settings"].get("hooks").is_none(), "{pool}");

    let hooks = json!({
        "PreSignUp": "https://hooks.example.com/pre-sign-up",
        "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": "http://127.0.0.1:9/t"},
    });
    let (s, v) = patch(&env, json!({"settings": {"hooks": hooks}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let secret = v["settings"]["hook_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43);
    assert_eq!(v["settings"]["hooks"], hooks);

    // Never again: not in reads, not in the next change.
    let (_, read) = env.gw.admin("GET", "/pools/default", None).await;
    assert!(!read.to_string().contains(&secret), "{read}");
    assert_eq!(read["settings"]["hooks"], hooks);
    let (_, list) = env.gw.admin("GET", "/pools", None).await;
    assert!(!list.to_string().contains(&secret));
    let (s, again) = patch(&env, json!({"settings": {"hooks": hooks}})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(again["settings"].get("hook_secret").is_none(), "{again}");

    // The legacy PreTokenGeneration key is V1_0 and shows both forms, as Cognito does.
    let (s, v) = patch(
        &env,
        json!({"settings": {"hooks": {"PreTokenGeneration": "https://h.example.com/t"}}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["settings"]["hooks"]["PreTokenGenerationConfig"],
        json!({"LambdaVersion": "V1_0", "LambdaArn": "https://h.example.com/t"})
    );

    // `{}` removes every hook.
    let (s, v) = patch(&env, json!({"settings": {"hooks": {}}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["settings"].get("hooks").is_none(), "{v}");
}

#[tokio::test]
async fn the_rotated_secret_signs_the_next_calls() {
    let server = HookServer::start(echo).await;
    let env = setup("never", false).await;
    let first = super::set_hooks(&env, json!({"PostAuthentication": server.url("/p")}))
        .await
        .unwrap();
    let (s, v) = env
        .gw
        .admin("POST", "/pools/default/hook-secret/rotate", Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let second = v["hook_secret"].as_str().unwrap().to_owned();
    assert_eq!(v["settings"]["hook_secret"], second.as_str());
    assert_ne!(first, second);
    let (_, read) = env.gw.admin("GET", "/pools/default", None).await;
    assert!(!read.to_string().contains(&second));

    let (landing, _) = sign_in(&env, "Corp").await;
    landing.code();
    let call = &server.calls()[0];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    use poolgate::hooks::transport::verify;
    assert!(verify(&second, &call.signature, &call.body, now, 60));
    assert!(!verify(&first, &call.signature, &call.body, now, 60));

    let (s, _) = env
        .gw
        .admin("POST", "/pools/nope/hook-secret/rotate", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = env
        .gw
        .admin(
            "POST",
            "/pools/default/hook-secret/rotate",
            Some(json!({"secret": "mine"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[allow(dead_code)]
#[path = "../../../examples/hook_server.rs"]
mod example;

#[tokio::test]
async fn the_example_hook_server_adds_a_tenant_claim() {
    let env = setup("never", false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let hooks = json!({"PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": url}});
    let secret = super::set_hooks(&env, hooks).await.unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, example::app(secret)).await;
    });
    let (landing, verifier) = sign_in(&env, "Corp").await;
    let (s, t) = crate::e2e::exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = crate::harness::claims(&crate::harness::json_str(&t, "id_token"));
    let at = crate::harness::claims(&crate::harness::json_str(&t, "access_token"));
    assert_eq!(id["tenant"], "example.com");
    assert_eq!(at["tenant"], "example.com");

    // With another secret the example refuses the call, and the sign-in fails cleanly.
    let (s, _) = env
        .gw
        .admin("POST", "/pools/default/hook-secret/rotate", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (landing, _) = sign_in(&env, "Corp").await;
    let (error, _) = super::app_error(&landing);
    assert_eq!(error, "access_denied");
}
