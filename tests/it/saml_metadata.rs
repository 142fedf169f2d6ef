//! `metadata_url`: fetched at registration, refreshed (a failed refresh or one without
//! a signing certificate keeps the previous metadata), certificate rollover, and the
//! certificate-expiry gauge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Notify;

use super::harness::Gw;
use super::saml_fixtures::*;

const SSO: &str = "https://adfs.corp.example/adfs/ls/";

/// A metadata endpoint whose document the test changes.
async fn metadata_server(doc: Arc<Mutex<(u16, String)>>) -> String {
    let app = Router::new().route(
        "/FederationMetadata.xml",
        get(move || {
            let doc = doc.clone();
            async move {
                let (status, body) = doc.lock().unwrap().clone();
                (StatusCode::from_u16(status).unwrap(), body)
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}/FederationMetadata.xml")
}

fn stored_metadata(v: &serde_json::Value) -> String {
    v["details"]["metadata_fetched"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn metadata_url_fetch_refresh_and_rollover() {
    let gw = Gw::start().await;
    let a = Idp::new("http://adfs.corp.example/adfs/services/trust");
    let b = Idp::new(&a.entity_id);
    let doc = Arc::new(Mutex::new((200, a.metadata(SSO, None, &[]))));
    let url = metadata_server(doc.clone()).await;
    gw.put_provider(
        "AcmeADFS",
        json!({"type": "SAML", "details": {"metadata_url": url}}),
    )
    .await;
    let path = "/pools/default/providers/AcmeADFS";
    let (_, v) = gw.admin("GET", path, None).await;
    let first = stored_metadata(&v);
    assert!(first.contains(&a.cert_b64()[..40]));
    let flow = gw.running.as_ref().unwrap().state.flow.clone();

    // The IdP's metadata loses its signing key, then the endpoint fails: kept.
    *doc.lock().unwrap() = (
        200,
        a.metadata(SSO, None, &[])
            .replace("use=\"signing\"", "use=\"encryption\""),
    );
    flow.refresh_saml().await;
    assert_eq!(stored_metadata(&gw.admin("GET", path, None).await.1), first);
    *doc.lock().unwrap() = (500, String::new());
    flow.refresh_saml().await;
    assert_eq!(stored_metadata(&gw.admin("GET", path, None).await.1), first);

    // Rollover: the new metadata lists both certificates.
    *doc.lock().unwrap() = (200, a.metadata(SSO, None, &[&b]));
    flow.refresh_saml().await;
    let now_md = stored_metadata(&gw.admin("GET", path, None).await.1);
    assert!(now_md.contains(&b.cert_b64()[..40]));

    // The expiry of the soonest certificate is published.
    let m = gw
        .http
        .get(gw.url("/metrics"))
        .bearer_auth(crate::harness::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = m
        .lines()
        .find(|l| {
            l.starts_with(
                "poolgate_saml_idp_certificate_expiry_seconds{domain=\"default/AcmeADFS\"}",
            )
        })
        .unwrap_or_else(|| panic!("no gauge in {m}"));
    let secs: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(secs > 86_400, "{line}");
}

#[tokio::test]
async fn unreachable_metadata_url_is_refused_at_registration() {
    let gw = Gw::start().await;
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/providers/Down",
            Some(json!({"type": "SAML", "details": {"metadata_url": "http://127.0.0.1:9/md.xml"}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

/// A failed fetch names the step, not the upstream's error (which may name internal
/// hosts): that goes to the log.
#[tokio::test]
async fn fetch_errors_are_not_echoed_to_the_admin() {
    let gw = Gw::start().await;
    let down = Arc::new(Mutex::new((
        500,
        "internal host db-7.corp.internal".to_owned(),
    )));
    let failing = metadata_server(down).await;
    for url in ["http://127.0.0.1:9/md.xml", failing.as_str()] {
        let (s, v) = gw
            .admin(
                "PUT",
                "/pools/default/providers/Down",
                Some(json!({"type": "SAML", "details": {"metadata_url": url}})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let m = v["message"].as_str().unwrap();
        assert!(m.starts_with("metadata_url: "), "{m}");
        assert!(
            !m.contains("127.0.0.1") && !m.contains("corp.internal") && !m.contains("500"),
            "{m}"
        );
    }
    let (s, _) = gw.admin("GET", "/pools/default/providers/Down", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// The `use="encryption"` certificates of SP metadata, in document order.
fn encryption_certs(md: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    md.match_indices("use=\"encryption\"")
        .map(|(at, _)| {
            let c0 = at + md[at..].find("<ds:X509Certificate>").unwrap() + 20;
            let b64 = &md[c0..c0 + md[c0..].find('<').unwrap()];
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn sp_key_rotation_keeps_the_previous_generation() {
    let e = super::saml_e2e::env(json!({"encrypted_responses": true})).await;
    let md = |gw: &Gw| {
        let url = gw.url("/saml2/metadata");
        let http = gw.http.clone();
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let before = encryption_certs(&md(&e.gw).await);
    assert_eq!(before.len(), 1);
    let (s, v) =
        e.gw.admin(
            "POST",
            "/pools/default/saml/sp-keys/rotate",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let after = encryption_certs(&md(&e.gw).await);
    assert_eq!(after.len(), 2);
    assert_eq!(after[1], before[0]);
    // Assertions encrypted to the old and to the new certificate both sign in.
    for cert in [&after[1], &after[0]] {
        let sent = e.begin().await;
        let spec = e.spec(&sent);
        let ea = encrypt(&assertion(&spec, &e.idp), cert, Enc::Gcm256);
        let (_, loc) = e
            .post(&b64(&response_with(&spec, &ea, &e.idp)), &sent.relay_state)
            .await;
        assert!(super::saml_e2e::code_of(&loc).is_some(), "{loc:?}");
    }
}

/// A metadata endpoint that, once `hold` is set, holds the next request until
/// `release` (the refresh's fetch), and answers the others at once.
struct HeldServer {
    url: String,
    doc: Arc<Mutex<String>>,
    hold: Arc<AtomicBool>,
    arrived: Arc<Notify>,
    release: Arc<Notify>,
}

async fn held_metadata_server(doc: String) -> HeldServer {
    let doc = Arc::new(Mutex::new(doc));
    let hold = Arc::new(AtomicBool::new(false));
    let (arrived, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let app = {
        let (doc, hold) = (doc.clone(), hold.clone());
        let (arrived, release) = (arrived.clone(), release.clone());
        Router::new().route(
            "/FederationMetadata.xml",
            get(move || {
                let (doc, hold) = (doc.clone(), hold.clone());
                let (arrived, release) = (arrived.clone(), release.clone());
                async move {
                    let body = doc.lock().unwrap().clone();
                    if hold.swap(false, Ordering::SeqCst) {
                        arrived.notify_one();
                        release.notified().await;
                    }
                    body
                }
            }),
        )
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    HeldServer {
        url: format!("http://{addr}/FederationMetadata.xml"),
        doc,
        hold,
        arrived,
        release,
    }
}

/// An admin change made while the refresh fetches is kept: the refresh stores only
/// over the version it fetched for.
#[tokio::test]
async fn refresh_never_reverts_an_admin_change_made_during_its_fetch() {
    let gw = Gw::start().await;
    let a = Idp::new("http://adfs.corp.example/adfs/services/trust");
    let b = Idp::new(&a.entity_id);
    let server = held_metadata_server(a.metadata(SSO, None, &[])).await;
    let body = |ident: &str| json!({"type": "SAML", "details": {"metadata_url": server.url}, "idp_identifiers": [ident]});
    gw.put_provider("AcmeADFS", body("one.example.test")).await;
    let path = "/pools/default/providers/AcmeADFS";

    // The IdP rolls its certificate over; the refresh fetches and is held there.
    *server.doc.lock().unwrap() = a.metadata(SSO, None, &[&b]);
    server.hold.store(true, Ordering::SeqCst);
    let flow = gw.running.as_ref().unwrap().state.flow.clone();
    let refresh = tokio::spawn(async move { flow.refresh_saml().await });
    tokio::time::timeout(Duration::from_secs(10), server.arrived.notified())
        .await
        .expect("the refresh fetches the metadata");

    // Meanwhile the admin changes the registration.
    gw.put_provider("AcmeADFS", body("two.example.test")).await;
    let (_, changed) = gw.admin("GET", path, None).await;
    assert_eq!(changed["idp_identifiers"], json!(["two.example.test"]));

    server.release.notify_one();
    refresh.await.unwrap();
    let (_, after) = gw.admin("GET", path, None).await;
    assert_eq!(
        after["idp_identifiers"],
        json!(["two.example.test"]),
        "the refresh reverted the admin change"
    );
    assert_eq!(after["updated_at"], changed["updated_at"]);
    assert!(stored_metadata(&after).contains(&b.cert_b64()[..40]));

    // The next round, with nothing changing meanwhile, refreshes as before.
    *server.doc.lock().unwrap() = b.metadata(SSO, None, &[]);
    gw.running.as_ref().unwrap().state.flow.refresh_saml().await;
    let (_, next) = gw.admin("GET", path, None).await;
    assert_eq!(next["idp_identifiers"], json!(["two.example.test"]));
    assert!(!stored_metadata(&next).contains(&a.cert_b64()[..40]));
}
