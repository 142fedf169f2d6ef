//! The certificates served by SNI: an in-memory map from host name to certificate,
//! rebuilt from the store's domains (and `POOLGATE_CERTS_DIR` files for domains without
//! one) every 500 ms by a background task, and at once when this instance changes a
//! domain. Handshakes only read the map, so a slow store never stalls them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use super::{LoadedCert, host_of, load_pair};
use crate::clock::SharedClock;
use crate::metrics::{DomainLabels, Metrics};
use crate::model::DomainRecord;
use crate::secret::sha256_hex;
use crate::store::{SharedBackend, StoreError};

/// How often the map is rebuilt from the store (changes made through another instance
/// are served within this).
pub const REFRESH_EVERY: Duration = Duration::from_millis(500);
/// Certificates expiring within this are warned about in the log.
const WARN_AHEAD_S: i64 = 30 * 86_400;

/// One domain's certificate as last loaded; `cert` is `None` when it was refused.
struct Entry {
    fingerprint: String,
    cert: Option<Arc<LoadedCert>>,
}

#[derive(Default)]
struct Snapshot {
    /// Host (no port) -> (preference, certificate).
    by_host: HashMap<String, (u8, Arc<CertifiedKey>)>,
    /// Domain -> what was loaded for it.
    loaded: HashMap<String, Entry>,
}

