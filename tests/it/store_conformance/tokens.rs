//! Conformance: signing keys (initial key, rotation) and refresh tokens (rotation,
//! reuse detection, revocation).

use poolgate::model::{RefreshState, SigningKeyRecord};
use poolgate::store::{RotateOutcome, SharedBackend};

use super::*;

const NOW: i64 = 1_000_000;
const LATER: i64 = 2_000_000;

fn by_kid(keys: &[SigningKeyRecord], kid: &str) -> SigningKeyRecord {
    keys.iter()
        .find(|k| k.kid == kid)
        .cloned()
        .unwrap_or_else(|| panic!("no key {kid}"))
}

pub async fn keys(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    assert!(b.list_keys(&p).await.unwrap().is_empty());
    let k1 = key(&p, "k1", 100);
    assert!(b.insert_initial_key(&k1).await.unwrap());
    assert!(!b.insert_initial_key(&key(&p, "k2", 101)).await.unwrap());
    assert_eq!(b.list_keys(&p).await.unwrap(), vec![k1.clone()]);

    // Rotation retires the active key, visible until its last token expires.
    let k3 = key(&p, "k3", 200);
    b.rotate_key(&k3, 5_000, 1_000).await.unwrap();
    let keys = b.list_keys(&p).await.unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let mut retired = k1.clone();
    retired.active = false;
    retired.visible_until = Some(5_000);
    assert_eq!(by_kid(&keys, "k1"), retired);
    assert_eq!(by_kid(&keys, "k3"), k3);

    // The next rotation, after k1's visibility ended, removes k1.
    let k4 = key(&p, "k4", 300);
    b.rotate_key(&k4, 9_000, 6_000).await.unwrap();
    let keys = b.list_keys(&p).await.unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(!keys.iter().any(|k| k.kid == "k1"));
    let k3_retired = by_kid(&keys, "k3");
    assert!(!k3_retired.active);
    assert_eq!(k3_retired.visible_until, Some(9_000));
    assert_eq!(by_kid(&keys, "k4"), k4);
    assert_eq!(keys.iter().filter(|k| k.active).count(), 1);

    // Another pool's keys are separate.
    let q = fresh_pool(b).await;
    assert!(b.list_keys(&q).await.unwrap().is_empty());
    assert!(b.insert_initial_key(&key(&q, "k1", 100)).await.unwrap());
    assert_eq!(b.list_keys(&p).await.unwrap().len(), 2);
}

pub async fn concurrent_initial_key(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (b, k) = (b.clone(), key(&p, &format!("racer{i}"), 100));
            tokio::spawn(async move { b.insert_initial_key(&k).await })
        })
        .collect();
    let mut won = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if t.await.unwrap().unwrap() {
            won.push(format!("racer{i}"));
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let keys = b.list_keys(&p).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid, won[0]);
}

