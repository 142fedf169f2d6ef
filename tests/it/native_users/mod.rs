//! Native pool users end to end against a real gateway: admin operations through
//! boto3 (SigV4), sign-ins through the unsigned Cognito API (boto3, pycognito and
//! amazon-cognito-identity-js for SRP), tokens checked against the JWKS, and the
//! negative catalogue.

mod clients;
mod email_sign_in;
mod hooks;
pub mod hosted;
mod hosted_account;
mod hosted_account_browser;
mod hosted_browser;
mod import;
mod mfa_setup;
mod mfa_setup_browser;
mod password;
mod signup;
mod sms;
pub mod smtp_sink;
mod totp;
mod verify_attribute;

use std::sync::Arc;

use poolgate::clock::{SharedClock, SystemClock};
use serde_json::{Value, json};

use self::smtp_sink::SmtpSink;
use crate::cognito_api::{boto3, fails, ok};
use crate::harness::{Gw, app_client_body};

pub const PASSWORD: &str = "Correct-Horse-1";

/// The sign-in flows the test clients use (`ExplicitAuthFlows`).
pub const FLOWS: &[&str] = &[
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
];

/// An app client that supports `COGNITO` and the flows of [`FLOWS`].
pub fn native_client_body(secret: bool) -> Value {
    native_client_at("http://127.0.0.1:9/cb", secret)
}

/// [`native_client_body`] with `redirect` as its callback URL.
pub fn native_client_at(redirect: &str, secret: bool) -> Value {
    let mut body = app_client_body(redirect, &["COGNITO"], secret);
    body["explicit_auth_flows"] = json!(FLOWS);
    body
}

/// A gateway with a public app client that supports `COGNITO`.
pub async fn setup() -> (Gw, String) {
    let gw = Gw::start().await;
    let (client_id, _) = gw.client(native_client_body(false)).await;
    (gw, client_id)
}

/// A gateway on `clock` (the system's when `None`) mailing through a fresh SMTP sink.
pub async fn mailing_gateway(clock: Option<SharedClock>) -> (Gw, SmtpSink) {
    let sink = SmtpSink::start().await;
    let gw = Gw::start_env_clock(
        &[
            ("POOLGATE_SMTP_URL", &sink.url),
            ("POOLGATE_SMTP_FROM", "Pool Gate <no-reply@poolgate.test>"),
        ],
        clock.unwrap_or_else(|| Arc::new(SystemClock)),
    )
    .await;
    (gw, sink)
}

/// `AdminGetUser` of `username` in the default pool: the whole answer (`ok` or
/// `error`).
pub async fn admin_get_user(gw: &Gw, username: &str) -> Value {
    boto3(
        gw,
        &[(
            "AdminGetUser",
            json!({"UserPoolId": "default", "Username": username}),
        )],
    )
    .await
    .remove(0)
}

/// Creates `username` with a temporary password (no invitation mail).
pub async fn create_user(gw: &Gw, username: &str, temporary: &str) -> Value {
    ok(
        gw,
        "AdminCreateUser",
        json!({
            "UserPoolId": "default",
            "Username": username,
            "TemporaryPassword": temporary,
            "MessageAction": "SUPPRESS",
            "UserAttributes": [
                {"Name": "email", "Value": format!("{username}@example.test")},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "custom:team", "Value": "blue"},
            ],
        }),
    )
    .await
}

/// Creates a `CONFIRMED` user with [`PASSWORD`].
pub async fn confirmed_user(gw: &Gw, username: &str) {
    create_user(gw, username, "Temporary-Pass-9").await;
    ok(
        gw,
        "AdminSetUserPassword",
        json!({"UserPoolId": "default", "Username": username, "Password": PASSWORD, "Permanent": true}),
    )
    .await;
}

/// `InitiateAuth` with `USER_PASSWORD_AUTH`: the whole answer (`ok` or `error`).
pub async fn password_auth(gw: &Gw, client_id: &str, username: &str, password: &str) -> Value {
    boto3(
        gw,
        &[(
            "InitiateAuth",
            json!({
                "ClientId": client_id,
                "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": username, "PASSWORD": password},
            }),
        )],
    )
    .await
    .remove(0)
}

/// The access token of a `USER_PASSWORD_AUTH` sign-in that must succeed.
pub async fn access_token(gw: &Gw, client_id: &str, username: &str, password: &str) -> String {
    let r = password_auth(gw, client_id, username, password).await;
    r["ok"]["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

/// Sets up TOTP for the holder of `access` and makes it their preferred MFA; the
/// secret and the 30-second step whose code verified it (later codes are the next
/// steps': a code is good once).
pub async fn enable_totp(gw: &Gw, access: &str) -> (String, u64) {
    let secret =
        ok(gw, "AssociateSoftwareToken", json!({"AccessToken": access})).await["SecretCode"]
            .as_str()
            .unwrap()
            .to_owned();
    let step = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30;
    ok(
        gw,
        "VerifySoftwareToken",
        json!({"AccessToken": access, "UserCode": poolgate::native::totp::code_at(&secret, step).unwrap()}),
    )
    .await;
    ok(
        gw,
        "SetUserMFAPreference",
        json!({"AccessToken": access, "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
    )
    .await;
    (secret, step)
}

/// Verifies a pool token's signature against the gateway's JWKS and returns its claims.
pub async fn verified_claims(gw: &Gw, jwt: &str) -> Value {
    let jwks = gw.jwks().await;
    let header = jwt.split('.').next().unwrap();
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    let kid = header["kid"].as_str().unwrap();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid),
        "the token's key is published"
    );
    crate::harness::claims(jwt)
}

/// An unsigned operation expected to fail: its error code and message.
pub async fn error_of(gw: &Gw, op: &str, params: Value) -> (String, String) {
    let r = boto3(gw, &[(op, params)]).await.remove(0);
    assert_eq!(r["status"], 400, "{op}: {r}");
    (
        r["error"]["Code"].as_str().unwrap().to_owned(),
        r["error"]["Message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[allow(dead_code)]
pub async fn fails_with(gw: &Gw, op: &str, params: Value) -> String {
    fails(gw, op, params).await
}
