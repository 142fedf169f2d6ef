//! The Redis backend against a real `redis-server`, beyond the conformance suite
//! (`redis_conformance`): exact listings of a whole store, first sign-ins racing
//! across two instances.

use poolgate::model::{AppClient, Branding, DomainRecord, Pool, PoolSettings};
use poolgate::store::prelude::*;
use poolgate::store::{CreateUserOutcome, StoreError};

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
