//! Done when: a trigger written for Lambda runs unchanged behind the README's tiny HTTP
//! wrappers (`examples/hooks/`, Node and Python) and changes poolgate's tokens as it
//! would Cognito's.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{app_error, hooked, sign_in};
use crate::e2e::{Env, exchange};
use crate::harness::{claims, json_str};

/// Starts `program file` in `examples/hooks` on `port`; killed when dropped.
async fn wrapper(program: &str, file: &str, secret: &str, port: u16) -> tokio::process::Child {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hooks");
    let child = tokio::process::Command::new(program)
        .arg(file)
        .current_dir(dir)
        .env("HOOK_SECRET", secret)
        .env("PORT", port.to_string())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is needed (scripts/setup.sh --test): {e}"));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{program} {file} did not start");
}

async fn env_with_wrapper(program: &str, file: &str) -> (Env, tokio::process::Child) {
    // The URL is set first (the secret is made with the first hooks), then the wrapper
    // starts on that port with the secret it was shown.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (env, secret) = hooked(json!({"PreTokenGenerationConfig": {
        "LambdaVersion": "V2_0", "LambdaArn": format!("http://127.0.0.1:{port}/")
    }}))
    .await;
    let child = wrapper(program, file, &secret, port).await;
    (env, child)
}

fn assert_documented_changes(t: &Value, client: &str) {
    let id = claims(&json_str(t, "id_token"));
    let at = claims(&json_str(t, "access_token"));
    assert_eq!(at["my_first_claim"], "my_first_value");
    assert_eq!(at["my_second_claim"], "my_second_value");
    assert_eq!(at["scope"], "openid email solar-system-data/asteroids.add");
    assert_eq!(at["client_id"], client);
    let groups = json!(["new-group-A", "new-group-B", "new-group-C"]);
    assert_eq!(at["cognito:groups"], groups);
    assert_eq!(id["cognito:groups"], groups);
    assert_eq!(
        id["cognito:preferred_role"],
        "arn:aws:iam::123456789012:role/new_roleA"
    );
    assert_eq!(id["email"], "ada@example.com");
}

#[tokio::test]
async fn a_node_lambda_handler_runs_unchanged() {
    let (env, _child) = env_with_wrapper("node", "wrapper.mjs").await;
    let (landing, verifier) = sign_in(&env, "Corp").await;
    let (s, t) = exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_documented_changes(&t, &env.client);
}

#[tokio::test]
async fn a_python_lambda_handler_runs_unchanged_and_its_exceptions_refuse() {
    let (env, _child) = env_with_wrapper("python3", "wrapper.py").await;
    let (landing, verifier) = sign_in(&env, "Corp").await;
    let (s, t) = exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_documented_changes(&t, &env.client);

    env.fake.set(|o| {
        o.user.insert("sub".into(), json!("user-2"));
        o.user.insert("email".into(), json!("eve@elsewhere.test"));
    });
    let (landing, _) = sign_in(&env, "Corp").await;
    let (error, description) = app_error(&landing);
    assert_eq!(error, "access_denied");
    assert_eq!(
        description,
        "PreTokenGeneration failed with error Only example.com users."
    );
}
