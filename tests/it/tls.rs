//! Custom domains over real TLS on 127.0.0.1: certificates chosen by SNI, per-domain
//! issuers, domains changed through the admin API served without restart, and refused
//! certificate/key pairs. Test CAs and certificates are generated here with rcgen.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poolgate::clock::SystemClock;
use poolgate::config::Settings;
use poolgate::model::DomainRecord;
use poolgate::server::{Running, start_on};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd};
use reqwest::StatusCode;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use crate::harness::{ADMIN_TOKEN, env_for};

/// A test certificate authority.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

/// A leaf certificate and its key, PEM.
#[derive(Clone)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        let pem = cert.pem();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_with(names, |_| {})
    }

    pub fn leaf_with(&self, names: &[&str], tweak: impl FnOnce(&mut CertificateParams)) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        tweak(&mut params);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: format!("{}{}", cert.pem(), self.pem_chain_tail()),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    /// The CA itself after the leaf: a chain, as operators upload them.
    fn pem_chain_tail(&self) -> String {
        self.pem.clone()
    }
}

/// A gateway with an HTTPS listener on 127.0.0.1:0.
pub struct TlsGw {
    pub running: Option<Running>,
    pub http_base: String,
    pub tls_addr: SocketAddr,
    pub admin: reqwest::Client,
    pub certs_dir: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

impl TlsGw {
    pub async fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let providers = tmp.path().join("providers");
        std::fs::create_dir_all(&providers).unwrap();
        let store = format!("sqlite://{}/p.db", tmp.path().display());
        let mut env = env_for(port, &store, &providers);
        env.insert("POOLGATE_TLS_LISTEN".into(), "127.0.0.1:0".into());
        let certs_dir = providers.join("certs");
        std::fs::create_dir_all(&certs_dir).unwrap();
        let settings = Settings::load(None, &env).unwrap();
        let running = start_on(listener, settings, &env, Arc::new(SystemClock))
            .await
            .unwrap();
        let tls_addr = running.tls_addr.expect("the HTTPS listener is bound");
        Self {
            running: Some(running),
            http_base: format!("http://127.0.0.1:{port}"),
            tls_addr,
            admin: reqwest::Client::new(),
            certs_dir,
            _tmp: tmp,
        }
    }

    pub fn tls_port(&self) -> u16 {
        self.tls_addr.port()
    }

