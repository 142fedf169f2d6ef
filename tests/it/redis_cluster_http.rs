//! Scale-out over HTTP only: two gateway instances answering for one pool domain over one
//! real `redis-server`, as behind a load balancer (instance B gets A's Host header). A
//! sign-in moves between them, refresh tokens rotate across them, key rotation spreads,
//! fifty racing first sign-ins make one user, and a Redis outage is a clean 503 that the
//! same instance recovers from by itself.

use std::sync::Arc;
use std::time::Duration;

use poolgate::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::e2e::{CB, register};
use crate::fakes::oidc::{self, FakeHandle, OidcOpts};
use crate::harness::{
    Browser, Gw, Landing, app_client_body, authorize_url, claims, host_of, json_str, pkce,
};
use crate::redis_server::RedisServer;

/// Two instances on one Redis; both serve the default pool at A's URL.
pub struct Pair {
    pub a: Arc<Gw>,
    pub b: Arc<Gw>,
    pub fake: FakeHandle,
    pub client: String,
    _tmp: tempfile::TempDir,
}

async fn pair(server: &RedisServer) -> Pair {
    pair_on(&server.url()).await
}

/// Two instances on the store at `url` (a single node, a Cluster or a Sentinel set).
pub async fn pair_on(url: &str) -> Pair {
    let tmp = tempfile::tempdir().unwrap();
    let url = url.to_owned();
    let clock = || Arc::new(SystemClock);
    let a = Gw::start_with(&url, &tmp.path().join("a"), None, clock()).await;
    let b = Gw::start_as(&url, &tmp.path().join("b"), None, Some(&a.base), clock()).await;
    let fake = oidc::start(OidcOpts::default()).await;
    register(&a, "Corp", &fake, "never").await;
    // Rotation on: a used refresh token must fail on the other instance.
    let mut body = app_client_body(CB, &["Corp"], false);
    body["refresh_token_rotation"] = json!({"enabled": true});
    let (client, _) = a.client(body).await;
    Pair {
        a: Arc::new(a),
        b: Arc::new(b),
        fake,
        client,
        _tmp: tmp,
    }
}

/// A sign-in whose authorize request goes to `start_on` and whose upstream callback
/// (addressed to the public URL, A's) is delivered to `finish_on` with the public Host.
/// Returns where the browser landed and the PKCE verifier.
pub async fn sign_in(
    p: &Pair,
    browser: &Browser,
    start_on: &Gw,
    finish_on: &Gw,
) -> (Landing, String) {
    let (verifier, challenge) = pkce();
    let mut url = authorize_url(
        &p.a,
        &p.client,
        CB,
        &[
            ("scope", "openid email profile"),
            ("state", "st"),
            ("identity_provider", "Corp"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    // With the slash: the fake's port may begin with the gateway's digits.
    let public = format!("{}/", p.a.base);
    let host = host_of(&p.a.base);
    for hop in 0..10 {
        if url.starts_with(CB) {
            let u = Url::parse(&url).unwrap();
            return (
                Landing::App(u.query_pairs().into_owned().collect()),
                verifier,
            );
        }
        let mut req = if let Some(rest) = url.strip_prefix(&public) {
            let on = if hop == 0 { start_on } else { finish_on };
            browser
                .http
                .get(on.url(&format!("/{rest}")))
                .header("host", &host)
        } else {
            browser.http.get(&url)
        };
        req = req.timeout(Duration::from_secs(30));
        let resp = req.send().await.unwrap();
        let status = resp.status();
        if !status.is_redirection() {
            return (
                Landing::Page(status, resp.text().await.unwrap_or_default()),
                verifier,
            );
        }
        let loc = resp.headers()["location"].to_str().unwrap().to_owned();
        url = Url::parse(&url).unwrap().join(&loc).unwrap().to_string();
    }
    panic!("too many redirects");
}

pub async fn exchange(gw: &Gw, client: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
    gw.token(
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ],
        None,
    )
    .await
}

pub async fn refresh(gw: &Gw, client: &str, rt: &str) -> (StatusCode, Value) {
    gw.token(
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", rt),
        ],
        None,
    )
    .await
}

/// Usernames in the default pool, through the admin API of `gw`.
pub async fn usernames(gw: &Gw) -> Vec<String> {
    let (s, v) = gw.admin("GET", "/pools/default/users?limit=60", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["next_cursor"].is_null(), "{v}");
    let mut names: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| json_str(u, "username"))
        .collect();
    names.sort();
    names
}

