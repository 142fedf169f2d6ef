//! Conformance: short-lived state: put/get/take, namespaces, one-time take under
//! concurrency, replay caches and expiry.

use std::time::Duration;

use poolgate::model::RefreshTokenRecord;
use poolgate::store::{EphemeralKind, Redeemed, Redemption, SharedBackend};

use super::*;

const MINUTE: Duration = Duration::from_secs(60);

/// A code and its used-mark as sign-ins store them (the SQLite backend keeps these
/// kinds in memory).
pub const SIGN_IN_KINDS: (EphemeralKind, EphemeralKind) =
    (EphemeralKind::Code, EphemeralKind::CodeUsed);
/// Two kinds no sign-in uses (the SQLite backend keeps them in its file): every kind
/// has the same contract, whatever the flows keep there.
pub const FILE_KINDS: (EphemeralKind, EphemeralKind) =
    (EphemeralKind::SamlSession, EphemeralKind::SamlLogout);

pub async fn put_get_take(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let k = uid();
    assert_eq!(b.get(&p, EphemeralKind::Flow, &k).await.unwrap(), None);
    assert_eq!(b.take(&p, EphemeralKind::Flow, &k).await.unwrap(), None);

    b.put(&p, EphemeralKind::Flow, &k, b"v1", MINUTE)
        .await
        .unwrap();
    assert_eq!(
        b.get(&p, EphemeralKind::Flow, &k).await.unwrap(),
        Some(b"v1".to_vec())
    );
    assert_eq!(
        b.get(&p, EphemeralKind::Flow, &k).await.unwrap(),
        Some(b"v1".to_vec()),
        "get keeps it"
    );
    // Arbitrary bytes, overwritten by a later put.
    let binary: Vec<u8> = (0..=255).collect();
    b.put(&p, EphemeralKind::Flow, &k, &binary, MINUTE)
        .await
        .unwrap();
    assert_eq!(
        b.get(&p, EphemeralKind::Flow, &k).await.unwrap(),
        Some(binary.clone())
    );
    assert_eq!(
        b.take(&p, EphemeralKind::Flow, &k).await.unwrap(),
        Some(binary)
    );
    assert_eq!(b.take(&p, EphemeralKind::Flow, &k).await.unwrap(), None);
    assert_eq!(b.get(&p, EphemeralKind::Flow, &k).await.unwrap(), None);

    // An empty value is a value.
    b.put(&p, EphemeralKind::Code, &k, b"", MINUTE)
        .await
        .unwrap();
    assert_eq!(
        b.take(&p, EphemeralKind::Code, &k).await.unwrap(),
        Some(Vec::new())
    );
}

pub async fn namespaces(b: &SharedBackend) {
    let (p, q) = (fresh_pool(b).await, fresh_pool(b).await);
    let k = uid();
    b.put(&p, EphemeralKind::Flow, &k, b"p-flow", MINUTE)
        .await
        .unwrap();
    b.put(&p, EphemeralKind::Code, &k, b"p-code", MINUTE)
        .await
        .unwrap();
    b.put(&q, EphemeralKind::Flow, &k, b"q-flow", MINUTE)
        .await
        .unwrap();
    assert_eq!(
        b.take(&p, EphemeralKind::Flow, &k).await.unwrap(),
        Some(b"p-flow".to_vec())
    );
    assert_eq!(
        b.get(&p, EphemeralKind::Code, &k).await.unwrap(),
        Some(b"p-code".to_vec())
    );
    assert_eq!(
        b.get(&q, EphemeralKind::Flow, &k).await.unwrap(),
        Some(b"q-flow".to_vec())
    );
    assert_eq!(b.get(&q, EphemeralKind::Code, &k).await.unwrap(), None);
}

pub async fn concurrent_take(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let k = uid();
    b.put(&p, EphemeralKind::Code, &k, b"once", MINUTE)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (b, p, k) = (b.clone(), p.clone(), k.clone());
            tokio::spawn(async move { b.take(&p, EphemeralKind::Code, &k).await })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        if let Some(v) = t.await.unwrap().unwrap() {
            got.push(v);
        }
    }
    assert_eq!(got, vec![b"once".to_vec()]);
}

