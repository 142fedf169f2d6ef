//! Many instances, one truth: two gateways on one real `redis-server` answering for one
//! pool (B gets A's Host header, as behind a load balancer). Key rotation, a provider
//! re-created within a second, a domain added on one instance.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poolgate::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::e2e::{CB, register};
use crate::fakes::oidc::{self, FakeHandle, OidcOpts};
use crate::harness::{Browser, Gw, app_client_body, authorize_url, claims, json_str, pkce};
use crate::redis_server::RedisServer;

struct Pair {
    a: Gw,
    b: Gw,
    client: String,
    _tmp: tempfile::TempDir,
}

/// Two instances; `Corp` registered at `fake`, and a public client of it.
async fn pair(server: &RedisServer, fake: &FakeHandle) -> Pair {
    let tmp = tempfile::tempdir().unwrap();
    let url = server.url();
    let a = Gw::start_with(&url, &tmp.path().join("a"), None, Arc::new(SystemClock)).await;
    let b = Gw::start_as(
        &url,
        &tmp.path().join("b"),
        None,
        Some(&a.base),
        Arc::new(SystemClock),
    )
    .await;
    register(&a, "Corp", fake, "never").await;
    let (client, _) = a.client(app_client_body(CB, &["Corp"], false)).await;
    Pair {
        a,
        b,
        client,
        _tmp: tmp,
    }
}

fn kid_of(jwt: &str) -> String {
    let h = claims(&format!("x.{}", jwt.split('.').next().unwrap()));
    json_str(&h, "kid")
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| json_str(k, "kid"))
        .collect()
}

/// A refresh grant on `gw`: the new access token; `rt` becomes the refresh token to
/// use next (the client may rotate them).
async fn refreshed(gw: &Gw, client: &str, rt: &mut String) -> String {
    let (s, t) = gw
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", client),
                ("refresh_token", rt.as_str()),
            ],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    if let Some(next) = t["refresh_token"].as_str() {
        *rt = next.to_owned();
    }
    json_str(&t, "access_token")
}

/// A sign-in through `Corp` on A, exchanged on A: the token response.
async fn sign_in(p: &Pair) -> Value {
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &p.a,
        &p.client,
        CB,
        &[
            ("scope", "openid email"),
            ("state", "s"),
            ("identity_provider", "Corp"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let code = Browser::new().follow(&url, CB).await.code();
    let (s, t) =
        p.a.token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &p.client),
                ("code", &code),
                ("redirect_uri", CB),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_in_every_instances_jwks_before_any_token_carries_it() {
    let server = RedisServer::start();
    let fake = oidc::start(OidcOpts::default()).await;
    let p = pair(&server, &fake).await;
    let mut rt = json_str(&sign_in(&p).await, "refresh_token");
    // Both instances have their key ring loaded (and cached) before the rotation.
    let old = kids(&p.a.jwks().await);
    assert_eq!(kids(&p.b.jwks().await), old);
    let (s, v) =
        p.a.admin("POST", "/pools/default/keys/rotate", Some(json!({})))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new_kid = json_str(&v, "active_kid");
    // A backend fetches the JWKS from one instance, then verifies a token the other
    // just issued: the token's key must be in what it fetched.
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut signed_with_new = [false, false];
    while signed_with_new != [true, true] {
        assert!(
            Instant::now() < deadline,
            "the rotated key never signed on both instances"
        );
        for (i, (signer, other)) in [(&p.a, &p.b), (&p.b, &p.a)].into_iter().enumerate() {
            let published = kids(&other.jwks().await);
            let at = refreshed(signer, &p.client, &mut rt).await;
            let kid = kid_of(&at);
            assert!(
                published.contains(&kid),
                "a token from one instance carries {kid}, which the other's JWKS \
                 fetched just before lacks: {published:?}"
            );
            signed_with_new[i] |= kid == new_kid;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_recreated_within_a_second_is_served_with_its_new_settings_everywhere() {
    let server = RedisServer::start();
    let first = oidc::start(OidcOpts::default()).await;
    let p = pair(&server, &first).await;
    let second = oidc::start(OidcOpts {
        client_id: "rp-second".into(),
        ..Default::default()
    })
    .await;
    let authorize_on_b = || authorize_on(&p, &p.b);
    // Start right after a second begins, so every write below has the same
    // whole-second time stamp.
    let ms = now_ms() % 1000;
    tokio::time::sleep(Duration::from_millis(1005 - ms)).await;
    register(&p.a, "Corp", &first, "never").await;
    let went = authorize_on_b().await;
    assert!(went.starts_with(&first.issuer()), "{went}");
    let (s, _) =
        p.a.admin("DELETE", "/pools/default/providers/Corp", None)
            .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    register(&p.a, "Corp", &second, "never").await;
    let went = authorize_on_b().await;
    assert!(
        went.starts_with(&second.issuer()),
        "B still sends the browser to the deleted registration's IdP: {went}"
    );
    assert!(went.contains("client_id=rp-second"), "{went}");
}

/// `/oauth2/authorize` through `Corp` on `gw` (with A's Host): where it sends the
/// browser.
async fn authorize_on(p: &Pair, gw: &Gw) -> String {
    let (_, challenge) = pkce();
    let url = authorize_url(
        &p.a,
        &p.client,
        CB,
        &[
            ("state", "s"),
            ("identity_provider", "Corp"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let on = url.replacen(&p.a.base, &gw.base, 1);
    let r = gw.http.get(on).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    r.headers()["location"].to_str().unwrap().to_owned()
}

fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_added_on_one_instance_is_served_by_the_other_within_the_bound() {
    let server = RedisServer::start();
    let fake = oidc::start(OidcOpts::default()).await;
    let p = pair(&server, &fake).await;
    let host = "login.acme.localhost";
    let discovery = |gw: &Gw| {
        gw.http
            .get(gw.url("/.well-known/openid-configuration"))
            .header("host", host)
            .send()
    };
    // B has answered "unknown host" (and may keep that answer a while).
    assert_eq!(
        discovery(&p.b).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (s, v) =
        p.a.admin(
            "POST",
            "/pools",
            Some(json!({"id": "acme", "domains": [host]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(discovery(&p.a).await.unwrap().status(), StatusCode::OK);
    // Documented bound: 1 s; the test allows 10 on a busy machine.
    let start = Instant::now();
    loop {
        let r = discovery(&p.b).await.unwrap();
        if r.status() == StatusCode::OK {
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["issuer"], format!("http://{host}"));
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B still answers unknown host"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And removed: gone on B within the bound too.
    let (s, _) = p.a.admin("DELETE", "/pools/acme", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let start = Instant::now();
    while discovery(&p.b).await.unwrap().status() != StatusCode::NOT_FOUND {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B still serves it"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
