//! The gateway under test: started in-process on a real socket over a real SQLite file
//! (or a Redis URL), driven only through HTTP like an app, an admin and a browser.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use poolgate::clock::{SharedClock, SystemClock};
use poolgate::config::Settings;
use poolgate::server::{Running, start_on};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use url::Url;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct Gw {
    pub running: Option<Running>,
    /// `http://127.0.0.1:PORT`: the default pool's issuer.
    pub base: String,
    pub port: u16,
    pub http: reqwest::Client,
    pub store_url: String,
    pub dir: PathBuf,
    /// The public URL when it is another instance's (see [`Gw::start_as`]).
    pub public: Option<String>,
    _tmp: Option<tempfile::TempDir>,
}

pub fn env_for(port: u16, store: &str, providers_dir: &Path) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("POOLGATE_LISTEN".into(), format!("127.0.0.1:{port}")),
        (
            "POOLGATE_PUBLIC_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ),
        ("POOLGATE_STORE".into(), store.to_owned()),
        ("POOLGATE_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        (
            "POOLGATE_PROVIDERS_DIR".into(),
            providers_dir.display().to_string(),
        ),
        (
            "POOLGATE_CERTS_DIR".into(),
            providers_dir.join("certs").display().to_string(),
        ),
    ])
}

impl Gw {
    /// A fresh gateway over a fresh SQLite file.
    pub async fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
        let mut gw = Self::start_with(&store, tmp.path(), None, Arc::new(SystemClock)).await;
        gw._tmp = Some(tmp);
        gw
    }

    /// A gateway on `store`, on `port` when given (a restart keeps its issuer).
    pub async fn start_with(
        store: &str,
        dir: &Path,
        port: Option<u16>,
        clock: SharedClock,
    ) -> Self {
        Self::start_as(store, dir, port, None, clock).await
    }

    /// Like [`Gw::start_with`], answering as `public` (another instance's URL) when
    /// given: as behind a load balancer, `http` then sends that URL's Host to this
    /// instance's socket, so both instances serve the same pool domain.
    pub async fn start_as(
        store: &str,
        dir: &Path,
        port: Option<u16>,
        public: Option<&str>,
        clock: SharedClock,
    ) -> Self {
        Self::start_full(store, dir, port, public, clock, &[]).await
    }

    /// A fresh gateway over a fresh SQLite file, with the settings `extra` added.
    pub async fn start_env(extra: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
        let mut gw =
            Self::start_full(&store, tmp.path(), None, None, Arc::new(SystemClock), extra).await;
        gw._tmp = Some(tmp);
        gw
    }

    /// Like [`Gw::start_env`], on `clock` (a test may move it).
    pub async fn start_env_clock(extra: &[(&str, &str)], clock: SharedClock) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
        let mut gw = Self::start_full(&store, tmp.path(), None, None, clock, extra).await;
        gw._tmp = Some(tmp);
        gw
    }

    pub async fn start_full(
        store: &str,
        dir: &Path,
        port: Option<u16>,
        public: Option<&str>,
        clock: SharedClock,
        extra: &[(&str, &str)],
    ) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let providers = dir.join("providers");
        std::fs::create_dir_all(&providers).unwrap();
        let mut env = env_for(port, store, &providers);
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let mut builder = reqwest::Client::builder().redirect(Policy::none());
        if let Some(public) = public {
            env.insert("POOLGATE_PUBLIC_URL".into(), public.to_owned());
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::HOST, host_of(public).parse().unwrap());
            builder = builder.default_headers(headers);
        }
        let settings = Settings::load(None, &env).unwrap();
        let running = start_on(listener, settings, &env, clock).await.unwrap();
        let http = builder.build().unwrap();
        Gw {
            running: Some(running),
            base: format!("http://127.0.0.1:{port}"),
            port,
            http,
            store_url: store.to_owned(),
            dir: dir.to_path_buf(),
            public: public.map(str::to_owned),
            _tmp: None,
        }
    }

    /// Stops the process-equivalent and starts it again on the same store and port.
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        let again = Gw::start_as(
            &self.store_url,
            &self.dir,
            Some(self.port),
            self.public.as_deref(),
            Arc::new(SystemClock),
        )
        .await;
        self.running = again.running;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(m, self.url(&format!("/admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Registers a provider in the default pool; panics unless created or replaced.
    pub async fn put_provider(&self, name: &str, body: Value) {
        let (s, v) = self
            .admin(
                "PUT",
                &format!("/pools/default/providers/{name}"),
                Some(body),
            )
            .await;
        assert!(s.is_success(), "provider {name}: {s} {v}");
    }

    /// Creates an app client; returns (client_id, client_secret).
    pub async fn client(&self, body: Value) -> (String, Option<String>) {
        let (s, v) = self
            .admin("POST", "/pools/default/clients", Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (
            v["client_id"].as_str().unwrap().to_owned(),
            v["client_secret"].as_str().map(str::to_owned),
        )
    }

    pub async fn jwks(&self) -> Value {
        self.http
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn token(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url("/oauth2/token")).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        let resp = req.send().await.unwrap();
        let s = resp.status();
        (s, resp.json().await.unwrap_or(Value::Null))
    }
}

/// `HOST:PORT` of a URL, as a Host header carries it.
pub fn host_of(url: &str) -> String {
    let u = Url::parse(url).unwrap();
    match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap()),
        None => u.host_str().unwrap().to_owned(),
    }
}

/// A browser: keeps cookies, follows nothing by itself so every hop is visible.
pub struct Browser {
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a sign-in ended.
#[derive(Debug)]
pub enum Landing {
    /// Redirected to the app's callback: its query.
    App(BTreeMap<String, String>),
    /// Stopped on a poolgate page (an error page): status and body.
    Page(StatusCode, String),
}

impl Landing {
    pub fn code(&self) -> String {
        match self {
            Landing::App(q) => q
                .get("code")
                .cloned()
                .unwrap_or_else(|| panic!("no code: {q:?}")),
            Landing::Page(s, b) => panic!("stopped on a page: {s} {b}"),
        }
    }
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        Self { http }
    }

    /// Follows redirects until the app's `redirect_prefix` is reached.
    pub async fn follow(&self, start: &str, redirect_prefix: &str) -> Landing {
        let mut url = start.to_owned();
        for _ in 0..10 {
            if url.starts_with(redirect_prefix) {
                let u = Url::parse(&url).unwrap();
                return Landing::App(u.query_pairs().into_owned().collect());
            }
            let resp = self.http.get(&url).send().await.unwrap();
            let status = resp.status();
            if status.is_redirection() {
                let loc = resp.headers()["location"].to_str().unwrap().to_owned();
                url = Url::parse(&url).unwrap().join(&loc).unwrap().to_string();
                continue;
            }
            return Landing::Page(status, resp.text().await.unwrap_or_default());
        }
        panic!("too many redirects from {start}");
    }
}

/// Builds `/oauth2/authorize` with the usual parameters plus `extra`.
pub fn authorize_url(gw: &Gw, client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let mut u = Url::parse(&gw.url("/oauth2/authorize")).unwrap();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", client_id);
        q.append_pair("redirect_uri", redirect);
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    u.to_string()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = poolgate::secret::random_token(32);
    let challenge = poolgate::secret::s256(&verifier);
    (verifier, challenge)
}

pub fn json_str(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
        .to_owned()
}

/// Decodes a JWT's payload without verifying (tests verify separately).
pub fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let p = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap(),
    )
    .unwrap()
}

pub fn app_client_body(redirect: &str, providers: &[&str], secret: bool) -> Value {
    json!({
        "name": "test app",
        "generate_secret": secret,
        "callback_urls": [redirect],
        "logout_urls": ["http://127.0.0.1:9/bye"],
        "allowed_oauth_flows": ["code"],
        "allowed_scopes": ["openid", "email", "profile"],
        "supported_identity_providers": providers,
    })
}

/// The registered provider type `name` (`"Google"`, `"OIDC"`, ...), as the registry
/// makes it.
pub fn ptype(name: &str) -> poolgate::model::ProviderTypeName {
    poolgate::provider::registry::type_name(name)
        .unwrap_or_else(|| panic!("{name} is not a registered provider type"))
}
