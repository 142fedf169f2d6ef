//! The Redis backend when Redis goes away and comes back: calls fail with
//! `Unavailable` (no hang, no panic) and the same store serves again afterwards.

use std::time::Duration;

use poolgate::store::prelude::*;
use poolgate::store::redis::RedisStore;
use poolgate::store::{EphemeralKind, StoreError};

use crate::redis_fixtures::{link, user};
use crate::redis_server::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_is_unavailable_then_recovers() {
    let mut server = RedisServer::start();
    let s = RedisStore::open(&server.url()).await.unwrap();
    s.put("p", EphemeralKind::Flow, "a", b"1", Duration::from_secs(60))
        .await
        .unwrap();

    server.stop();
    // Each call comes back (the outer test timeout would catch a hang) with Unavailable.
    for _ in 0..3 {
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            s.get("p", EphemeralKind::Flow, "a"),
        )
        .await;
        assert!(matches!(r, Ok(Err(StoreError::Unavailable(_)))), "{r:?}");
    }
    let u = user("p", "u1", "ada", None, 1);
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        s.create_user_with_identity(&u, &link("p", "u1", "Google", "1")),
    )
    .await;
    assert!(matches!(r, Ok(Err(StoreError::Unavailable(_)))), "{r:?}");
    let r = tokio::time::timeout(Duration::from_secs(10), s.ping()).await;
    assert!(matches!(r, Ok(Err(StoreError::Unavailable(_)))), "{r:?}");

    server.restart();
    // The connection manager reconnects by itself; the first calls may still see the
    // old connection fail while it does, so allow a bounded number of attempts.
    let mut recovered = false;
    for _ in 0..50 {
        if s.ping().await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the store did not reconnect");
    // Scripts are loaded again on demand (the new server has an empty script cache).
    let outcome = s
        .create_user_with_identity(&u, &link("p", "u1", "Google", "1"))
        .await
        .unwrap();
    assert_eq!(outcome, poolgate::store::CreateUserOutcome::Created);
    assert_eq!(
        s.get("p", EphemeralKind::Flow, "a").await.unwrap(),
        None,
        "the new server started empty"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_hung_server_is_unavailable_not_a_hang() {
    let server = RedisServer::start();
    let s = RedisStore::open_with_timeout(&server.url(), Duration::from_millis(500))
        .await
        .unwrap();
    s.put("p", EphemeralKind::Flow, "a", b"1", Duration::from_secs(60))
        .await
        .unwrap();
    server.pause();
    for _ in 0..3 {
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            s.take("p", EphemeralKind::Flow, "a"),
        )
        .await;
        assert!(matches!(r, Ok(Err(StoreError::Unavailable(_)))), "{r:?}");
    }
    server.resume();
    let mut value = None;
    for _ in 0..50 {
        if let Ok(v) = s.get("p", EphemeralKind::Flow, "a").await {
            value = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The store answers again. A command that timed out may have been sent and run when
    // Redis woke up (the entry is gone, consumed once), or dropped with its connection
    // (the entry is still there, unchanged): which one depends on when the client gave
    // up the connection, so callers must treat `Unavailable` as "unknown outcome", never
    // as "did not happen". Either way the entry is whole, never half-written.
    assert!(
        matches!(&value, Some(None)) || matches!(&value, Some(Some(v)) if v == b"1"),
        "{value:?}"
    );
}

#[tokio::test]
async fn redis_open_fails_fast() {
    let server = RedisServer::start();
    let url = server.url();
    drop(server);
    let r = tokio::time::timeout(Duration::from_secs(20), RedisStore::open(&url)).await;
    assert!(matches!(r, Ok(Err(StoreError::Unavailable(_)))), "{r:?}");
    let r = RedisStore::open("redis://user:secret@[bad").await;
    match r {
        Err(StoreError::Conflict(msg)) => assert!(!msg.contains("secret"), "{msg}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test]
async fn redis_selected_by_store_url() {
    let server = RedisServer::start();
    let backend = poolgate::store::open(&server.url()).await.unwrap();
    assert_eq!(backend.kind(), "redis");
    backend.ping().await.unwrap();
}
