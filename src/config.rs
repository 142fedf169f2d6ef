//! Settings (interface.md section 1): defaults, then the TOML file, then `POOLGATE_*`
//! variables, then `*_FILE` variants for secrets. Validated once at start, reporting
//! every problem with its key. Passed down through state: no global config.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

mod console;

pub use console::ConsoleAccess;
use console::console_access;

/// The settings file as written (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    tls_listen: Option<String>,
    public_url: Option<String>,
    store: Option<String>,
    admin_token: Option<String>,
    admin_token_file: Option<String>,
    secret_key: Option<String>,
    secret_key_file: Option<String>,
    providers_dir: Option<String>,
    certs_dir: Option<String>,
    upstream_ca_file: Option<String>,
    aws_access_key_id: Option<String>,
    metrics_listen: Option<String>,
    rate_limit_ip: Option<u32>,
    rate_limit_client: Option<u32>,
    import_max_bytes: Option<u64>,
    trusted_proxies: Option<String>,
    log: Option<String>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    console_pool: Option<String>,
    console_group: Option<String>,
}

/// Default budgets of the rate limits, requests per second (bursts twice that): far
/// above what one browser or one app's users send, far below a flood.
pub const DEFAULT_RATE_LIMIT_IP: u32 = 200;
pub const DEFAULT_RATE_LIMIT_CLIENT: u32 = 1000;
/// Largest CSV a user import job's `PreSignedUrl` takes (Cognito: 100 MB).
pub const DEFAULT_IMPORT_MAX_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub tls_listen: Option<SocketAddr>,
    pub public_url: Url,
    pub store: String,
    /// `None`: generate one on first start and keep it in the data folder.
    pub admin_token: Option<String>,
    /// The key client secrets are sealed with. `None`: generate one on first start
    /// and keep it in the data folder, beside the admin token.
    pub secret_key: Option<crate::secret::SecretKey>,
    pub providers_dir: PathBuf,
    pub certs_dir: PathBuf,
    pub upstream_ca_file: Option<PathBuf>,
    /// Access key id of the Cognito API's SigV4 credentials (the secret is the admin
    /// token).
    pub aws_access_key_id: String,
    /// A separate listener serving `/metrics` without the admin token.
    pub metrics_listen: Option<SocketAddr>,
    /// Requests per second per client IP on each rate-limited endpoint group (0: off).
    pub rate_limit_ip: u32,
    /// Requests per second per app client on each rate-limited endpoint group (0: off).
    pub rate_limit_client: u32,
    /// Largest CSV upload to an import job's `PreSignedUrl`, in bytes.
    pub import_max_bytes: u64,
    /// Peers whose `X-Forwarded-For` / `Forwarded` name the client (reverse proxies);
    /// empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub log: String,
    /// `POOLGATE_SMTP_URL`: where mail to native users goes (`None`: no mail).
    pub smtp_url: Option<String>,
    /// `POOLGATE_SMTP_FROM`: the sender of that mail.
    pub smtp_from: String,
    /// `POOLGATE_CONSOLE_POOL` and `POOLGATE_CONSOLE_GROUP`: the console's second
    /// sign-in, through that pool's own sign-in, for members of that group.
    pub console_access: Option<ConsoleAccess>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("tls_listen", &self.tls_listen)
            .field("public_url", &self.public_url.as_str())
            .field("store", &redact_url(&self.store))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("providers_dir", &self.providers_dir)
            .field("certs_dir", &self.certs_dir)
            .field("aws_access_key_id", &self.aws_access_key_id)
            .field("metrics_listen", &self.metrics_listen)
            .field("rate_limit_ip", &self.rate_limit_ip)
            .field("rate_limit_client", &self.rate_limit_client)
            .field("import_max_bytes", &self.import_max_bytes)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field("console_access", &self.console_access)
            .finish()
    }
}

/// Hides a password in a store URL (`redis://:secret@host`, also the multi-host
/// `redis+cluster://u:secret@h1:p1,h2:p2` that no URL parser takes).
pub fn redact_url(u: &str) -> String {
    let Some((scheme, rest)) = u.split_once("://") else {
        return u.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{hosts}{tail}"),
            None => u.to_owned(),
        },
        None => u.to_owned(),
    }
}

/// Every bad setting, one line each.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid settings: {}", self.0.join("; "))
    }
}

impl std::error::Error for ConfigErrors {}

/// A list of addresses and CIDR blocks separated by commas or spaces (`10.0.0.0/8,
/// 192.0.2.7, 2001:db8::/32`); a bare address is a block of one. `Err` names the first
/// entry that is neither.
pub fn parse_cidrs(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| s.to_owned())
        })
        .collect()
}

