//! USER_SRP_AUTH with the real client libraries (pycognito, amazon-cognito-identity-js),
//! and SRP proofs that must fail.

use serde_json::{Value, json};

use super::*;
use crate::cognito_api::ok;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/native");

pub(super) async fn run_client(
    gw: &Gw,
    program: &str,
    script: &str,
    client_id: &str,
    user: &str,
    pw: &str,
) -> Value {
    run_client_with(gw, program, script, client_id, user, pw, &[]).await
}

/// [`run_client`] with more environment (`CLIENT_SECRET` for a confidential client).
pub(super) async fn run_client_with(
    gw: &Gw,
    program: &str,
    script: &str,
    client_id: &str,
    user: &str,
    pw: &str,
    env: &[(&str, &str)],
) -> Value {
    let out = tokio::process::Command::new(program)
        .envs(env.iter().copied())
        .arg(format!("{DIR}/{script}"))
        .current_dir(DIR)
        .env("POOLGATE_ENDPOINT", &gw.base)
        .env("POOL_ID", "us-east-1_default")
        .env("CLIENT_ID", client_id)
        .env("USERNAME", user)
        .env("PASSWORD", pw)
        .env("AWS_ACCESS_KEY_ID", "unused")
        .env("AWS_SECRET_ACCESS_KEY", "unused")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("{program} {script}: {e} (scripts/setup.sh --test installs it)")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{script}: {e}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pycognito_signs_in_with_srp() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "julia").await;
    let r = run_client(
        &gw,
        "python3",
        "srp_pycognito.py",
        &client_id,
        "julia",
        PASSWORD,
    )
    .await;
    let tokens = &r["ok"];
    assert!(tokens.is_object(), "{r}");
    // pycognito verified the ID token itself (JWKS signature, issuer, audience).
    let id = verified_claims(&gw, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(
        id["cognito:username"].as_str().or(id["username"].as_str()),
        Some("julia")
    );
    let me = ok(
        &gw,
        "GetUser",
        json!({"AccessToken": tokens["access_token"]}),
    )
    .await;
    assert_eq!(me["Username"], "julia");
    // The wrong password fails the proof.
    let r = run_client(
        &gw,
        "python3",
        "srp_pycognito.py",
        &client_id,
        "julia",
        "Wrong-Horse-1",
    )
    .await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    // An unknown user gets the same answer.
    let u = run_client(
        &gw,
        "python3",
        "srp_pycognito.py",
        &client_id,
        "nobody",
        "Wrong-Horse-1",
    )
    .await;
    assert_eq!(u["error"], r["error"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amazon_cognito_identity_js_signs_in_with_srp() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "karl").await;
    let r = run_client(
        &gw,
        "node",
        "srp_identity_js.js",
        &client_id,
        "karl",
        PASSWORD,
    )
    .await;
    let tokens = &r["ok"];
    assert!(tokens.is_object(), "{r}");
    let access = verified_claims(&gw, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(access["username"], "karl");
    let id = verified_claims(&gw, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["aud"], client_id);
    let r = run_client(
        &gw,
        "node",
        "srp_identity_js.js",
        &client_id,
        "karl",
        "Wrong-Horse-1",
    )
    .await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    // A user with a temporary password is asked for a new one, as Amplify expects.
    create_user(&gw, "lena", "Temporary-Pass-9").await;
    let r = run_client(
        &gw,
        "node",
        "srp_identity_js.js",
        &client_id,
        "lena",
        "Temporary-Pass-9",
    )
    .await;
    assert_eq!(r["error"]["Code"], "NEW_PASSWORD_REQUIRED", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_srp_proofs_are_refused() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "mona").await;
    let challenge = ok(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
               "AuthParameters": {"USERNAME": "mona", "SRP_A": "02"}}),
    )
    .await;
    assert_eq!(challenge["ChallengeName"], "PASSWORD_VERIFIER");
    let p = &challenge["ChallengeParameters"];
    for k in [
        "SALT",
        "SECRET_BLOCK",
        "SRP_B",
        "USER_ID_FOR_SRP",
        "USERNAME",
    ] {
        assert!(p[k].is_string(), "{k} in {p}");
    }
    assert!(
        challenge.get("Session").is_none(),
        "PASSWORD_VERIFIER needs no Session"
    );
    // An unknown user's challenge looks the same, with a stable salt.
    let fake = ok(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
               "AuthParameters": {"USERNAME": "ghost", "SRP_A": "02"}}),
    )
    .await;
    let fake2 = ok(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
               "AuthParameters": {"USERNAME": "ghost", "SRP_A": "02"}}),
    )
    .await;
    assert_eq!(
        fake["ChallengeParameters"]["SALT"],
        fake2["ChallengeParameters"]["SALT"]
    );
    assert_eq!(
        fake["ChallengeParameters"]["SALT"].as_str().unwrap().len(),
        p["SALT"].as_str().unwrap().len()
    );
    // A made-up signature is refused, and the secret block is then spent.
    let ts = poolgate::native::srp::format_timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    let respond = |block: &Value, sig: &str, ts: &str| {
        json!({"ClientId": client_id, "ChallengeName": "PASSWORD_VERIFIER",
               "ChallengeResponses": {"USERNAME": "mona", "PASSWORD_CLAIM_SECRET_BLOCK": block,
                                      "PASSWORD_CLAIM_SIGNATURE": sig, "TIMESTAMP": ts}})
    };
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        respond(
            &p["SECRET_BLOCK"],
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            &ts,
        ),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    let (code, _) = error_of(
        &gw,
        "RespondToAuthChallenge",
        respond(&p["SECRET_BLOCK"], "AAAA", &ts),
    )
    .await;
    assert_eq!(
        code, "NotAuthorizedException",
        "a secret block is good once"
    );
    // SRP_A = 0 (mod N) is refused outright.
    let (code, _) = error_of(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
               "AuthParameters": {"USERNAME": "mona", "SRP_A": "0"}}),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    // Unknown flows and clients.
    let (code, _) = error_of(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "CUSTOM_AUTH", "AuthParameters": {}}),
    )
    .await;
    assert_eq!(code, "InvalidParameterException");
    let (code, _) = error_of(
        &gw,
        "InitiateAuth",
        json!({"ClientId": "no-such-client", "AuthFlow": "USER_PASSWORD_AUTH",
               "AuthParameters": {"USERNAME": "mona", "PASSWORD": PASSWORD}}),
    )
    .await;
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_with_a_secret_need_it_proved() {
    let gw = Gw::start().await;
    let (client_id, secret) = gw.client(super::native_client_body(true)).await;
    let secret = secret.unwrap();
    confirmed_user(&gw, "nina").await;
    // No SECRET_HASH, or a tampered one: refused, nothing issued.
    for hash in [None, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")] {
        let mut params = json!({"USERNAME": "nina", "PASSWORD": PASSWORD});
        if let Some(h) = hash {
            params["SECRET_HASH"] = json!(h);
        }
        let (code, _) = error_of(
            &gw,
            "InitiateAuth",
            json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": params}),
        )
        .await;
        assert_eq!(code, "NotAuthorizedException");
    }
    // A hash made with another client's id (the right secret, the wrong message): refused.
    let foreign = poolgate::native::secret_hash(&secret, "nina", "another-client");
    let (code, _) = error_of(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
               "AuthParameters": {"USERNAME": "nina", "PASSWORD": PASSWORD, "SECRET_HASH": foreign}}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
    // The right SECRET_HASH (from the secret the client was created with): tokens.
    let hash = poolgate::native::secret_hash(&secret, "nina", &client_id);
    let r = ok(
        &gw,
        "InitiateAuth",
        json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
               "AuthParameters": {"USERNAME": "nina", "PASSWORD": PASSWORD, "SECRET_HASH": hash}}),
    )
    .await;
    assert!(r["AuthenticationResult"]["IdToken"].is_string(), "{r}");
    // pycognito's SRP with the client secret (it sends SECRET_HASH in both steps).
    let r = run_client_with(
        &gw,
        "python3",
        "srp_pycognito.py",
        &client_id,
        "nina",
        PASSWORD,
        &[("CLIENT_SECRET", secret.as_str())],
    )
    .await;
    assert!(r["ok"]["id_token"].is_string(), "{r}");
    // Without the secret pycognito sends no SECRET_HASH: refused.
    let r = run_client(
        &gw,
        "python3",
        "srp_pycognito.py",
        &client_id,
        "nina",
        PASSWORD,
    )
    .await;
    assert_eq!(r["error"]["Code"], "NotAuthorizedException", "{r}");
    // GetTokensFromRefreshToken and RevokeToken check ClientSecret itself.
    let (code, _) = error_of(
        &gw,
        "GetTokensFromRefreshToken",
        json!({"ClientId": client_id, "ClientSecret": "wrong-secret-wrong-secret-wrong", "RefreshToken": "x"}),
    )
    .await;
    assert_eq!(code, "NotAuthorizedException");
}
