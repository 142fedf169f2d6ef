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

/// A secret in clear (a client secret read back for `SECRET_HASH` or an answer): its
/// `Debug` and `Display` never show it; [`Secret::expose`] is the one way in.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// For lists: the last 4 characters behind a fixed mask.
    pub fn masked(&self) -> String {
        let tail: String = {
            let n = self.0.chars().count();
            self.0.chars().skip(n.saturating_sub(4)).collect()
        };
        format!("****{tail}")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The 256-bit key that seals client secrets at rest (`POOLGATE_SECRET_KEY`, or the
/// `secret-key` file poolgate writes beside the admin token). `Debug` redacts.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    /// A new random key (from the system RNG; as in [`random_token`], two v4 UUIDs of
    /// OS randomness if it ever failed).
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        if aws_lc_rs::rand::fill(&mut k).is_err() {
            k[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            k[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
        Self(k)
    }

    /// Reads a key written as 64 hex digits or as base64 (standard or url-safe,
    /// padded or not) of exactly 32 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).ok()?
        } else {
            [&B64URL, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD]
                .iter()
                .find_map(|e| e.decode(t).ok())?
        };
        Some(Self(bytes.try_into().ok()?))
    }

    /// The form poolgate writes to its key file: base64url, 43 characters.
    pub fn encode(&self) -> String {
        B64URL.encode(self.0)
    }
}

/// Seals and opens short secrets with AES-256-GCM: a random 96-bit nonce per seal, the
/// record's identity as associated data (a sealed value copied onto another record
/// does not open). Sealed form: `v1.` + base64url(nonce || ciphertext || tag).
pub struct Sealer {
    key: SecretKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

const SEALED_PREFIX: &str = "v1.";

impl Sealer {
    pub fn new(key: &SecretKey) -> Self {
        Self { key: key.clone() }
    }

    /// A sealer with a random key that lives as long as the process (tools and tests
    /// that never restart; the server always passes the operator's key).
    pub fn ephemeral() -> Self {
        Self::new(&SecretKey::generate())
    }

    fn cipher(&self) -> Option<aws_lc_rs::aead::LessSafeKey> {
        use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
        Some(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.key.0).ok()?,
        ))
    }

    /// `plain` sealed for the record named by `aad`; `None` only if the system RNG or
    /// the cipher fails.
    pub fn seal(&self, aad: &str, plain: &str) -> Option<String> {
        use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).ok()?;
        let mut buf = plain.as_bytes().to_vec();
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buf,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Some(format!("{SEALED_PREFIX}{}", B64URL.encode(out)))
    }

    /// The secret sealed for `aad`, or `None` (another key, another record, a changed
    /// byte).
    pub fn open(&self, aad: &str, sealed: &str) -> Option<Secret> {
        use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
        let raw = B64URL.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = body.to_vec();
        let cipher = self.cipher()?;
        let plain = cipher
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok().map(Secret)
    }
}

#[cfg(test)]
mod sealing_tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_record() {
        let key = SecretKey::generate();
        let s = Sealer::new(&key);
        let sealed = s.seal("pool/client", "hunter2-secret").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            s.open("pool/client", &sealed).unwrap().expose(),
            "hunter2-secret"
        );
        // Two seals of one secret differ (random nonce).
        assert_ne!(sealed, s.seal("pool/client", "hunter2-secret").unwrap());
        assert!(s.open("pool/other", &sealed).is_none());
        let other = Sealer::ephemeral();
        assert!(other.open("pool/client", &sealed).is_none());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(s.open("pool/client", &tampered).is_none());
        assert!(s.open("pool/client", "v1.").is_none());
        assert!(s.open("pool/client", "garbage").is_none());
    }

    #[test]
    fn keys_parse_from_hex_and_base64_of_32_bytes_only() {
        let k = SecretKey::generate();
        assert_eq!(SecretKey::parse(&k.encode()), Some(k.clone()));
        assert_eq!(SecretKey::parse(&hex::encode(k.0)), Some(k.clone()));
        let std = base64::engine::general_purpose::STANDARD.encode(k.0);
        assert_eq!(SecretKey::parse(&format!("  {std}\n")), Some(k.clone()));
        assert!(SecretKey::parse("short").is_none());
        assert!(SecretKey::parse(&B64URL.encode([1u8; 31])).is_none());
        assert_eq!(format!("{k:?}"), "SecretKey([redacted])");
        assert_eq!(format!("{:?}", Secret::new("abc")), "Secret([redacted])");
        assert_eq!(Secret::new("abcdefgh").masked(), "****efgh");
    }
}