/// True for hosts where plain `http` is allowed (interface.md section 2).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if h == "localhost" || h.ends_with(".localhost") || h == "::1" {
        return true;
    }
    h.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

impl Settings {
    /// Loads from an optional TOML file and the given environment.
    pub fn load(
        file: Option<&std::path::Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let fs: FileSettings = match file {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => toml::from_str(&text).unwrap_or_else(|e| {
                    errors.push(format!("config file {}: {}", p.display(), e.message()));
                    FileSettings::default()
                }),
                Err(e) => {
                    errors.push(format!("config file {}: {e}", p.display()));
                    FileSettings::default()
                }
            },
            None => FileSettings::default(),
        };
        let pick = |var: &str, file: &Option<String>, default: Option<&str>| -> Option<String> {
            env.get(var)
                .filter(|v| !v.is_empty())
                .cloned()
                .or_else(|| file.clone())
                .or_else(|| default.map(str::to_owned))
        };
        let listen_s =
            pick("POOLGATE_LISTEN", &fs.listen, Some("127.0.0.1:8080")).unwrap_or_default();
        let listen = listen_s.parse::<SocketAddr>().map_err(|_| {
            errors.push(format!(
                "POOLGATE_LISTEN: not a socket address: {listen_s:?}"
            ));
        });
        let tls_listen = match pick("POOLGATE_TLS_LISTEN", &fs.tls_listen, None) {
            None => Ok(None),
            Some(s) => s.parse::<SocketAddr>().map(Some).map_err(|_| {
                errors.push(format!("POOLGATE_TLS_LISTEN: not a socket address: {s:?}"));
            }),
        };
        let pu = pick(
            "POOLGATE_PUBLIC_URL",
            &fs.public_url,
            Some("http://localhost:8080"),
        )
        .unwrap_or_default();
        let public_url = match Url::parse(&pu) {
            Ok(u) if u.host_str().is_none() || !matches!(u.scheme(), "http" | "https") => {
                errors.push(format!(
                    "POOLGATE_PUBLIC_URL: must be an http(s) URL with a host: {pu:?}"
                ));
                Err(())
            }
            Ok(u)
                if u.scheme() == "http" && !is_loopback_host(u.host_str().unwrap_or_default()) =>
            {
                errors.push(format!(
                    "POOLGATE_PUBLIC_URL: plain http is allowed only for loopback hosts: {pu:?}"
                ));
                Err(())
            }
            Ok(u) if u.path() != "/" || u.query().is_some() => {
                errors.push(format!(
                    "POOLGATE_PUBLIC_URL: must have no path or query: {pu:?}"
                ));
                Err(())
            }
            Ok(u) => Ok(u),
            Err(e) => {
                errors.push(format!("POOLGATE_PUBLIC_URL: {e}: {pu:?}"));
                Err(())
            }
        };
        let store = pick(
            "POOLGATE_STORE",
            &fs.store,
            Some("sqlite://data/poolgate.db"),
        )
        .unwrap_or_default();
        if !(store.starts_with("sqlite://") && store.len() > 9
            || [
                "redis://",
                "rediss://",
                "redis+cluster://",
                "rediss+cluster://",
            ]
            .iter()
            .chain(&["redis+sentinel://", "rediss+sentinel://"])
            .any(|p| store.starts_with(p)))
        {
            errors.push(format!(
                "POOLGATE_STORE: expected sqlite://PATH, redis://HOST:PORT/DB, \
                 redis+cluster://H1:P1,H2:P2 or redis+sentinel://S1:P1,S2:P2/MASTER, got {:?}",
                redact_url(&store)
            ));
        }
        let mut admin_token = pick("POOLGATE_ADMIN_TOKEN", &fs.admin_token, None);
        if let Some(path) = pick("POOLGATE_ADMIN_TOKEN_FILE", &fs.admin_token_file, None) {
            match std::fs::read_to_string(&path) {
                Ok(t) => admin_token = Some(t.trim().to_owned()),
                Err(e) => errors.push(format!(
                    "POOLGATE_ADMIN_TOKEN_FILE: cannot read {path}: {e}"
                )),
            }
        }
        if let Some(t) = &admin_token
            && t.len() < 16
        {
            errors.push("POOLGATE_ADMIN_TOKEN: must be at least 16 characters".to_owned());
        }
        let mut secret_key_text = pick("POOLGATE_SECRET_KEY", &fs.secret_key, None);
        if let Some(path) = pick("POOLGATE_SECRET_KEY_FILE", &fs.secret_key_file, None) {
            match std::fs::read_to_string(&path) {
                Ok(t) => secret_key_text = Some(t),
                Err(e) => errors.push(format!("POOLGATE_SECRET_KEY_FILE: cannot read {path}: {e}")),
            }
        }
        let secret_key = secret_key_text.and_then(|t| {
            let k = crate::secret::SecretKey::parse(&t);
            if k.is_none() {
                errors.push(
                    "POOLGATE_SECRET_KEY: expected 32 bytes as 64 hex digits or base64".to_owned(),
                );
            }
            k
        });
        let providers_dir = PathBuf::from(
            pick(
                "POOLGATE_PROVIDERS_DIR",
                &fs.providers_dir,
                Some("providers"),
            )
            .unwrap_or_default(),
        );
        let certs_dir = PathBuf::from(
            pick("POOLGATE_CERTS_DIR", &fs.certs_dir, Some("certs")).unwrap_or_default(),
        );
        let upstream_ca_file =
            pick("POOLGATE_UPSTREAM_CA_FILE", &fs.upstream_ca_file, None).map(PathBuf::from);
        if let Some(p) = &upstream_ca_file
            && std::fs::metadata(p).is_err()
        {
            errors.push(format!(
                "POOLGATE_UPSTREAM_CA_FILE: cannot read {}",
                p.display()
            ));
        }
        let aws_access_key_id = pick(
            "POOLGATE_AWS_ACCESS_KEY_ID",
            &fs.aws_access_key_id,
            Some("poolgate"),
        )
        .unwrap_or_default();
        // What a credential scope can carry: no '/', no spaces.
        if aws_access_key_id.is_empty()
            || aws_access_key_id.len() > 128
            || !aws_access_key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-+=.,@".contains(&b))
        {
            errors.push(
                "POOLGATE_AWS_ACCESS_KEY_ID: 1 to 128 of letters, digits and _-+=.,@".to_owned(),
            );
        }
        let metrics_listen = match pick("POOLGATE_METRICS_LISTEN", &fs.metrics_listen, None) {
            None => None,
            Some(s) => s
                .parse::<SocketAddr>()
                .map_err(|_| {
                    errors.push(format!(
                        "POOLGATE_METRICS_LISTEN: not a socket address: {s:?}"
                    ));
                })
                .ok(),
        };
        let mut rate = |var: &str, file: Option<u32>, default: u32| -> u32 {
            match env.get(var).filter(|v| !v.is_empty()) {
                Some(v) => v.trim().parse::<u32>().unwrap_or_else(|_| {
                    errors.push(format!("{var}: not a number of requests per second: {v:?}"));
                    default
                }),
                None => file.unwrap_or(default),
            }
        };
        let rate_limit_ip = rate(
            "POOLGATE_RATE_LIMIT_IP",
            fs.rate_limit_ip,
            DEFAULT_RATE_LIMIT_IP,
        );
        let rate_limit_client = rate(
            "POOLGATE_RATE_LIMIT_CLIENT",
            fs.rate_limit_client,
            DEFAULT_RATE_LIMIT_CLIENT,
        );
        let import_max_bytes = match env
            .get("POOLGATE_IMPORT_MAX_BYTES")
            .filter(|v| !v.is_empty())
        {
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(|| {
                    errors.push(format!(
                        "POOLGATE_IMPORT_MAX_BYTES: not a positive number of bytes: {v:?}"
                    ));
                    DEFAULT_IMPORT_MAX_BYTES
                }),
            None => fs.import_max_bytes.unwrap_or(DEFAULT_IMPORT_MAX_BYTES),
        };
        let trusted_proxies = match pick("POOLGATE_TRUSTED_PROXIES", &fs.trusted_proxies, None) {
            None => Vec::new(),
            Some(list) => parse_cidrs(&list).unwrap_or_else(|bad| {
                errors.push(format!(
                    "POOLGATE_TRUSTED_PROXIES: not an address or CIDR block: {bad:?}"
                ));
                Vec::new()
            }),
        };
        let log = pick("RUST_LOG", &fs.log, Some("info")).unwrap_or_default();
        let smtp_url = pick("POOLGATE_SMTP_URL", &fs.smtp_url, None);
        if let Some(u) = &smtp_url {
            let ok = Url::parse(u).is_ok_and(|p| {
                matches!(p.scheme(), "smtp" | "smtps")
                    && p.host_str().is_some_and(|h| !h.is_empty())
            });
            if !ok {
                errors.push(format!(
                    "POOLGATE_SMTP_URL: not an smtp:// or smtps:// URL with a host: {:?}",
                    redact_url(u)
                ));
            }
        }
        let smtp_from = pick(
            "POOLGATE_SMTP_FROM",
            &fs.smtp_from,
            Some("poolgate <no-reply@localhost>"),
        )
        .unwrap_or_default();
        if smtp_url.is_some() && smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            errors.push(format!(
                "POOLGATE_SMTP_FROM: not a mail address: {smtp_from:?}"
            ));
        }
        let console_access = console_access(
            pick("POOLGATE_CONSOLE_POOL", &fs.console_pool, None),
            pick("POOLGATE_CONSOLE_GROUP", &fs.console_group, None),
            &mut errors,
        );
        match (listen, tls_listen, public_url, errors.is_empty()) {
            (Ok(listen), Ok(tls_listen), Ok(public_url), true) => Ok(Settings {
                listen,
                tls_listen,
                public_url,
                store,
                admin_token,
                secret_key,
                providers_dir,
                certs_dir,
                upstream_ca_file,
                aws_access_key_id,
                metrics_listen,
                rate_limit_ip,
                rate_limit_client,
                import_max_bytes,
                trusted_proxies,
                log,
                smtp_url,
                smtp_from,
                console_access,
            }),
            _ => Err(ConfigErrors(errors)),
        }
    }

    /// `host[:port]` of the default pool, as a Host header carries it.
    pub fn public_domain(&self) -> String {
        let host = self.public_url.host_str().unwrap_or("localhost");
        match self.public_url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }
    }

    /// Where the store keeps files (the SQLite file's folder, else `data`).
    pub fn data_dir(&self) -> PathBuf {
        self.store
            .strip_prefix("sqlite://")
            .and_then(|p| std::path::Path::new(p).parent().map(|d| d.to_path_buf()))
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("data"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_url_passwords_are_redacted_in_every_form() {
        assert_eq!(
            redact_url("redis://:s3cret@h:6379/0"),
            "redis://:***@h:6379/0"
        );
        assert_eq!(
            redact_url("rediss+cluster://u:s3cr@t@a:1,b:2"),
            "rediss+cluster://u:***@a:1,b:2"
        );
        assert_eq!(
            redact_url("redis+sentinel://:s3cret@s1:1,s2:2/m/1"),
            "redis+sentinel://:***@s1:1,s2:2/m/1"
        );
        assert_eq!(redact_url("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
        let e = Settings::load(
            None,
            &env(&[("POOLGATE_STORE", "redis+x://:s3cret@a:1,b:2")]),
        )
        .map(drop)
        .expect_err("unknown scheme");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        for ok in ["redis+cluster://a:1,b:2", "redis+sentinel://a:1,b:2/m"] {
            assert!(
                Settings::load(None, &env(&[("POOLGATE_STORE", ok)]))
                    .err()
                    .is_none_or(|e| !e.to_string().contains("POOLGATE_STORE")),
                "{ok}"
            );
        }
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let s = Settings::load(None, &env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_domain(), "localhost:8080");
        assert_eq!(s.store, "sqlite://data/poolgate.db");
        assert_eq!(s.aws_access_key_id, "poolgate");
        let s = Settings::load(None, &env(&[("POOLGATE_AWS_ACCESS_KEY_ID", "AKIDPOOL")])).unwrap();
        assert_eq!(s.aws_access_key_id, "AKIDPOOL");
        assert!(Settings::load(None, &env(&[("POOLGATE_AWS_ACCESS_KEY_ID", "a/b")])).is_err());
    }

    #[test]
    fn every_bad_setting_is_reported() {
        let e = Settings::load(
            None,
            &env(&[
                ("POOLGATE_LISTEN", "nope"),
                ("POOLGATE_PUBLIC_URL", "http://example.com"),
                ("POOLGATE_STORE", "mysql://x"),
                ("POOLGATE_ADMIN_TOKEN", "short"),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 4, "{e}");
        for key in [
            "POOLGATE_LISTEN",
            "POOLGATE_PUBLIC_URL",
            "POOLGATE_STORE",
            "POOLGATE_ADMIN_TOKEN",
        ] {
            assert!(
                e.0.iter().any(|l| l.starts_with(key)),
                "{key} missing in {e}"
            );
        }
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("poolgate.toml");
        std::fs::write(
            &p,
            "listen = \"127.0.0.1:9000\"\nstore = \"sqlite://x/y.db\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&p), &env(&[("POOLGATE_LISTEN", "127.0.0.1:9001")])).unwrap();
        assert_eq!(s.listen.port(), 9001);
        assert_eq!(s.store, "sqlite://x/y.db");
        std::fs::write(&p, "lisen = 1\n").unwrap();
        assert!(Settings::load(Some(&p), &env(&[])).is_err());
    }
}
