//! Conformance: pools, domains, app clients, providers, resource servers, and the
//! cascade of deleting a pool.

use std::time::Duration;

use poolgate::model::SigningAlg;
use poolgate::store::{EphemeralKind, SharedBackend, StoreError};

use super::*;

/// The backend answers.
pub async fn ping(b: &SharedBackend) {
    b.ping().await.expect("ping");
}

pub async fn pools(b: &SharedBackend) {
    let missing = format!("conf-missing-{}", uid());
    assert_eq!(b.get_pool(&missing).await.unwrap(), None);
    assert!(!b.update_pool(&pool(&missing)).await.unwrap());
    assert!(!b.delete_pool(&missing).await.unwrap());

    let id = fresh_pool(b).await;
    assert_eq!(b.get_pool(&id).await.unwrap(), Some(pool(&id)));
    let again = b.create_pool(&pool(&id)).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists(_))),
        "{again:?}"
    );
    assert!(b.list_pools().await.unwrap().contains(&pool(&id)));

    let mut changed = pool(&id);
    changed.settings.signing_alg = SigningAlg::EdDSA;
    changed.settings.email_case_sensitive = true;
    assert!(b.update_pool(&changed).await.unwrap());
    assert_eq!(b.get_pool(&id).await.unwrap(), Some(changed.clone()));
    assert!(b.list_pools().await.unwrap().contains(&changed));

    assert!(b.delete_pool(&id).await.unwrap());
    assert_eq!(b.get_pool(&id).await.unwrap(), None);
    assert!(!b.list_pools().await.unwrap().iter().any(|p| p.id == id));
    assert!(!b.delete_pool(&id).await.unwrap());
}

pub async fn domains(b: &SharedBackend) {
    let (p, q) = (fresh_pool(b).await, fresh_pool(b).await);
    let (d1, d2) = (
        format!("{}.example.test", uid()),
        format!("{}.localhost:8443", uid()),
    );
    assert_eq!(b.get_domain(&d1).await.unwrap(), None);
    assert!(b.list_domains(Some(&p)).await.unwrap().is_empty());
    assert!(!b.delete_domain(&p, &d1).await.unwrap());

    b.put_domain(&domain(&p, &d1)).await.unwrap();
    let mut plain = domain(&p, &d2);
    plain.certificate_pem = None;
    plain.private_key_pem = None;
    b.put_domain(&plain).await.unwrap();
    assert_eq!(b.get_domain(&d1).await.unwrap(), Some(domain(&p, &d1)));
    assert_eq!(b.get_domain(&d2).await.unwrap(), Some(plain.clone()));

    // The same pool may replace its domain (a new certificate).
    let mut renewed = domain(&p, &d1);
    renewed.certificate_pem =
        Some("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n".into());
    b.put_domain(&renewed).await.unwrap();
    assert_eq!(b.get_domain(&d1).await.unwrap(), Some(renewed.clone()));

    // Another pool may not take it, and the failed attempt changes nothing.
    let stolen = b.put_domain(&domain(&q, &d1)).await;
    assert!(matches!(stolen, Err(StoreError::Conflict(_))), "{stolen:?}");
    assert_eq!(b.get_domain(&d1).await.unwrap(), Some(renewed.clone()));
    assert!(b.list_domains(Some(&q)).await.unwrap().is_empty());

    let mut mine = b.list_domains(Some(&p)).await.unwrap();
    mine.sort_by(|a, b| a.domain.cmp(&b.domain));
    let mut expected = vec![renewed.clone(), plain.clone()];
    expected.sort_by(|a, b| a.domain.cmp(&b.domain));
    assert_eq!(mine, expected);
    let all = b.list_domains(None).await.unwrap();
    assert!(all.contains(&renewed) && all.contains(&plain));

    // Deleting needs the owning pool.
    assert!(!b.delete_domain(&q, &d1).await.unwrap());
    assert!(b.get_domain(&d1).await.unwrap().is_some());
    assert!(b.delete_domain(&p, &d1).await.unwrap());
    assert_eq!(b.get_domain(&d1).await.unwrap(), None);
    assert!(!b.delete_domain(&p, &d1).await.unwrap());
    assert_eq!(b.list_domains(Some(&p)).await.unwrap(), vec![plain]);

    // A freed domain can move to another pool.
    b.put_domain(&domain(&q, &d1)).await.unwrap();
    assert_eq!(b.get_domain(&d1).await.unwrap().map(|d| d.pool_id), Some(q));
}

