//! Slow clients, idle connections, HTTP/2 limits and `/metrics` exposure, over real
//! sockets. No timing assertion beyond generous bounds: the machine is shared.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poolgate::clock::SystemClock;
use poolgate::config::Settings;
use poolgate::server::start_on;
use reqwest::StatusCode;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{ADMIN_TOKEN, Gw, env_for};
use crate::tls::{TestCa, TlsGw, create_pool};

/// Whether the server closed `s` (a read answers 0 bytes or an error) within `limit`,
/// while the client writes one byte of a request's head every `every`.
async fn trickle_until_closed(s: &mut TcpStream, every: Duration, limit: Duration) -> bool {
    let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaa";
    let start = Instant::now();
    let mut buf = [0u8; 256];
    for b in head.iter().cycle() {
        if start.elapsed() > limit {
            return false;
        }
        if s.write_all(&[*b]).await.is_err() {
            return true;
        }
        match tokio::time::timeout(every, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or the like before closing counts as closing.
            Ok(Ok(_)) => return true,
            Err(_) => {}
        }
    }
    false
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected() {
    let gw = Gw::start().await;
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).await.unwrap();
    // One byte every 3 s: each byte is "progress", only a bound on the whole head
    // stops it. The bound is 10 s; 60 s is the test's patience.
    let closed =
        trickle_until_closed(&mut s, Duration::from_secs(3), Duration::from_secs(60)).await;
    assert!(
        closed,
        "a trickling client kept its connection for a minute"
    );
    // The gateway still answers others.
    let r = gw.http.get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_do_not_stop_healthz() {
    let gw = Gw::start().await;
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(TcpStream::connect(("127.0.0.1", gw.port)).await.unwrap());
    }
    // Half of them have started a request and stopped.
    for s in idle.iter_mut().step_by(2) {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let r = client.get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ok");
    drop(idle);
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    let gw = Gw::start().await;
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).await.unwrap();
    let mut buf = [0u8; 64];
    let r = tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf)).await;
    assert!(
        matches!(r, Ok(Ok(_)) | Ok(Err(_))),
        "an idle connection stayed open for a minute"
    );
}

#[tokio::test]
async fn metrics_need_the_admin_token_unless_on_their_own_listener() {
    let gw = Gw::start().await;
    let r = gw.http.get(gw.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let body = r.text().await.unwrap();
    assert!(!body.contains("poolgate_"), "{body}");
    let r = gw
        .http
        .get(gw.url("/metrics"))
        .bearer_auth("not-the-admin-token-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = gw
        .http
        .get(gw.url("/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("poolgate_store_up"));

    // POOLGATE_METRICS_LISTEN: there without a token, and nothing else there.
    let tmp = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let providers = tmp.path().join("providers");
    std::fs::create_dir_all(&providers).unwrap();
    let store = format!("sqlite://{}/p.db", tmp.path().display());
    let mut env = env_for(port, &store, &providers);
    env.insert("POOLGATE_METRICS_LISTEN".into(), "127.0.0.1:0".into());
    let settings = Settings::load(None, &env).unwrap();
    let running = start_on(listener, settings, &env, Arc::new(SystemClock))
        .await
        .unwrap();
    let m = running.metrics_addr.expect("the metrics listener is bound");
    let r = reqwest::get(format!("http://{m}/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("poolgate_store_up"));
    for path in ["/admin/v1/pools", "/healthz", "/.well-known/jwks.json"] {
        let r = reqwest::get(format!("http://{m}{path}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The main listener still wants the token.
    let r = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    running.shutdown().await;
}

/// A TLS connection to `gw` that negotiated HTTP/2, with the client preface and an
/// empty SETTINGS frame sent.
async fn h2_connection(gw: &TlsGw, ca: &TestCa) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let mut cfg = rustls::ClientConfig::builder_with_provider(poolgate::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(gw.tls_addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("login.acme.test").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    tls.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    tls
}

async fn tls_gw_with_acme(ca: &TestCa) -> TlsGw {
    let gw = TlsGw::start().await;
    let leaf = ca.leaf(&["login.acme.test"]);
    create_pool(&gw, "acme").await;
    let (s, v) = gw.put_domain("acme", "login.acme.test", Some(&leaf)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    gw
}

#[tokio::test]
async fn an_idle_http2_connection_is_sent_goaway_and_closed() {
    let ca = TestCa::new("poolgate test CA");
    let gw = tls_gw_with_acme(&ca).await;
    let mut tls = h2_connection(&gw, &ca).await;
    let start = Instant::now();
    // The client sends nothing more (not even the SETTINGS or PING acks) and reads
    // frames until the server closes the connection.
    let mut frame_types = Vec::new();
    let closed_after = loop {
        let mut head = [0u8; 9];
        match tokio::time::timeout(Duration::from_secs(40), tls.read_exact(&mut head)).await {
            Err(_) => panic!("still open after 40 s; frames: {frame_types:?}"),
            Ok(Err(_)) => break start.elapsed(),
            Ok(Ok(_)) => {}
        }
        frame_types.push(head[3]);
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        if tls.read_exact(&mut payload).await.is_err() {
            break start.elapsed();
        }
    };
    assert!(
        frame_types.contains(&7),
        "a GOAWAY frame before closing: {frame_types:?}"
    );
    let idle = poolgate::server::serve::H2_IDLE_TIMEOUT;
    let grace = poolgate::server::serve::H2_CLOSE_GRACE;
    assert!(
        closed_after >= idle - Duration::from_secs(1),
        "closed too early: {closed_after:?}"
    );
    assert!(
        closed_after <= idle + grace + Duration::from_secs(8),
        "closed too late: {closed_after:?}"
    );
}

#[tokio::test]
async fn http2_is_offered_on_tls_with_bounded_streams() {
    let ca = TestCa::new("poolgate test CA");
    let gw = tls_gw_with_acme(&ca).await;
    let mut tls = h2_connection(&gw, &ca).await;
    // The server's first frame is its SETTINGS, which must bound concurrent streams
    // (id 0x3) to 100.
    let mut head = [0u8; 9];
    tls.read_exact(&mut head).await.unwrap();
    assert_eq!(head[3], 4, "the first frame is SETTINGS");
    let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    tls.read_exact(&mut payload).await.unwrap();
    let settings: Vec<(u16, u32)> = payload
        .chunks_exact(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect();
    assert!(settings.contains(&(3, 100)), "{settings:?}");
    // HTTP/1.1 is still offered to clients that ask for it.
    let client = gw.client(&ca, &["login.acme.test"]);
    let r = client
        .get(gw.https("login.acme.test", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
}
