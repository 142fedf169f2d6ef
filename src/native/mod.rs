//! Native pool users' cryptography and rules, below the sign-in flow: password
//! hashing (Argon2id), the pool's password policy, Cognito's SRP-6a, TOTP, the
//! client `SECRET_HASH`, and the throttling of failed attempts. No store, no HTTP.

pub mod password;
pub mod policy;
pub mod srp;
pub mod throttle;
pub mod totp;

use aws_lc_rs::hmac;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use password::Hasher;
use throttle::Throttle;

/// The native-user services a gateway shares between requests.
#[derive(Debug)]
pub struct NativeKit {
    pub hasher: Hasher,
    /// Failed attempts per user.
    pub users: Throttle,
    /// Failed attempts per caller address.
    pub addresses: Throttle,
    /// Keys the fake SRP salts of unknown users (stable within a process, so that
    /// asking twice gives the same salt).
    pub fake_salt_key: [u8; 32],
}

impl Default for NativeKit {
    fn default() -> Self {
        let mut key = [0u8; 32];
        if aws_lc_rs::rand::fill(&mut key).is_err() {
            key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
        Self {
            hasher: Hasher::default(),
            users: Throttle::new(throttle::USER_FREE),
            addresses: Throttle::new(throttle::IP_FREE),
            fake_salt_key: key,
        }
    }
}

/// Cognito's `SECRET_HASH`: Base64(HMAC-SHA256(client secret, username | client id)).
pub fn secret_hash(client_secret: &str, username: &str, client_id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, client_secret.as_bytes());
    let mut msg = username.as_bytes().to_vec();
    msg.extend_from_slice(client_id.as_bytes());
    STANDARD.encode(hmac::sign(&key, &msg).as_ref())
}

/// Checks a presented `SECRET_HASH` in constant time.
pub fn secret_hash_matches(
    client_secret: &str,
    username: &str,
    client_id: &str,
    presented: &str,
) -> bool {
    let expected = secret_hash(client_secret, username, client_id);
    crate::secret::constant_time_eq(expected.as_bytes(), presented.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_as_cognito_documents_it() {
        // Computed independently: base64(hmac_sha256(b"s3cret", b"carolclient1")).
        assert_eq!(
            secret_hash("s3cret", "carol", "client1"),
            "+jBqKw+1dUrMewYQ3hf5YOmCVqKeOJdtTlXjqAfrpOg="
        );
        assert!(secret_hash_matches(
            "s3cret",
            "carol",
            "client1",
            &secret_hash("s3cret", "carol", "client1")
        ));
        assert!(!secret_hash_matches("s3cret", "carol", "client1", "AAAA"));
    }
}
