//! Cognito's SRP-6a (`USER_SRP_AUTH`), computed exactly as the client libraries
//! (`amazon-cognito-identity-js`, Amplify, `pycognito`) compute it: the 3072-bit group
//! of RFC 5054 appendix A (RFC 3526 group 15) with g = 2, SHA-256, every number hashed
//! in the clients' "padded hex" form, and the session key stretched by HKDF with the
//! info "Caldera Derived Key" into the 16-byte key of the `PASSWORD_CLAIM_SIGNATURE`.

use std::sync::LazyLock;

use aws_lc_rs::{digest, hmac};
use num_bigint::BigUint;
use num_traits::Zero;

/// RFC 5054 appendix A, 3072-bit group (the prime of RFC 3526 section 4).
const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

/// HKDF info of Cognito's derived key.
const INFO: &[u8] = b"Caldera Derived Key";

struct Group {
    n: BigUint,
    g: BigUint,
    k: BigUint,
}

static GROUP: LazyLock<Group> = LazyLock::new(|| {
    // The constant is valid hex; an empty number would only make every proof fail.
    let n = BigUint::parse_bytes(N_HEX.as_bytes(), 16).unwrap_or_default();
    let g = BigUint::from(2u32);
    let k = hash_hex_int(&format!("{}{}", pad_hex(&n), pad_hex(&g)));
    Group { n, g, k }
});

/// The clients' `padHex`: lower-case hex, a leading `0` to an even length, and `00`
/// in front when the first nibble has its high bit set (so that the value reads as
/// positive in two's complement).
pub fn pad_hex(v: &BigUint) -> String {
    pad_hex_str(&v.to_str_radix(16))
}

fn pad_hex_str(hex: &str) -> String {
    if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else if hex.starts_with(['8', '9', 'a', 'b', 'c', 'd', 'e', 'f']) {
        format!("00{hex}")
    } else {
        hex.to_owned()
    }
}

/// SHA-256 of the bytes a hex string stands for, as a number.
fn hash_hex_int(hex: &str) -> BigUint {
    let bytes = hex::decode(hex).unwrap_or_default();
    BigUint::from_bytes_be(digest::digest(&digest::SHA256, &bytes).as_ref())
}

/// Hex SHA-256 of a UTF-8 string, as the clients write it (64 characters).
fn hash_str_hex(s: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, s.as_bytes()))
}

/// The SRP pool name: the part of the pool id after its first `_`, or the whole id.
pub fn pool_name(pool_id: &str) -> &str {
    pool_id.split_once('_').map_or(pool_id, |(_, rest)| rest)
}

/// A new salt: 16 random bytes, its first nibble never 0, so that the hex string is
/// the same whether a client keeps it as it is (pycognito) or reads it as a number
/// and back (amazon-cognito-identity-js).
pub fn new_salt() -> String {
    let mut salt = [0u8; 16];
    fill_random(&mut salt);
    if salt[0] < 0x10 {
        salt[0] |= 0x10;
    }
    hex::encode(salt)
}

fn fill_random(buf: &mut [u8]) {
    if aws_lc_rs::rand::fill(buf).is_err() {
        // Never a predictable value: fall back to the OS generator behind uuid.
        for chunk in buf.chunks_mut(16) {
            let r = uuid::Uuid::new_v4().into_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

/// x = H(padHex(salt) | H(poolName | username | ":" | password)).
fn private_x(pool_name: &str, username: &str, password: &str, salt_hex: &str) -> BigUint {
    let inner = hash_str_hex(&format!("{pool_name}{username}:{password}"));
    let salt = BigUint::parse_bytes(salt_hex.as_bytes(), 16).unwrap_or_default();
    hash_hex_int(&format!("{}{inner}", pad_hex(&salt)))
}

/// The verifier v = g^x mod N of a password (hex), for `username` in the pool.
pub fn verifier(pool_name: &str, username: &str, password: &str, salt_hex: &str) -> String {
    let g = &*GROUP;
    let x = private_x(pool_name, username, password, salt_hex);
    g.g.modpow(&x, &g.n).to_str_radix(16)
}

/// The server's half of one SRP exchange: its secret `b` and public `B`.
#[derive(Clone)]
pub struct ServerEphemeral {
    pub b: BigUint,
    pub big_b: BigUint,
}

impl std::fmt::Debug for ServerEphemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerEphemeral").finish_non_exhaustive()
    }
}

/// B = (k·v + g^b) mod N with a fresh random b (256 bits), never 0 mod N.
pub fn server_ephemeral(verifier_hex: &str) -> ServerEphemeral {
    let g = &*GROUP;
    let v = BigUint::parse_bytes(verifier_hex.as_bytes(), 16).unwrap_or_default();
    loop {
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes);
        let b = BigUint::from_bytes_be(&bytes);
        let big_b = (&g.k * &v + g.g.modpow(&b, &g.n)) % &g.n;
        if !big_b.is_zero() {
            return ServerEphemeral { b, big_b };
        }
    }
}

