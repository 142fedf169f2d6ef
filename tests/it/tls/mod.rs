//! Custom domains over real TLS on 127.0.0.1: certificates chosen by SNI, per-domain
//! issuers, domains changed through the admin API served without restart, and refused
//! certificate/key pairs. Test CAs and certificates are generated here with rcgen.

mod domains;
mod sni;

use std::net::SocketAddr;
use std::sync::Arc;

use poolgate::clock::SystemClock;
use poolgate::config::Settings;
use poolgate::server::{Running, start_on};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
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
pub async fn get(
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

pub async fn issuer_of(client: &reqwest::Client, gw: &TlsGw, name: &str) -> (String, Vec<u8>) {
    let (resp, der) = get(client, &gw.https(name, "/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    (v["issuer"].as_str().unwrap().to_owned(), der)
}

pub async fn create_pool(gw: &TlsGw, id: &str) {
    let (s, v) = gw.admin("POST", "/pools", Some(json!({"id": id}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