fn has_kid(jwks: &Value, kid: &str) -> bool {
    jwks["keys"]
        .as_array()
        .is_some_and(|ks| ks.iter().any(|k| k["kid"] == kid))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_http_two_instances_share_sign_ins_tokens_and_keys() {
    let server = RedisServer::start();
    let p = pair(&server).await;

    // Begun on A, completed on B, code exchanged on A.
    let browser = Browser::new();
    let (landing, verifier) = sign_in(&p, &browser, &p.a, &p.b).await;
    let code = landing.code();
    let (s, t) = exchange(&p.a, &p.client, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = claims(&json_str(&t, "id_token"));
    assert_eq!(id["iss"], p.a.base.as_str(), "{id}");
    assert_eq!(id["email"], "ada@example.com");

    // A refresh token from A works on B; once used there, it fails on A.
    let rt = json_str(&t, "refresh_token");
    let (s, t2) = refresh(&p.b, &p.client, &rt).await;
    assert_eq!(s, StatusCode::OK, "{t2}");
    assert_eq!(claims(&json_str(&t2, "access_token"))["sub"], id["sub"]);
    let (s, v) = refresh(&p.a, &p.client, &rt).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant");

    // The code was consumed once, for both instances (last: a
    // replayed code revokes what it issued).
    let (s, v) = exchange(&p.b, &p.client, &code, &verifier).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant");

    // A key rotated on A is published by B within seconds.
    let (s, v) =
        p.a.admin(
            "POST",
            "/pools/default/keys/rotate",
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let kid = json_str(&v, "active_kid");
    assert!(has_kid(&p.a.jwks().await, &kid), "A publishes its new key");
    let mut seen = false;
    for _ in 0..100 {
        if has_kid(&p.b.jwks().await, &kid) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "B never published the key {kid} rotated on A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_http_fifty_first_sign_ins_across_instances_make_one_user() {
    let server = RedisServer::start();
    let p = Arc::new(pair(&server).await);
    assert!(usernames(&p.a).await.is_empty());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let p = p.clone();
        tasks.spawn(async move {
            // Every combination of where the sign-in starts and where it completes.
            let start_on = if i % 2 == 0 { &p.a } else { &p.b };
            let finish_on = if (i / 2) % 2 == 0 { &p.a } else { &p.b };
            let (landing, verifier) = sign_in(&p, &Browser::new(), start_on, finish_on).await;
            let code = landing.code();
            let (s, t) = exchange(finish_on, &p.client, &code, &verifier).await;
            assert_eq!(s, StatusCode::OK, "{t}");
            claims(&json_str(&t, "id_token"))["sub"].clone()
        });
    }
    let mut subs = Vec::new();
    while let Some(r) = tasks.join_next().await {
        subs.push(r.unwrap());
    }
    assert_eq!(subs.len(), 50);
    assert!(subs.iter().all(|s| *s == subs[0]), "{subs:?}");
    let names = usernames(&p.b).await;
    assert_eq!(names, vec!["Corp_user-1".to_owned()]);
}

/// Status, `Retry-After` and JSON body of a response.
async fn parts(resp: reqwest::Response) -> (StatusCode, Option<String>, Value) {
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let s = resp.status();
    (s, retry, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_http_outage_is_503_and_the_same_instance_recovers() {
    let mut server = RedisServer::start();
    let p = pair(&server).await;
    let gw = &p.a;
    let (landing, verifier) = sign_in(&p, &Browser::new(), gw, gw).await;
    let (s, t) = exchange(gw, &p.client, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let rt = json_str(&t, "refresh_token");
    let users = usernames(gw).await;
    assert_eq!(users.len(), 1);
    // A second upstream identity begins a first sign-in: its callback arrives during
    // the outage, and must leave no user behind.
    p.fake.set(|o| {
        o.user.insert("sub".into(), "user-2".into());
        o.user.insert("email".into(), "grace@example.com".into());
    });
    let browser = Browser::new();
    let (_, challenge2) = pkce();
    let start = authorize_url(
        gw,
        &p.client,
        CB,
        &[
            ("identity_provider", "Corp"),
            ("scope", "openid"),
            ("code_challenge", &challenge2),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut callback = start.clone();
    for _ in 0..3 {
        let r = browser.http.get(&callback).send().await.unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        callback = Url::parse(&callback)
            .unwrap()
            .join(&loc)
            .unwrap()
            .to_string();
        if callback.starts_with(&format!("{}/", gw.base)) {
            break;
        }
    }
    assert!(callback.contains("/oauth2/idpresponse"), "{callback}");

    // Redis dies with what it had (its AOF in production).
    server.persist();
    server.stop();

    let bounded = Duration::from_secs(20);
    let send = |req: reqwest::RequestBuilder| async move {
        parts(req.timeout(bounded).send().await.unwrap()).await
    };
    let (s, retry, v) = send(gw.http.post(gw.url("/oauth2/token")).form(&[
        ("grant_type", "refresh_token"),
        ("client_id", p.client.as_str()),
        ("refresh_token", rt.as_str()),
    ]))
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(retry.is_some(), "token: Retry-After");
    assert_eq!(v["error"], "temporarily_unavailable", "{v}");
    let (s, retry, v) = send(gw.http.post(gw.url("/oauth2/token")).form(&[
        ("grant_type", "authorization_code"),
        ("client_id", p.client.as_str()),
        ("code", "some-code"),
        ("redirect_uri", CB),
        ("code_verifier", verifier.as_str()),
    ]))
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(retry.is_some(), "token: Retry-After");
    assert_eq!(v["error"], "temporarily_unavailable", "{v}");
    let (s, retry, v) = send(gw.http.get(gw.url("/healthz"))).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "healthz: {v}");
    assert!(retry.is_some(), "healthz: Retry-After");
    for (what, req) in [
        ("authorize", browser.http.get(&start)),
        ("idpresponse", browser.http.get(&callback)),
        (
            "admin users",
            gw.http
                .get(gw.url("/admin/v1/pools/default/users"))
                .bearer_auth(crate::harness::ADMIN_TOKEN),
        ),
        (
            "admin rotate",
            gw.http
                .post(gw.url("/admin/v1/pools/default/keys/rotate"))
                .bearer_auth(crate::harness::ADMIN_TOKEN)
                .json(&serde_json::json!({})),
        ),
    ] {
        let (s, retry, v) = send(req).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{what}: {v}");
        assert!(retry.is_some(), "{what}: Retry-After");
    }

    server.restart();
    let mut healthy = false;
    for _ in 0..100 {
        let r = gw
            .http
            .get(gw.url("/healthz"))
            .timeout(bounded)
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == StatusCode::OK) {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "the instance did not recover by itself");
    // Nothing half-written: the same users, and the refresh token tried during the
    // outage still works, once.
    assert_eq!(usernames(gw).await, users);
    let (s, t2) = refresh(gw, &p.client, &rt).await;
    assert_eq!(s, StatusCode::OK, "{t2}");
    let (s, v) = refresh(gw, &p.client, &rt).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // And new sign-ins work again on the same instance.
    let (landing, verifier) = sign_in(&p, &Browser::new(), gw, gw).await;
    let (s, t) = exchange(gw, &p.client, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(
        claims(&json_str(&t, "id_token"))["email"],
        "grace@example.com"
    );
}
