//! Fuzz target over the upstream id_token check (`idtoken::verify`: JWS parsing, the
//! key pick, the signature and the claim checks of OIDC Core 3.1.3.7) against a key set
//! held in memory. Inputs: (a) raw token text, (b) edit scripts applied to a genuine
//! ES256 token (so mutations reach every segment and the signature check).
//! Properties: no panic, no hang, and nothing accepted but the exact claims signed.
#![no_main]

use std::sync::{Arc, OnceLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use libfuzzer_sys::fuzz_target;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use poolgate::clock::{Clock, FixedClock};
use poolgate::provider::protocol::idtoken::{Expect, verify};
use poolgate::provider::protocol::jwks::JwksCache;
use serde_json::{Map, Value, json};
use url::Url;

const ISS: &str = "https://idp.example";
const CLIENT: &str = "rp-client";
const NOW: i64 = 1_800_000_000;

struct Fixture {
    rt: tokio::runtime::Runtime,
    cache: JwksCache,
    uri: Url,
    genuine: String,
    claims: Map<String, Value>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = key.public_key().as_ref();
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
            "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65]),
        }]});
        let set: CoreJsonWebKeySet = serde_json::from_value(jwks).unwrap();
        let claims = json!({
            "iss": ISS, "aud": CLIENT, "sub": "user-1", "nonce": "n-1",
            "iat": NOW, "exp": NOW + 600, "email": "a@example.com",
        });
        let h = B64.encode(br#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#);
        let p = B64.encode(claims.to_string());
        let input = format!("{h}.{p}");
        let sig = key.sign(&rng, input.as_bytes()).unwrap();
        let genuine = format!("{input}.{}", B64.encode(sig.as_ref()));
        let clock = Arc::new(FixedClock::at(NOW * 1000));
        // An unknown kid triggers one refetch: from a port nothing listens on.
        let uri = Url::parse("http://127.0.0.1:9/jwks").unwrap();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(200))
            .build()
            .unwrap();
        let cache = JwksCache::preloaded(http, clock, uri.clone(), set);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Fixture {
            rt,
            cache,
            uri,
            genuine,
            claims: claims.as_object().cloned().unwrap(),
        }
    })
}

/// Applies an edit script (3-byte ops: kind, position, byte) to `seed`.
fn edit(seed: &str, script: &[u8]) -> Vec<u8> {
    let mut out = seed.as_bytes().to_vec();
    for op in script.chunks_exact(3) {
        if out.is_empty() {
            break;
        }
        let at = usize::from(op[1]) * out.len() / 256;
        match op[0] % 4 {
            0 => out[at] = op[2],
            1 => out.insert(at, op[2]),
            2 => {
                out.remove(at);
            }
            _ => out[at] ^= 1 << (op[2] % 8),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        edit(&f.genuine, rest)
    };
    let Ok(token) = String::from_utf8(token) else {
        return;
    };
    let issuers = vec![ISS.to_owned()];
    let x = Expect {
        client_id: CLIENT,
        native_ids: &[],
        issuers: &issuers,
        nonce: Some("n-1"),
        algs: &[CoreJwsSigningAlgorithm::EcdsaP256Sha256],
        access_token: None,
        now: FixedClock::at(NOW * 1000).now(),
    };
    let got = f.rt.block_on(verify(&token, &f.cache, &f.uri, &x));
    if let Ok(claims) = got {
        assert_eq!(claims, f.claims, "accepted claims that were never signed");
    }
});
