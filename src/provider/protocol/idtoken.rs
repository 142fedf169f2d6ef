//! id_token verification (OpenID Connect Core 3.1.3.7). openidconnect parses the key
//! set and picks the key; the signature is checked with aws-lc-rs (its pure-Rust RSA
//! path costs about ten times more per sign-in), and the claim checks are done here
//! because openidconnect 4.1 checks neither `azp` nor `iat`, cannot parse Google's
//! legacy issuer `accounts.google.com` (its `IssuerUrl` must be a URL) and never
//! refetches a rotated key set.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{JsonWebKey, JwsSigningAlgorithm};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use url::Url;

use super::jwks::JwksCache;
use crate::provider::ProviderError;

/// Allowed clock skew for `exp`, `nbf` and a future `iat`.
pub const SKEW_S: i64 = 120;
/// An `iat` older than this is refused: an id_token comes fresh from the token endpoint.
pub const MAX_IAT_AGE_S: i64 = 24 * 3600;
/// Largest id_token accepted.
pub const MAX_TOKEN_LEN: usize = 32 * 1024;

/// What the token must say.
pub struct Expect<'a> {
    pub client_id: &'a str,
    /// Further accepted audiences: a native app's own client ids (token exchange,
    /// interface.md section 10). Empty for a browser sign-in.
    pub native_ids: &'a [String],
    /// Accepted `iss` values (Google has two spellings).
    pub issuers: &'a [String],
    pub nonce: Option<&'a str>,
    /// Algorithms the upstream publishes, asymmetric only.
    pub algs: &'a [CoreJwsSigningAlgorithm],
    /// When set and the token has `at_hash`, the hash must match (Core 3.1.3.8 / 3.2.2.9).
    pub access_token: Option<&'a str>,
    pub now: i64,
}

fn rejected(msg: impl Into<String>) -> ProviderError {
    ProviderError::Rejected(msg.into())
}

fn b64_json(part: &str, what: &str) -> Result<Map<String, Value>, ProviderError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| rejected(format!("id_token {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(rejected(format!("id_token {what} is not a JSON object"))),
    }
}

/// Parses an algorithm name; `none` and HMAC are never accepted for an id_token here
/// (HMAC keyed with a public key is the classic confusion attack).
pub fn asymmetric_alg(name: &str) -> Option<CoreJwsSigningAlgorithm> {
    let alg: CoreJwsSigningAlgorithm =
        serde_json::from_value(Value::String(name.to_owned())).ok()?;
    if alg == CoreJwsSigningAlgorithm::None || alg.uses_shared_secret() {
        return None;
    }
    Some(alg)
}

/// Verifies signature and claims; returns the claims.
pub async fn verify(
    token: &str,
    jwks: &JwksCache,
    jwks_uri: &Url,
    x: &Expect<'_>,
) -> Result<Map<String, Value>, ProviderError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(rejected("id_token too long"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(rejected("id_token is not a signed JWT (JWS compact form)"));
    };
    let header = b64_json(h, "header")?;
    if header.contains_key("crit") {
        return Err(rejected("id_token header has crit extensions"));
    }
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = asymmetric_alg(alg_name)
        .filter(|a| x.algs.contains(a))
        .ok_or_else(|| {
            rejected(format!(
                "id_token alg {alg_name:?} is not one the provider publishes"
            ))
        })?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(rejected("id_token kid is not a string")),
    };
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| rejected("id_token signature is not base64url"))?;
    let key = jwks.key_for(jwks_uri, kid, &alg).await?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    if !signature_verifies(&key, &alg, signing_input.as_bytes(), &signature) {
        return Err(rejected("id_token signature does not verify"));
    }
    let claims = b64_json(p, "payload")?;
    check_claims(&claims, x)?;
    if let (Some(at), Some(Value::String(want))) = (x.access_token, claims.get("at_hash")) {
        let digest = key
            .hash_bytes(at.as_bytes(), &alg)
            .map_err(|_| rejected("at_hash: cannot hash"))?;
        let half = URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]);
        if !bool::from(half.as_bytes().ct_eq(want.as_bytes())) {
            return Err(rejected("id_token at_hash does not match the access token"));
        }
    }
    Ok(claims)
}

/// A JWK member decoded from base64url; empty when absent or malformed.
fn jwk_bytes(jwk: &Value, name: &str) -> Vec<u8> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
        .unwrap_or_default()
}

