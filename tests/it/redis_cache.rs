//! The in-process copies of the Redis backend across two gateway instances over one real
//! `redis-server`: a record changed behind the gateways' back (no invalidation) keeps
//! being served from the copy, which shows reads are cached; a change made through one
//! instance reaches the other through the invalidation channel well within a TTL set
//! far longer than the test; a lost subscription drops every copy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poolgate::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::Gw;
use crate::redis_server::RedisServer;

/// A TTL no test outlives: whatever is seen to change was told, not timed out.
const LONG_TTL: &str = "cache_ttl_ms=3600000";

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Overwrites the client's name in Redis directly, as no gateway would: no invalidation.
async fn rename_behind_the_back(server: &RedisServer, client_id: &str, name: &str) {
    let mut conn = raw(server).await;
    let key = "poolgate:{default}:clients";
    let text: String = redis::cmd("HGET")
        .arg(key)
        .arg(client_id)
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut record: Value = serde_json::from_str(&text).unwrap();
    record["name"] = json!(name);
    let _: i64 = redis::cmd("HSET")
        .arg(key)
        .arg(client_id)
        .arg(record.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();
}

async fn client_on(gw: &Gw, client_id: &str) -> (StatusCode, Value) {
    gw.admin("GET", &format!("/pools/default/clients/{client_id}"), None)
        .await
}

/// Polls `gw` until `done` holds for the client, or panics after `within`.
async fn until(
    gw: &Gw,
    client_id: &str,
    within: Duration,
    done: impl Fn(StatusCode, &Value) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let (s, v) = client_on(gw, client_id).await;
        if done(s, &v) {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "not within {within:?}: {s} {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `gw` answers from its copy: a change made behind its back stays unseen
/// (the record is left renamed to "probe" in Redis, "cached" in the copy).
async fn until_cached(server: &RedisServer, gw: &Gw, client_id: &str) {
    let start = Instant::now();
    loop {
        rename_behind_the_back(server, client_id, "cached").await;
        let _ = client_on(gw, client_id).await;
        rename_behind_the_back(server, client_id, "probe").await;
        if client_on(gw, client_id).await.1["name"] == "cached" {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "never kept a copy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_gateways(server: &RedisServer, tmp: &std::path::Path) -> (Gw, Gw) {
    let url = format!("{}?{LONG_TTL}", server.url());
    let (da, db) = (tmp.join("a"), tmp.join("b"));
    tokio::join!(
        Gw::start_with(&url, &da, None, Arc::new(SystemClock)),
        Gw::start_with(&url, &db, None, Arc::new(SystemClock)),
    )
}

async fn new_client(gw: &Gw) -> String {
    gw.client(json!({
        "name": "cached",
        "generate_secret": true,
        "callback_urls": ["https://app.example.test/cb"],
        "allowed_oauth_flows": ["code"],
        "allowed_scopes": ["openid"],
    }))
    .await
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cache_a_client_deleted_on_one_instance_is_refused_by_the_other_at_once() {
    let server = RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_gateways(&server, tmp.path()).await;
    let client_id = new_client(&a).await;
    // B reads it and keeps a copy (once its subscription is up).
    until(&b, &client_id, Duration::from_secs(5), |s, _| {
        s == StatusCode::OK
    })
    .await;
    until_cached(&server, &b, &client_id).await;
    // Served from the copy: the direct write told no one.
    let (s, v) = client_on(&b, &client_id).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "cached", "B answers from its copy");

    // An authorize request on B knows the client (sanity of the flow path).
    let authorize = |gw: &Gw| {
        let url = crate::harness::authorize_url(
            gw,
            &client_id,
            "https://app.example.test/cb",
            &[("scope", "openid"), ("state", "s")],
        );
        let http = gw.http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    let before = authorize(&b).await;

    let (s, v) = a
        .admin(
            "DELETE",
            &format!("/pools/default/clients/{client_id}"),
            None,
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    // Refused by B promptly (the TTL is an hour): the invalidation did it.
    let took = until(&b, &client_id, Duration::from_secs(2), |s, _| {
        s == StatusCode::NOT_FOUND
    })
    .await;
    assert!(took < Duration::from_secs(2), "{took:?}");
    let after = authorize(&b).await;
    assert_ne!(before, after, "the flow no longer knows the client");
    assert!(after.is_client_error(), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cache_a_lost_subscription_drops_every_copy() {
    let server = RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_gateways(&server, tmp.path()).await;
    let client_id = new_client(&a).await;
    until(&b, &client_id, Duration::from_secs(5), |s, _| {
        s == StatusCode::OK
    })
    .await;
    until_cached(&server, &b, &client_id).await;
    // Redis drops every subscriber connection: B must assume it missed messages.
    let mut conn = raw(&server).await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(killed >= 2, "both instances subscribe: {killed}");
    until(&b, &client_id, Duration::from_secs(3), |_, v| {
        v["name"] == "probe"
    })
    .await;
}
