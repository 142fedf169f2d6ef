//! `private_key_jwt` client authentication (RFC 7523 section 2.2, OIDC Core section 9):
//! instead of a shared secret, poolgate signs a short-lived JWT with the registration's
//! private key (RS256 or ES256) and the IdP verifies it with the public key registered
//! there (the JWK the admin API shows, or a certificate made from the key for Entra ID).

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::oauth2::random_token;
use crate::provider::ProviderError;

/// The `client_assertion_type` of RFC 7523 section 2.2.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of an assertion: one token request.
const LIFETIME_S: i64 = 120;

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A client signing key. `Debug` shows only the key id.
pub struct ClientKey {
    pair: Pair,
    kid: String,
    /// `x5t#S256` and `x5t` of the certificate registered at the IdP (Entra ID).
    x5t: Option<(String, String)>,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey").field("kid", &self.kid).finish()
    }
}

/// The DER body of the first PEM block labelled `label`; literal `\n` are accepted (a key
/// squeezed into one environment variable).
fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let pem = pem.replace("\\n", "\n");
    let body = pem
        .split(&format!("-----BEGIN {label}-----"))
        .nth(1)?
        .split(&format!("-----END {label}-----"))
        .next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl ClientKey {
    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`, RSA or P-256), PKCS#1
    /// (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, P-256). RSA keys must have at
    /// least 2048 bits. `kid` defaults to the JWK thumbprint (RFC 7638).
    pub fn from_pem(
        pem: &str,
        kid: Option<&str>,
        certificate_pem: Option<&str>,
    ) -> Result<Self, String> {
        let pair = if let Some(der) = pem_block(pem, "PRIVATE KEY") {
            match RsaKeyPair::from_pkcs8(&der) {
                Ok(k) => Pair::Rsa(k),
                Err(_) => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                    .map(Pair::Ec)
                    .map_err(|_| "is not an RSA or P-256 private key".to_owned())?,
            }
        } else if let Some(der) = pem_block(pem, "RSA PRIVATE KEY") {
            Pair::Rsa(RsaKeyPair::from_der(&der).map_err(|_| "is not an RSA private key")?)
        } else if let Some(der) = pem_block(pem, "EC PRIVATE KEY") {
            Pair::Ec(
                EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                    .map_err(|_| "is not a P-256 private key")?,
            )
        } else {
            return Err("is not a PEM private key".into());
        };
        if let Pair::Rsa(k) = &pair
            && k.public_modulus_len() < 256
        {
            return Err("RSA keys must have at least 2048 bits".into());
        }
        let x5t = match certificate_pem {
            None => None,
            Some(c) => {
                let der = pem_block(c, "CERTIFICATE").ok_or("is not a PEM certificate")?;
                Some((
                    b64(digest::digest(&digest::SHA256, &der)),
                    b64(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der)),
                ))
            }
        };
        let mut key = Self {
            pair,
            kid: String::new(),
            x5t,
        };
        key.kid = match kid {
            Some(k) => k.to_owned(),
            None => key.thumbprint(),
        };
        Ok(key)
    }

    pub fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => "RS256",
            Pair::Ec(_) => "ES256",
        }
    }

    /// The public key's required members, in the lexicographic order RFC 7638 hashes.
    fn members(&self) -> Value {
        match &self.pair {
            Pair::Rsa(k) => json!({
                "e": b64(k.public_key().exponent().big_endian_without_leading_zero()),
                "kty": "RSA",
                "n": b64(k.public_key().modulus().big_endian_without_leading_zero()),
            }),
            Pair::Ec(k) => {
                let p = k.public_key().as_ref(); // 0x04 || x || y
                json!({"crv": "P-256", "kty": "EC", "x": b64(&p[1..33]), "y": b64(&p[33..65])})
            }
        }
    }

    /// RFC 7638: base64url SHA-256 of the required members, no whitespace, sorted keys
    /// (serde_json's map keeps them sorted).
    fn thumbprint(&self) -> String {
        b64(digest::digest(
            &digest::SHA256,
            self.members().to_string().as_bytes(),
        ))
    }

    /// The public JWK to register at the IdP.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.members();
        if let Value::Object(m) = &mut jwk {
            m.insert("kid".into(), json!(self.kid));
            m.insert("use".into(), json!("sig"));
            m.insert("alg".into(), json!(self.alg()));
        }
        jwk
    }

    /// A fresh assertion for one token request: `iss` = `sub` = the client id, `aud` =
    /// the token endpoint, a random `jti`, and a two-minute lifetime.
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
    ) -> Result<String, ProviderError> {
        let mut header = json!({"alg": self.alg(), "typ": "JWT", "kid": self.kid});
        if let (Some((s256, s1)), Value::Object(h)) = (&self.x5t, &mut header) {
            h.insert("x5t#S256".into(), json!(s256));
            h.insert("x5t".into(), json!(s1));
        }
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": random_token()?,
            "iat": now,
            "nbf": now,
            "exp": now + LIFETIME_S,
        });
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let fail = |_| ProviderError::Config("signing the client assertion failed".into());
        let rng = SystemRandom::new();
        let sig = match &self.pair {
            Pair::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                    .map_err(fail)?;
                sig
            }
            Pair::Ec(k) => k
                .sign(&rng, input.as_bytes())
                .map_err(fail)?
                .as_ref()
                .to_vec(),
        };
        Ok(format!("{input}.{}", b64(sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn es256_assertion_verifies_with_the_shown_jwk() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map(|d| d.as_ref().to_vec())
            .unwrap_or_default();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(&pkcs8)
        );
        let key = ClientKey::from_pem(&pem, None, None).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(key.alg(), "ES256");
        let jwk = key.public_jwk();
        assert_eq!(jwk["kid"], json!(key.thumbprint()));
        assert!(jwk.get("d").is_none(), "never the private part");
        let jwt = key
            .assertion("client-1", "https://idp.example/token", 1000)
            .unwrap_or_default();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let dec = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap_or_default();
        let x = dec(jwk["x"].as_str().unwrap_or(""));
        let y = dec(jwk["y"].as_str().unwrap_or(""));
        let point = [&[4u8][..], &x, &y].concat();
        let input = format!("{}.{}", parts[0], parts[1]);
        assert!(
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(input.as_bytes(), &dec(parts[2]))
                .is_ok()
        );
        let claims: Value = serde_json::from_slice(&dec(parts[1])).unwrap_or_default();
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["aud"], "https://idp.example/token");
        assert_eq!(claims["exp"], 1000 + LIFETIME_S);
        assert!(ClientKey::from_pem("nope", None, None).is_err());
    }
}
