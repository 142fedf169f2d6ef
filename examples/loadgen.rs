//! Load driver: prints, in one run, the figures the README reports.
//!   - pool-token signatures/s (RS256, ES256) on one core and on every core: the ceiling;
//!   - `/oauth2/token` authorization_code exchanges/s and refresh grants/s over real HTTP,
//!     with p50/p99 latency, against that ceiling (two signatures per response);
//!   - complete federated sign-ins/s (authorize -> fake OIDC upstream -> callback ->
//!     code exchange) with ES256 pool tokens;
//!   - idle RSS of a freshly started `poolgate serve`.
//!
//! The HTTP figures are measured on SQLite and then on Redis, side by side: on
//! `LOADGEN_REDIS_URL` when set, else on a throwaway `redis-server` started on a free
//! loopback port when one is installed.
//!
//! Then, against `poolgate serve` as a separate process (its own CPU time per operation
//! read from /proc), the phases of `bench/phases.rs`: ES256 and EdDSA token grants,
//! OIDC sign-ins with and without a pre-token hook, SAML sign-ins over HTTP, each again
//! at half its peak rate, and with Redis two instances pinned to a core each; and those
//! of `bench/native.rs`: native users' password and SRP sign-ins (the Argon2id cost
//! printed), and refresh grants alone and while password hashing runs.
//!
//! Run: `make bench` (builds in release mode). Bounded: every phase stops by itself.
//! Everything runs on 127.0.0.1 only. `LOADGEN_N` sets the operations per phase (3000),
//! `LOADGEN_STORES=sqlite` skips Redis, `LOADGEN_PART=inprocess` or `process` runs only
//! one of the two parts, `LOADGEN_PHASES=es256,eddsa,oidc,native,saml` (any of them) only
//! those phases of the process part, and `LOADGEN_PERF_CTL`/`LOADGEN_PERF_PHASE`
//! profile one phase of the in-process part (see `perf_control`).

/// The allocator of the `poolgate` binary (src/main.rs), so that the in-process
/// gateway is measured as it ships.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/it/fakes/mod.rs"]
mod fakes;
#[path = "bench/gateway.rs"]
mod gateway;
#[allow(dead_code)]
#[path = "../tests/it/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "hook_server.rs"]
mod hook_server;
#[path = "bench/native.rs"]
mod native;
#[path = "bench/phases.rs"]
mod phases;
#[allow(dead_code)]
#[path = "../tests/it/redis_server.rs"]
mod redis_server;
#[allow(dead_code)]
#[path = "../tests/it/saml_fixtures.rs"]
mod saml_fixtures;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use harness::{Gw, app_client_body, authorize_url, pkce};
use poolgate::model::SigningAlg;
use poolgate::token::{SigningKey, TokenType};
use serde_json::{Value, json};

const CB: &str = "http://127.0.0.1:9/cb";
const WORKERS: usize = 16;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Figure {
    name: String,
    per_s: f64,
    p50: Duration,
    p99: Duration,
    /// CPU time of this whole process (driver, gateway and fake upstream) per operation.
    cpu_per_op: Duration,
    /// For token phases: the signature ceiling (responses/s) measured right before and
    /// right after the phase.
    ceiling: Option<(f64, f64)>,
}

/// The ceiling in token responses/s (two RS256 signatures each) on every core, measured
/// now: the machine's speed drifts during a run (other tenants), so each token phase is
/// compared with ceilings taken just before and just after it, once the previous phase's
/// background work (WAL checkpoint, the kernel's writeback) has settled.
async fn ceiling_now() -> f64 {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    tokio::task::spawn_blocking(move || signatures(SigningAlg::RS256, cores, 1.5))
        .await
        .unwrap_or(0.0)
        / 2.0
}

/// CPU time (user + system) this process has used so far, from /proc/self/stat.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesized command name; utime and stime are the 12th and
    // 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

impl Figure {
    fn print(&self) {
        println!(
            "{:<44} {:>9.0}/s   p50 {:>6.2} ms   p99 {:>6.2} ms   cpu {:>5.0} us/op",
            self.name,
            self.per_s,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.cpu_per_op.as_secs_f64() * 1e6
        );
    }
}