pub struct CertStore {
    backend: SharedBackend,
    certs_dir: PathBuf,
    metrics: Arc<Metrics>,
    clock: SharedClock,
    /// Host of the default pool's public URL: its certificate answers handshakes without
    /// SNI (clients send none for an IP address).
    default_host: String,
    /// Port of the HTTPS listener (0 until bound): a domain naming this port wins over
    /// another domain of the same host.
    tls_port: AtomicU16,
    snapshot: RwLock<Snapshot>,
    warned: RwLock<HashSet<String>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl CertStore {
    pub fn new(
        backend: SharedBackend,
        certs_dir: PathBuf,
        metrics: Arc<Metrics>,
        clock: SharedClock,
        default_domain: &str,
    ) -> Self {
        Self {
            backend,
            certs_dir,
            metrics,
            clock,
            default_host: host_of(default_domain).to_ascii_lowercase(),
            tls_port: AtomicU16::new(0),
            snapshot: RwLock::default(),
            warned: RwLock::default(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn set_tls_port(&self, port: u16) {
        self.tls_port.store(port, Ordering::Relaxed);
    }

    /// The certificate served for an SNI host name.
    pub fn lookup(&self, sni: &str) -> Option<Arc<CertifiedKey>> {
        let host = sni.trim_end_matches('.').to_ascii_lowercase();
        let snap = self.snapshot.read().ok()?;
        snap.by_host.get(&host).map(|(_, c)| c.clone())
    }

    /// Domains that currently have a certificate served.
    pub fn served_domains(&self) -> Vec<String> {
        self.snapshot
            .read()
            .map(|s| {
                s.loaded
                    .iter()
                    .filter(|(_, e)| e.cert.is_some())
                    .map(|(d, _)| d.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rebuilds the map from the store and the certificates folder. Unchanged pairs are
    /// not parsed again; a pair that fails its checks is logged once and not served.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let records = self.backend.list_domains(None).await?;
        let now = self.clock.now();
        let port = self.tls_port.load(Ordering::Relaxed);
        let mut next = Snapshot::default();
        let mut previous = match self.snapshot.write() {
            Ok(mut s) => std::mem::take(&mut s.loaded),
            Err(_) => HashMap::new(),
        };
        for rec in &records {
            let Some((source, cert_pem, key_pem)) = self.material(rec) else {
                continue;
            };
            let fingerprint = sha256_hex(&format!("{cert_pem}\n{key_pem}"));
            let entry = match previous.remove(&rec.domain) {
                Some(e) if e.fingerprint == fingerprint => e,
                _ => Entry {
                    cert: self.load(rec, &source, &cert_pem, &key_pem, now),
                    fingerprint,
                },
            };
            if let Some(c) = &entry.cert {
                self.observe_expiry(&rec.domain, &entry.fingerprint, c, now);
                let host = host_of(&rec.domain).to_owned();
                let preference = match rec.domain.rsplit_once(':').map(|(_, p)| p.parse::<u16>()) {
                    Some(Ok(p)) if p == port => 2,
                    None => 1,
                    _ => 0,
                };
                let better = next
                    .by_host
                    .get(&host)
                    .is_none_or(|(have, _)| preference > *have);
                if better {
                    next.by_host.insert(host, (preference, c.certified.clone()));
                }
            }
            next.loaded.insert(rec.domain.clone(), entry);
        }
        // Domains removed (or whose certificate went away) leave the gauge too.
        for gone in previous.keys() {
            self.metrics.cert_expiry_seconds.remove(&DomainLabels {
                domain: gone.clone(),
            });
        }
        if let Ok(mut s) = self.snapshot.write() {
            *s = next;
        }
        Ok(())
    }

    /// The pair of a domain: from its record, else `{domain}.crt|.pem` + `{domain}.key`
    /// in the certificates folder (also tried with the host alone when the domain has a
    /// port).
    fn material(&self, rec: &DomainRecord) -> Option<(String, String, String)> {
        if let (Some(c), Some(k)) = (&rec.certificate_pem, &rec.private_key_pem) {
            return Some(("the store".into(), c.clone(), k.clone()));
        }
        let host = host_of(&rec.domain);
        let mut stems = vec![rec.domain.as_str()];
        if host != rec.domain {
            stems.push(host);
        }
        for stem in stems {
            if !safe_stem(stem) {
                continue;
            }
            let key_path = self.certs_dir.join(format!("{stem}.key"));
            for ext in ["crt", "pem"] {
                let cert_path = self.certs_dir.join(format!("{stem}.{ext}"));
                if let (Some(c), Some(k)) = (read(&cert_path), read(&key_path)) {
                    return Some((cert_path.display().to_string(), c, k));
                }
            }
        }
        None
    }

    fn load(
        &self,
        rec: &DomainRecord,
        source: &str,
        cert_pem: &str,
        key_pem: &str,
        now: i64,
    ) -> Option<Arc<LoadedCert>> {
        let loaded = match load_pair(cert_pem, key_pem) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(domain = %rec.domain, source, error = %e, "TLS certificate refused; the domain is not served over TLS");
                return None;
            }
        };
        if !loaded.covers(&rec.domain) {
            tracing::error!(domain = %rec.domain, source, names = ?loaded.dns_names, "TLS certificate does not name the domain; not served");
            return None;
        }
        if loaded.not_after <= now {
            // Still served: an expired certificate fails loudly in clients, which is
            // easier to diagnose than a missing one.
            tracing::error!(domain = %rec.domain, source, "TLS certificate has expired");
        }
        tracing::info!(domain = %rec.domain, source, not_after = loaded.not_after, "TLS certificate loaded");
        Some(Arc::new(loaded))
    }

    fn observe_expiry(&self, domain: &str, fingerprint: &str, c: &LoadedCert, now: i64) {
        let left = c.not_after - now;
        self.metrics
            .cert_expiry_seconds
            .get_or_create(&DomainLabels {
                domain: domain.to_owned(),
            })
            .set(left);
        if left < WARN_AHEAD_S {
            let first = self
                .warned
                .write()
                .map(|mut w| w.insert(fingerprint.to_owned()))
                .unwrap_or(false);
            if first {
                tracing::warn!(
                    domain,
                    days_left = left / 86_400,
                    "TLS certificate expires within 30 days; replace it"
                );
            }
        }
    }

    /// Refreshes every [`REFRESH_EVERY`] until `stop` turns true.
    pub fn spawn_refresher(self: &Arc<Self>, mut stop: watch::Receiver<bool>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(REFRESH_EVERY) => {}
                    r = stop.changed() => if r.is_err() || *stop.borrow() { break },
                }
                match me.refresh().await {
                    Ok(()) => failing = false,
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "cannot refresh TLS certificates; serving the last ones");
                    }
                    Err(_) => {}
                }
            }
        });
    }
}

/// A domain used as a file name: no path separators, no leading dot.
fn safe_stem(stem: &str) -> bool {
    !stem.is_empty()
        && !stem.starts_with('.')
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
}

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

/// rustls' hook: the certificate for the client's SNI name; without SNI, the default
/// pool's. A name no pool serves gets no certificate and the handshake fails.
#[derive(Clone)]
pub struct SniResolver(pub Arc<CertStore>);

impl std::fmt::Debug for SniResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SniResolver")
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let Some(name) = hello.server_name() else {
            return self.0.lookup(&self.0.default_host);
        };
        let found = self.0.lookup(name);
        if found.is_none() {
            tracing::debug!(sni = name, "no certificate for this name");
        }
        found
    }
}
