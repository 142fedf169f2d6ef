//! Sign-ins in progress per pool: one pool's flood of abandoned sign-ins is refused at a
//! cap while other pools' sign-ins go through, on Redis (the SQLite backend's in-memory
//! share is tested beside `store::memory`).

use std::time::Duration;

use poolgate::store::redis::RedisStore;
use poolgate::store::{Ephemeral, EphemeralKind, StoreError};

use crate::redis_server::RedisServer;

const MIN: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_pools_flood_of_sign_ins_is_capped_on_redis_and_other_pools_go_on() {
    let server = RedisServer::start();
    let s = RedisStore::open(&server.url())
        .await
        .unwrap()
        .with_flow_cap(3);
    for i in 0..3 {
        s.put("flooded", EphemeralKind::Flow, &format!("f{i}"), b"x", MIN)
            .await
            .unwrap();
    }
    let err = s
        .put("flooded", EphemeralKind::Flow, "f3", b"x", MIN)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert_eq!(
        s.get("flooded", EphemeralKind::Flow, "f3").await.unwrap(),
        None,
        "not stored"
    );
    // Another pool is not affected; other kinds are not counted.
    s.put("calm", EphemeralKind::Flow, "a", b"x", MIN)
        .await
        .unwrap();
    s.put("flooded", EphemeralKind::Code, "c", b"x", MIN)
        .await
        .unwrap();
    // Rewriting a sign-in already counted is not a new one.
    s.put("flooded", EphemeralKind::Flow, "f0", b"y", MIN)
        .await
        .unwrap();
    // A finished sign-in frees its slot, whether taken alone or swapped for its code.
    assert_eq!(
        s.take("flooded", EphemeralKind::Flow, "f0").await.unwrap(),
        Some(b"y".to_vec())
    );
    s.put("flooded", EphemeralKind::Flow, "f3", b"x", MIN)
        .await
        .unwrap();
    let swapped = s
        .take_and_put(
            "flooded",
            EphemeralKind::Flow,
            "f1",
            EphemeralKind::Code,
            "k1",
            b"g",
            MIN,
        )
        .await
        .unwrap();
    assert_eq!(swapped, Some(b"x".to_vec()));
    s.put("flooded", EphemeralKind::Flow, "f4", b"x", MIN)
        .await
        .unwrap();
    assert!(
        s.put("flooded", EphemeralKind::Flow, "f5", b"x", MIN)
            .await
            .is_err()
    );
    // An abandoned sign-in's slot frees when it expires.
    let s2 = s.clone().with_flow_cap(1);
    s2.put(
        "brief",
        EphemeralKind::Flow,
        "a",
        b"x",
        Duration::from_millis(50),
    )
    .await
    .unwrap();
    assert!(
        s2.put("brief", EphemeralKind::Flow, "b", b"x", MIN)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    s2.put("brief", EphemeralKind::Flow, "b", b"x", MIN)
        .await
        .unwrap();
}
