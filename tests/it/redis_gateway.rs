//! Two gateway instances over one real `redis-server`: they agree on one signing key, a
//! client created on one is known to the other, and when Redis goes away `/healthz`
//! answers 503 with `Retry-After` until it is back, without restarting the gateway.

use std::sync::Arc;
use std::time::Duration;

use poolgate::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::Gw;
use crate::redis_server::RedisServer;

fn kids(jwks: &Value) -> Vec<String> {
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    kids.sort();
    kids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_two_gateways_share_keys_and_clients() {
    let server = RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    // Started together: the initial signing key is created once.
    let url = server.url();
    let (a, b) = tokio::join!(
        Gw::start_with(&url, &da, None, Arc::new(SystemClock)),
        Gw::start_with(&url, &db, None, Arc::new(SystemClock)),
    );
    let (ja, jb) = tokio::join!(a.jwks(), b.jwks());
    assert_eq!(kids(&ja).len(), 1, "{ja}");
    assert_eq!(kids(&ja), kids(&jb));

    let (client_id, _) = a
        .client(json!({
            "name": "shared",
            "generate_secret": true,
            "callback_urls": ["https://app.example.test/cb"],
            "allowed_oauth_flows": ["code"],
            "allowed_scopes": ["openid"],
        }))
        .await;
    let (status, body) = b
        .admin("GET", &format!("/pools/default/clients/{client_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["client_id"], client_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_makes_healthz_503_then_recovers() {
    let mut server = RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let gw = Gw::start_with(&server.url(), tmp.path(), None, Arc::new(SystemClock)).await;
    let health = || async {
        let resp = gw.http.get(gw.url("/healthz")).send().await.unwrap();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        (resp.status(), retry, resp.json::<Value>().await.unwrap())
    };
    let (status, _, body) = health().await;
    assert_eq!(status, StatusCode::OK, "{body}");

    server.stop();
    let (status, retry, body) = health().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(retry.is_some(), "Retry-After");
    assert_eq!(body["store"], "down");
    // An admin read that needs the store fails cleanly as well (no panic, no hang).
    let (status, _) = gw.admin("GET", "/pools/default/clients", None).await;
    assert!(status.is_server_error(), "{status}");

    server.restart();
    let mut healthy = false;
    for _ in 0..50 {
        if health().await.0 == StatusCode::OK {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "the gateway did not recover by itself");
}