/// Why a proof was refused (for the log only: clients get one answer).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SrpError {
    #[error("SRP_A is not a valid group element")]
    BadA,
    #[error("the scrambling parameter is zero")]
    ZeroU,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the signature is not base64")]
    Malformed,
}

/// Parses the client's `SRP_A` (hex), refusing A ≡ 0 (mod N) (RFC 5054 section 2.5.4).
pub fn parse_a(a_hex: &str) -> Result<BigUint, SrpError> {
    if a_hex.is_empty() || a_hex.len() > 1024 {
        return Err(SrpError::BadA);
    }
    let a = BigUint::parse_bytes(a_hex.as_bytes(), 16).ok_or(SrpError::BadA)?;
    if (&a % &GROUP.n).is_zero() {
        return Err(SrpError::BadA);
    }
    Ok(a)
}

/// The 16-byte key both sides derive: S = (A·v^u)^b mod N on the server, then
/// HKDF-SHA256(ikm = padHex(S), salt = padHex(u), info = "Caldera Derived Key").
pub fn server_key(
    a: &BigUint,
    eph: &ServerEphemeral,
    verifier_hex: &str,
) -> Result<[u8; 16], SrpError> {
    let g = &*GROUP;
    let u = hash_hex_int(&format!("{}{}", pad_hex(a), pad_hex(&eph.big_b)));
    if u.is_zero() {
        return Err(SrpError::ZeroU);
    }
    let v = BigUint::parse_bytes(verifier_hex.as_bytes(), 16).unwrap_or_default();
    let s = (a * v.modpow(&u, &g.n)).modpow(&eph.b, &g.n);
    Ok(hkdf16(&hex_bytes(&pad_hex(&s)), &hex_bytes(&pad_hex(&u))))
}

fn hex_bytes(h: &str) -> Vec<u8> {
    hex::decode(h).unwrap_or_default()
}

/// RFC 5869 with SHA-256, one block of output cut to 16 bytes.
fn hkdf16(ikm: &[u8], salt: &[u8]) -> [u8; 16] {
    let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), ikm);
    let mut info = INFO.to_vec();
    info.push(1);
    let okm = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref()), &info);
    let mut out = [0u8; 16];
    out.copy_from_slice(&okm.as_ref()[..16]);
    out
}

/// The expected `PASSWORD_CLAIM_SIGNATURE`: HMAC-SHA256(key, poolName | userIdForSrp |
/// secretBlock | timestamp).
pub fn signature(
    key: &[u8; 16],
    pool_name: &str,
    user_id_for_srp: &str,
    secret_block: &[u8],
    timestamp: &str,
) -> Vec<u8> {
    let mut msg = Vec::with_capacity(pool_name.len() + user_id_for_srp.len() + 64);
    msg.extend_from_slice(pool_name.as_bytes());
    msg.extend_from_slice(user_id_for_srp.as_bytes());
    msg.extend_from_slice(secret_block);
    msg.extend_from_slice(timestamp.as_bytes());
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), &msg)
        .as_ref()
        .to_vec()
}

/// Checks a client's signature (base64) in constant time.
pub fn check_signature(expected: &[u8], claimed_b64: &str) -> Result<(), SrpError> {
    use base64::Engine;
    let claimed = base64::engine::general_purpose::STANDARD
        .decode(claimed_b64)
        .map_err(|_| SrpError::Malformed)?;
    if crate::secret::constant_time_eq(expected, &claimed) {
        Ok(())
    } else {
        Err(SrpError::BadSignature)
    }
}