    /// `name:PORT`: the domain as browsers send it in Host on the HTTPS port.
    pub fn domain(&self, name: &str) -> String {
        format!("{name}:{}", self.tls_port())
    }

    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .admin
            .request(m, format!("{}/admin/v1{path}", self.http_base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let s = resp.status();
        (s, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn put_domain(
        &self,
        pool: &str,
        name: &str,
        leaf: Option<&Leaf>,
    ) -> (StatusCode, Value) {
        let body =
            leaf.map(|l| json!({"certificate_pem": l.cert_pem, "private_key_pem": l.key_pem}));
        self.admin(
            "PUT",
            &format!("/pools/{pool}/domains/{}", self.domain(name)),
            body.or(Some(json!({}))),
        )
        .await
    }

    /// An HTTPS client trusting only `ca`, resolving every name to the listener, without
    /// connection reuse or TLS session resumption (a resumed session shows the
    /// certificate of the session it resumes, not the one served now).
    pub fn client(&self, ca: &TestCa, names: &[&str]) -> reqwest::Client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
            .unwrap();
        let mut cfg = rustls::ClientConfig::builder_with_provider(poolgate::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.resumption = rustls::client::Resumption::disabled();
        let mut b = reqwest::Client::builder()
            .use_preconfigured_tls(cfg)
            .tls_info(true)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none());
        for n in names {
            b = b.resolve(n, self.tls_addr);
        }
        b.build().unwrap()
    }

    pub fn https(&self, name: &str, path: &str) -> String {
        format!("https://{}{path}", self.domain(name))
    }
}

/// GET over TLS; the response and the DER of the certificate the server presented.
async fn get(
    client: &reqwest::Client,
    url: &str,
) -> Result<(reqwest::Response, Vec<u8>), reqwest::Error> {
    let resp = client.get(url).send().await?;
    let der = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok((resp, der))
}

async fn issuer_of(client: &reqwest::Client, gw: &TlsGw, name: &str) -> (String, Vec<u8>) {
    let (resp, der) = get(client, &gw.https(name, "/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    (v["issuer"].as_str().unwrap().to_owned(), der)
}

async fn create_pool(gw: &TlsGw, id: &str) {
    let (s, v) = gw.admin("POST", "/pools", Some(json!({"id": id}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn two_pools_on_one_port_each_with_its_certificate_and_issuer() {
    let gw = TlsGw::start().await;
    let ca = TestCa::new("poolgate test CA");
    let acme = ca.leaf(&["login.acme.test"]);
    let globex = ca.leaf(&["*.globex.test"]);
    create_pool(&gw, "acme").await;
    create_pool(&gw, "globex").await;
    let (s, v) = gw.put_domain("acme", "login.acme.test", Some(&acme)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tls"], json!(true));
    let (s, v) = gw
        .put_domain("globex", "sso.globex.test", Some(&globex))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let client = gw.client(&ca, &["login.acme.test", "sso.globex.test"]);
    let (iss_a, der_a) = issuer_of(&client, &gw, "login.acme.test").await;
    let (iss_b, der_b) = issuer_of(&client, &gw, "sso.globex.test").await;
    assert_eq!(iss_a, format!("https://login.acme.test:{}", gw.tls_port()));
    assert_eq!(iss_b, format!("https://sso.globex.test:{}", gw.tls_port()));
    assert_eq!(
        der_a, acme.der,
        "the acme domain is served with acme's certificate"
    );
    assert_eq!(
        der_b, globex.der,
        "the globex domain is served with globex's certificate"
    );

    // The chain is checked against the SNI name: a client trusting another CA refuses.
    let other = TestCa::new("another CA");
    let stranger = gw.client(&other, &["login.acme.test"]);
    assert!(
        get(&stranger, &gw.https("login.acme.test", "/healthz"))
            .await
            .is_err()
    );

    // HSTS over TLS only; every response carries the frame and referrer policies.
    let (resp, _) = get(&client, &gw.https("login.acme.test", "/healthz"))
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let plain = reqwest::get(format!("{}/healthz", gw.http_base))
        .await
        .unwrap();
    assert!(plain.headers().get("strict-transport-security").is_none());
    assert_eq!(plain.headers()["referrer-policy"], "no-referrer");

    // The JWKS URL of each pool's discovery is on its own domain.
    let (resp, _) = get(
        &client,
        &gw.https("sso.globex.test", "/.well-known/openid-configuration"),
    )
    .await
    .unwrap();
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(
        doc["jwks_uri"],
        json!(format!(
            "https://sso.globex.test:{}/.well-known/jwks.json",
            gw.tls_port()
        ))
    );

    // A token issued on acme's domain is acme's: globex's domain does not honour it.
    let mut secrets = Vec::new();
    for pool in ["acme", "globex"] {
        let (s, v) = gw
            .admin(
                "PUT",
                &format!("/pools/{pool}/resource-servers/api"),
                Some(json!({"name": "API", "scopes": [{"name": "read"}]})),
            )
            .await;
        assert!(s.is_success(), "{v}");
        let body = json!({
            "name": "svc", "generate_secret": true, "callback_urls": [], "allowed_oauth_flows": ["client_credentials"],
            "allowed_scopes": ["api/read"], "supported_identity_providers": [],
        });
        let (s, v) = gw
            .admin("POST", &format!("/pools/{pool}/clients"), Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        secrets.push((
            v["client_id"].as_str().unwrap().to_owned(),
            v["client_secret"].as_str().unwrap().to_owned(),
        ));
    }
    let token = client
        .post(gw.https("login.acme.test", "/oauth2/token"))
        .basic_auth(&secrets[0].0, Some(&secrets[0].1))
        .form(&[("grant_type", "client_credentials"), ("scope", "api/read")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let token: Value = token.json().await.unwrap();
    let access = token["access_token"].as_str().unwrap();
    let introspect = |name: &'static str, (id, secret): (String, String)| {
        let client = client.clone();
        let url = gw.https(name, "/oauth2/introspect");
        let access = access.to_owned();
        async move {
            let r = client
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", access)])
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let at_acme = introspect("login.acme.test", secrets[0].clone()).await;
    assert_eq!(at_acme["active"], json!(true), "{at_acme}");
    assert_eq!(at_acme["iss"], json!(iss_a));
    let at_globex = introspect("sso.globex.test", secrets[1].clone()).await;
    assert_eq!(at_globex, json!({"active": false}));

    // The expiry gauge, per domain.
    let metrics = reqwest::get(format!("{}/metrics", gw.http_base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("poolgate_tls_certificate_expiry_seconds")
                && l.contains(&gw.domain("login.acme.test"))
        })
        .unwrap_or_else(|| panic!("no expiry gauge for acme in {metrics}"));
    let secs: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        secs > 365 * 86_400,
        "rcgen's default validity is far ahead: {line}"
    );

    gw.running.unwrap().shutdown().await;
}

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
        .state
        .flow
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
    let metrics = reqwest::get(format!("{}/metrics", gw.http_base))
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
    let metrics = reqwest::get(format!("{}/metrics", gw.http_base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("soon.acme.test"), "{metrics}");
    gw.running.unwrap().shutdown().await;
}

#[tokio::test]
async fn an_ip_address_domain_is_served_without_sni() {
    let gw = TlsGw::start().await;
    let ca = TestCa::new("poolgate test CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    let (s, v) = gw.put_domain("default", "127.0.0.1", Some(&leaf)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Clients send no SNI for an IP address: the default pool's certificate answers.
    let client = gw.client(&ca, &[]);
    let url = format!(
        "https://127.0.0.1:{}/.well-known/openid-configuration",
        gw.tls_port()
    );
    let (resp, der) = get(&client, &url).await.unwrap();
    assert_eq!(der, leaf.der);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(
        doc["issuer"],
        json!(format!("https://127.0.0.1:{}", gw.tls_port()))
    );
    gw.running.unwrap().shutdown().await;
}
