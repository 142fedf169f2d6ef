//! One hook call on the wire: the signed POST of the event JSON, a 5-second limit, no
//! redirect followed, and a capped answer. The signature scheme is public so that a
//! hook server (see `examples/hook_server.rs`) can verify it with this crate.

use std::time::Duration;

use aws_lc_rs::hmac;
use reqwest::StatusCode;

use crate::secret::constant_time_eq;

/// Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "X-Poolgate-Signature";
/// Header carrying the call's id, as logged by poolgate when the call fails.
pub const REQUEST_ID_HEADER: &str = "X-Poolgate-Request-Id";
/// Lambda triggers of Cognito time out after 5 seconds; so do hooks.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read. Events and their answers are a few kilobytes.
pub const MAX_ANSWER: usize = 64 * 1024;

/// The `X-Poolgate-Signature` value of `body` sent at `t`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(t.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    ctx.sign().as_ref().to_vec()
}

/// Checks a signature header against `body`: a `v1` that matches (constant time) and a
/// `t` within `tolerance_s` of `now` (replay window). For hook servers.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_s: i64) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance_s {
        return false;
    }
    let expected = mac(secret, t, body);
    sigs.iter().any(|s| constant_time_eq(s, &expected))
}

/// How a call ended, before the answer is interpreted.
pub(crate) enum Outcome {
    /// A 2xx answer's body.
    Answered(Vec<u8>),
    /// The function threw: a non-2xx answer with a Lambda error body
    /// (`{"errorMessage": ...}`); the message, cut short.
    Threw(String),
    /// Anything else: the reason, for the log (never the answer's content).
    Failed(String),
}

/// POSTs `body` to `url`, signed with `secret` at `now`.
pub(crate) async fn post(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    body: Vec<u8>,
    now: i64,
    request_id: &str,
) -> Outcome {
    let signature = sign(secret, now, &body);
    let sent = http
        .post(url)
        .timeout(TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(REQUEST_ID_HEADER, request_id)
        .body(body)
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(describe(&e)),
    };
    let status = resp.status();
    if status.is_redirection() {
        return Outcome::Failed(format!("redirect ({}) not followed", status.as_u16()));
    }
    if resp.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
        return Outcome::Failed(format!("answer larger than {MAX_ANSWER} bytes"));
    }
    let mut answer = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if answer.len() + chunk.len() > MAX_ANSWER {
                    return Outcome::Failed(format!("answer larger than {MAX_ANSWER} bytes"));
                }
                answer.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Outcome::Failed(describe(&e)),
        }
    }
    if status.is_success() {
        return Outcome::Answered(answer);
    }
    match lambda_error(status, &answer) {
        Some(message) => Outcome::Threw(message),
        None => Outcome::Failed(format!("status {}", status.as_u16())),
    }
}

/// The message of a Lambda-style error answer, as Cognito passes it on.
fn lambda_error(status: StatusCode, body: &[u8]) -> Option<String> {
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let msg = v.get("errorMessage")?.as_str()?;
    let cleaned: String = msg.chars().filter(|c| !c.is_control()).take(256).collect();
    Some(cleaned)
}

/// A transport error without the URL (a hook URL may carry a key in its query).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        // TLS failures surface here too (the handshake is part of connecting).
        let mut source = std::error::Error::source(e);
        let mut detail = String::new();
        while let Some(s) = source {
            detail = s.to_string();
            source = s.source();
        }
        format!("connection failed: {}", truncate(&detail, 160))
    } else if e.is_redirect() {
        "redirect not followed".into()
    } else if e.is_body() || e.is_decode() {
        "answer unreadable".into()
    } else {
        "request failed".into()
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let body = br#"{"version":"1"}"#;
        let h = sign("s3cret", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(h.len(), "t=1700000000,v1=".len() + 64);
        assert!(verify("s3cret", &h, body, 1_700_000_010, 300));
        assert!(!verify("other", &h, body, 1_700_000_010, 300));
        assert!(!verify("s3cret", &h, b"{}", 1_700_000_010, 300));
        assert!(
            !verify("s3cret", &h, body, 1_700_001_000, 300),
            "outside the window"
        );
        assert!(!verify("s3cret", "v1=00", body, 1_700_000_000, 300));
        let forged = h.replace("t=1700000000", "t=1700000500");
        assert!(!verify("s3cret", &forged, body, 1_700_000_500, 300));
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA256(key "key", "0.") computed independently (openssl dgst -hmac).
        assert_eq!(
            sign("key", 0, b""),
            "t=0,v1=85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d"
        );
    }

    #[test]
    fn lambda_errors_are_read_from_error_answers_only() {
        let b = br#"{"errorMessage":"Not allowed\n here","errorType":"Error"}"#;
        assert_eq!(
            lambda_error(StatusCode::BAD_REQUEST, b).as_deref(),
            Some("Not allowed here")
        );
        assert_eq!(lambda_error(StatusCode::OK, b), None);
        assert_eq!(lambda_error(StatusCode::BAD_GATEWAY, b"<html>"), None);
    }
}
