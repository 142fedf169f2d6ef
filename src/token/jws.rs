//! JWS compact serialization (RFC 7515) of pool tokens with key pairs parsed once for
//! the life of the process (re-parsing a private key per signature halves throughput).
//! Only poolgate's own tokens pass through here; upstream id_tokens are verified by the
//! openidconnect crate in `provider::protocol`.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::Serialize;
use serde_json::{Value, json};

use crate::model::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum JwsError {
    #[error("key generation or parsing failed")]
    Key,
    #[error("signing failed")]
    Sign,
    #[error("malformed token")]
    Malformed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
}

enum Pair {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A parsed signing key with its public JWK and precomputed headers.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub public_jwk: Value,
    pair: Pair,
    /// Public key bytes in the form `UnparsedPublicKey` expects for `alg`.
    public_bytes: Vec<u8>,
    /// base64url(header) of ID tokens (`typ: JWT`) and of access tokens (`kid` and
    /// `alg` only, as Cognito's: some verifiers refuse RFC 9068's `typ: at+jwt`).
    header_jwt: String,
    header_at: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

/// Which header a token gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// ID tokens: `typ: JWT`.
    Jwt,
    /// Access tokens: no `typ` (interface.md section 5; `token_use` tells them apart).
    AccessToken,
}

impl SigningKey {
    /// Generates a new key; returns it with its PKCS#8 DER for the store.
    pub fn generate(alg: SigningAlg) -> Result<(Self, Vec<u8>), JwsError> {
        let der = match alg {
            SigningAlg::RS256 => {
                let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| JwsError::Key)?;
                kp.as_der().map_err(|_| JwsError::Key)?.as_ref().to_vec()
            }
            SigningAlg::ES256 => {
                let kp = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| JwsError::Key)?;
                kp.to_pkcs8v1()
                    .map_err(|_| JwsError::Key)?
                    .as_ref()
                    .to_vec()
            }
            SigningAlg::EdDSA => {
                let kp = Ed25519KeyPair::generate().map_err(|_| JwsError::Key)?;
                kp.to_pkcs8v1()
                    .map_err(|_| JwsError::Key)?
                    .as_ref()
                    .to_vec()
            }
        };
        let key = Self::from_pkcs8(alg, &der)?;
        Ok((key, der))
    }

    /// Parses a stored key. The `kid` is the RFC 7638 thumbprint of the public key.
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, JwsError> {
        let (pair, public_bytes, jwk) = match alg {
            SigningAlg::RS256 => {
                let kp = aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(|_| JwsError::Key)?;
                let public = kp.public_key();
                let n = B64URL.encode(public.modulus().big_endian_without_leading_zero());
                let e = B64URL.encode(public.exponent().big_endian_without_leading_zero());
                let bytes = public.as_ref().to_vec();
                (Pair::Rsa(kp), bytes, json!({"kty": "RSA", "n": n, "e": e}))
            }
            SigningAlg::ES256 => {
                let kp = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| JwsError::Key)?;
                let point = kp.public_key().as_ref().to_vec();
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                if point.len() != 65 || point[0] != 4 {
                    return Err(JwsError::Key);
                }
                let jwk = json!({
                    "kty": "EC", "crv": "P-256",
                    "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..65]),
                });
                (Pair::Ec(kp), point, jwk)
            }
            SigningAlg::EdDSA => {
                let kp =
                    Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| JwsError::Key)?;
                let public = kp.public_key().as_ref().to_vec();
                let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": B64URL.encode(&public)});
                (Pair::Ed(kp), public, jwk)
            }
        };
        let kid = thumbprint(&jwk);
        let mut public_jwk = jwk;
        if let Value::Object(m) = &mut public_jwk {
            m.insert("kid".into(), Value::String(kid.clone()));
            m.insert("alg".into(), Value::String(alg.as_str().into()));
            m.insert("use".into(), Value::String("sig".into()));
        }
        let header_jwt =
            B64URL.encode(json!({"alg": alg.as_str(), "kid": kid, "typ": "JWT"}).to_string());
        let header_at = B64URL.encode(json!({"alg": alg.as_str(), "kid": kid}).to_string());
        Ok(Self {
            header_jwt,
            header_at,
            kid,
            alg,
            public_jwk,
            pair,
            public_bytes,
            rng: SystemRandom::new(),
        })
    }

    /// Signs `claims` into a compact JWS.
    pub fn sign<C: Serialize>(&self, typ: TokenType, claims: &C) -> Result<String, JwsError> {
        let payload = serde_json::to_vec(claims).map_err(|_| JwsError::Sign)?;
        let header = match typ {
            TokenType::Jwt => &self.header_jwt,
            TokenType::AccessToken => &self.header_at,
        };
        let mut out = String::with_capacity(header.len() + payload.len() * 4 / 3 + 360);
        out.push_str(header);
        out.push('.');
        B64URL.encode_string(&payload, &mut out);
        let sig = self.sign_bytes(out.as_bytes())?;
        out.push('.');
        B64URL.encode_string(&sig, &mut out);
        Ok(out)
    }

    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, JwsError> {
        match &self.pair {
            Pair::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &self.rng, msg, &mut sig)
                    .map_err(|_| JwsError::Sign)?;
                Ok(sig)
            }
            Pair::Ec(kp) => Ok(kp
                .sign(&self.rng, msg)
                .map_err(|_| JwsError::Sign)?
                .as_ref()
                .to_vec()),
            Pair::Ed(kp) => Ok(kp.sign(msg).as_ref().to_vec()),
        }
    }

    /// Verifies a signature made by this key over `msg`.
    pub fn verify_bytes(&self, msg: &[u8], sig: &[u8]) -> bool {
        let alg: &dyn signature::VerificationAlgorithm = match self.alg {
            SigningAlg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SigningAlg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            SigningAlg::EdDSA => &signature::ED25519,
        };
        UnparsedPublicKey::new(alg, &self.public_bytes)
            .verify(msg, sig)
            .is_ok()
    }

    /// OIDC Core 3.1.3.6 `at_hash`: left half of the hash of the access token, where
    /// the hash is the one of the JWS algorithm (SHA-512 for Ed25519).
    pub fn half_hash(&self, value: &str) -> String {
        let alg = match self.alg {
            SigningAlg::EdDSA => &digest::SHA512,
            _ => &digest::SHA256,
        };
        let d = digest::digest(alg, value.as_bytes());
        let bytes = d.as_ref();
        B64URL.encode(&bytes[..bytes.len() / 2])
    }
}