pub async fn clients(b: &SharedBackend) {
    let (p, q) = (fresh_pool(b).await, fresh_pool(b).await);
    assert_eq!(b.get_client(&p, "c1").await.unwrap(), None);
    assert!(b.list_clients(&p).await.unwrap().is_empty());
    assert!(!b.delete_client(&p, "c1").await.unwrap());

    let (c1, c2) = (client(&p, "c1"), client(&p, "c2"));
    b.put_client(&c1).await.unwrap();
    b.put_client(&c2).await.unwrap();
    b.put_client(&client(&q, "c1")).await.unwrap();
    assert_eq!(b.get_client(&p, "c1").await.unwrap(), Some(c1.clone()));

    let mut changed = c1.clone();
    changed.secret_hash = None;
    changed
        .callback_urls
        .push("http://localhost:3000/cb".into());
    changed.branding = Default::default();
    b.put_client(&changed).await.unwrap();
    assert_eq!(b.get_client(&p, "c1").await.unwrap(), Some(changed.clone()));
    let mut listed = b.list_clients(&p).await.unwrap();
    listed.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    assert_eq!(listed, vec![changed, c2.clone()]);

    assert!(b.delete_client(&p, "c1").await.unwrap());
    assert_eq!(b.get_client(&p, "c1").await.unwrap(), None);
    assert!(!b.delete_client(&p, "c1").await.unwrap());
    assert_eq!(b.list_clients(&p).await.unwrap(), vec![c2]);
    // Pools are separate namespaces.
    assert_eq!(
        b.get_client(&q, "c1").await.unwrap(),
        Some(client(&q, "c1"))
    );
}

pub async fn providers(b: &SharedBackend) {
    let (p, q) = (fresh_pool(b).await, fresh_pool(b).await);
    assert_eq!(b.get_provider(&p, "Corp").await.unwrap(), None);
    assert!(b.list_providers(&p).await.unwrap().is_empty());
    assert!(!b.delete_provider(&p, "Corp").await.unwrap());

    let (corp, google) = (provider(&p, "Corp"), provider(&p, "Google"));
    b.put_provider(&corp).await.unwrap();
    b.put_provider(&google).await.unwrap();
    b.put_provider(&provider(&q, "Corp")).await.unwrap();
    assert_eq!(
        b.get_provider(&p, "Corp").await.unwrap(),
        Some(corp.clone())
    );

    let mut changed = corp.clone();
    changed
        .details
        .insert("hosted_domain".into(), serde_json::json!("example.test"));
    changed
        .attribute_mapping
        .insert("name".into(), "displayName".into());
    changed.updated_at += 10;
    b.put_provider(&changed).await.unwrap();
    assert_eq!(
        b.get_provider(&p, "Corp").await.unwrap(),
        Some(changed.clone())
    );
    let mut listed = b.list_providers(&p).await.unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(listed, vec![changed, google.clone()]);

    assert!(b.delete_provider(&p, "Corp").await.unwrap());
    assert_eq!(b.get_provider(&p, "Corp").await.unwrap(), None);
    assert!(!b.delete_provider(&p, "Corp").await.unwrap());
    assert_eq!(b.list_providers(&p).await.unwrap(), vec![google]);
    assert_eq!(
        b.get_provider(&q, "Corp").await.unwrap(),
        Some(provider(&q, "Corp"))
    );
}

pub async fn resource_servers(b: &SharedBackend) {
    let (p, q) = (fresh_pool(b).await, fresh_pool(b).await);
    let (api, files) = ("https://api.example.test", "files");
    assert_eq!(b.get_resource_server(&p, api).await.unwrap(), None);
    assert!(b.list_resource_servers(&p).await.unwrap().is_empty());
    assert!(!b.delete_resource_server(&p, api).await.unwrap());

    let (rs1, rs2) = (resource_server(&p, api), resource_server(&p, files));
    b.put_resource_server(&rs1).await.unwrap();
    b.put_resource_server(&rs2).await.unwrap();
    b.put_resource_server(&resource_server(&q, api))
        .await
        .unwrap();
    assert_eq!(
        b.get_resource_server(&p, api).await.unwrap(),
        Some(rs1.clone())
    );

    let mut changed = rs1.clone();
    changed.scopes.pop();
    changed.name = "renamed".into();
    b.put_resource_server(&changed).await.unwrap();
    assert_eq!(
        b.get_resource_server(&p, api).await.unwrap(),
        Some(changed.clone())
    );
    let mut listed = b.list_resource_servers(&p).await.unwrap();
    listed.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let mut expected = vec![changed, rs2.clone()];
    expected.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    assert_eq!(listed, expected);

    assert!(b.delete_resource_server(&p, api).await.unwrap());
    assert_eq!(b.get_resource_server(&p, api).await.unwrap(), None);
    assert!(!b.delete_resource_server(&p, api).await.unwrap());
    assert_eq!(b.list_resource_servers(&p).await.unwrap(), vec![rs2]);
    assert_eq!(
        b.get_resource_server(&q, api).await.unwrap(),
        Some(resource_server(&q, api))
    );
}

