//! SSRF through OIDC discovery, end to end over real HTTPS: an upstream on a public-
//! looking name (`idp.ssrf.test`, resolved by the adapter's HTTP client to a fake on
//! 127.0.0.1 serving a test CA's certificate, so the issuer is not loopback to the
//! gateway's check) publishes a discovery document whose token endpoint or `jwks_uri`
//! points inside: loopback, the cloud metadata address, a private network, or plain
//! `http`. The sign-in is refused before any request reaches the inside, naming the
//! field; the same document with outside endpoints works (the test does reach the
//! check).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use poolgate::clock::SystemClock;
use poolgate::provider::{BeginRequest, BrowserAction, ProviderContext, ProviderError, registry};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::harness::ptype;
use crate::providers::{record, redirect_uri};
use crate::tls::TestCa;

const NAME: &str = "idp.ssrf.test";

/// Starts `app` on 127.0.0.1:0, over TLS with `leaf` when given.
async fn serve(app: Router, tls: Option<&crate::tls::Leaf>) -> (SocketAddr, watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tls = tls.map(|leaf| {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
        let mut cfg = rustls::ServerConfig::builder_with_provider(poolgate::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    });
    let (tx, rx) = watch::channel(false);
    let how = poolgate::server::serve::Listener {
        tls,
        max_connections: 64,
    };
    tokio::spawn(poolgate::server::serve::serve(listener, how, app, rx));
    (addr, tx)
}

/// Every request an internal service received: method, path and headers.
type Seen = Arc<Mutex<Vec<String>>>;

async fn record_request(State(seen): State<Seen>, req: axum::extract::Request) -> &'static str {
    let mut line = format!("{} {}", req.method(), req.uri());
    for (k, v) in req.headers() {
        line.push_str(&format!(" {k}={v:?}"));
    }
    seen.lock().unwrap().push(line);
    "{}"
}

#[tokio::test]
async fn discovery_naming_internal_endpoints_is_refused_before_any_request_goes_inside() {
    // The inside: a plain-HTTP service on loopback that records what reaches it.
    let seen: Seen = Arc::default();
    let inside = Router::new()
        .fallback(record_request)
        .with_state(seen.clone());
    let (inside_addr, _stop_inside) = serve(inside, None).await;

    // The upstream: HTTPS on a public-looking name, its discovery document settable.
    let ca = TestCa::new("ssrf test CA");
    let leaf = ca.leaf(&[NAME]);
    let doc: Arc<Mutex<Value>> = Arc::default();
    let upstream = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(d): State<Arc<Mutex<Value>>>| async move {
                axum::Json(d.lock().unwrap().clone())
            }),
        )
        .with_state(doc.clone());
    let (up_addr, _stop_up) = serve(upstream, Some(&leaf)).await;
    let issuer = format!("https://{NAME}:{}", up_addr.port());

    // The adapter's HTTP client as the gateway builds it (no redirects, timeouts, the
    // operator's CA), with the name resolved to the fake.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap())
        .resolve(NAME, up_addr)
        .build()
        .unwrap();
    let ctx = ProviderContext {
        http,
        clock: Arc::new(SystemClock),
    };
    let inside = format!("http://{inside_addr}");
    let outside = |path: &str| format!("{issuer}{path}");
    let good = json!({
        "issuer": issuer,
        "authorization_endpoint": outside("/authorize"),
        "token_endpoint": outside("/token"),
        "jwks_uri": outside("/jwks"),
        "userinfo_endpoint": outside("/userinfo"),
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let cases: Vec<(&str, String)> = vec![
        ("token_endpoint", format!("{inside}/token")),
        (
            "token_endpoint",
            format!("http://localhost:{}/token", inside_addr.port()),
        ),
        ("token_endpoint", "https://10.0.0.7/token".into()),
        (
            "token_endpoint",
            format!("http://{NAME}:{}/token", up_addr.port()),
        ),
        (
            "jwks_uri",
            "https://169.254.169.254/latest/meta-data/".into(),
        ),
        ("jwks_uri", format!("{inside}/jwks")),
        ("userinfo_endpoint", "https://[::1]/userinfo".into()),
        ("userinfo_endpoint", "https://192.168.1.1/userinfo".into()),
        (
            "authorization_endpoint",
            "https://100.64.0.1/authorize".into(),
        ),
    ];
    for (n, (field, bad)) in cases.iter().enumerate() {
        let mut d = good.clone();
        d[*field] = json!(bad);
        *doc.lock().unwrap() = d;
        // A fresh adapter each time: discovery is cached per adapter.
        let details = json!({
            "issuer": issuer, "client_id": "rp", "client_secret": "s3cret-never-sent",
        });
        let mut rec = record(ptype("OIDC"), &format!("Ssrf{n}"), details);
        registry::prepare(&mut rec, &ctx).await.unwrap();
        let p = registry::build(&rec, &ctx).unwrap();
        let ru = redirect_uri();
        let r = p
            .begin(&BeginRequest {
                state: "st",
                redirect_uri: &ru,
                login_hint: None,
                sp_entity_id: None,
            })
            .await;
        match r {
            Err(ProviderError::Upstream(m)) => {
                assert!(
                    m.contains(field),
                    "{field} = {bad}: the refusal names it: {m}"
                );
                assert!(!m.contains("s3cret"), "{m}");
            }
            other => panic!("{field} = {bad}: expected a refusal, got {other:?}"),
        }
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "requests reached the inside: {:?}",
        seen.lock().unwrap()
    );

    // The control: the same upstream with outside endpoints is used.
    *doc.lock().unwrap() = good;
    let details = json!({"issuer": issuer, "client_id": "rp", "client_secret": "s"});
    let p = registry::build(&record(ptype("OIDC"), "Fine", details), &ctx).unwrap();
    let ru = redirect_uri();
    let begun = p
        .begin(&BeginRequest {
            state: "st",
            redirect_uri: &ru,
            login_hint: None,
            sp_entity_id: None,
        })
        .await
        .unwrap();
    let BrowserAction::Redirect(url) = begun.action else {
        panic!("expected a redirect")
    };
    assert_eq!(url.host_str(), Some(NAME));
    assert_eq!(url.path(), "/authorize");
}
