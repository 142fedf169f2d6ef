//! The Redis backend against a real `redis-server`: round trips and atomic outcomes
//! under concurrency.

use std::time::Duration;

use poolgate::model::{AppClient, Branding, DomainRecord, Pool, PoolSettings};
use poolgate::store::prelude::*;
use poolgate::store::{CreateUserOutcome, EphemeralKind, StoreError};

use crate::redis_fixtures::{link, store, user, with_pool};

fn client(pool: &str, id: &str) -> AppClient {
    AppClient {
        pool_id: pool.into(),
        client_id: id.into(),
        name: format!("client {id}"),
        secret_hash: None,
        callback_urls: vec!["https://app.example/cb".into()],
        logout_urls: vec![],
        allowed_oauth_flows: vec![poolgate::model::OAuthFlow::Code],
        allowed_scopes: vec!["openid".into()],
        supported_identity_providers: vec!["Google".into()],
        id_token_validity_s: 3600,
        access_token_validity_s: 3600,
        refresh_token_validity_s: 86_400,
        branding: Branding::default(),
        refresh_token_rotation: Default::default(),
        explicit_auth_flows: vec![],
        created_at: 5,
        secrets: vec![],
    }
}

fn domain(pool: &str, name: &str) -> DomainRecord {
    DomainRecord {
        domain: name.into(),
        pool_id: pool.into(),
        certificate_pem: None,
        private_key_pem: None,
        created_at: 7,
    }
}

#[tokio::test]
async fn redis_pools_domains_and_clients_round_trip() {
    let (_server, s) = store().await;
    with_pool(&s, "p1").await;
    assert!(matches!(
        s.create_pool(&Pool {
            id: "p1".into(),
            settings: PoolSettings::default(),
            created_at: 2,
            hook_secret: None,
        })
        .await,
        Err(StoreError::AlreadyExists(_))
    ));
    with_pool(&s, "p2").await;
    let ids: Vec<String> = s
        .list_pools()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["p1", "p2"]);
    let mut changed = s.get_pool("p1").await.unwrap().unwrap();
    changed.settings.email_case_sensitive = true;
    assert!(s.update_pool(&changed).await.unwrap());
    assert_eq!(s.get_pool("p1").await.unwrap(), Some(changed));
    let ghost = Pool {
        id: "ghost".into(),
        settings: PoolSettings::default(),
        created_at: 1,
        hook_secret: None,
    };
    assert!(!s.update_pool(&ghost).await.unwrap());

    s.put_domain(&domain("p1", "login.acme.test"))
        .await
        .unwrap();
    s.put_domain(&domain("p1", "login.acme.test"))
        .await
        .unwrap(); // idempotent
    assert!(matches!(
        s.put_domain(&domain("p2", "login.acme.test")).await,
        Err(StoreError::Conflict(_))
    ));
    s.put_domain(&domain("p2", "b.test")).await.unwrap();
    assert_eq!(
        s.get_domain("login.acme.test")
            .await
            .unwrap()
            .unwrap()
            .pool_id,
        "p1"
    );
    assert_eq!(s.list_domains(Some("p2")).await.unwrap().len(), 1);
    assert_eq!(s.list_domains(None).await.unwrap().len(), 2);
    assert!(!s.delete_domain("p2", "login.acme.test").await.unwrap());
    assert!(s.delete_domain("p1", "login.acme.test").await.unwrap());
    assert_eq!(s.get_domain("login.acme.test").await.unwrap(), None);

    s.put_client(&client("p1", "b")).await.unwrap();
    s.put_client(&client("p1", "a")).await.unwrap();
    assert_eq!(
        s.get_client("p1", "a").await.unwrap(),
        Some(client("p1", "a"))
    );
    assert_eq!(s.get_client("p2", "a").await.unwrap(), None);
    let listed: Vec<String> = s
        .list_clients("p1")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(listed, ["a", "b"]);
    assert!(s.delete_client("p1", "a").await.unwrap());
    assert!(!s.delete_client("p1", "a").await.unwrap());

    // Deleting a pool removes its records and domains, and leaves the other pool alone.
    s.put_domain(&domain("p1", "again.test")).await.unwrap();
    assert!(s.delete_pool("p1").await.unwrap());
    assert!(!s.delete_pool("p1").await.unwrap());
    assert_eq!(s.get_pool("p1").await.unwrap(), None);
    assert_eq!(s.list_clients("p1").await.unwrap(), vec![]);
    assert_eq!(s.get_domain("again.test").await.unwrap(), None);
    assert_eq!(s.list_domains(None).await.unwrap().len(), 1);
    // The pool id can be used again and starts empty.
    with_pool(&s, "p1").await;
    assert_eq!(s.list_clients("p1").await.unwrap(), vec![]);
}

