//! The `poolgate` binary as an operator runs it: fail-fast settings, the generated admin
//! token, provider files with `${VAR}`, metrics, and SIGTERM draining to exit 0.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(dir: &std::path::Path, port: u16, extra: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_poolgate"));
    cmd.arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("POOLGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("POOLGATE_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
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
    let port = free_port();
    let child = spawn(dir.path(), port, &[("CORP_SECRET", "rp-secret")]);
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
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("poolgate_store_up"), "{metrics}");

    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "SIGTERM exits 0");
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
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
