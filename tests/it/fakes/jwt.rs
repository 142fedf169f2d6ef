//! A tiny test-only JWT signer and verifier over aws-lc-rs: RS256 and ES256 keys with
//! their public JWKs, plus the forged shapes the negative tests need (`alg: none`, HS256
//! keyed with the RSA public key).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn encode_parts(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A signing key with a `kid`.
pub struct SigningKey {
    pub kid: String,
    pair: Pair,
}

impl SigningKey {
    pub fn rsa(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            pair: Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()),
        }
    }

    pub fn ec(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            pair: Pair::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap()),
        }
    }

    pub fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => "RS256",
            Pair::Ec(_) => "ES256",
        }
    }

    /// The public JWK, as a provider publishes it.
    pub fn jwk(&self) -> Value {
        match &self.pair {
            Pair::Rsa(k) => json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": b64(k.public_key().modulus().big_endian_without_leading_zero()),
                "e": b64(k.public_key().exponent().big_endian_without_leading_zero()),
            }),
            Pair::Ec(k) => {
                let p = k.public_key().as_ref(); // 0x04 || x || y
                json!({"kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256", "kid": self.kid, "x": b64(&p[1..33]), "y": b64(&p[33..65])})
            }
        }
    }

    /// The public key's bytes (DER for RSA): what a confused verifier would use as an
    /// HMAC secret.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.pair {
            Pair::Rsa(k) => k.public_key().as_der().unwrap().as_ref().to_vec(),
            Pair::Ec(k) => k.public_key().as_ref().to_vec(),
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": self.alg(), "kid": self.kid, "typ": "JWT"});
        let input = encode_parts(&header, claims);
        let rng = SystemRandom::new();
        let sig = match &self.pair {
            Pair::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                    .unwrap();
                sig
            }
            Pair::Ec(k) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
        };
        format!("{input}.{}", b64(sig))
    }
}

/// `alg: none`, empty signature.
pub fn unsigned(kid: &str, claims: &Value) -> String {
    format!(
        "{}.",
        encode_parts(&json!({"alg": "none", "kid": kid}), claims)
    )
}

/// HS256 keyed with arbitrary bytes (the RSA public key, for the confusion attack).
pub fn sign_hs256(kid: &str, key: &[u8], claims: &Value) -> String {
    let input = encode_parts(&json!({"alg": "HS256", "kid": kid, "typ": "JWT"}), claims);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// Header and claims without checking anything.
pub fn decode_unverified(token: &str) -> Option<(Value, Value)> {
    let mut it = token.split('.');
    let h = URL_SAFE_NO_PAD.decode(it.next()?).ok()?;
    let c = URL_SAFE_NO_PAD.decode(it.next()?).ok()?;
    Some((
        serde_json::from_slice(&h).ok()?,
        serde_json::from_slice(&c).ok()?,
    ))
}

/// Verifies an ES256 JWT against an uncompressed P-256 public key; header and claims.
pub fn verify_es256(token: &str, public_key: &[u8]) -> Result<(Value, Value), String> {
    let (input, sig) = token.rsplit_once('.').ok_or("not a JWT")?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "signature not base64url")?;
    let (header, claims) = decode_unverified(token).ok_or("undecodable")?;
    if header["alg"] != "ES256" {
        return Err(format!("alg is {}", header["alg"]));
    }
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key)
        .verify(input.as_bytes(), &sig)
        .map_err(|_| "bad signature".to_string())?;
    Ok((header, claims))
}

/// A fresh Apple-style `.p8` key: the PKCS#8 PEM and the public key bytes.
pub fn generate_p8() -> (String, Vec<u8>) {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
    let body = STANDARD.encode(doc.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (pem, pair.public_key().as_ref().to_vec())
}

/// `at_hash`/`c_hash`: left half of SHA-256, base64url (OIDC Core 3.1.3.6).
pub fn half_hash(value: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    b64(&d.as_ref()[..16])
}

/// Full SHA-256, base64url (PKCE S256).
pub fn half_hash_full(value: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes()).as_ref())
}

/// Verifies an RS256 or ES256 JWT against a public JWK (`kty` RSA or EC P-256), as an
/// IdP checks a `private_key_jwt` client assertion; header and claims.
pub fn verify_with_jwk(token: &str, jwk: &Value) -> Result<(Value, Value), String> {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    let (input, sig) = token.rsplit_once('.').ok_or("not a JWT")?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "signature not base64url")?;
    let (header, claims) = decode_unverified(token).ok_or("undecodable")?;
    let member = |k: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[k].as_str().unwrap_or(""))
            .unwrap_or_default()
    };
    let ok = match (header["alg"].as_str(), jwk["kty"].as_str()) {
        (Some("RS256"), Some("RSA")) => RsaPublicKeyComponents {
            n: member("n"),
            e: member("e"),
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig)
        .is_ok(),
        (Some("ES256"), Some("EC")) => {
            let point = [vec![4u8], member("x"), member("y")].concat();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(input.as_bytes(), &sig)
                .is_ok()
        }
        (alg, kty) => return Err(format!("alg {alg:?} does not suit key type {kty:?}")),
    };
    if ok {
        Ok((header, claims))
    } else {
        Err("bad signature".into())
    }
}

/// A PKCS#8 PEM of a fresh RSA 2048 key.
pub fn generate_rsa_pem() -> String {
    use aws_lc_rs::encoding::AsDer;
    let k = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = k.as_der().unwrap();
    let body = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}