pub async fn delete_pool_cascades(b: &SharedBackend) {
    let (p, q) = (fresh_pool(b).await, fresh_pool(b).await);
    let dom = format!("{}.example.test", uid());
    let ttl = Duration::from_secs(600);
    let u = user(&p, "cascade", Some("c@example.test"), 10);
    let l = create_linked(b, &u, "Google").await;
    let t = refresh(&p, &uid(), &u.id, i64::MAX / 2);
    let eph_key = uid();
    // The same names in pool q must survive.
    let uq = user(&q, "cascade", Some("c@example.test"), 10);
    let lq = create_linked(b, &uq, "Google").await;
    let tq = refresh(&q, &uid(), &uq.id, i64::MAX / 2);
    for (pool, user, token) in [(&p, &u, &t), (&q, &uq, &tq)] {
        b.put_client(&client(pool, "c1")).await.unwrap();
        b.put_provider(&provider(pool, "Corp")).await.unwrap();
        b.put_resource_server(&resource_server(pool, "api"))
            .await
            .unwrap();
        assert!(b.insert_initial_key(&key(pool, "k1", 1)).await.unwrap());
        b.insert_refresh(token).await.unwrap();
        b.put(pool, EphemeralKind::Flow, &eph_key, b"state", ttl)
            .await
            .unwrap();
        assert!(b.get_user(pool, &user.id).await.unwrap().is_some());
    }
    b.put_domain(&domain(&p, &dom)).await.unwrap();

    assert!(b.delete_pool(&p).await.unwrap());
    assert!(!b.delete_pool(&p).await.unwrap());
    assert_eq!(b.get_pool(&p).await.unwrap(), None);
    assert_eq!(b.get_domain(&dom).await.unwrap(), None);
    assert!(b.list_domains(Some(&p)).await.unwrap().is_empty());
    assert_eq!(b.get_client(&p, "c1").await.unwrap(), None);
    assert!(b.list_clients(&p).await.unwrap().is_empty());
    assert_eq!(b.get_provider(&p, "Corp").await.unwrap(), None);
    assert!(b.list_providers(&p).await.unwrap().is_empty());
    assert_eq!(b.get_resource_server(&p, "api").await.unwrap(), None);
    assert!(b.list_resource_servers(&p).await.unwrap().is_empty());
    assert_eq!(b.get_user(&p, &u.id).await.unwrap(), None);
    assert_eq!(b.get_user_by_username(&p, "cascade").await.unwrap(), None);
    assert!(
        b.find_users_by_email(&p, "c@example.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.find_identity(&p, "Google", &l.subject).await.unwrap(),
        None
    );
    assert!(b.list_keys(&p).await.unwrap().is_empty());
    assert_eq!(
        b.get_refresh(&t.pool_id, &t.token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        b.get(&p, EphemeralKind::Flow, &eph_key).await.unwrap(),
        None
    );

    assert!(b.get_pool(&q).await.unwrap().is_some());
    assert!(b.get_client(&q, "c1").await.unwrap().is_some());
    assert!(b.get_provider(&q, "Corp").await.unwrap().is_some());
    assert!(b.get_resource_server(&q, "api").await.unwrap().is_some());
    assert_eq!(b.get_user(&q, &uq.id).await.unwrap(), Some(uq));
    assert_eq!(
        b.find_identity(&q, "Google", &lq.subject).await.unwrap(),
        Some(lq)
    );
    assert_eq!(b.list_keys(&q).await.unwrap().len(), 1);
    assert_eq!(
        b.get_refresh(&tq.pool_id, &tq.token_hash).await.unwrap(),
        Some(tq)
    );
    assert_eq!(
        b.get(&q, EphemeralKind::Flow, &eph_key).await.unwrap(),
        Some(b"state".to_vec())
    );
}
