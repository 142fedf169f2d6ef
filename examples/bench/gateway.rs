//! The gateway as a separate `poolgate serve` process (the release binary next to the
//! driver), so that its own CPU time can be read from /proc and it can be pinned to a
//! core with `taskset`: the driver, the fakes and the hook server stay in the driver's
//! process and are not counted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const ADMIN_TOKEN: &str = "bench-admin-token-0123456789";

pub struct ProcGw {
    child: Child,
    pub port: u16,
    /// `HOST:PORT` every request carries (the first instance's, behind a "balancer").
    pub host: String,
    http: reqwest::Client,
}

/// The `poolgate` binary built with the driver (`target/release/poolgate`), or
/// `LOADGEN_GATEWAY_BIN` (another build, to compare two versions).
pub fn binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("LOADGEN_GATEWAY_BIN") {
        return Some(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("poolgate");
    bin.exists().then_some(bin)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// CPU time (user + system) of process `pid` so far.
pub fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

impl ProcGw {
    /// Starts `poolgate serve` on `store`; pinned to `core` with `taskset` when given;
    /// answering as `public` (another instance's URL) when given.
    pub async fn start(
        bin: &Path,
        store: &str,
        dir: &Path,
        core: Option<usize>,
        public: Option<&str>,
    ) -> Self {
        let port = free_port();
        let providers = dir.join("providers");
        std::fs::create_dir_all(&providers).expect("providers dir");
        let own = format!("http://127.0.0.1:{port}");
        let public = public.unwrap_or(&own).to_owned();
        // `LOADGEN_GATEWAY_WRAP="valgrind --tool=callgrind ..."` runs the gateway under a
        // profiler (see `LOADGEN_CALLGRIND` in phases.rs).
        let mut argv: Vec<String> = std::env::var("LOADGEN_GATEWAY_WRAP")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if let Some(c) = core {
            argv.splice(0..0, ["taskset".to_owned(), "-c".to_owned(), c.to_string()]);
        }
        argv.push(bin.display().to_string());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        cmd.arg("serve")
            .current_dir(dir)
            .env("POOLGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("POOLGATE_PUBLIC_URL", &public)
            .env("POOLGATE_STORE", store)
            .env("POOLGATE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("POOLGATE_PROVIDERS_DIR", &providers)
            .env("POOLGATE_CERTS_DIR", providers.join("certs"))
            // One driver from one address is the whole load: no rate limit.
            .env("POOLGATE_RATE_LIMIT_IP", "0")
            .env("POOLGATE_RATE_LIMIT_CLIENT", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = cmd.spawn().expect("start poolgate serve");
        let gw = Self {
            child,
            port,
            host: public.trim_start_matches("http://").to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
        };
        let start = Instant::now();
        loop {
            let up = gw
                .http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return gw;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "gateway did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The gateway's CPU time so far.
    pub fn cpu(&self) -> Duration {
        cpu_of(self.child.id())
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(m, format!("http://127.0.0.1:{}/admin/v1{path}", self.port))
            .header("host", &self.host)
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin call");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Drop for ProcGw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
