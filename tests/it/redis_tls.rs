//! `rediss://`: the gateway binary reaches Redis over TLS and verifies its certificate
//! against the trusted roots (`SSL_CERT_FILE` stands in for an operator's private CA).
//! The binary runs as a child process so that the variable stays out of this process.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::redis_server::RedisServer;

fn self_signed(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("certificate");
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

fn gateway(store: &str, port: u16, dir: &Path, roots: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_poolgate"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("POOLGATE_STORE", store)
        .env("POOLGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("POOLGATE_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("POOLGATE_ADMIN_TOKEN", "tls-test-admin-token-0123456789")
        .env("POOLGATE_PROVIDERS_DIR", dir.join("providers"))
        .env("POOLGATE_CERTS_DIR", dir.join("certs"))
        .env("SSL_CERT_FILE", roots)
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_store_is_verified_and_serves() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("providers")).unwrap();
    let (cert, key) = self_signed(tmp.path(), "redis");
    let (stranger, _) = self_signed(tmp.path(), "stranger");
    let server = RedisServer::start_tls(&cert, &key);
    let url = server.tls_url();

    // A certificate the gateway does not trust: start-up fails, naming the setting.
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        gateway(&url, free_port(), tmp.path(), &stranger)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("start-up fails fast")
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("POOLGATE_STORE"), "{stderr}");

    // Trusted: the gateway starts and reports the store up.
    let port = free_port();
    let mut child = gateway(&url, port, tmp.path(), &cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut body = None;
    for _ in 0..300 {
        if let Ok(resp) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            body = Some((resp.status(), resp.text().await.unwrap()));
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the gateway exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().await.unwrap();
    let (status, text) = body.expect("the gateway answered");
    assert_eq!(status, reqwest::StatusCode::OK, "{text}");
    assert!(text.contains(r#""store":"up""#), "{text}");
}
