//! The Redis backend's refresh tokens and signing keys against a real `redis-server`:
//! rotation, reuse detection, revocation, and concurrent outcomes.

use poolgate::model::RefreshState;
use poolgate::store::prelude::*;
use poolgate::store::{RotateOutcome, StoreError};

use crate::redis_fixtures::{refresh, signing_key, store};

#[tokio::test]
async fn redis_concurrent_rotations_rotate_once() {
    let (_server, s) = store().await;
    s.insert_refresh(&refresh("p", "h0", "fam", "u1", 10_000))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let new = refresh("p", &format!("h{}", i + 1), "fam", "u1", 10_000);
                s.rotate_refresh("h0", &new, 200).await.unwrap()
            })
        })
        .collect();
    let (mut rotated, mut reused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            RotateOutcome::Rotated(old) => {
                assert_eq!(old.token_hash, "h0");
                rotated += 1;
            }
            RotateOutcome::Reused(old) => {
                assert_eq!(old.family_id, "fam");
                reused += 1;
            }
            // Once the family is revoked, h0 is revoked too.
            RotateOutcome::Invalid => {}
        }
    }
    assert_eq!(rotated, 1);
    assert!(reused >= 1, "the second presentation is a reuse");
    assert_eq!(
        s.get_refresh("p", "h0").await.unwrap().unwrap().state,
        RefreshState::Revoked
    );
}

#[tokio::test]
async fn redis_refresh_rotation_reuse_and_revocation() {
    let (_server, s) = store().await;
    assert_eq!(s.get_refresh("p", "nope").await.unwrap(), None);
    let first = refresh("p", "a1", "f1", "u1", 1_000);
    s.insert_refresh(&first).await.unwrap();
    assert!(matches!(
        s.insert_refresh(&first).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(s.get_refresh("p", "a1").await.unwrap(), Some(first.clone()));

    // Expired: nothing changes.
    let next = refresh("p", "a2", "f1", "u1", 2_000);
    assert_eq!(
        s.rotate_refresh("a1", &next, 1_000).await.unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(s.get_refresh("p", "a2").await.unwrap(), None);
    assert_eq!(
        s.rotate_refresh("missing", &next, 10).await.unwrap(),
        RotateOutcome::Invalid
    );

    let RotateOutcome::Rotated(old) = s.rotate_refresh("a1", &next, 500).await.unwrap() else {
        panic!("expected a rotation");
    };
    assert_eq!(old.state, RefreshState::Used);
    assert_eq!(
        s.get_refresh("p", "a1").await.unwrap().unwrap().state,
        RefreshState::Used
    );
    assert_eq!(
        s.get_refresh("p", "a2").await.unwrap().unwrap().state,
        RefreshState::Active
    );

    // Reuse of a1 revokes the family, a2 included.
    let third = refresh("p", "a3", "f1", "u1", 2_000);
    assert!(matches!(
        s.rotate_refresh("a1", &third, 600).await.unwrap(),
        RotateOutcome::Reused(_)
    ));
    assert_eq!(
        s.get_refresh("p", "a2").await.unwrap().unwrap().state,
        RefreshState::Revoked
    );
    assert_eq!(s.get_refresh("p", "a3").await.unwrap(), None);
    assert_eq!(
        s.rotate_refresh("a2", &third, 600).await.unwrap(),
        RotateOutcome::Invalid
    );

    // Family and user revocation count what changed.
    s.insert_refresh(&refresh("p", "b1", "f2", "u1", 5_000))
        .await
        .unwrap();
    s.insert_refresh(&refresh("p", "b2", "f2", "u1", 5_000))
        .await
        .unwrap();
    s.insert_refresh(&refresh("p", "c1", "f3", "u1", 5_000))
        .await
        .unwrap();
    s.insert_refresh(&refresh("p", "d1", "f4", "u2", 5_000))
        .await
        .unwrap();
    // A record handed in already revoked is stored so, and not counted again.
    let mut revoked = refresh("p", "c2", "f3", "u1", 5_000);
    revoked.state = RefreshState::Revoked;
    s.insert_refresh(&revoked).await.unwrap();
    assert_eq!(s.get_refresh("p", "c2").await.unwrap(), Some(revoked));
    assert_eq!(s.revoke_refresh_family("p", "f2").await.unwrap(), 2);
    assert_eq!(s.revoke_refresh_family("p", "f2").await.unwrap(), 0);
    assert_eq!(s.revoke_user_refresh("p", "u1").await.unwrap(), 1);
    assert_eq!(
        s.get_refresh("p", "c1").await.unwrap().unwrap().state,
        RefreshState::Revoked
    );
    assert_eq!(
        s.get_refresh("p", "d1").await.unwrap().unwrap().state,
        RefreshState::Active
    );
    assert_eq!(
        s.revoke_user_refresh("q", "u2").await.unwrap(),
        0,
        "another pool"
    );
}

#[tokio::test]
async fn redis_signing_keys_initial_once_then_rotate() {
    let (_server, s) = store().await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.insert_initial_key(&signing_key("p", &format!("k{i}"), 1))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        stored += usize::from(t.await.unwrap());
    }
    assert_eq!(stored, 1);
    let keys = s.list_keys("p").await.unwrap();
    assert_eq!(keys.len(), 1);
    let first = keys[0].kid.clone();

    s.rotate_key(&signing_key("p", "second", 2), 500, 100)
        .await
        .unwrap();
    let keys = s.list_keys("p").await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (keys[0].kid.as_str(), keys[0].active, keys[0].visible_until),
        (first.as_str(), false, Some(500))
    );
    assert_eq!(
        (keys[1].kid.as_str(), keys[1].active, keys[1].visible_until),
        ("second", true, None)
    );

    // The first key's visibility ended by the next rotation: it is removed.
    s.rotate_key(&signing_key("p", "third", 3), 900, 600)
        .await
        .unwrap();
    let kids: Vec<(String, bool)> = s
        .list_keys("p")
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.active))
        .collect();
    assert_eq!(
        kids,
        [("second".to_owned(), false), ("third".to_owned(), true)]
    );
    assert!(
        !s.insert_initial_key(&signing_key("p", "late", 4))
            .await
            .unwrap()
    );
}
