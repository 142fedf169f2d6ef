//! Random tokens, hashes of secrets, constant-time comparison.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use subtle::ConstantTimeEq;

/// `bytes` random bytes, base64url without padding (32 bytes: 256 bits, 43 chars).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The system RNG does not fail on Linux; if it ever did, an all-zero buffer must
    // not become a token, so fall back to two v4 UUIDs' worth of OS randomness.
    if aws_lc_rs::rand::fill(&mut buf).is_err() {
        let fallback = [
            uuid::Uuid::new_v4().into_bytes(),
            uuid::Uuid::new_v4().into_bytes(),
        ]
        .concat();
        buf = fallback;
    }
    B64URL.encode(buf)
}

/// Hex SHA-256, for storing high-entropy secrets (refresh tokens, codes, client secrets).
pub fn sha256_hex(value: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, value.as_bytes()))
}

/// base64url SHA-256 (PKCE S256, RFC 7636 section 4.2).
pub fn s256(value: &str) -> String {
    B64URL.encode(digest::digest(&digest::SHA256, value.as_bytes()))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Shortens a secret for logs: never more than its first 6 characters.
pub fn redact(value: &str) -> String {
    let head: String = value.chars().take(6).collect();
    format!("{head}…")
}
