//! The Cognito API driven by real AWS clients (boto3 through `client.py`, the AWS CLI,
//! the AWS SDK for JavaScript through `tests/node/cognito-sdk.mjs`) over loopback against a real gateway: signatures, errors, and the operations.

mod attributes;
mod client_flows;
mod errors;
mod js_sdk;
mod model;
mod own_kinds;
mod pending_links;
mod pool_update;
mod resources;
mod saml_details;
mod scenario;
mod secrets;
mod tags;

use serde_json::{Value, json};

use crate::harness::{ADMIN_TOKEN, Gw};

/// The region the clients sign for.
pub const REGION: &str = "eu-west-1";
const CLIENT_PY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/cognito_api/client.py"
);

/// Credentials and clock of a client.
#[derive(Clone)]
pub struct Creds {
    pub key: String,
    pub secret: String,
    pub skew_s: i64,
}

impl Default for Creds {
    fn default() -> Self {
        Creds {
            key: "poolgate".into(),
            secret: ADMIN_TOKEN.into(),
            skew_s: 0,
        }
    }
}

fn command(gw: &Gw, program: &str, creds: &Creds) -> tokio::process::Command {
    command_at(&gw.base, program, creds)
}

/// [`command`] for a gateway known by its base URL only (inside a hook's handler).
fn command_at(base: &str, program: &str, creds: &Creds) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(program);
    c.env("POOLGATE_ENDPOINT", base)
        .env("AWS_ACCESS_KEY_ID", &creds.key)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("POOLGATE_SKEW_S", creds.skew_s.to_string())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c
}

async fn run(mut c: tokio::process::Command, stdin: &[u8]) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = c
        .spawn()
        .expect("python3 and the AWS CLI are installed (scripts/setup.sh --test)");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs operations through boto3, in order; one answer per call:
/// `{"ok": answer}` or `{"error": {"Code", "Message"}, "status"}`.
pub async fn boto3_as(gw: &Gw, creds: &Creds, calls: &[(&str, Value)]) -> Vec<Value> {
    let mut c = command(gw, "python3", creds);
    c.arg(CLIENT_PY).arg("calls");
    let input: Vec<Value> = calls.iter().map(|(op, p)| json!([op, p])).collect();
    let (ok, out, err) = run(c, json!(input).to_string().as_bytes()).await;
    assert!(ok, "client.py failed: {err}");
    let answers =
        serde_json::from_str::<Vec<Value>>(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    // Every answer, as sent, fits the model's output shape.
    for ((op, _), a) in calls.iter().zip(&answers) {
        if let Some(raw) = a.get("raw") {
            let problems = model::answer_problems(op, raw);
            assert!(
                problems.is_empty(),
                "{op} answer drifts from the model: {problems:?}"
            );
        }
    }
    answers
}

pub async fn boto3(gw: &Gw, calls: &[(&str, Value)]) -> Vec<Value> {
    boto3_as(gw, &Creds::default(), calls).await
}

/// One operation through boto3 that must succeed; its answer.
pub async fn ok(gw: &Gw, op: &str, params: Value) -> Value {
    let mut r = boto3(gw, &[(op, params)]).await;
    let r = r.remove(0);
    assert!(r.get("ok").is_some(), "{op}: {r}");
    r["ok"].clone()
}

/// One operation through boto3 that must fail; its error code.
pub async fn fails(gw: &Gw, op: &str, params: Value) -> String {
    let mut r = boto3(gw, &[(op, params)]).await;
    let r = r.remove(0);
    assert_eq!(r["status"], 400, "{op}: {r}");
    r["error"]["Code"]
        .as_str()
        .unwrap_or_else(|| panic!("{op}: {r}"))
        .to_owned()
}

/// A body sent as is, signed by botocore: (status, answer headers, answer body).
pub async fn raw(
    gw: &Gw,
    creds: &Creds,
    target: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Value, String) {
    let mut c = command(gw, "python3", creds);
    c.arg(CLIENT_PY).arg("raw").arg(target).arg(content_type);
    let (ok, out, err) = run(c, body).await;
    assert!(ok, "client.py raw failed: {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    (
        u16::try_from(v["status"].as_u64().unwrap()).unwrap(),
        v["headers"].clone(),
        v["body"].as_str().unwrap().to_owned(),
    )
}

/// The AWS CLI: `aws --endpoint-url GW cognito-idp ARGS --output json`.
pub async fn aws_cli(gw: &Gw, args: &[&str]) -> (bool, Value, String) {
    let mut c = command(gw, "aws", &Creds::default());
    c.arg("--endpoint-url")
        .arg(&gw.base)
        .arg("cognito-idp")
        .args(args)
        .arg("--output")
        .arg("json");
    let (ok, out, err) = run(c, b"").await;
    (ok, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}
