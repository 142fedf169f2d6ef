//! The Redis store on a real Cluster (three masters, three replicas) and on a real
//! Sentinel set (master, replica, three sentinels): every store contract passes on
//! each (one Cluster and one Sentinel set shared by the contracts of a run), and two
//! gateway instances keep signing users in while a master fails over (a topology of
//! its own each). Nothing acknowledged is lost (every refresh token handed out still
//! works, once), requests caught by the failover fail cleanly (503, never another
//! 5xx), and the gateways recover by themselves.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use poolgate::store::redis::RedisStore;
use reqwest::StatusCode;
use tokio::sync::Mutex;

use crate::harness::{Browser, Landing, json_str};
use crate::redis_cluster_http::{Pair, exchange, pair_on, refresh, sign_in, usernames};
use crate::redis_topology::{RedisCluster, RedisSentinels, shared_cluster, shared_sentinels};
use crate::store_conformance::{Fresh, contract_tests};

/// One complete sign-in (authorize on one instance, callback and code exchange on the
/// other): the refresh token it was given, or `None` when a step answered 503. Any
/// other failure fails the test.
async fn attempt(p: &Pair, i: usize) -> Option<String> {
    let (start, finish) = if i.is_multiple_of(2) {
        (&p.a, &p.b)
    } else {
        (&p.b, &p.a)
    };
    let (landing, verifier) = sign_in(p, &Browser::new(), start, finish).await;
    let code = match landing {
        Landing::Page(StatusCode::SERVICE_UNAVAILABLE, _) => return None,
        Landing::Page(s, body) => panic!("sign-in stopped with {s}: {body}"),
        Landing::App(q) => q
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code: {q:?}")),
    };
    let (s, t) = exchange(finish, &p.client, &code, &verifier).await;
    match s {
        StatusCode::OK => Some(json_str(&t, "refresh_token")),
        StatusCode::SERVICE_UNAVAILABLE => None,
        other => panic!("code exchange answered {other}: {t}"),
    }
}

/// Runs sign-ins from four workers, calls `failover` (blocking) once some have
/// succeeded, and keeps going until ten more succeed after it. Then checks that every
/// acknowledged sign-in left a working refresh token and one user.
async fn sign_ins_across(url: &str, failover: impl FnOnce() + Send + 'static) {
    let p = Arc::new(pair_on(url).await);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..4 {
        let (p, acked, ok, failed, stop) = (
            p.clone(),
            acked.clone(),
            ok.clone(),
            failed.clone(),
            stop.clone(),
        );
        workers.spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Acquire) {
                match attempt(&p, i).await {
                    Some(rt) => {
                        acked.lock().await.push(rt);
                        ok.fetch_add(1, Ordering::AcqRel);
                    }
                    None => {
                        failed.fetch_add(1, Ordering::AcqRel);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                i += 1;
            }
        });
    }
    let wait_for = |n: usize, what: &'static str| {
        let ok = ok.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while ok.load(Ordering::Acquire) < n {
                assert!(Instant::now() < deadline, "{what}: only {n} sign-ins");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(8, "before the failover").await;
    let before = ok.load(Ordering::Acquire);
    let started = Instant::now();
    tokio::task::spawn_blocking(failover).await.unwrap();
    let failover_took = started.elapsed();
    let at_failover = ok.load(Ordering::Acquire);
    assert!(at_failover >= before);
    // Recovery by itself: sign-ins succeed again without any restart.
    wait_for(at_failover + 1, "after the failover").await;
    let recovered = started.elapsed();
    wait_for(at_failover + 10, "after the failover").await;
    stop.store(true, Ordering::Release);
    while let Some(r) = workers.join_next().await {
        r.unwrap();
    }

    let tokens = acked.lock().await.clone();
    assert_eq!(tokens.len(), ok.load(Ordering::Acquire));
    eprintln!(
        "{} sign-ins acknowledged ({before} before the failover), {} answered 503; \
         failover done in {failover_took:?}, first sign-in after it {recovered:?}",
        tokens.len(),
        failed.load(Ordering::Acquire)
    );
    // Every acknowledged sign-in's refresh token survived the failover: it works once
    // (rotation is on), on either instance.
    for (i, rt) in tokens.iter().enumerate() {
        let gw = if i.is_multiple_of(2) { &p.a } else { &p.b };
        let (s, t) = refresh(gw, &p.client, rt).await;
        assert_eq!(
            s,
            StatusCode::OK,
            "refresh token {i} of {}: {t}",
            tokens.len()
        );
        let (s, _) = refresh(gw, &p.client, rt).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "a used token is refused");
    }
    // One upstream identity, one user, however many sign-ins raced the failover.
    assert_eq!(usernames(&p.a).await, vec!["Corp_user-1".to_owned()]);
}

/// A store on the run's shared Cluster (the contracts work in fresh pools).
async fn fresh_cluster() -> Fresh {
    let url = tokio::task::spawn_blocking(|| shared_cluster().url())
        .await
        .unwrap();
    let store = RedisStore::open(&url).await.expect("open cluster store");
    Fresh {
        backend: Arc::new(store),
        _keep: Box::new(()),
    }
}

/// A store on the run's shared Sentinel set.
async fn fresh_sentinel() -> Fresh {
    let url = tokio::task::spawn_blocking(|| shared_sentinels().url())
        .await
        .unwrap();
    let store = RedisStore::open(&url).await.expect("open sentinel store");
    Fresh {
        backend: Arc::new(store),
        _keep: Box::new(()),
    }
}

contract_tests!(cluster_contracts, super::fresh_cluster);
contract_tests!(sentinel_contracts, super::fresh_sentinel);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cluster_failover_during_sign_ins() {
    let cluster = Arc::new(std::sync::Mutex::new(RedisCluster::start()));
    let url = cluster.lock().unwrap().url();

    // The master holding the default pool's keys fails over, then fails back: the
    // client follows the slot each time.
    let c = cluster.clone();
    sign_ins_across(&url, move || {
        c.lock().unwrap().failover("{default}");
    })
    .await;
    let c = cluster.clone();
    sign_ins_across(&url, move || {
        c.lock().unwrap().failover("{default}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_sentinel_failover_during_sign_ins() {
    let set = Arc::new(RedisSentinels::start());
    let url = set.url();

    let s = set.clone();
    let first = set.master_port();
    sign_ins_across(&url, move || s.failover()).await;
    assert_ne!(set.master_port(), first, "the master moved");
}

#[tokio::test]
async fn redis_cluster_and_sentinel_urls_fail_clearly() {
    // Nothing listens: unavailable, quickly, and the error does not quote the URL.
    for url in [
        "redis+cluster://:s3cret@127.0.0.1:1,127.0.0.1:2",
        "redis+sentinel://:s3cret@127.0.0.1:1/poolgate",
    ] {
        let started = Instant::now();
        let e = RedisStore::open(url).await.expect_err("nothing listens");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!format!("{e} {e:?}").contains("s3cret"), "{e:?}");
    }
    for url in [
        "redis+cluster://127.0.0.1:1/2",
        "redis+sentinel://127.0.0.1:1",
        "redis+sentinel://127.0.0.1:1/m/x",
        "redis+cluster://,",
    ] {
        assert!(
            matches!(
                RedisStore::open(url).await,
                Err(poolgate::store::StoreError::Conflict(_))
            ),
            "{url}"
        );
    }
}