/// Signatures per second with `threads` threads for about `secs`.
fn signatures(alg: SigningAlg, threads: usize, secs: f64) -> f64 {
    let (key, _) = SigningKey::generate(alg).expect("key");
    let key = Arc::new(key);
    let claims = json!({"iss": "http://127.0.0.1:8080", "sub": "4f1c2a7e-0000-4000-8000-000000000000", "token_use": "access", "scope": "openid email profile", "iat": 1, "exp": 2, "jti": "x"});
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (key, claims, count) = (key.clone(), claims.clone(), count.clone());
            std::thread::spawn(move || {
                while start.elapsed().as_secs_f64() < secs {
                    for _ in 0..50 {
                        let _ = key.sign(TokenType::AccessToken, &claims);
                    }
                    count.fetch_add(50, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Profiling one phase: with `perf record --delay=-1 --control fifo:CTL`, set
/// `LOADGEN_PERF_CTL=CTL` and `LOADGEN_PERF_PHASE=<part of a phase name>`.
fn perf_control(phase: &str, cmd: &str) {
    let (Ok(ctl), Ok(want)) = (
        std::env::var("LOADGEN_PERF_CTL"),
        std::env::var("LOADGEN_PERF_PHASE"),
    ) else {
        return;
    };
    if phase.contains(&want) {
        let _ = std::fs::write(ctl, format!("{cmd}\n"));
    }
}

/// A minimal HTTP/1.1 keep-alive connection, as a load driver like wrk uses: requests
/// written from prepared bytes, responses read by Content-Length. The token phases use
/// it so that the driver's own cost (URL parsing, header maps, cookie jars of a full
/// client) takes as little of the shared cores as possible.
struct RawConn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
    port: u16,
}

impl RawConn {
    async fn connect(port: u16) -> Self {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            buf: Vec::with_capacity(8192),
            port,
        }
    }

    /// POSTs a form; the status and the JSON body (Null when not JSON).
    async fn post_form(&mut self, head: &str, body: &str) -> (u16, Value) {
        let req = format!("{head}Content-Length: {}\r\n\r\n{body}", body.len());
        match self.exchange(&req).await {
            Some(r) => (
                r.status,
                serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            ),
            None => (0, Value::Null),
        }
    }

    /// GETs `path_and_query` from `host`, sending `cookie` when given.
    async fn get(
        &mut self,
        host: &str,
        path_and_query: &str,
        cookie: Option<&str>,
    ) -> Option<Reply> {
        let cookie = cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let req = format!("GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\n{cookie}\r\n");
        self.exchange(&req).await
    }

    /// Writes one request and reads its response (Content-Length bodies only). A
    /// connection the server closed while idle (nothing of a response read) is opened
    /// again and the request sent once more: it was never processed.
    async fn exchange(&mut self, req: &str) -> Option<Reply> {
        if let Some(r) = self.exchange_once(req).await {
            return Some(r);
        }
        if !self.buf.is_empty() {
            return None;
        }
        *self = Self::connect(self.port).await;
        self.exchange_once(req).await
    }

    async fn exchange_once(&mut self, req: &str) -> Option<Reply> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.buf.clear();
        self.stream.write_all(req.as_bytes()).await.ok()?;
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let mut lines = head.split("\r\n");
                let status = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    match self.stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return None,
                        Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = self.buf[end + 4..end + 4 + len].to_vec();
                return Some(Reply {
                    status,
                    headers,
                    body,
                });
            }
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

struct Reply {
    status: u16,
    /// Lower-cased names, in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Runs `op` from WORKERS tasks until `total` operations are done; a figure.
async fn drive<F, Fut>(name: &str, total: usize, op: F) -> Figure
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = process_cpu();
    perf_control(name, "enable");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                if !op(w, i).await {
                    failed += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, failed)
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await.expect("worker");
        all.extend(l);
        failed += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    perf_control(name, "disable");
    let cpu = process_cpu().saturating_sub(cpu0);
    assert_eq!(failed, 0, "{name}: {failed} operations failed");
    all.sort();
    Figure {
        name: name.to_owned(),
        per_s: total as f64 / elapsed,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        cpu_per_op: cpu / total.max(1) as u32,
        ceiling: None,
    }
}

struct Bench {
    gw: Arc<Gw>,
    client: String,
    /// One keep-alive connection per worker to the gateway, and one to the upstream.
    conns: Vec<tokio::sync::Mutex<RawConn>>,
    fake_conns: Vec<tokio::sync::Mutex<RawConn>>,
    /// Request line and headers of a token request, up to Content-Length.
    token_head: String,
}

async fn setup(store: Option<&str>) -> (Bench, fakes::oidc::FakeHandle, Option<tempfile::TempDir>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = store
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sqlite://{}/bench.db", tmp.path().display()));
    // One driver from one address is the whole load: no rate limit.
    let gw = Gw::start_full(
        &store,
        tmp.path(),
        None,
        None,
        Arc::new(poolgate::clock::SystemClock),
        &[
            ("POOLGATE_RATE_LIMIT_IP", "0"),
            ("POOLGATE_RATE_LIMIT_CLIENT", "0"),
        ],
    )
    .await;
    // The upstream signs with ES256: an RS256 upstream would spend as much CPU on its
    // own signature as poolgate spends on a whole sign-in, on these same cores.
    let fake = fakes::oidc::start(fakes::oidc::OidcOpts {
        es256: true,
        algs: Some(vec!["ES256".into()]),
        ..Default::default()
    })
    .await;
    let o = fake.opts();
    gw.put_provider(
        "Corp",
        json!({"type": "OIDC", "details": {"issuer": fake.issuer(), "client_id": o.client_id, "client_secret": o.client_secret}}),
    )
    .await;
    let (client, secret) = gw.client(app_client_body(CB, &["Corp"], true)).await;
    let secret = secret.expect("secret");
    let (mut conns, mut fake_conns) = (Vec::new(), Vec::new());
    for _ in 0..WORKERS {
        conns.push(tokio::sync::Mutex::new(RawConn::connect(gw.port).await));
        let port = fake.base.port().expect("fake port");
        fake_conns.push(tokio::sync::Mutex::new(RawConn::connect(port).await));
    }
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client}:{secret}"));
    let token_head = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Basic {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        gw.port
    );
    (
        Bench {
            gw: Arc::new(gw),
            client,
            conns,
            fake_conns,
            token_head,
        },
        fake,
        Some(tmp),
    )
}

/// One federated sign-in up to the code, made as a browser makes it: three GETs
/// (gateway authorize, upstream authorize, gateway callback) on keep-alive connections,
/// the gateway's cookies sent back. Returns (code, verifier).
async fn sign_in(b: &Bench, w: usize) -> Option<(String, String)> {
    let (verifier, challenge) = pkce();
    let start = authorize_url(
        &b.gw,
        &b.client,
        CB,
        &[
            ("scope", "openid email profile"),
            ("identity_provider", "Corp"),
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let gw_host = format!("127.0.0.1:{}", b.gw.port);
    let mut gw = b.conns[w].lock().await;
    let r = gw.get(&gw_host, path_and_query(&start)?, None).await?;
    let cookie = r
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    let upstream = url::Url::parse(r.header("location")?).ok()?;
    let fake_host = format!("127.0.0.1:{}", upstream.port()?);
    let r = b.fake_conns[w]
        .lock()
        .await
        .get(&fake_host, path_and_query(upstream.as_str())?, None)
        .await?;
    let callback = r.header("location")?.to_owned();
    let r = gw
        .get(&gw_host, path_and_query(&callback)?, Some(&cookie))
        .await?;
    let landing = url::Url::parse(r.header("location")?).ok()?;
    if !landing.as_str().starts_with(CB) {
        return None;
    }
    let code = landing
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())?;
    Some((code, verifier))
}

/// `/path?query` of an absolute http URL.
fn path_and_query(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    rest.find('/').map(|i| &rest[i..])
}

async fn exchange(b: &Bench, w: usize, code: &str, verifier: &str) -> Option<Value> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", CB)
        .append_pair("code_verifier", verifier)
        .finish();
    let (s, v) = b.conns[w]
        .lock()
        .await
        .post_form(&b.token_head, &body)
        .await;
    (s == 200).then_some(v)
}

async fn run_store(label: &str, store: Option<&str>, n: usize) -> Vec<Figure> {
    let (b, _fake, _tmp) = setup(store).await;
    let b = Arc::new(b);
    let mut figs = Vec::new();

    // Codes for the exchange phase, made first (not timed).
    let codes = Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let (b2, codes2) = (b.clone(), codes.clone());
        drive("(warm-up sign-ins)", n, move |w, _| {
            let (b, codes) = (b2.clone(), codes2.clone());
            async move {
                let Some(c) = sign_in(&b, w).await else {
                    return false;
                };
                codes.lock().expect("lock").push(c);
                true
            }
        })
        .await;
    }
    let codes: Vec<(String, String)> = std::mem::take(&mut *codes.lock().expect("lock"));
    let codes = Arc::new(codes);
    let refresh = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (b2, codes2, refresh2) = (b.clone(), codes.clone(), refresh.clone());
    let ceiling = ceiling_now().await;
    let mut f = drive(
        &format!("[{label}] token: authorization_code (RS256)"),
        codes.len(),
        move |w, i| {
            let (b, codes, refresh) = (b2.clone(), codes2.clone(), refresh2.clone());
            async move {
                let (code, verifier) = &codes[i];
                let Some(v) = exchange(&b, w, code, verifier).await else {
                    return false;
                };
                refresh
                    .lock()
                    .expect("lock")
                    .push(v["refresh_token"].as_str().unwrap_or_default().to_owned());
                true
            }
        },
    )
    .await;
    f.ceiling = Some((ceiling, ceiling_now().await));
    figs.push(f);
    let tokens: Vec<String> = std::mem::take(&mut *refresh.lock().expect("lock"));
    let chains: Arc<Vec<std::sync::Mutex<String>>> =
        Arc::new(tokens.into_iter().map(std::sync::Mutex::new).collect());
    let (b2, chains2) = (b.clone(), chains.clone());
    // The ceiling measured after the previous phase is the one before this one.
    let ceiling = figs.last().and_then(|f| f.ceiling).map_or(0.0, |c| c.1);
    let mut f = drive(
        &format!("[{label}] token: refresh_token (RS256)"),
        chains.len(),
        move |w, i| {
            let (b, chains) = (b2.clone(), chains2.clone());
            async move {
                let rt = chains[i].lock().expect("lock").clone();
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", &rt)
                    .finish();
                let (s, v) = b.conns[w]
                    .lock()
                    .await
                    .post_form(&b.token_head, &body)
                    .await;
                if let Some(new) = v["refresh_token"].as_str() {
                    *chains[i].lock().expect("lock") = new.to_owned();
                }
                s == 200
            }
        },
    )
    .await;
    f.ceiling = Some((ceiling, ceiling_now().await));
    figs.push(f);

    // Complete federated sign-ins with ES256 pool tokens.
    let (s, v) =
        b.gw.admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"signing_alg": "ES256"}})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    tokio::time::sleep(Duration::from_millis(3200)).await; // key rings reload
    let b2 = b.clone();
    let f = drive(
        &format!("[{label}] complete federated sign-in (ES256)"),
        n,
        move |w, _| {
            let b = b2.clone();
            async move {
                let Some((code, verifier)) = sign_in(&b, w).await else {
                    return false;
                };
                exchange(&b, w, &code, &verifier).await.is_some_and(|v| {
                    v["id_token"]
                        .as_str()
                        .is_some_and(|t| t.contains("ES256") || !t.is_empty())
                })
            }
        },
    )
    .await;
    figs.push(f);
    for f in &figs {
        f.print();
        if let Some((before, after)) = f.ceiling {
            // The machine's speed drifts: the phase is compared with the mean of the
            // ceilings measured on either side of it. The CPU share is the signatures'
            // part of the phase's CPU time (at the ceiling, a response costs cores/c).
            let mean = (before + after) / 2.0;
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            let share = cores / mean / f.cpu_per_op.as_secs_f64().max(1e-9);
            println!(
                "{:<44} {:>9.0}%  of the ceiling around it ({before:.0} before, {after:.0} after); signatures {:.0}% of its CPU",
                "",
                100.0 * f.per_s / mean,
                100.0 * share
            );
        }
    }
    figs
}