/// RFC 7638 JWK thumbprint (SHA-256) of the required members, lexicographic order.
fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    let mut canon = String::from("{");
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            canon.push(',');
        }
        let v = jwk.get(*m).and_then(Value::as_str).unwrap_or_default();
        canon.push_str(&format!("\"{m}\":\"{v}\""));
    }
    canon.push('}');
    B64URL.encode(digest::digest(&digest::SHA256, canon.as_bytes()).as_ref())
}

/// A compact JWS split into its parts; nothing verified yet.
pub struct Parsed<'a> {
    pub header: Value,
    pub payload: Value,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS. Bounded: tokens over 16 KiB are refused.
pub fn parse(token: &str) -> Result<Parsed<'_>, JwsError> {
    if token.len() > 16 * 1024 {
        return Err(JwsError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header: Value = B64URL
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwsError::Malformed)?;
    let payload: Value = B64URL
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwsError::Malformed)?;
    let signature = B64URL.decode(s).map_err(|_| JwsError::Malformed)?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    Ok(Parsed {
        header,
        payload,
        signing_input,
        signature,
    })
}

/// Verifies a compact JWS against the key its `kid` names, with that key's own algorithm
/// (the header's `alg` must agree: no algorithm confusion). Returns header and payload.
pub fn verify<'k, F>(token: &str, find: F) -> Result<(Value, Value), JwsError>
where
    F: FnOnce(&str) -> Option<&'k SigningKey>,
{
    let parsed = parse(token)?;
    let kid = parsed
        .header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JwsError::UnknownKey)?;
    let key = find(kid).ok_or(JwsError::UnknownKey)?;
    let alg = parsed.header.get("alg").and_then(Value::as_str);
    if alg != Some(key.alg.as_str()) {
        return Err(JwsError::BadSignature);
    }
    if !key.verify_bytes(parsed.signing_input.as_bytes(), &parsed.signature) {
        return Err(JwsError::BadSignature);
    }
    Ok((parsed.header, parsed.payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_every_alg() {
        for alg in [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA] {
            let (key, der) = SigningKey::generate(alg).unwrap();
            let again = SigningKey::from_pkcs8(alg, &der).unwrap();
            assert_eq!(key.kid, again.kid);
            let t = key
                .sign(TokenType::AccessToken, &json!({"sub": "x"}))
                .unwrap();
            let (h, p) = verify(&t, |kid| (kid == key.kid).then_some(&again)).unwrap();
            assert_eq!(h, json!({"alg": alg.as_str(), "kid": key.kid}));
            assert_eq!(p["sub"], "x");
            // One flipped payload byte breaks it.
            let mut bad = t.clone().into_bytes();
            let i = t.find('.').unwrap() + 2;
            bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
            let bad = String::from_utf8(bad).unwrap();
            assert!(verify(&bad, |_| Some(&key)).is_err());
        }
    }

    #[test]
    fn alg_none_and_swapped_alg_refused() {
        let (key, _) = SigningKey::generate(SigningAlg::RS256).unwrap();
        let t = key.sign(TokenType::Jwt, &json!({"sub": "x"})).unwrap();
        let mut parts: Vec<&str> = t.split('.').collect();
        let none = B64URL.encode(json!({"alg": "none", "kid": key.kid}).to_string());
        parts[0] = &none;
        let forged = format!("{}.{}.", parts[0], parts[1]);
        assert!(verify(&forged, |_| Some(&key)).is_err());
        let hs = B64URL.encode(json!({"alg": "HS256", "kid": key.kid}).to_string());
        let forged = format!("{}.{}.{}", hs, parts[1], parts[2]);
        assert!(verify(&forged, |_| Some(&key)).is_err());
    }
}