pub async fn put_if_absent(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let k = uid();
    assert!(
        b.put_if_absent(&p, EphemeralKind::SamlReplay, &k, b"first", MINUTE)
            .await
            .unwrap()
    );
    assert!(
        !b.put_if_absent(&p, EphemeralKind::SamlReplay, &k, b"second", MINUTE)
            .await
            .unwrap()
    );
    assert_eq!(
        b.get(&p, EphemeralKind::SamlReplay, &k).await.unwrap(),
        Some(b"first".to_vec())
    );
    // Another kind or pool is another key.
    assert!(
        b.put_if_absent(&p, EphemeralKind::SamlSession, &k, b"x", MINUTE)
            .await
            .unwrap()
    );
    let q = fresh_pool(b).await;
    assert!(
        b.put_if_absent(&q, EphemeralKind::SamlReplay, &k, b"x", MINUTE)
            .await
            .unwrap()
    );
    // Once taken, the key is absent again.
    assert_eq!(
        b.take(&p, EphemeralKind::SamlReplay, &k).await.unwrap(),
        Some(b"first".to_vec())
    );
    assert!(
        b.put_if_absent(&p, EphemeralKind::SamlReplay, &k, b"third", MINUTE)
            .await
            .unwrap()
    );

    let race = uid();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (b, p, k) = (b.clone(), p.clone(), race.clone());
            tokio::spawn(async move {
                b.put_if_absent(&p, EphemeralKind::SamlReplay, &k, &[i], MINUTE)
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(winners, 1);
}

/// Used as a code's used-mark: the value is consumed and the marker stored together,
/// or nothing changes (also when the marker exists); of concurrent callers one wins.
pub async fn take_and_put_marks_once(
    b: &SharedBackend,
    (code, used): (EphemeralKind, EphemeralKind),
) {
    let p = fresh_pool(b).await;
    let k = uid();
    // Absent value: nothing taken, no marker written.
    assert_eq!(
        b.take_and_put(&p, code, &k, used, &k, b"fam-0", MINUTE)
            .await
            .unwrap(),
        None
    );
    assert_eq!(b.get(&p, used, &k).await.unwrap(), None);

    b.put(&p, code, &k, b"grant", MINUTE).await.unwrap();
    assert_eq!(
        b.take_and_put(&p, code, &k, used, &k, b"fam-1", MINUTE)
            .await
            .unwrap(),
        Some(b"grant".to_vec())
    );
    assert_eq!(b.get(&p, code, &k).await.unwrap(), None);
    assert_eq!(b.get(&p, used, &k).await.unwrap(), Some(b"fam-1".to_vec()));
    // A second attempt finds nothing and leaves the first marker alone.
    assert_eq!(
        b.take_and_put(&p, code, &k, used, &k, b"fam-2", MINUTE)
            .await
            .unwrap(),
        None
    );
    assert_eq!(b.get(&p, used, &k).await.unwrap(), Some(b"fam-1".to_vec()));

    // A marker already present: the value stays where it is (all or nothing).
    let k2 = uid();
    b.put(&p, code, &k2, b"grant", MINUTE).await.unwrap();
    b.put(&p, used, &k2, b"earlier", MINUTE).await.unwrap();
    assert_eq!(
        b.take_and_put(&p, code, &k2, used, &k2, b"fam-3", MINUTE)
            .await
            .unwrap(),
        None
    );
    assert_eq!(b.get(&p, code, &k2).await.unwrap(), Some(b"grant".to_vec()));
    assert_eq!(
        b.get(&p, used, &k2).await.unwrap(),
        Some(b"earlier".to_vec())
    );

    // Another pool's value is not this pool's.
    let q = fresh_pool(b).await;
    assert_eq!(
        b.take_and_put(&q, code, &k2, used, &k2, b"fam-4", MINUTE)
            .await
            .unwrap(),
        None
    );

    // Concurrent exchanges of one code: one winner, whose marker is the one stored.
    let race = uid();
    b.put(&p, code, &race, b"grant", MINUTE).await.unwrap();
    let tasks: Vec<_> = (0..20u8)
        .map(|i| {
            let (b, p, k) = (b.clone(), p.clone(), race.clone());
            tokio::spawn(async move {
                b.take_and_put(&p, code, &k, used, &k, &[i], MINUTE)
                    .await
                    .map(|v| v.map(|_| i))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(i) = t.await.unwrap().unwrap() {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(
        b.get(&p, used, &race).await.unwrap(),
        Some(vec![winners[0]])
    );
}

/// A sign-in replaced by its code: taken and stored together, or nothing at all; of
/// concurrent callers exactly one stores.
pub async fn take_and_put(b: &SharedBackend, (from, to): (EphemeralKind, EphemeralKind)) {
    let p = fresh_pool(b).await;
    let (flow, code) = (uid(), uid());
    // Nothing to take: nothing stored.
    assert_eq!(
        b.take_and_put(&p, from, &flow, to, &code, b"grant", MINUTE)
            .await
            .unwrap(),
        None
    );
    assert_eq!(b.get(&p, to, &code).await.unwrap(), None);

    b.put(&p, from, &flow, b"pending", MINUTE).await.unwrap();
    assert_eq!(
        b.take_and_put(&p, from, &flow, to, &code, b"grant", MINUTE)
            .await
            .unwrap(),
        Some(b"pending".to_vec())
    );
    assert_eq!(b.get(&p, from, &flow).await.unwrap(), None);
    assert_eq!(b.get(&p, to, &code).await.unwrap(), Some(b"grant".to_vec()));
    // Again: the sign-in is gone, a second code is not stored.
    let code2 = uid();
    assert_eq!(
        b.take_and_put(&p, from, &flow, to, &code2, b"grant", MINUTE)
            .await
            .unwrap(),
        None
    );
    assert_eq!(b.get(&p, to, &code2).await.unwrap(), None);

    // Another pool's sign-in is not this pool's.
    let q = fresh_pool(b).await;
    let other = uid();
    b.put(&q, from, &other, b"pending", MINUTE).await.unwrap();
    assert_eq!(
        b.take_and_put(&p, from, &other, to, &uid(), b"x", MINUTE)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        b.get(&q, from, &other).await.unwrap(),
        Some(b"pending".to_vec())
    );

    // Concurrent callbacks of one sign-in: one code.
    let race = uid();
    b.put(&p, from, &race, b"pending", MINUTE).await.unwrap();
    let codes: Vec<String> = (0..12).map(|_| uid()).collect();
    let tasks: Vec<_> = codes
        .iter()
        .map(|c| {
            let (b, p, race, c) = (b.clone(), p.clone(), race.clone(), c.clone());
            tokio::spawn(async move {
                b.take_and_put(&p, from, &race, to, &c, b"grant", MINUTE)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
    let mut stored = 0;
    for c in &codes {
        stored += usize::from(b.get(&p, to, c).await.unwrap().is_some());
    }
    assert_eq!(stored, 1);
}

/// A code exchange: the grant consumed, the code marked with the family, the refresh
/// token stored; a second exchange finds nothing; of concurrent ones, exactly one wins
/// and only its refresh token exists.
pub async fn redeem_code(b: &SharedBackend, kinds: (EphemeralKind, EphemeralKind)) {
    let (code_kind, used) = kinds;
    let p = fresh_pool(b).await;
    let u = user(&p, &format!("r-{}", uid()), None, 1);
    create_linked(b, &u, "Google").await;
    let code = uid();
    let family = uid();
    let r1 = refresh(&p, &family, &u.id, i64::MAX / 2);

    // No such code: nothing stored.
    assert_eq!(redeem(b, kinds, &p, &code, &r1).await, Redeemed::NotFound);
    assert_eq!(
        b.get_refresh(&r1.pool_id, &r1.token_hash).await.unwrap(),
        None
    );
    assert_eq!(b.get(&p, used, &code).await.unwrap(), None);

    b.put(&p, code_kind, &code, b"grant", MINUTE).await.unwrap();
    assert_eq!(
        redeem(b, kinds, &p, &code, &r1).await,
        Redeemed::Redeemed(b"grant".to_vec())
    );
    assert_eq!(b.get(&p, code_kind, &code).await.unwrap(), None);
    assert_eq!(
        b.get(&p, used, &code).await.unwrap(),
        Some(family.as_bytes().to_vec())
    );
    assert_eq!(
        b.get_refresh(&r1.pool_id, &r1.token_hash).await.unwrap(),
        Some(r1.clone())
    );

    // Exchanged again: nothing changes, the first mark stays.
    let r2 = refresh(&p, &uid(), &u.id, i64::MAX / 2);
    assert_eq!(redeem(b, kinds, &p, &code, &r2).await, Redeemed::NotFound);
    assert_eq!(
        b.get_refresh(&r2.pool_id, &r2.token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        b.get(&p, used, &code).await.unwrap(),
        Some(family.as_bytes().to_vec())
    );

    // Concurrent exchanges of one code.
    let race = uid();
    b.put(&p, code_kind, &race, b"grant", MINUTE).await.unwrap();
    let tokens: Vec<RefreshTokenRecord> = (0..12)
        .map(|_| refresh(&p, &uid(), &u.id, i64::MAX / 2))
        .collect();
    let tasks: Vec<_> = tokens
        .iter()
        .map(|r| {
            let (b, p, race, r) = (b.clone(), p.clone(), race.clone(), r.clone());
            tokio::spawn(async move { redeem(&b, kinds, &p, &race, &r).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Redeemed::Redeemed(_)) {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    let mut stored = Vec::new();
    for r in &tokens {
        if let Some(t) = b.get_refresh(&r.pool_id, &r.token_hash).await.unwrap() {
            stored.push(t);
        }
    }
    assert_eq!(stored.len(), 1, "only the winner's refresh token exists");
    assert_eq!(
        b.get(&p, used, &race).await.unwrap(),
        Some(stored[0].family_id.as_bytes().to_vec())
    );
}

async fn redeem(
    b: &SharedBackend,
    (code_kind, used_kind): (EphemeralKind, EphemeralKind),
    pool: &str,
    code: &str,
    r: &RefreshTokenRecord,
) -> Redeemed {
    b.redeem_code(&Redemption {
        pool,
        code_kind,
        code_key: code,
        used_kind,
        used_ttl: MINUTE,
        revoked_kind: EphemeralKind::Revoked,
        refresh: r,
    })
    .await
    .unwrap()
}

/// A replay that finds the code's used-mark revokes the family while the winner is still
/// storing its refresh token: with the sign-in kinds (a code and its mark are swapped
/// first, the token stored after) the winner must see the revocation and report it,
/// and its refresh token must end up revoked.
pub async fn revocation_during_redemption(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let u = user(&p, &format!("rv-{}", uid()), None, 1);
    create_linked(b, &u, "Google").await;
    let (code, family) = (uid(), uid());
    let r = refresh(&p, &family, &u.id, i64::MAX / 2);
    b.put(&p, EphemeralKind::Code, &code, b"grant", MINUTE)
        .await
        .unwrap();
    // What the replay does, here before the winner stores its token.
    b.put(&p, EphemeralKind::Revoked, &family, b"1", MINUTE)
        .await
        .unwrap();
    assert_eq!(
        redeem(
            b,
            (EphemeralKind::Code, EphemeralKind::CodeUsed),
            &p,
            &code,
            &r
        )
        .await,
        Redeemed::RevokedMeanwhile
    );
    assert_eq!(
        b.get_refresh(&r.pool_id, &r.token_hash)
            .await
            .unwrap()
            .map(|t| t.state),
        Some(poolgate::model::RefreshState::Revoked)
    );
    assert_eq!(b.get(&p, EphemeralKind::Code, &code).await.unwrap(), None);
}

pub async fn ttl_expiry(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let (short, replay, long) = (uid(), uid(), uid());
    let second = Duration::from_secs(1);
    b.put(&p, EphemeralKind::Flow, &short, b"short", second)
        .await
        .unwrap();
    assert!(
        b.put_if_absent(&p, EphemeralKind::SamlReplay, &replay, b"seen", second)
            .await
            .unwrap()
    );
    b.put(&p, EphemeralKind::Flow, &long, b"long", MINUTE)
        .await
        .unwrap();
    assert_eq!(
        b.get(&p, EphemeralKind::Flow, &short).await.unwrap(),
        Some(b"short".to_vec())
    );

    // The only sleep of the suite: TTLs are enforced by the backend's own clock.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    assert_eq!(b.get(&p, EphemeralKind::Flow, &short).await.unwrap(), None);
    assert_eq!(b.take(&p, EphemeralKind::Flow, &short).await.unwrap(), None);
    assert!(
        b.put_if_absent(&p, EphemeralKind::SamlReplay, &replay, b"again", MINUTE)
            .await
            .unwrap()
    );
    assert_eq!(
        b.get(&p, EphemeralKind::SamlReplay, &replay).await.unwrap(),
        Some(b"again".to_vec())
    );
    assert_eq!(
        b.take(&p, EphemeralKind::Flow, &long).await.unwrap(),
        Some(b"long".to_vec())
    );
    // An expired sign-in's key is free again (Redis counts sign-ins in progress apart).
    assert!(
        b.put_if_absent(&p, EphemeralKind::Flow, &short, b"x", MINUTE)
            .await
            .unwrap()
    );
}