/// Whether an executable named `name` is in one of PATH's directories.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(name)).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

fn idle_rss_kib() -> Option<(u64, String)> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("poolgate");
    if !bin.exists() {
        return None;
    }
    let tmp = tempfile::tempdir().ok()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    let port = listener.local_addr().ok()?.port();
    drop(listener);
    let mut child = std::process::Command::new(&bin)
        .arg("serve")
        .env("POOLGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("POOLGATE_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env(
            "POOLGATE_STORE",
            format!("sqlite://{}/p.db", tmp.path().display()),
        )
        .env("POOLGATE_ADMIN_TOKEN", "bench-admin-token-0123456789")
        // One driver from one address is the whole load: no rate limit.
        .env("POOLGATE_RATE_LIMIT_IP", "0")
        .env("POOLGATE_RATE_LIMIT_CLIENT", "0")
        .env("POOLGATE_PROVIDERS_DIR", tmp.path())
        .env("RUST_LOG", "warn")
        .spawn()
        .ok()?;
    std::thread::sleep(Duration::from_secs(2));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok();
    let _ = child.kill();
    let _ = child.wait();
    let line = status?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .to_owned();
    let kib = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib, bin.display().to_string()))
}

fn main() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "poolgate load driver: {cores} cores, {WORKERS} concurrent clients over loopback HTTP"
    );
    let rs1 = signatures(SigningAlg::RS256, 1, 1.5);
    let rsn = signatures(SigningAlg::RS256, cores, 1.5);
    let es1 = signatures(SigningAlg::ES256, 1, 1.0);
    let esn = signatures(SigningAlg::ES256, cores, 1.0);
    println!(
        "{:<44} {:>9.0}/s (1 core)   {:>9.0}/s ({cores} cores)",
        "RS256 signatures", rs1, rsn
    );
    println!(
        "{:<44} {:>9.0}/s (1 core)   {:>9.0}/s ({cores} cores)",
        "ES256 signatures", es1, esn
    );
    let ceiling = rsn / 2.0;
    println!(
        "{:<44} {:>9.0}/s   cpu {:>5.0} us/op",
        "ceiling: token responses (2 RS256 signatures)",
        ceiling,
        2e6 / rs1
    );

    let n: usize = std::env::var("LOADGEN_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let part = std::env::var("LOADGEN_PART").unwrap_or_default();
    let sqlite_only = std::env::var("LOADGEN_STORES").is_ok_and(|v| v == "sqlite");
    rt.block_on(async {
        if part != "process" {
            in_process(n, sqlite_only).await;
        }
        if part != "inprocess" {
            process_part(n, sqlite_only).await;
        }
    });
    match idle_rss_kib() {
        Some((kib, _)) => println!(
            "{:<44} {:>9.1} MB",
            "idle RSS of poolgate serve",
            kib as f64 / 1024.0
        ),
        None => println!("idle RSS: build the binary first (cargo build --release --bin poolgate)"),
    }
}

