//! TOTP (RFC 6238 over RFC 4226): HMAC-SHA1, 6 digits, 30-second steps, one step of
//! clock drift either way, and a replay guard: a step once accepted (or any earlier
//! one) is never accepted again.

use aws_lc_rs::hmac;
use data_encoding::BASE32_NOPAD;

pub const STEP_S: i64 = 30;
const DIGITS: u32 = 6;
/// Steps of drift accepted either side of now (RFC 6238 section 5.2).
const DRIFT: i64 = 1;

/// A new shared secret: 20 random bytes (RFC 4226 section 4 recommends 160 bits),
/// base32 without padding as authenticator apps take it.
pub fn new_secret() -> String {
    let mut key = [0u8; 20];
    if aws_lc_rs::rand::fill(&mut key).is_err() {
        let r = [
            uuid::Uuid::new_v4().into_bytes(),
            uuid::Uuid::new_v4().into_bytes(),
        ];
        key.copy_from_slice(&r.concat()[..20]);
    }
    BASE32_NOPAD.encode(&key)
}

/// The code of one time step (RFC 4226 section 5.3, dynamic truncation).
pub fn code_at(secret_b32: &str, step: u64) -> Option<String> {
    let key = BASE32_NOPAD.decode(secret_b32.as_bytes()).ok()?;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac.last()? & 0x0f);
    let bin = u32::from_be_bytes([
        mac.get(offset)? & 0x7f,
        *mac.get(offset + 1)?,
        *mac.get(offset + 2)?,
        *mac.get(offset + 3)?,
    ]);
    Some(format!("{:06}", bin % 10u32.pow(DIGITS)))
}

/// The step a valid, unused `code` belongs to, or `None`. `last_step` is the last step
/// accepted for this secret: it and every earlier step are refused.
pub fn verify(secret_b32: &str, code: &str, now: i64, last_step: Option<u64>) -> Option<u64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.div_euclid(STEP_S);
    let mut found = None;
    // Every candidate is computed and compared, whichever matches.
    for d in -DRIFT..=DRIFT {
        let Ok(step) = u64::try_from(current + d) else {
            continue;
        };
        let expected = code_at(secret_b32, step)?;
        if crate::secret::constant_time_eq(expected.as_bytes(), code.as_bytes())
            && last_step.is_none_or(|l| step > l)
        {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 key "12345678901234567890", last six digits.
    #[test]
    fn rfc_6238_vectors() {
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        for (t, code) in [
            (59_i64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_at(&secret, (t / 30) as u64).unwrap(), code, "t={t}");
        }
    }

    #[test]
    fn drift_and_replay() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        let now = 1_700_000_000;
        let step = (now / 30) as u64;
        let code = code_at(&secret, step).unwrap();
        assert_eq!(verify(&secret, &code, now, None), Some(step));
        // The same code again is a replay.
        assert_eq!(verify(&secret, &code, now, Some(step)), None);
        // One step late or early is accepted, two are not.
        let prev = code_at(&secret, step - 1).unwrap();
        assert_eq!(verify(&secret, &prev, now, None), Some(step - 1));
        let old = code_at(&secret, step - 2).unwrap();
        assert_eq!(verify(&secret, &old, now, None), None);
        // An earlier step than the last accepted one is refused.
        assert_eq!(verify(&secret, &prev, now, Some(step)), None);
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify(&secret, "abcdef", now, None), None);
    }
}
