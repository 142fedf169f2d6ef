//! Domains changed through the admin API (or by another instance) served without a
//! restart, certificate files, refused pairs, and the expiry gauge.

use std::time::{Duration, Instant};

use poolgate::model::DomainRecord;
use rcgen::date_time_ymd;
use reqwest::StatusCode;
use serde_json::json;

use super::{Leaf, TestCa, TlsGw, create_pool, get, issuer_of};

#[tokio::test]
async fn domains_changed_through_the_admin_api_are_served_without_restart() {
    let gw = TlsGw::start().await;
    let ca = TestCa::new("poolgate test CA");
    create_pool(&gw, "acme").await;
    let client = gw.client(&ca, &["new.acme.test", "other.acme.test", "file.acme.test"]);
    assert!(
        get(&client, &gw.https("new.acme.test", "/healthz"))
            .await
            .is_err(),
        "no certificate yet"
    );

    // Added: served as soon as the admin call answered.
    let first = ca.leaf(&["new.acme.test"]);
    let (s, v) = gw.put_domain("acme", "new.acme.test", Some(&first)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (iss, der) = issuer_of(&client, &gw, "new.acme.test").await;
    assert_eq!(iss, format!("https://new.acme.test:{}", gw.tls_port()));
    assert_eq!(der, first.der);

    // Replaced: the new certificate at once.
    let second = ca.leaf(&["new.acme.test"]);
    let (s, _) = gw.put_domain("acme", "new.acme.test", Some(&second)).await;
    assert_eq!(s, StatusCode::OK);
    let (_, der) = issuer_of(&client, &gw, "new.acme.test").await;
    assert_eq!(der, second.der);

    // Removed: the handshake fails (no certificate for that name any more).
    let (s, _) = gw
        .admin(
            "DELETE",
            &format!("/pools/acme/domains/{}", gw.domain("new.acme.test")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        get(&client, &gw.https("new.acme.test", "/healthz"))
            .await
            .is_err()
    );

    // Written by another instance sharing the store: the background refresh (every
    // 500 ms) picks it up; allow generous slack for a loaded machine.
    let third = ca.leaf(&["other.acme.test"]);
    let rec = DomainRecord {
        domain: gw.domain("other.acme.test"),
        pool_id: "acme".into(),
        certificate_pem: Some(third.cert_pem.clone()),
        private_key_pem: Some(third.key_pem.clone()),
        created_at: 0,
    };
    gw.running
        .as_ref()
        .unwrap()
        .store
        .put_domain(&rec)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let der = loop {
        if let Ok((resp, der)) = get(&client, &gw.https("other.acme.test", "/healthz")).await {
            assert_eq!(resp.status(), StatusCode::OK);
            break der;
        }
        assert!(
            Instant::now() < deadline,
            "the other instance's domain was never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(der, third.der);

    // A domain without a certificate in the store uses files in POOLGATE_CERTS_DIR.
    let from_file = ca.leaf(&["file.acme.test"]);
    std::fs::write(gw.certs_dir.join("file.acme.test.crt"), &from_file.cert_pem).unwrap();
    std::fs::write(gw.certs_dir.join("file.acme.test.key"), &from_file.key_pem).unwrap();
    let (s, v) = gw.put_domain("acme", "file.acme.test", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tls"], json!(false));
    let (iss, der) = issuer_of(&client, &gw, "file.acme.test").await;
    assert_eq!(iss, format!("https://file.acme.test:{}", gw.tls_port()));
    assert_eq!(der, from_file.der);

    gw.running.unwrap().shutdown().await;
}

#[tokio::test]
async fn bad_pairs_are_refused_with_a_clear_error() {
    let gw = TlsGw::start().await;
    let ca = TestCa::new("poolgate test CA");
    create_pool(&gw, "acme").await;
    create_pool(&gw, "globex").await;
    let good = ca.leaf(&["login.acme.test"]);
    let other = ca.leaf(&["login.acme.test"]);

    // The key of another certificate.
    let mixed = Leaf {
        key_pem: other.key_pem.clone(),
        ..good.clone()
    };
    let (s, v) = gw.put_domain("acme", "login.acme.test", Some(&mixed)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("does not belong to the certificate"),
        "{v}"
    );

    // A certificate for another name.
    let elsewhere = ca.leaf(&["www.elsewhere.test"]);
    let (s, v) = gw
        .put_domain("acme", "login.acme.test", Some(&elsewhere))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let m = v["message"].as_str().unwrap();
    assert!(
        m.contains("not valid for login.acme.test") && m.contains("www.elsewhere.test"),
        "{v}"
    );

    // A wildcard covers one label only.
    let wild = ca.leaf(&["*.test"]);
    let (s, _) = gw.put_domain("acme", "login.acme.test", Some(&wild)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Expired.
    let old = ca.leaf_with(&["login.acme.test"], |p| {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2021, 1, 1);
    });
    let (s, v) = gw.put_domain("acme", "login.acme.test", Some(&old)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains("expired"), "{v}");

    // Not PEM at all, and a certificate without its key.
    let (s, v) = gw
        .admin(
            "PUT",
            &format!("/pools/acme/domains/{}", gw.domain("login.acme.test")),
            Some(json!({"certificate_pem": "hello", "private_key_pem": good.key_pem})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("certificate_pem"),
        "{v}"
    );
    let (s, _) = gw
        .admin(
            "PUT",
            &format!("/pools/acme/domains/{}", gw.domain("login.acme.test")),
            Some(json!({"certificate_pem": good.cert_pem})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Nothing was stored by the refused calls.
    let (_, pool) = gw.admin("GET", "/pools/acme", None).await;
    assert_eq!(pool["domains"], json!([]), "{pool}");

    // The good pair is accepted; a second claim of the domain by another pool is 409.
    let (s, _) = gw.put_domain("acme", "login.acme.test", Some(&good)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = gw
        .put_domain("globex", "login.acme.test", Some(&good))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let client = gw.client(&ca, &["login.acme.test"]);
    let (iss, der) = issuer_of(&client, &gw, "login.acme.test").await;
    assert_eq!(
        der, good.der,
        "the domain stays with its first pool's certificate"
    );
    assert!(iss.starts_with("https://login.acme.test:"));

    gw.running.unwrap().shutdown().await;
}

#[tokio::test]
async fn expiry_within_thirty_days_shows_in_the_gauge() {
    let gw = TlsGw::start().await;
    let ca = TestCa::new("poolgate test CA");
    create_pool(&gw, "acme").await;
    let soon = chrono::Utc::now() + chrono::Duration::days(10);
    use chrono::Datelike;
    let leaf = ca.leaf_with(&["soon.acme.test"], |p| {
        p.not_before = date_time_ymd(2024, 1, 1);
        p.not_after = date_time_ymd(soon.year(), soon.month() as u8, soon.day() as u8);
    });
    let (s, v) = gw.put_domain("acme", "soon.acme.test", Some(&leaf)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", gw.http_base))
        .bearer_auth(crate::harness::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("poolgate_tls_certificate_expiry_seconds") && l.contains("soon.acme.test")
        })
        .unwrap_or_else(|| panic!("no gauge in {metrics}"));
    let secs: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((8 * 86_400..=11 * 86_400).contains(&secs), "{line}");

    // Removing the domain removes its gauge.
    let (s, _) = gw
        .admin(
            "DELETE",
            &format!("/pools/acme/domains/{}", gw.domain("soon.acme.test")),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", gw.http_base))
        .bearer_auth(crate::harness::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("soon.acme.test"), "{metrics}");
    gw.running.unwrap().shutdown().await;
}
