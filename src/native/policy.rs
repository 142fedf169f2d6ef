//! A pool's password policy (Cognito's `PasswordPolicyType`) and temporary passwords
//! that satisfy it.

use crate::model::PasswordPolicy;

/// Cognito's longest password.
pub const MAX_PASSWORD_LEN: usize = 256;

/// Characters Cognito counts as symbols.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

/// The first rule a password breaks, in Cognito's words; `None` when it conforms.
pub fn violation(policy: &PasswordPolicy, password: &str) -> Option<&'static str> {
    let len = password.chars().count();
    if len < policy.minimum_length as usize {
        return Some("Password not long enough");
    }
    if len > MAX_PASSWORD_LEN {
        return Some("Password is too long");
    }
    if password.starts_with(' ') || password.ends_with(' ') {
        return Some("Password must not begin or end with a space");
    }
    let has = |f: fn(char) -> bool| password.chars().any(f);
    if policy.require_uppercase && !has(|c| c.is_ascii_uppercase()) {
        return Some("Password must have uppercase characters");
    }
    if policy.require_lowercase && !has(|c| c.is_ascii_lowercase()) {
        return Some("Password must have lowercase characters");
    }
    if policy.require_numbers && !has(|c| c.is_ascii_digit()) {
        return Some("Password must have numeric characters");
    }
    if policy.require_symbols && !has(|c| SYMBOLS.contains(c) && c != ' ') {
        return Some("Password must have symbol characters");
    }
    None
}

/// A random temporary password that satisfies `policy`: at least 16 characters with
/// one of each class, from an alphabet without look-alikes.
pub fn temporary_password(policy: &PasswordPolicy) -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    const SYMS: &[u8] = b"!#%&*+-=?@^_";
    let len = (policy.minimum_length as usize).clamp(16, MAX_PASSWORD_LEN);
    let mut random = vec![0u8; len * 2];
    if aws_lc_rs::rand::fill(&mut random).is_err() {
        random = crate::secret::random_token(len * 2).into_bytes();
    }
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMS].concat();
    let mut out: Vec<u8> = Vec::with_capacity(len);
    for (i, class) in [UPPER, LOWER, DIGITS, SYMS].iter().enumerate() {
        out.push(class[usize::from(random[i]) % class.len()]);
    }
    for r in &random[4..len] {
        out.push(all[usize::from(*r) % all.len()]);
    }
    // Shuffle so the classes are not always in the first four places.
    for i in (1..out.len()).rev() {
        let j = usize::from(random[len + i]) % (i + 1);
        out.swap(i, j);
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cognito_default_policy() {
        let p = PasswordPolicy::default();
        assert_eq!(violation(&p, "Sh0rt!"), Some("Password not long enough"));
        assert_eq!(
            violation(&p, "lowercase1!"),
            Some("Password must have uppercase characters")
        );
        assert_eq!(
            violation(&p, "UPPERCASE1!"),
            Some("Password must have lowercase characters")
        );
        assert_eq!(
            violation(&p, "NoNumbers!"),
            Some("Password must have numeric characters")
        );
        assert_eq!(
            violation(&p, "NoSymbols1"),
            Some("Password must have symbol characters")
        );
        assert_eq!(violation(&p, "Correct-Horse-1"), None);
        assert!(violation(&p, " Correct-Horse-1").is_some());
        assert!(violation(&p, &"Aa1!".repeat(65)).is_some());
    }

    #[test]
    fn relaxed_policy() {
        let p = PasswordPolicy {
            minimum_length: 6,
            require_uppercase: false,
            require_lowercase: false,
            require_numbers: false,
            require_symbols: false,
            temporary_password_validity_days: 1,
        };
        assert_eq!(violation(&p, "abcdef"), None);
    }

    #[test]
    fn temporary_passwords_conform() {
        let p = PasswordPolicy::default();
        for _ in 0..200 {
            let t = temporary_password(&p);
            assert_eq!(violation(&p, &t), None, "{t}");
            assert_eq!(t.len(), 16);
        }
        let long = PasswordPolicy {
            minimum_length: 30,
            ..p
        };
        assert_eq!(temporary_password(&long).len(), 30);
    }
}