/// Checks a JWS signature with aws-lc-rs. RSA keys shorter than 2048 bits are refused
/// (RFC 7518 section 3.3), EC points must lie on the curve `alg` names, and the key's
/// own type must suit `alg` (the picker already ensured it; checked again here).
fn signature_verifies(
    key: &openidconnect::core::CoreJsonWebKey,
    alg: &CoreJwsSigningAlgorithm,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    use CoreJwsSigningAlgorithm as A;
    use aws_lc_rs::signature as s;
    let Ok(jwk) = serde_json::to_value(key) else {
        return false;
    };
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
    let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
    let rsa = |params: &'static s::RsaParameters| {
        kty == "RSA"
            && s::RsaPublicKeyComponents {
                n: jwk_bytes(&jwk, "n"),
                e: jwk_bytes(&jwk, "e"),
            }
            .verify(params, msg, sig)
            .is_ok()
    };
    let ec = |want_crv: &str, len: usize, params: &'static s::EcdsaVerificationAlgorithm| {
        let (x, y) = (jwk_bytes(&jwk, "x"), jwk_bytes(&jwk, "y"));
        if kty != "EC" || crv != want_crv || x.len() != len || y.len() != len {
            return false;
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(4);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        s::UnparsedPublicKey::new(params, point)
            .verify(msg, sig)
            .is_ok()
    };
    match alg {
        A::RsaSsaPkcs1V15Sha256 => rsa(&s::RSA_PKCS1_2048_8192_SHA256),
        A::RsaSsaPkcs1V15Sha384 => rsa(&s::RSA_PKCS1_2048_8192_SHA384),
        A::RsaSsaPkcs1V15Sha512 => rsa(&s::RSA_PKCS1_2048_8192_SHA512),
        A::RsaSsaPssSha256 => rsa(&s::RSA_PSS_2048_8192_SHA256),
        A::RsaSsaPssSha384 => rsa(&s::RSA_PSS_2048_8192_SHA384),
        A::RsaSsaPssSha512 => rsa(&s::RSA_PSS_2048_8192_SHA512),
        A::EcdsaP256Sha256 => ec("P-256", 32, &s::ECDSA_P256_SHA256_FIXED),
        A::EcdsaP384Sha384 => ec("P-384", 48, &s::ECDSA_P384_SHA384_FIXED),
        A::EcdsaP521Sha512 => ec("P-521", 66, &s::ECDSA_P521_SHA512_FIXED),
        A::EdDsa => {
            let x = jwk_bytes(&jwk, "x");
            kty == "OKP"
                && crv == "Ed25519"
                && x.len() == 32
                && s::UnparsedPublicKey::new(&s::ED25519, x)
                    .verify(msg, sig)
                    .is_ok()
        }
        _ => false,
    }
}

fn num(claims: &Map<String, Value>, key: &str) -> Result<Option<i64>, ProviderError> {
    match claims.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| rejected(format!("id_token {key} is not a number"))),
    }
}

