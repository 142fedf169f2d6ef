//! Native-user phases against `poolgate serve` (gateway CPU per operation from /proc):
//!   - password sign-ins: `InitiateAuth` with `USER_PASSWORD_AUTH` over HTTP, bounded
//!     by Argon2id by design (the cost is printed);
//!   - SRP sign-ins: `USER_SRP_AUTH`, then `PASSWORD_VERIFIER` with the proof computed
//!     in the driver by the same SRP client maths the tests use
//!     (`poolgate::native::srp::client`);
//!   - refresh grants alone, then again while password sign-ins keep the hasher busy
//!     (both printed): hashing runs on its own bounded pool and must not slow tokens.
//!
//! Each sign-in phase runs `LOADGEN_N / 10` operations (at least 20): a password
//! sign-in costs an Argon2id hash, a hundred times a token grant. The users are made
//! (not timed) with `AdminCreateUser` and `AdminSetUserPassword`, signed with SigV4.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poolgate::native::password::{M_COST_KIB, P_COST, T_COST};
use poolgate::native::srp;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::gateway::{ADMIN_TOKEN, ProcGw};
use super::phases::{Env, drive, phase, refresh_chains, refresh_once};
use super::{CB, RawConn, WORKERS};

const PASSWORD: &str = "Bench-Password-1";
/// One user per worker: a user's sign-ins never wait on each other's throttling state.
const USERS: usize = WORKERS;
/// Connections that keep password sign-ins running during the refresh phase.
const BACKGROUND: usize = 4;
const REGION: &str = "us-east-1";

/// The app client and connections of the native phases.
struct Native {
    client: String,
    host: String,
    conns: Vec<Mutex<RawConn>>,
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

fn hmac_sha256(key: &[u8], msg: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg.as_bytes())
        .as_ref()
        .to_vec()
}

/// The request head of a Cognito API call, up to Content-Length. Signed (SigV4, as
/// the AWS SDKs sign, with the gateway's default access key and the admin token) for
/// the admin operations of the set-up.
fn api_head(host: &str, op: &str, body: &str, signed: bool) -> String {
    let target = format!("AWSCognitoIdentityProviderService.{op}");
    let mut head = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: {target}\r\n"
    );
    if signed {
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let date = &amz_date[..8];
        let signed_headers = "content-type;host;x-amz-date;x-amz-target";
        let canonical = format!(
            "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:{host}\nx-amz-date:{amz_date}\nx-amz-target:{target}\n\n{signed_headers}\n{}",
            hex_sha256(body.as_bytes())
        );
        let scope = format!("{date}/{REGION}/cognito-idp/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex_sha256(canonical.as_bytes())
        );
        let mut key = hmac_sha256(format!("AWS4{ADMIN_TOKEN}").as_bytes(), date);
        for part in [REGION, "cognito-idp", "aws4_request"] {
            key = hmac_sha256(&key, part);
        }
        let signature = hex::encode(hmac_sha256(&key, &to_sign));
        head.push_str(&format!(
            "X-Amz-Date: {amz_date}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=poolgate/{scope}, SignedHeaders={signed_headers}, Signature={signature}\r\n"
        ));
    }
    head
}

impl Native {
    async fn call(&self, w: usize, op: &str, body: &Value, signed: bool) -> (u16, Value) {
        let body = body.to_string();
        let head = api_head(&self.host, op, &body, signed);
        self.conns[w].lock().await.post_form(&head, &body).await
    }

    /// `InitiateAuth` with `USER_PASSWORD_AUTH`: whether tokens came back.
    async fn password_sign_in(&self, w: usize, user: usize) -> bool {
        let body = json!({"ClientId": self.client, "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": username(user), "PASSWORD": PASSWORD}});
        let (s, v) = self.call(w, "InitiateAuth", &body, false).await;
        s == 200 && v["AuthenticationResult"]["AccessToken"].is_string()
    }

    /// `USER_SRP_AUTH` then `PASSWORD_VERIFIER`, the client's half computed here.
    async fn srp_sign_in(&self, w: usize, user: usize) -> Option<()> {
        let (a, big_a) = tokio::task::spawn_blocking(srp::client::a_pair)
            .await
            .ok()?;
        let name = username(user);
        let body = json!({"ClientId": self.client, "AuthFlow": "USER_SRP_AUTH",
            "AuthParameters": {"USERNAME": name, "SRP_A": big_a.to_str_radix(16)}});
        let (s, v) = self.call(w, "InitiateAuth", &body, false).await;
        if s != 200 || v["ChallengeName"] != "PASSWORD_VERIFIER" {
            return None;
        }
        let p = &v["ChallengeParameters"];
        let salt = p["SALT"].as_str()?.to_owned();
        let block_b64 = p["SECRET_BLOCK"].as_str()?.to_owned();
        let user_id = p["USER_ID_FOR_SRP"].as_str()?.to_owned();
        let big_b = num_bigint::BigUint::parse_bytes(p["SRP_B"].as_str()?.as_bytes(), 16)?;
        let block = STANDARD.decode(&block_b64).ok()?;
        let timestamp = srp::format_timestamp(chrono::Utc::now().timestamp());
        let (uid, ts) = (user_id.clone(), timestamp.clone());
        let signature = tokio::task::spawn_blocking(move || {
            let pool = srp::pool_name("default");
            let key = srp::client::key(pool, &uid, PASSWORD, &salt, &a, &big_a, &big_b);
            STANDARD.encode(srp::signature(&key, pool, &uid, &block, &ts))
        })
        .await
        .ok()?;
        let body = json!({"ClientId": self.client, "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeResponses": {"USERNAME": user_id, "PASSWORD_CLAIM_SECRET_BLOCK": block_b64,
                                   "PASSWORD_CLAIM_SIGNATURE": signature, "TIMESTAMP": timestamp}});
        let (s, v) = self.call(w, "RespondToAuthChallenge", &body, false).await;
        (s == 200 && v["AuthenticationResult"]["AccessToken"].is_string()).then_some(())
    }
}