/// Parses the clients' `TIMESTAMP` (`EEE MMM d HH:mm:ss UTC yyyy`, the day without a
/// leading zero; a padded day is accepted too) into Unix seconds.
pub fn parse_timestamp(ts: &str) -> Option<i64> {
    if ts.len() > 40 {
        return None;
    }
    chrono::NaiveDateTime::parse_from_str(ts, "%a %b %e %H:%M:%S UTC %Y")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// Formats an instant as the clients do (for tests and for the simulated client).
pub fn format_timestamp(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%a %b %-d %H:%M:%S UTC %Y").to_string())
        .unwrap_or_default()
}

/// The client's side of the exchange, as the libraries compute it. Used by the tests
/// and the load driver (`examples/loadgen.rs`), by nothing in the server.
pub mod client {
    use super::*;

    pub fn a_pair() -> (BigUint, BigUint) {
        let g = &*GROUP;
        let mut bytes = [0u8; 128];
        fill_random(&mut bytes);
        let a = BigUint::from_bytes_be(&bytes);
        let big_a = g.g.modpow(&a, &g.n);
        (a, big_a)
    }

    /// S = (B - k·g^x)^(a + u·x) mod N, then the same HKDF.
    pub fn key(
        pool_name: &str,
        username: &str,
        password: &str,
        salt_hex: &str,
        a: &BigUint,
        big_a: &BigUint,
        big_b: &BigUint,
    ) -> [u8; 16] {
        let g = &*GROUP;
        let u = hash_hex_int(&format!("{}{}", pad_hex(big_a), pad_hex(big_b)));
        let x = private_x(pool_name, username, password, salt_hex);
        let kgx = (&g.k * g.g.modpow(&x, &g.n)) % &g.n;
        let base = (big_b + &g.n - kgx) % &g.n;
        let s = base.modpow(&(a + &u * &x), &g.n);
        hkdf16(&hex_bytes(&pad_hex(&s)), &hex_bytes(&pad_hex(&u)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_hex_follows_the_clients() {
        assert_eq!(pad_hex(&BigUint::from(2u32)), "02");
        assert_eq!(pad_hex(&BigUint::from(0x7fu32)), "7f");
        assert_eq!(pad_hex(&BigUint::from(0x80u32)), "0080");
        assert_eq!(pad_hex(&BigUint::from(0xabcu32)), "0abc");
        assert!(pad_hex(&GROUP.n).starts_with("00ffffffffffffffffc90f"));
    }

    #[test]
    fn k_is_the_hash_of_padded_n_and_g() {
        // k = H(00 N | 02), as both client libraries compute it.
        assert_eq!(
            GROUP.k.to_str_radix(16),
            "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6"
        );
    }

    #[test]
    fn pool_name_is_after_the_first_underscore() {
        assert_eq!(pool_name("us-east-1_AbCd12345"), "AbCd12345");
        assert_eq!(pool_name("default"), "default");
        assert_eq!(pool_name("a_b_c"), "b_c");
    }

    #[test]
    fn salts_keep_their_hex_form() {
        for _ in 0..50 {
            let s = new_salt();
            assert_eq!(s.len(), 32);
            let n = BigUint::parse_bytes(s.as_bytes(), 16).unwrap();
            assert_eq!(n.to_str_radix(16), s);
        }
    }

    #[test]
    fn client_and_server_derive_the_same_key() {
        let salt = new_salt();
        let v = verifier("default", "carol", "Correct-Horse-1", &salt);
        let eph = server_ephemeral(&v);
        let (a, big_a) = client::a_pair();
        let server = server_key(&big_a, &eph, &v).unwrap();
        let good = client::key(
            "default",
            "carol",
            "Correct-Horse-1",
            &salt,
            &a,
            &big_a,
            &eph.big_b,
        );
        assert_eq!(server, good);
        let bad = client::key("default", "carol", "wrong", &salt, &a, &big_a, &eph.big_b);
        assert_ne!(server, bad);
        let ts = format_timestamp(1_700_000_000);
        let sig = signature(&server, "default", "carol", b"block", &ts);
        use base64::Engine;
        let b64 = |k: &[u8; 16]| {
            base64::engine::general_purpose::STANDARD
                .encode(signature(k, "default", "carol", b"block", &ts))
        };
        assert_eq!(check_signature(&sig, &b64(&good)), Ok(()));
        assert_eq!(
            check_signature(&sig, &b64(&bad)),
            Err(SrpError::BadSignature)
        );
    }

    #[test]
    fn a_zero_mod_n_is_refused() {
        assert_eq!(parse_a("0"), Err(SrpError::BadA));
        assert_eq!(parse_a(N_HEX), Err(SrpError::BadA));
        assert_eq!(parse_a("zz"), Err(SrpError::BadA));
        assert!(parse_a("02").is_ok());
    }

    #[test]
    fn timestamps_as_the_clients_write_them() {
        // 2023-11-14 22:13:20 UTC was a Tuesday.
        assert_eq!(
            format_timestamp(1_700_000_000),
            "Tue Nov 14 22:13:20 UTC 2023"
        );
        // 2024-03-05: a one-digit day, not padded.
        let t = 1_709_600_000;
        let s = format_timestamp(t);
        assert_eq!(s, "Tue Mar 5 00:53:20 UTC 2024");
        assert_eq!(parse_timestamp(&s), Some(t));
        assert_eq!(parse_timestamp("Tue Mar 05 00:53:20 UTC 2024"), Some(t));
        assert_eq!(parse_timestamp("2024-03-05T00:53:20Z"), None);
    }
}
