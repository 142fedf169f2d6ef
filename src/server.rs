//! Start-up and shutdown: open the store, make sure the default pool, its domain, its
//! keys and the admin token exist, load provider files, and serve until told to stop.

pub mod serve;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::files::{FileOutcome, load_dir};
use crate::admin::{Admin, AdminError};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::flow::{Flow, ProviderCache};
use crate::http::{AppState, SharedState, router};
use crate::metrics::Metrics;
use crate::model::{DEFAULT_POOL, DomainRecord, Pool, PoolSettings};
use crate::provider::ProviderContext;
use crate::store::{self, SharedBackend, StoreError};
use crate::tls::{CertStore, listener};
use crate::token::KeyService;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("POOLGATE_STORE: {0}")]
    Store(#[source] StoreError),
    #[error("{0}")]
    Setting(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The upstream HTTP client: timeouts on every call, redirects never followed, the
/// operator's extra CA bundle trusted besides the system roots.
pub fn upstream_client(settings: &Settings) -> Result<reqwest::Client, StartError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("poolgate/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60));
    if let Some(path) = &settings.upstream_ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            StartError::Setting(format!(
                "POOLGATE_UPSTREAM_CA_FILE: cannot read {}: {e}",
                path.display()
            ))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
            StartError::Setting("POOLGATE_UPSTREAM_CA_FILE: not a PEM certificate bundle".into())
        })?;
        if certs.is_empty() {
            return Err(StartError::Setting(
                "POOLGATE_UPSTREAM_CA_FILE: no certificate in the bundle".into(),
            ));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build()
        .map_err(|e| StartError::Setting(format!("upstream HTTP client: {e}")))
}

/// Reads or creates the admin token kept in the data folder (mode 0600).
fn admin_token(settings: &Settings) -> Result<String, StartError> {
    if let Some(t) = &settings.admin_token {
        return Ok(t.clone());
    }
    let dir = settings.data_dir();
    let path = dir.join("admin-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_owned();
        if t.len() >= 16 {
            tracing::info!(path = %path.display(), "admin token read from the data folder");
            return Ok(t);
        }
    }
    let token = crate::secret::random_token(32);
    std::fs::create_dir_all(&dir)
        .map_err(|e| StartError::Setting(format!("data folder {}: {e}", dir.display())))?;
    write_private(&path, &token)
        .map_err(|e| StartError::Setting(format!("admin token file {}: {e}", path.display())))?;
    tracing::warn!(path = %path.display(), "POOLGATE_ADMIN_TOKEN unset: generated an admin token and saved it here");
    Ok(token)
}

/// The key client secrets are sealed with: the operator's, or the `secret-key` file in
/// the data folder (mode 0600), made on first start. A file that exists but holds no
/// key stops the start: making a new key would orphan every sealed secret.
fn secret_key(settings: &Settings) -> Result<crate::secret::SecretKey, StartError> {
    if let Some(k) = &settings.secret_key {
        return Ok(k.clone());
    }
    let dir = settings.data_dir();
    let path = dir.join("secret-key");
    match std::fs::read_to_string(&path) {
        Ok(t) => {
            return crate::secret::SecretKey::parse(&t).ok_or_else(|| {
                StartError::Setting(format!(
                    "secret key file {}: not a key (32 bytes, base64 or hex); restore it or set POOLGATE_SECRET_KEY",
                    path.display()
                ))
            });
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(StartError::Setting(format!(
                "secret key file {}: {e}",
                path.display()
            )));
        }
        Err(_) => {}
    }
    let key = crate::secret::SecretKey::generate();
    std::fs::create_dir_all(&dir)
        .map_err(|e| StartError::Setting(format!("data folder {}: {e}", dir.display())))?;
    write_private(&path, &key.encode())
        .map_err(|e| StartError::Setting(format!("secret key file {}: {e}", path.display())))?;
    tracing::warn!(path = %path.display(), "POOLGATE_SECRET_KEY unset: generated the key that seals client secrets and saved it here; back it up with the store");
    if settings.store.starts_with("redis") {
        tracing::warn!(
            "POOLGATE_SECRET_KEY unset over a Redis store: give every instance the same key, or secrets sealed by one cannot be shown by another"
        );
    }
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Builds the application state over the store `settings` names.
pub async fn build_state(
    settings: Settings,
    env: &BTreeMap<String, String>,
    clock: SharedClock,
) -> Result<SharedState, StartError> {
    let backend = store::open(&settings.store)
        .await
        .map_err(StartError::Store)?;
    build_state_on(backend, settings, env, clock).await
}

/// Builds the application state over an opened store.
pub async fn build_state_on(
    backend: SharedBackend,
    settings: Settings,
    env: &BTreeMap<String, String>,
    clock: SharedClock,
) -> Result<SharedState, StartError> {
    backend.ping().await.map_err(StartError::Store)?;
    let now = clock.now();
    if backend
        .get_pool(DEFAULT_POOL)
        .await
        .map_err(StartError::Store)?
        .is_none()
    {
        let pool = Pool {
            id: DEFAULT_POOL.into(),
            settings: PoolSettings::default(),
            created_at: now,
            hook_secret: None,
        };
        match backend.create_pool(&pool).await {
            Ok(()) | Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => return Err(StartError::Store(e)),
        }
    }
    let domain = settings.public_domain();
    match backend
        .get_domain(&domain)
        .await
        .map_err(StartError::Store)?
    {
        Some(d) if d.pool_id != DEFAULT_POOL => {
            return Err(StartError::Setting(format!(
                "POOLGATE_PUBLIC_URL: its domain {domain} belongs to pool {:?}, not to the default pool",
                d.pool_id
            )));
        }
        Some(_) => {}
        None => {
            let rec = DomainRecord {
                domain,
                pool_id: DEFAULT_POOL.into(),
                certificate_pem: None,
                private_key_pem: None,
                created_at: now,
            };
            backend.put_domain(&rec).await.map_err(StartError::Store)?;
        }
    }
    let token = admin_token(&settings)?;
    let http = upstream_client(&settings)?;
    let metrics = Arc::new(Metrics::new());
    let providers = Arc::new(ProviderCache::new(ProviderContext {
        http,
        clock: clock.clone(),
    }));
    let keys = Arc::new(KeyService::new(backend.clone(), clock.clone()));
    let sealer = crate::secret::Sealer::new(&secret_key(&settings)?);
    let mailer = match &settings.smtp_url {
        Some(url) => Some(Arc::new(
            crate::mail::Mailer::new(url, &settings.smtp_from).map_err(StartError::Setting)?,
        )),
        None => None,
    };
    let flow = Arc::new(
        Flow::new(
            backend.clone(),
            clock.clone(),
            keys.clone(),
            providers.clone(),
            metrics.clone(),
        )
        .with_sealer(sealer)
        .with_mailer(mailer),
    );
    let certs = Arc::new(CertStore::new(
        backend.clone(),
        settings.certs_dir.clone(),
        metrics.clone(),
        clock.clone(),
        &settings.public_domain(),
    ));
    let admin = Arc::new(Admin::new(
        backend.clone(),
        clock.clone(),
        keys.clone(),
        providers.clone(),
        flow.clone(),
        certs.clone(),
    ));
    let default = backend
        .get_pool(DEFAULT_POOL)
        .await
        .map_err(StartError::Store)?;
    let alg = default.map(|p| p.settings.signing_alg).unwrap_or_default();
    keys.ring(DEFAULT_POOL, alg)
        .await
        .map_err(|e| StartError::Setting(format!("signing keys of the default pool: {e}")))?;

    for outcome in load_dir(&settings.providers_dir, DEFAULT_POOL, env, now) {
        match outcome {
            FileOutcome::Loaded(mut rec) => match admin.install_provider(&mut rec).await {
                Ok(()) => {
                    tracing::info!(provider = %rec.name, kind = rec.provider_type.as_str(), "provider loaded from file");
                }
                Err(AdminError::Invalid(problems)) => {
                    tracing::error!(provider = %rec.name, error = %problems.join("; "), "provider file not usable; skipped");
                }
                Err(e) => {
                    return Err(StartError::Setting(format!(
                        "provider file {}: {e}",
                        rec.name
                    )));
                }
            },
            FileOutcome::Skipped { file, variable } => {
                tracing::warn!(file = %file.display(), variable = %variable, "provider file skipped: variable unset");
            }
            FileOutcome::Invalid { file, errors } => {
                tracing::error!(file = %file.display(), errors = %errors.join("; "), "provider file invalid; skipped");
            }
        }
    }
    // Build every registered adapter once: bad registrations and outdated provider
    // versions are reported at start, and discovery/JWKS caches are ready.
    for pool in backend.list_pools().await.map_err(StartError::Store)? {
        for rec in backend
            .list_providers(&pool.id)
            .await
            .map_err(StartError::Store)?
        {
            if let Err(e) = providers.get(&rec) {
                tracing::error!(pool = %pool.id, provider = %rec.name, error = %e, "provider registration not usable");
            }
        }
    }
    Ok(Arc::new(AppState {
        flow,
        admin,
        settings: Arc::new(settings),
        admin_token: token,
        metrics,
        certs,
    }))
}

/// A gateway serving on a bound address until its shutdown handle fires.
pub struct Running {
    pub addr: SocketAddr,
    /// The bound HTTPS address, when `tls_listen` is set.
    pub tls_addr: Option<SocketAddr>,
    /// The bound metrics address, when `metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub state: SharedState,
    /// The store this gateway runs on (for tools and tests that seed or inspect it;
    /// the HTTP layer never sees it).
    pub store: SharedBackend,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    tls_task: Option<tokio::task::JoinHandle<()>>,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Drains in-flight requests and stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        for t in [self.tls_task, self.metrics_task].into_iter().flatten() {
            let _ = t.await;
        }
    }
}

/// Binds `settings.listen` (port 0 picks a free port) and serves in the background.
pub async fn start(
    settings: Settings,
    env: &BTreeMap<String, String>,
) -> Result<Running, StartError> {
    start_with_clock(settings, env, Arc::new(SystemClock)).await
}

pub async fn start_with_clock(
    settings: Settings,
    env: &BTreeMap<String, String>,
    clock: SharedClock,
) -> Result<Running, StartError> {
    let addr = settings.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    start_on(listener, settings, env, clock).await
}

/// Serves on an already bound listener (tests bind first to know the port, so that
/// `POOLGATE_PUBLIC_URL` can name it).
pub async fn start_on(
    listener: TcpListener,
    settings: Settings,
    env: &BTreeMap<String, String>,
    clock: SharedClock,
) -> Result<Running, StartError> {
    let addr = settings.listen;
    let local = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr, source })?;
    let tls_listener = match settings.tls_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Listen { addr, source })?,
        ),
        None => None,
    };
    let metrics_listener = match settings.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Listen { addr, source })?,
        ),
        None => None,
    };
    let store = store::open(&settings.store)
        .await
        .map_err(StartError::Store)?;
    let state = build_state_on(store.clone(), settings, env, clock).await?;
    let app = serve::with_request_timeouts(router(state.clone()));
    let plain = serve::Listener {
        tls: None,
        max_connections: serve::MAX_CONNECTIONS,
    };
    let (stop, rx) = watch::channel(false);
    let mut tls_addr = None;
    let mut tls_task = None;
    if let Some(l) = tls_listener {
        let addr = l.local_addr().map_err(|source| StartError::Listen {
            addr: local,
            source,
        })?;
        state.certs.set_tls_port(addr.port());
        state.certs.refresh().await.map_err(StartError::Store)?;
        state.certs.spawn_refresher(stop.subscribe());
        let config = listener::server_config(state.certs.clone())
            .map_err(|e| StartError::Setting(format!("POOLGATE_TLS_LISTEN: {e}")))?;
        let how = serve::Listener {
            tls: Some(tokio_rustls::TlsAcceptor::from(config)),
            max_connections: serve::MAX_CONNECTIONS,
        };
        tls_task = Some(tokio::spawn(serve::serve(
            l,
            how,
            app.clone(),
            stop.subscribe(),
        )));
        tls_addr = Some(addr);
        tracing::info!(addr = %addr, domains = ?state.certs.served_domains(), "poolgate listening for HTTPS");
    }
    let mut metrics_addr = None;
    let mut metrics_task = None;
    if let Some(l) = metrics_listener {
        let addr = l.local_addr().map_err(|source| StartError::Listen {
            addr: local,
            source,
        })?;
        let metrics_app =
            serve::with_request_timeouts(crate::http::ops::metrics_router(state.clone()));
        metrics_task = Some(tokio::spawn(serve::serve(
            l,
            plain.clone(),
            metrics_app,
            stop.subscribe(),
        )));
        metrics_addr = Some(addr);
        tracing::info!(addr = %addr, "metrics listening");
    }
    crate::flow::saml_refresh::spawn_refresh(state.flow.clone(), stop.subscribe());
    // Import jobs a stopped gateway left running end now (a SQLite file has one
    // gateway, so all of them), or once their heartbeat ages (a shared store).
    crate::admin::imports::spawn_recovery(
        state.admin.clone(),
        store.kind() == "sqlite",
        stop.subscribe(),
    )
    .await;
    let task = tokio::spawn(serve::serve(listener, plain, app, rx));
    tracing::info!(addr = %local, public_url = %state.settings.public_url, store = store.kind(), "poolgate listening");
    Ok(Running {
        addr: local,
        tls_addr,
        metrics_addr,
        state,
        store,
        stop,
        task,
        tls_task,
        metrics_task,
    })
}