/// The part with the gateway in the driver's process (CPU of the whole process).
async fn in_process(n: usize, sqlite_only: bool) {
    run_store("sqlite", None, n).await;
    if sqlite_only {
        return;
    }
    // An explicit Redis wins; otherwise a throwaway redis-server on a free loopback
    // port, when one is installed, so both stores are measured in the same run.
    if let Ok(url) = std::env::var("LOADGEN_REDIS_URL") {
        run_store("redis", Some(&url), n).await;
    } else if on_path("redis-server") {
        let server = redis_server::RedisServer::start();
        run_store("redis", Some(&server.url()), n).await;
    } else {
        println!("[redis] skipped: no redis-server on PATH and no LOADGEN_REDIS_URL");
    }
}

/// The part against `poolgate serve` processes (see `bench/phases.rs`).
async fn process_part(n: usize, sqlite_only: bool) {
    let Some(bin) = gateway::binary() else {
        println!(
            "gateway process phases: build the binary first (cargo build --release --bin poolgate)"
        );
        return;
    };
    println!("-- against `poolgate serve` processes: gateway CPU per operation from /proc");
    let tmp = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}/bench.db", tmp.path().display());
    process_store(&bin, "sqlite", &sqlite, &tmp.path().join("s"), n).await;
    if sqlite_only || !on_path("redis-server") {
        return;
    }
    let server = redis_server::RedisServer::start();
    process_store(&bin, "redis", &server.url(), &tmp.path().join("r"), n).await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores >= 2 && on_path("taskset") {
        // A fresh Redis: the instances start from an empty deployment.
        let server = redis_server::RedisServer::start();
        phases::two_instances(&bin, &server.url(), &tmp.path().join("two"), n).await;
    } else {
        println!("[redis] two instances: skipped (needs 2 cores and taskset)");
    }
}

async fn process_store(
    bin: &std::path::Path,
    label: &str,
    store: &str,
    dir: &std::path::Path,
    n: usize,
) {
    let gw = gateway::ProcGw::start(bin, store, dir, None, None).await;
    let env = Arc::new(phases::Env::new(vec![gw]).await);
    // `LOADGEN_PHASES=es256,eddsa,oidc,native,saml` (any of them) runs only those, e.g. to
    // profile one phase under `LOADGEN_GATEWAY_WRAP`.
    let only = std::env::var("LOADGEN_PHASES").unwrap_or_default();
    let wanted = |p: &str| only.is_empty() || only.split(',').any(|w| w.eq_ignore_ascii_case(p));
    for alg in ["ES256", "EdDSA"] {
        if wanted(alg) {
            phases::token_phases(&env, label, alg, n).await;
        }
    }
    if wanted("oidc") {
        phases::sign_in_phases(&env, label, n).await;
    }
    if wanted("native") {
        native::native_phases(&env, label, n).await;
    }
    if wanted("saml") {
        phases::saml_phase(&env, label, n).await;
    }
}