/// The claim checks of Core 3.1.3.7 steps 2-5 and 9-11.
pub fn check_claims(claims: &Map<String, Value>, x: &Expect<'_>) -> Result<(), ProviderError> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| rejected("id_token has no iss"))?;
    if !x.issuers.iter().any(|i| i == iss) {
        return Err(rejected("id_token iss is not the provider's issuer"));
    }
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err(rejected("id_token has no aud")),
    };
    let ours = |a: &str| a == x.client_id || x.native_ids.iter().any(|n| n == a);
    if !auds.iter().any(|a| ours(a)) {
        return Err(rejected("id_token aud does not contain the client id"));
    }
    // Steps 4-5: with several audiences `azp` must be present, and whenever present it
    // must be this client (or one of its native ids: Google writes the web client id
    // in `aud` and the Android or iOS client id in `azp`).
    match claims.get("azp") {
        Some(Value::String(azp)) if ours(azp) => {}
        Some(_) => return Err(rejected("id_token azp is not the client id")),
        None if auds.len() > 1 => {
            return Err(rejected("id_token has several audiences and no azp"));
        }
        None => {}
    }
    let exp = num(claims, "exp")?.ok_or_else(|| rejected("id_token has no exp"))?;
    if x.now >= exp.saturating_add(SKEW_S) {
        return Err(rejected("id_token expired"));
    }
    let iat = num(claims, "iat")?.ok_or_else(|| rejected("id_token has no iat"))?;
    if iat > x.now.saturating_add(SKEW_S) {
        return Err(rejected("id_token iat is in the future"));
    }
    if iat < x.now.saturating_sub(MAX_IAT_AGE_S) {
        return Err(rejected("id_token iat is too old"));
    }
    if let Some(nbf) = num(claims, "nbf")?
        && nbf > x.now.saturating_add(SKEW_S)
    {
        return Err(rejected("id_token not yet valid (nbf)"));
    }
    if let Some(want) = x.nonce {
        let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !bool::from(want.as_bytes().ct_eq(got.as_bytes())) {
            return Err(rejected("id_token nonce does not match the sign-in"));
        }
    }
    match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => Ok(()),
        _ => Err(rejected("id_token sub is missing, empty or too long")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn claim_checks() {
        let issuers = vec!["https://i".to_owned()];
        let x = Expect {
            client_id: "c",
            native_ids: &[],
            issuers: &issuers,
            nonce: Some("n"),
            algs: &[],
            access_token: None,
            now: 1000,
        };
        let good = json!({"iss": "https://i", "aud": "c", "exp": 2000, "iat": 1000, "nonce": "n", "sub": "s"});
        assert!(check_claims(&claims(good.clone()), &x).is_ok());
        let bad = |k: &str, v: Value| {
            let mut c = claims(good.clone());
            c.insert(k.into(), v);
            check_claims(&c, &x).is_err()
        };
        assert!(bad("iss", json!("https://j")));
        assert!(bad("aud", json!("d")));
        assert!(bad("aud", json!(["c", "d"])));
        assert!(bad("azp", json!("d")));
        assert!(bad("exp", json!(800)));
        assert!(bad("iat", json!(1200)));
        assert!(bad("iat", json!(1000 - MAX_IAT_AGE_S - 1)));
        assert!(bad("nonce", json!("m")));
        assert!(bad("sub", json!("")));
        let mut multi = claims(good);
        multi.insert("aud".into(), json!(["c", "d"]));
        multi.insert("azp".into(), json!("c"));
        assert!(check_claims(&multi, &x).is_ok());
        assert!(asymmetric_alg("none").is_none());
        assert!(asymmetric_alg("HS256").is_none());
        assert!(asymmetric_alg("RS256").is_some());
    }

    fn jwk(v: Value) -> openidconnect::core::CoreJsonWebKey {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("jwk: {e}"))
    }

    fn b64(b: &[u8]) -> Value {
        Value::String(URL_SAFE_NO_PAD.encode(b))
    }

    #[test]
    fn signatures_are_checked_with_the_right_key_type_and_curve() {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{self as s, KeyPair};
        use openidconnect::core::CoreJwsSigningAlgorithm as A;
        let rng = SystemRandom::new();
        let msg = b"header.payload";

        let rsa = s::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let mut sig = vec![0; rsa.public_modulus_len()];
        rsa.sign(&s::RSA_PKCS1_SHA256, &rng, msg, &mut sig).unwrap();
        let pk = rsa.public_key();
        let rsa_jwk = jwk(json!({"kty": "RSA",
            "n": b64(pk.modulus().big_endian_without_leading_zero()),
            "e": b64(pk.exponent().big_endian_without_leading_zero())}));
        assert!(signature_verifies(
            &rsa_jwk,
            &A::RsaSsaPkcs1V15Sha256,
            msg,
            &sig
        ));
        assert!(!signature_verifies(
            &rsa_jwk,
            &A::RsaSsaPkcs1V15Sha256,
            b"other",
            &sig
        ));
        assert!(!signature_verifies(
            &rsa_jwk,
            &A::RsaSsaPkcs1V15Sha384,
            msg,
            &sig
        ));
        assert!(!signature_verifies(
            &rsa_jwk,
            &A::RsaSsaPssSha256,
            msg,
            &sig
        ));
        assert!(!signature_verifies(
            &rsa_jwk,
            &A::EcdsaP256Sha256,
            msg,
            &sig
        ));
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!signature_verifies(
            &rsa_jwk,
            &A::RsaSsaPkcs1V15Sha256,
            msg,
            &bad
        ));

        let pkcs8 =
            s::EcdsaKeyPair::generate_pkcs8(&s::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ec = s::EcdsaKeyPair::from_pkcs8(&s::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .unwrap();
        let sig = ec.sign(&rng, msg).unwrap();
        let p = ec.public_key().as_ref();
        let ec_jwk = |crv: &str| {
            jwk(json!({"kty": "EC", "crv": crv, "x": b64(&p[1..33]), "y": b64(&p[33..65])}))
        };
        assert!(signature_verifies(
            &ec_jwk("P-256"),
            &A::EcdsaP256Sha256,
            msg,
            sig.as_ref()
        ));
        assert!(!signature_verifies(
            &ec_jwk("P-256"),
            &A::EcdsaP256Sha256,
            b"x",
            sig.as_ref()
        ));
        // The same point declared on another curve, or used for another algorithm.
        assert!(!signature_verifies(
            &ec_jwk("P-384"),
            &A::EcdsaP384Sha384,
            msg,
            sig.as_ref()
        ));
        assert!(!signature_verifies(
            &ec_jwk("P-256"),
            &A::RsaSsaPkcs1V15Sha256,
            msg,
            sig.as_ref()
        ));

        let pkcs8 = s::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = s::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let sig = ed.sign(msg);
        let ed_jwk =
            jwk(json!({"kty": "OKP", "crv": "Ed25519", "x": b64(ed.public_key().as_ref())}));
        assert!(signature_verifies(&ed_jwk, &A::EdDsa, msg, sig.as_ref()));
        assert!(!signature_verifies(&ed_jwk, &A::EdDsa, b"x", sig.as_ref()));
        // Symmetric and `none` never verify here.
        assert!(!signature_verifies(
            &ed_jwk,
            &A::HmacSha256,
            msg,
            sig.as_ref()
        ));
        assert!(!signature_verifies(&ed_jwk, &A::None, msg, &[]));
    }
}
