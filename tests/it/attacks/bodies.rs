//! Malformed, oversized and misrouted requests to every endpoint: always a 4xx, never
//! a 5xx, never a token; unknown hosts get 404 JSON; the admin API wants its token.

use super::*;
use crate::harness::ADMIN_TOKEN;

/// A few megabytes.
const HUGE: usize = 4 * 1024 * 1024;
/// Just over the 64 KiB cap.
const OVER: usize = 64 * 1024 + 1;

/// Sends one request; answers status and body text.
async fn send(
    gw: &Gw,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, String) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = gw.http.request(m, gw.url(path)).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let s = r.status();
    (s, r.text().await.unwrap_or_default())
}

fn assert_refused(what: &str, s: StatusCode, body: &str) {
    assert!(s.is_client_error(), "{what}: {s} {body}");
    // No JWT anywhere, and no token field in a JSON answer.
    assert!(!body.contains("eyJ"), "{what}: {body}");
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        assert_no_token(&v);
        assert_ne!(v["active"], true, "{what}: {body}");
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A broken body and the content type it is sent with.
struct Case {
    name: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

/// Broken bodies every form endpoint must refuse.
fn broken_forms(cid: &str) -> Vec<Case> {
    let c = |name, content_type, body: &[u8]| Case {
        name,
        content_type,
        body: body.to_vec(),
    };
    let over = [
        b"grant_type=authorization_code&code=".as_slice(),
        &vec![b'a'; OVER],
    ]
    .concat();
    vec![
        c("empty", Some(FORM), b""),
        c("percent garbage", Some(FORM), b"grant_type=%ZZ&code=%&token=%"),
        c("invalid utf-8", Some(FORM), b"grant_type=authorization_code&code=\xff\xfe&token=\xc3\x28"),
        c("nul bytes", Some(FORM), b"grant_type=authorization_code\0&token=\0"),
        c(
            "repeated parameters",
            Some(FORM),
            format!("grant_type=client_credentials&grant_type=authorization_code&client_id={cid}&client_id={cid}&token=a&token=b&state=a&state=b").as_bytes(),
        ),
        c(
            "json body",
            Some("application/json"),
            format!("{{\"grant_type\":\"client_credentials\",\"client_id\":\"{cid}\",\"token\":\"x\"}}").as_bytes(),
        ),
        c("no content type", None, format!("grant_type=client_credentials&client_id={cid}").as_bytes()),
        c("text/plain", Some("text/plain"), b"grant_type=client_credentials"),
        c(
            "multipart",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\ncontent-disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--",
        ),
        c("over 64 KiB", Some(FORM), &over),
        c("a few MB", Some(FORM), &vec![b'a'; HUGE]),
    ]
}

#[tokio::test]
async fn malformed_and_oversized_bodies_to_every_hosted_endpoint() {
    let env = Env::start(true).await;
    let secret = env.secret.clone().unwrap();
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{secret}", env.client_id)
        )
    );
    for path in [
        "/oauth2/token",
        "/oauth2/revoke",
        "/oauth2/introspect",
        "/oauth2/idpresponse",
        "/oauth2/userInfo",
    ] {
        for case in broken_forms(&env.client_id) {
            for auth in [None, Some(basic.as_str())] {
                let mut h: Vec<(&str, &str)> = Vec::new();
                if let Some(ct) = case.content_type {
                    h.push(("content-type", ct));
                }
                if let Some(a) = auth {
                    h.push(("authorization", a));
                }
                let (s, b) = send(&env.gw, "POST", path, &h, case.body.clone()).await;
                let what = format!("POST {path} {} auth={}", case.name, auth.is_some());
                let lenient = auth.is_some()
                    && matches!(path, "/oauth2/revoke" | "/oauth2/introspect")
                    && case.body.len() <= 64 * 1024;
                if lenient && s == StatusCode::OK {
                    // RFC 7009 2.2 / RFC 7662 2.2: an unknown token is answered 200
                    // (revoked, or inactive); never with anything live.
                    assert!(b == "{}" || b == r#"{"active":false}"#, "{what}: {b}");
                } else {
                    assert_refused(&what, s, &b);
                }
                // userInfo reads no body: it refuses the missing bearer token first.
                if case.body.len() > 64 * 1024 && path != "/oauth2/userInfo" {
                    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{what}");
                }
            }
        }
    }
    assert_eq!(env.user_count().await, 0);
}

/// Streams `total` bytes as a chunked body (no Content-Length) over a raw socket while
/// reading the answer; returns the status code of the answer.
async fn chunked_status(gw: &Gw, path: &str, total: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {FORM}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        gw.port
    );
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b'a'; 16 * 1024];
        for _ in 0..total / chunk.len() {
            wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            wr.write_all(&chunk).await?;
            wr.write_all(b"\r\n").await?;
        }
        wr.write_all(b"0\r\n\r\n").await
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(2).any(|w| w == b"\r\n") {
        let n = rd.read(&mut buf).await.unwrap();
        assert!(n > 0, "{path}: connection closed without an answer");
        got.extend_from_slice(&buf[..n]);
    }
    // The writer may fail once the gateway stops reading; that is expected.
    let _ = writer.await;
    let line = String::from_utf8_lossy(&got);
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn streamed_oversized_bodies_without_length_are_refused() {
    let env = Env::start(true).await;
    for path in [
        "/oauth2/token",
        "/oauth2/revoke",
        "/oauth2/introspect",
        "/oauth2/idpresponse",
        "/admin/v1/pools",
        "/admin/v1/pools/default/clients",
    ] {
        let s = chunked_status(&env.gw, path, HUGE).await;
        assert_eq!(s, 413, "{path}");
    }
}