fn username(i: usize) -> String {
    format!("bench-user-{}", i % USERS)
}

/// The app client (USER_PASSWORD_AUTH, USER_SRP_AUTH) and its users.
async fn prepare(gw: &ProcGw) -> Native {
    let mut body = super::harness::app_client_body(CB, &["COGNITO"], false);
    body["explicit_auth_flows"] = json!([
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH"
    ]);
    let (s, v) = gw.admin("POST", "/pools/default/clients", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let mut conns = Vec::new();
    for _ in 0..WORKERS + BACKGROUND {
        conns.push(Mutex::new(RawConn::connect(gw.port).await));
    }
    let n = Native {
        client: v["client_id"].as_str().expect("client id").to_owned(),
        host: gw.host.clone(),
        conns,
    };
    for u in 0..USERS {
        let name = username(u);
        let create = json!({"UserPoolId": "default", "Username": name,
            "TemporaryPassword": "Temporary-Pass-9", "MessageAction": "SUPPRESS",
            "UserAttributes": [{"Name": "email", "Value": format!("{name}@example.test")}]});
        let (s, v) = n.call(0, "AdminCreateUser", &create, true).await;
        assert_eq!(s, 200, "AdminCreateUser: {v}");
        let set = json!({"UserPoolId": "default", "Username": name, "Password": PASSWORD,
            "Permanent": true});
        let (s, v) = n.call(0, "AdminSetUserPassword", &set, true).await;
        assert_eq!(s, 200, "AdminSetUserPassword: {v}");
    }
    n
}

/// Password and SRP sign-ins, then refresh grants alone and under password load.
pub async fn native_phases(env: &Arc<Env>, label: &str, n: usize) {
    let gw = &env.gws[0];
    let native = Arc::new(prepare(gw).await);
    let m = (n / 10).max(20);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!(
        "{:<50} m={M_COST_KIB} KiB t={T_COST} p={P_COST}, {} hash(es) at once",
        format!("[{label}] Argon2id cost"),
        cores.saturating_sub(1).max(1)
    );
    let nat = native.clone();
    phase(
        &format!("[{label}] password sign-in (USER_PASSWORD_AUTH)"),
        &env.all(),
        m,
        move |w, i| {
            let nat = nat.clone();
            async move { nat.password_sign_in(w, i).await }
        },
    )
    .await;
    let nat = native.clone();
    phase(
        &format!("[{label}] SRP sign-in (USER_SRP_AUTH)"),
        &env.all(),
        m,
        move |w, i| {
            let nat = nat.clone();
            async move { nat.srp_sign_in(w, i).await.is_some() }
        },
    )
    .await;

    // Refresh grants alone, then with password sign-ins running beside them.
    let chains = refresh_chains(env, n).await;
    let (e, c) = (env.clone(), chains.clone());
    let alone = drive(
        &format!("[{label}] refresh_token, alone"),
        &env.all(),
        0..n,
        None,
        move |w, i| {
            let (e, c) = (e.clone(), c.clone());
            async move { refresh_once(&e, w, &c[i]).await }
        },
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let hashed = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut background = Vec::new();
    for k in 0..BACKGROUND {
        let (nat, stop, hashed, failed) =
            (native.clone(), stop.clone(), hashed.clone(), failed.clone());
        background.push(tokio::spawn(async move {
            let mut i = k;
            while !stop.load(Ordering::Relaxed) {
                let counter = if nat.password_sign_in(WORKERS + k, i).await {
                    &hashed
                } else {
                    &failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
                i += BACKGROUND;
            }
        }));
    }
    // The hasher busy before the measure starts.
    while hashed.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < BACKGROUND {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let start = Instant::now();
    let before = hashed.load(Ordering::Relaxed);
    let (e, c) = (env.clone(), chains.clone());
    let loaded = drive(
        &format!("[{label}] refresh_token, password sign-ins running"),
        &env.all(),
        0..n,
        None,
        move |w, i| {
            let (e, c) = (e.clone(), c.clone());
            async move { refresh_once(&e, w, &c[i]).await }
        },
    )
    .await;
    let during = hashed.load(Ordering::Relaxed) - before;
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for b in background {
        let _ = b.await;
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "background password sign-ins failed"
    );
    println!(
        "{:<50} {:>8.0}/s alone, {:>8.0}/s with {:.0} password sign-ins/s beside: {:.0}%; p99 {:.2} -> {:.2} ms",
        format!("[{label}] refresh under password hashing"),
        alone.per_s,
        loaded.per_s,
        during as f64 / secs.max(1e-9),
        100.0 * loaded.per_s / alone.per_s.max(1e-9),
        alone.p99.as_secs_f64() * 1e3,
        loaded.p99.as_secs_f64() * 1e3,
    );
}