pub async fn refresh_rotation(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let (family, user_id) = (uid(), uid());
    let t1 = refresh(&p, &family, &user_id, LATER);
    b.insert_refresh(&t1).await.unwrap();
    assert_eq!(
        b.get_refresh(&t1.pool_id, &t1.token_hash).await.unwrap(),
        Some(t1.clone())
    );

    let t2 = refresh(&p, &family, &user_id, LATER);
    match b.rotate_refresh(&t1.token_hash, &t2, NOW).await.unwrap() {
        RotateOutcome::Rotated(old) => {
            assert_eq!(old.token_hash, t1.token_hash);
            assert_eq!(old.family_id, family);
        }
        other => panic!("expected Rotated, got {other:?}"),
    }
    let used = b
        .get_refresh(&t1.pool_id, &t1.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.state, RefreshState::Used);
    assert_eq!(
        b.get_refresh(&t2.pool_id, &t2.token_hash).await.unwrap(),
        Some(t2.clone())
    );

    // Presenting t1 again is reuse: the family, including t2, is revoked.
    let t3 = refresh(&p, &family, &user_id, LATER);
    match b.rotate_refresh(&t1.token_hash, &t3, NOW).await.unwrap() {
        RotateOutcome::Reused(old) => assert_eq!(old.token_hash, t1.token_hash),
        other => panic!("expected Reused, got {other:?}"),
    }
    assert_eq!(
        b.get_refresh(&t3.pool_id, &t3.token_hash).await.unwrap(),
        None,
        "nothing new stored"
    );
    let t2_now = b
        .get_refresh(&t2.pool_id, &t2.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t2_now.state, RefreshState::Revoked);
    let t1_now = b
        .get_refresh(&t1.pool_id, &t1.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(t1_now.state, RefreshState::Active);
    // A revoked token cannot be rotated.
    let t4 = refresh(&p, &family, &user_id, LATER);
    let outcome = b.rotate_refresh(&t2.token_hash, &t4, NOW).await.unwrap();
    assert_eq!(outcome, RotateOutcome::Invalid);
    assert_eq!(
        b.get_refresh(&t4.pool_id, &t4.token_hash).await.unwrap(),
        None
    );
}

pub async fn refresh_expired_and_unknown(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let unknown = format!("{}{}", uid(), uid());
    assert_eq!(b.get_refresh(&p, &unknown).await.unwrap(), None);
    let new = refresh(&p, &uid(), &uid(), LATER);
    assert_eq!(
        b.rotate_refresh(&unknown, &new, NOW).await.unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        b.get_refresh(&new.pool_id, &new.token_hash).await.unwrap(),
        None
    );

    let expired = refresh(&p, &uid(), &uid(), NOW - 1);
    b.insert_refresh(&expired).await.unwrap();
    let new = refresh(&p, &expired.family_id, &expired.user_id, LATER);
    let outcome = b
        .rotate_refresh(&expired.token_hash, &new, NOW)
        .await
        .unwrap();
    assert_eq!(outcome, RotateOutcome::Invalid);
    assert_eq!(
        b.get_refresh(&expired.pool_id, &expired.token_hash)
            .await
            .unwrap(),
        Some(expired),
        "unchanged"
    );
    assert_eq!(
        b.get_refresh(&new.pool_id, &new.token_hash).await.unwrap(),
        None
    );
}

/// A refresh token is found only in its own pool: presented to another pool it is
/// unknown, and rotating it there changes nothing.
pub async fn refresh_is_pool_scoped(b: &SharedBackend) {
    let (p, q) = (fresh_pool(b).await, fresh_pool(b).await);
    let t = refresh(&p, &uid(), &uid(), LATER);
    b.insert_refresh(&t).await.unwrap();
    assert_eq!(b.get_refresh(&q, &t.token_hash).await.unwrap(), None);
    let elsewhere = refresh(&q, &t.family_id, &t.user_id, LATER);
    assert_eq!(
        b.rotate_refresh(&t.token_hash, &elsewhere, NOW)
            .await
            .unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        b.get_refresh(&q, &elsewhere.token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        b.get_refresh(&p, &t.token_hash).await.unwrap(),
        Some(t),
        "unchanged in its own pool"
    );
}

pub async fn concurrent_rotation(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let (family, user_id) = (uid(), uid());
    let t = refresh(&p, &family, &user_id, LATER);
    b.insert_refresh(&t).await.unwrap();
    let news: Vec<_> = (0..20)
        .map(|_| refresh(&p, &family, &user_id, LATER))
        .collect();
    let tasks: Vec<_> = news
        .iter()
        .map(|n| {
            let (b, hash, n) = (b.clone(), t.token_hash.clone(), n.clone());
            tokio::spawn(async move { b.rotate_refresh(&hash, &n, NOW).await })
        })
        .collect();
    let mut rotated = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if let RotateOutcome::Rotated(_) = task.await.unwrap().unwrap() {
            rotated.push(i);
        }
    }
    assert_eq!(rotated.len(), 1, "{rotated:?}");
    for (i, n) in news.iter().enumerate() {
        let stored = b.get_refresh(&n.pool_id, &n.token_hash).await.unwrap();
        assert_eq!(stored.is_some(), i == rotated[0], "new token {i}");
    }
}

pub async fn revoke_family_and_user(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let (fam, other_fam, alice, bob) = (uid(), uid(), uid(), uid());
    let a1 = refresh(&p, &fam, &alice, LATER);
    let a2 = refresh(&p, &fam, &alice, LATER);
    let mut a3 = refresh(&p, &fam, &alice, LATER);
    a3.state = RefreshState::Revoked;
    let a4 = refresh(&p, &other_fam, &alice, LATER);
    let b1 = refresh(&p, &uid(), &bob, LATER);
    for t in [&a1, &a2, &a3, &a4, &b1] {
        b.insert_refresh(t).await.unwrap();
    }
    let state = |t: &RefreshTokenRecord| {
        let (b, pool, hash) = (b.clone(), t.pool_id.clone(), t.token_hash.clone());
        async move { b.get_refresh(&pool, &hash).await.unwrap().unwrap().state }
    };

    let q = fresh_pool(b).await;
    assert_eq!(
        b.revoke_refresh_family(&q, &fam).await.unwrap(),
        0,
        "other pool"
    );
    assert_eq!(b.revoke_refresh_family(&p, &uid()).await.unwrap(), 0);
    assert_eq!(b.revoke_refresh_family(&p, &fam).await.unwrap(), 2);
    for t in [&a1, &a2, &a3] {
        assert_eq!(state(t).await, RefreshState::Revoked);
    }
    assert_eq!(state(&a4).await, RefreshState::Active);
    assert_eq!(b.revoke_refresh_family(&p, &fam).await.unwrap(), 0);

    assert_eq!(
        b.revoke_user_refresh(&q, &alice).await.unwrap(),
        0,
        "other pool"
    );
    assert_eq!(b.revoke_user_refresh(&p, &alice).await.unwrap(), 1);
    assert_eq!(state(&a4).await, RefreshState::Revoked);
    assert_eq!(state(&b1).await, RefreshState::Active);
    assert_eq!(b.revoke_user_refresh(&p, &alice).await.unwrap(), 0);
    assert_eq!(b.revoke_user_refresh(&p, &bob).await.unwrap(), 1);
    assert_eq!(state(&b1).await, RefreshState::Revoked);
    // A revoked token's record is otherwise unchanged.
    let mut expected = b1.clone();
    expected.state = RefreshState::Revoked;
    assert_eq!(
        b.get_refresh(&b1.pool_id, &b1.token_hash).await.unwrap(),
        Some(expected)
    );
}
