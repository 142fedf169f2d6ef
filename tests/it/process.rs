//! The `poolgate` binary as an operator runs it: fail-fast settings, the generated admin
//! token, provider files with `${VAR}`, metrics, and SIGTERM draining to exit 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `poolgate serve` on a port of its own choosing (`127.0.0.1:0`, so no other
/// test can take it first); returns the child, its port, and its log lines so far and
/// to come.
pub(crate) fn spawn(
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> (Child, u16, Arc<Mutex<Vec<String>>>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_poolgate"));
    cmd.arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("POOLGATE_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let (lines, tx) = (lines.clone(), tx.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if line.contains("poolgate listening") && !line.contains("HTTPS") {
                    let port = line
                        .split("127.0.0.1:")
                        .nth(1)
                        .map(|r| {
                            r.chars()
                                .take_while(char::is_ascii_digit)
                                .collect::<String>()
                        })
                        .and_then(|d| d.parse::<u16>().ok());
                    if let Some(p) = port {
                        let _ = tx.send(p);
                    }
                }
                lines.lock().unwrap().push(line);
            }
        });
    }
    let port = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the gateway logs where it listens");
    (child, port, lines)
}

async fn wait_healthy(port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gateway did not become healthy");
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test]
async fn bad_settings_fail_fast_naming_each_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_poolgate"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("POOLGATE_LISTEN", "not-an-address")
        .env("POOLGATE_STORE", "postgres://x")
        .env("POOLGATE_PUBLIC_URL", "http://example.com")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for key in ["POOLGATE_LISTEN", "POOLGATE_STORE", "POOLGATE_PUBLIC_URL"] {
        assert!(err.contains(key), "{key} not named in: {err}");
    }
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

#[tokio::test]
async fn unusable_store_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "a file, not a folder").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_poolgate"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("POOLGATE_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("POOLGATE_STORE", "sqlite://blocker/p.db")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("POOLGATE_STORE"));
}

#[tokio::test]
async fn generated_admin_token_provider_files_metrics_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let providers = dir.path().join("providers");
    std::fs::create_dir_all(&providers).unwrap();
    let fake = crate::fakes::oidc::start(crate::fakes::oidc::OidcOpts::default()).await;
    let file = format!(
        "name = \"Corp\"\ntype = \"OIDC\"\n# a comment naming ${{NOT_SET_IN_COMMENT}} is fine\n[details]\nissuer = \"{}\"\nclient_id = \"rp-client\"\nclient_secret = \"${{CORP_SECRET}}\"\n",
        fake.issuer()
    );
    std::fs::write(providers.join("corp.toml"), &file).unwrap();
    std::fs::write(
        providers.join("skipped.toml"),
        file.replace("Corp", "Skipped")
            .replace("CORP_SECRET", "MISSING_VAR"),
    )
    .unwrap();
    let (child, port, lines) = spawn(dir.path(), &[("CORP_SECRET", "rp-secret")]);
    wait_healthy(port).await;

    // The generated token is in the data folder, private, and opens the admin API.
    let path = dir.path().join("data/admin-token");
    let token = std::fs::read_to_string(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let http = reqwest::Client::new();
    let list: Value = http
        .get(format!(
            "http://127.0.0.1:{port}/admin/v1/pools/default/providers"
        ))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["Corp"],
        "the file with an unset variable is skipped"
    );
    assert_eq!(list["items"][0]["details"]["client_secret"], "********");

    let metrics = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("poolgate_store_up"), "{metrics}");

    sigterm(&child);
    let mut child = child;
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
    std::thread::sleep(Duration::from_millis(200));
    let log = lines.lock().unwrap().join("\n");
    assert!(
        log.contains("MISSING_VAR") && log.contains("skipped.toml"),
        "the skip names file and variable: {log}"
    );
    assert!(!log.contains("rp-secret"), "secrets never logged");
    assert!(
        !log.contains(token.trim()),
        "the admin token is never logged"
    );
}

#[tokio::test]
async fn a_second_gateway_on_the_same_sqlite_file_is_refused_then_one_can_follow() {
    // One gateway process per SQLite file: it keeps sign-ins in progress and cached
    // clients in memory, so a second one would serve stale records.
    let dir = tempfile::tempdir().unwrap();
    let (mut first, port, _) = spawn(dir.path(), &[]);
    wait_healthy(port).await;
    let out = Command::new(env!("CARGO_BIN_EXE_poolgate"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("POOLGATE_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("POOLGATE_STORE"), "{err}");
    assert!(err.contains("locked by another poolgate process"), "{err}");
    // The first one is unharmed, and once it stops another starts on the same file.
    wait_healthy(port).await;
    sigterm(&first);
    assert!(first.wait().unwrap().success());
    let (mut next, port, _) = spawn(dir.path(), &[]);
    wait_healthy(port).await;
    sigterm(&next);
    assert!(next.wait().unwrap().success());
}