#[tokio::test]
async fn redis_ephemeral_state() {
    let (_server, s) = store().await;
    let ttl = Duration::from_secs(60);
    s.put("p", EphemeralKind::Flow, "k1", b"v1", ttl)
        .await
        .unwrap();
    assert_eq!(
        s.get("p", EphemeralKind::Flow, "k1").await.unwrap(),
        Some(b"v1".to_vec())
    );
    assert_eq!(
        s.get("p", EphemeralKind::Code, "k1").await.unwrap(),
        None,
        "kinds are separate"
    );
    assert_eq!(
        s.get("q", EphemeralKind::Flow, "k1").await.unwrap(),
        None,
        "pools are separate"
    );
    assert_eq!(
        s.take("p", EphemeralKind::Flow, "k1").await.unwrap(),
        Some(b"v1".to_vec())
    );
    assert_eq!(s.take("p", EphemeralKind::Flow, "k1").await.unwrap(), None);
    assert!(
        s.put_if_absent("p", EphemeralKind::SamlReplay, "n", b"1", ttl)
            .await
            .unwrap()
    );
    assert!(
        !s.put_if_absent("p", EphemeralKind::SamlReplay, "n", b"2", ttl)
            .await
            .unwrap()
    );
    assert_eq!(
        s.get("p", EphemeralKind::SamlReplay, "n").await.unwrap(),
        Some(b"1".to_vec())
    );
    s.put(
        "p",
        EphemeralKind::Flow,
        "short",
        &[0, 255, 1],
        Duration::from_millis(30),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        s.get("p", EphemeralKind::Flow, "short").await.unwrap(),
        None,
        "expired entries are gone"
    );
    assert!(
        s.put_if_absent("p", EphemeralKind::Flow, "short", b"x", ttl)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn redis_fifty_concurrent_takes_yield_one_value() {
    let (_server, s) = store().await;
    s.put(
        "p",
        EphemeralKind::Code,
        "c",
        b"once",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.take("p", EphemeralKind::Code, "c").await.unwrap() })
        })
        .collect();
    let mut got = 0;
    for t in tasks {
        if let Some(v) = t.await.unwrap() {
            assert_eq!(v, b"once");
            got += 1;
        }
    }
    assert_eq!(got, 1);
}

#[tokio::test]
async fn redis_twenty_concurrent_first_sign_ins_create_one_user() {
    let (_server, s) = store().await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let id = format!("u{i}");
                let u = user("p", &id, &format!("name{i}"), Some("a@x.test"), 10 + i);
                let outcome = s
                    .create_user_with_identity(&u, &link("p", &id, "Google", "g1"))
                    .await;
                (id, outcome.unwrap())
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut taken = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (id, CreateUserOutcome::Created) => created.push(id),
            (_, CreateUserOutcome::IdentityTaken(owner)) => taken.push(owner),
        }
    }
    assert_eq!(created.len(), 1);
    assert_eq!(taken.len(), 19);
    assert!(taken.iter().all(|owner| *owner == created[0]));
    assert_eq!(
        s.find_users_by_email("p", "a@x.test").await.unwrap().len(),
        1
    );
    let page = s
        .list_users("p", &Default::default(), 60, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "losers wrote nothing");
    assert_eq!(
        s.find_identity("p", "Google", "g1")
            .await
            .unwrap()
            .unwrap()
            .user_id,
        created[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_fifty_first_sign_ins_across_two_instances_create_one_user() {
    let (server, a) = store().await;
    // A second instance: its own connection to the same Redis.
    let b = std::sync::Arc::new(
        poolgate::store::redis::RedisStore::open(&server.url())
            .await
            .unwrap(),
    );
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let id = format!("u{i}");
                let u = user("p", &id, &format!("Google_sub{i}"), None, 10);
                let l = link("p", &id, "Google", "sub");
                (id, s.create_user_with_identity(&u, &l).await.unwrap())
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut owners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (id, CreateUserOutcome::Created) => created.push(id),
            (_, CreateUserOutcome::IdentityTaken(owner)) => owners.push(owner),
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(owners.iter().all(|o| *o == created[0]));
    let all = b
        .list_users("p", &Default::default(), 60, None)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
    assert_eq!(b.list_identities("p", &created[0]).await.unwrap().len(), 1);
}
