//! The conformance suite over a real SQLite file, plus what only a file-backed store
//! has: restarts, schema migrations, records that no longer decode.

use std::sync::Arc;
use std::time::Duration;

use poolgate::model::{MAX_LINKS_PER_USER, RefreshState, UserFilter};
use poolgate::store::sqlite::{SCHEMA_VERSION, SqliteStore};
use poolgate::store::{EphemeralKind, LinkOutcome, RotateOutcome, SharedBackend, StoreError};

use super::*;

fn db_path(dir: &tempfile::TempDir) -> String {
    // A nested path: opening creates the missing parent folders.
    dir.path()
        .join("data")
        .join("nested")
        .join("poolgate.db")
        .to_string_lossy()
        .into_owned()
}

/// A fresh SQLite file in its own folder, opened by its `POOLGATE_STORE` URL.
async fn fresh_sqlite() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let backend = poolgate::store::open(&format!("sqlite://{}", db_path(&dir)))
        .await
        .unwrap();
    assert_eq!(backend.kind(), "sqlite");
    Fresh {
        backend,
        _keep: Box::new(dir),
    }
}

contract_tests!(sqlite_contracts, super::fresh_sqlite);

#[tokio::test]
async fn bad_store_urls_are_refused() {
    assert!(poolgate::store::open("sqlite://").await.is_err());
    assert!(
        poolgate::store::open("postgres://localhost/db")
            .await
            .is_err()
    );
    let dir = tempfile::tempdir().unwrap();
    // A path under a regular file cannot be created.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let under = format!("sqlite://{}", file.join("db.sqlite").display());
    assert!(matches!(
        poolgate::store::open(&under).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let b: SharedBackend = Arc::new(SqliteStore::open(&path).await.unwrap());
    let p = fresh_pool(&b).await;
    let dom = format!("{}.example.test", uid());
    b.put_domain(&domain(&p, &dom)).await.unwrap();
    b.put_client(&client(&p, "c1")).await.unwrap();
    b.put_provider(&provider(&p, "Corp")).await.unwrap();
    b.put_resource_server(&resource_server(&p, "api"))
        .await
        .unwrap();
    let u = user(&p, "stays", Some("s@example.test"), 5);
    let l1 = create_linked(&b, &u, "Google").await;
    let l2 = link(&u, "Corp", &uid());
    assert_eq!(
        b.link_identity(&l2, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::Linked
    );
    let k1 = key(&p, "k1", 1);
    assert!(b.insert_initial_key(&k1).await.unwrap());
    let k2 = key(&p, "k2", 2);
    b.rotate_key(&k2, i64::MAX / 2, 10).await.unwrap();
    let family = uid();
    let t1 = refresh(&p, &family, &u.id, i64::MAX / 2);
    let t2 = refresh(&p, &family, &u.id, i64::MAX / 2);
    b.insert_refresh(&t1).await.unwrap();
    assert!(matches!(
        b.rotate_refresh(&t1.token_hash, &t2, 100).await,
        Ok(RotateOutcome::Rotated(_))
    ));
    b.put(
        &p,
        EphemeralKind::Flow,
        "f1",
        b"pending",
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    b.put(
        &p,
        EphemeralKind::Revoked,
        "fam",
        b"1",
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    b.put(
        &p,
        EphemeralKind::SamlReplay,
        "id-1",
        b"1",
        Duration::from_secs(600),
    )
    .await
    .unwrap();
    let keys_before = b.list_keys(&p).await.unwrap();
    drop(b);

    let b: SharedBackend = Arc::new(SqliteStore::open(&path).await.unwrap());
    assert_eq!(b.get_pool(&p).await.unwrap(), Some(pool(&p)));
    assert_eq!(b.get_domain(&dom).await.unwrap(), Some(domain(&p, &dom)));
    assert_eq!(b.list_clients(&p).await.unwrap(), vec![client(&p, "c1")]);
    assert_eq!(
        b.list_providers(&p).await.unwrap(),
        vec![provider(&p, "Corp")]
    );
    assert_eq!(
        b.list_resource_servers(&p).await.unwrap(),
        vec![resource_server(&p, "api")]
    );
    assert_eq!(
        b.get_user_by_username(&p, "stays").await.unwrap(),
        Some(u.clone())
    );
    let page = b
        .list_users(&p, &UserFilter::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![u.clone()]);
    assert_eq!(
        b.find_identity(&p, "Google", &l1.subject).await.unwrap(),
        Some(l1)
    );
    assert_eq!(
        b.find_identity(&p, "Corp", &l2.subject).await.unwrap(),
        Some(l2)
    );
    assert_eq!(b.list_keys(&p).await.unwrap(), keys_before);
    assert_eq!(keys_before.len(), 2);
    assert!(keys_before.iter().any(|k| k.kid == "k2" && k.active));
    assert!(keys_before.iter().any(|k| k.kid == "k1" && !k.active));
    assert_eq!(
        b.get_refresh(&t1.pool_id, &t1.token_hash)
            .await
            .unwrap()
            .map(|t| t.state),
        Some(RefreshState::Used)
    );
    assert_eq!(
        b.get_refresh(&t2.pool_id, &t2.token_hash).await.unwrap(),
        Some(t2)
    );
    // Short-lived state survives too, except sign-ins in progress: those are held in
    // the process's memory (a user mid-sign-in starts again after a restart).
    assert_eq!(
        b.take(&p, EphemeralKind::Revoked, "fam").await.unwrap(),
        Some(b"1".to_vec())
    );
    assert_eq!(
        b.get(&p, EphemeralKind::SamlReplay, "id-1").await.unwrap(),
        Some(b"1".to_vec())
    );
    assert_eq!(b.take(&p, EphemeralKind::Flow, "f1").await.unwrap(), None);
}

fn user_version(path: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

fn schema_objects(path: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn migrations_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let b: SharedBackend = Arc::new(SqliteStore::open(&path).await.unwrap());
    let p = fresh_pool(&b).await;
    drop(b);
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let objects = schema_objects(&path);
    assert!(objects > 0);

    // The scripts create tables without IF NOT EXISTS: re-running one would fail the
    // open. Two more opens succeed, keep the data and leave the schema as it was.
    for _ in 0..2 {
        let b: SharedBackend = Arc::new(SqliteStore::open(&path).await.unwrap());
        assert_eq!(b.get_pool(&p).await.unwrap(), Some(pool(&p)));
        drop(b);
        assert_eq!(user_version(&path), SCHEMA_VERSION);
        assert_eq!(schema_objects(&path), objects);
    }

    // A file from a newer build is refused rather than misread.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let res = SqliteStore::open(&path).await;
    assert!(matches!(res, Err(StoreError::Corrupt(_))), "{res:?}");
}

#[tokio::test]
async fn undecodable_record_is_corrupt_not_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let b: SharedBackend = Arc::new(SqliteStore::open(&path).await.unwrap());
    let p = fresh_pool(&b).await;
    b.put_client(&client(&p, "c1")).await.unwrap();
    // Another writer (or a bad migration) leaves a record this build cannot read.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE clients SET data = '{\"not\": \"a client\"}' WHERE pool_id = ?1",
        [&p],
    )
    .unwrap();
    drop(conn);
    assert!(matches!(
        b.get_client(&p, "c1").await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        b.list_clients(&p).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(
        b.get_pool(&p).await.unwrap().is_some(),
        "other records still read"
    );
}

#[tokio::test]
async fn a_code_exchange_that_fails_to_store_its_token_keeps_the_code() {
    // SQLite holds codes in memory and the refresh token in the file: when the token's
    // transaction rolls back, the code must not stay burnt (a retry of the exchange is
    // then an ordinary one, not a EphemeralKind::SamlReplay that revokes).
    let dir = tempfile::tempdir().unwrap();
    let b: SharedBackend = Arc::new(SqliteStore::open(&db_path(&dir)).await.unwrap());
    let p = fresh_pool(&b).await;
    let u = user(&p, "x", None, 1);
    create_linked(&b, &u, "Google").await;
    let taken = refresh(&p, &uid(), &u.id, i64::MAX / 2);
    b.insert_refresh(&taken).await.unwrap();
    let code = uid();
    b.put(
        &p,
        EphemeralKind::Code,
        &code,
        b"grant",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    // The same token hash again: the insert fails on its primary key.
    let clash = poolgate::model::RefreshTokenRecord {
        family_id: uid(),
        ..taken.clone()
    };
    let redeem = |r: poolgate::model::RefreshTokenRecord| {
        let (b, p, code) = (b.clone(), p.clone(), code.clone());
        async move {
            b.redeem_code(&poolgate::store::Redemption {
                pool: &p,
                code_kind: EphemeralKind::Code,
                code_key: &code,
                used_kind: EphemeralKind::CodeUsed,
                used_ttl: Duration::from_secs(60),
                revoked_kind: EphemeralKind::Revoked,
                refresh: &r,
            })
            .await
        }
    };
    assert!(matches!(
        redeem(clash).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        b.get(&p, EphemeralKind::Code, &code).await.unwrap(),
        Some(b"grant".to_vec())
    );
    assert_eq!(
        b.get(&p, EphemeralKind::CodeUsed, &code).await.unwrap(),
        None
    );
    // The retry succeeds, once.
    let fresh = refresh(&p, &uid(), &u.id, i64::MAX / 2);
    assert_eq!(
        redeem(fresh.clone()).await.unwrap(),
        poolgate::store::Redeemed::Redeemed(b"grant".to_vec())
    );
    assert_eq!(
        b.get_refresh(&fresh.pool_id, &fresh.token_hash)
            .await
            .unwrap(),
        Some(fresh)
    );
    assert_eq!(
        redeem(refresh(&p, &uid(), &u.id, i64::MAX / 2))
            .await
            .unwrap(),
        poolgate::store::Redeemed::NotFound
    );
}
