//! Fake upstream identity providers for the tests: each an axum server on 127.0.0.1:0
//! speaking its provider's wire format, with knobs that make it misbehave. Reused by the
//! adapter tests and the end-to-end tests through the gateway.
#![allow(dead_code)]

pub mod amazon;
pub mod apple;
pub mod facebook;
pub mod github;
pub mod google;
pub mod jwt;
pub mod oauth2;
pub mod oidc;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use base64::Engine;

use serde_json::{Map, Value, json};
use url::Url;

use jwt::SigningKey;

/// Starts `app` on 127.0.0.1:0; returns its base URL (`http://127.0.0.1:PORT`).
pub async fn serve(app: Router) -> (Url, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (Url::parse(&format!("http://{addr}")).unwrap(), task)
}

/// How the id_token is signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignMode {
    #[default]
    Normal,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 keyed with the RSA public key's bytes (algorithm confusion).
    Hs256WithPublicKey,
    /// Signed by a key the JWKS never publishes.
    UnknownKey,
}

/// id_token misbehaviours shared by the OIDC, Google and Apple fakes.
#[derive(Clone, Debug, Default)]
pub struct TokenKnobs {
    pub nonce: Option<String>,
    pub aud: Option<Value>,
    pub iss: Option<String>,
    pub azp: Option<String>,
    /// Seconds added to `exp` (default lifetime 3600); -7200 makes it expired.
    pub exp_offset: i64,
    /// Seconds added to `iat`; +3600 puts it in the future.
    pub iat_offset: i64,
    pub sign: SignMode,
    /// Claims merged into the id_token last (override anything).
    pub extra: Map<String, Value>,
    /// Drop these claims from the id_token.
    pub remove: Vec<String>,
}

/// The fake's keys: the published set and the one that signs. Cheap to clone, so a
/// handler can sign after releasing the fake's lock.
#[derive(Clone)]
pub struct Keys {
    pub active: Arc<SigningKey>,
    pub published: Vec<Value>,
    stranger: Arc<SigningKey>,
    counter: usize,
    ec: bool,
}

impl Keys {
    pub fn new() -> Self {
        Self::with_ec(false)
    }

    /// RS256 keys, or ES256 (P-256) ones when `ec`.
    pub fn with_ec(ec: bool) -> Self {
        let make = |kid: &str| {
            Arc::new(if ec {
                SigningKey::ec(kid)
            } else {
                SigningKey::rsa(kid)
            })
        };
        let active = make("key-1");
        let published = vec![active.jwk()];
        Self {
            active,
            published,
            stranger: make("stranger"),
            counter: 1,
            ec,
        }
    }

    /// A new signing key; the JWKS publishes only the new one (old tokens are dead).
    pub fn rotate(&mut self) {
        self.counter += 1;
        let kid = format!("key-{}", self.counter);
        self.active = Arc::new(if self.ec {
            SigningKey::ec(&kid)
        } else {
            SigningKey::rsa(&kid)
        });
        self.published = vec![self.active.jwk()];
    }

    pub fn jwks(&self) -> Value {
        json!({ "keys": self.published })
    }

    pub fn sign(&self, mode: SignMode, claims: &Value) -> String {
        match mode {
            SignMode::Normal => self.active.sign(claims),
            SignMode::AlgNone => jwt::unsigned(&self.active.kid, claims),
            SignMode::Hs256WithPublicKey => {
                jwt::sign_hs256(&self.active.kid, &self.active.public_key_bytes(), claims)
            }
            SignMode::UnknownKey => self.stranger.sign(claims),
        }
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Builds id_token claims: the standard ones, the user's, then the knobs.
pub fn id_token_claims(
    issuer: &str,
    client_id: &str,
    nonce: Option<&str>,
    access_token: &str,
    user: &Map<String, Value>,
    k: &TokenKnobs,
) -> Value {
    let now = now();
    let mut c = Map::new();
    c.insert(
        "iss".into(),
        json!(k.iss.clone().unwrap_or_else(|| issuer.to_owned())),
    );
    c.insert(
        "aud".into(),
        k.aud.clone().unwrap_or_else(|| json!(client_id)),
    );
    c.insert("iat".into(), json!(now + k.iat_offset));
    c.insert("exp".into(), json!(now + 3600 + k.exp_offset));
    c.insert("at_hash".into(), json!(jwt::half_hash(access_token)));
    if let Some(n) = k.nonce.clone().or_else(|| nonce.map(str::to_owned)) {
        c.insert("nonce".into(), json!(n));
    }
    if let Some(azp) = &k.azp {
        c.insert("azp".into(), json!(azp));
    }
    for (key, v) in user {
        c.insert(key.clone(), v.clone());
    }
    for (key, v) in &k.extra {
        c.insert(key.clone(), v.clone());
    }
    for key in &k.remove {
        c.remove(key);
    }
    Value::Object(c)
}

/// A random opaque value (codes, access tokens).
pub fn random() -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 24];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut b).unwrap();
    jwt::b64(b)
}

/// S256 PKCE check (RFC 7636 4.6).
pub fn pkce_ok(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (None, None) => true,
        (Some(c), Some(v)) => jwt::half_hash_full(v) == c,
        _ => false,
    }
}

/// Client credentials from `Authorization: Basic` (form-urlencoded parts, RFC 6749
/// 2.3.1) or the form body; with the method used.
pub fn client_credentials(
    headers: &axum::http::HeaderMap,
    form: &BTreeMap<String, String>,
) -> Option<(String, String, &'static str)> {
    if let Some(h) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let b = h.strip_prefix("Basic ")?;
        let dec =
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).ok()?).ok()?;
        let (id, secret) = dec.split_once(':')?;
        let un = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((un(id)?, un(secret)?, "client_secret_basic"));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
        "client_secret_post",
    ))
}

/// The redirect back to the client with `params` added to its query.
pub fn redirect_back(redirect_uri: &str, params: &[(&str, &str)]) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut u = match Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return (axum::http::StatusCode::BAD_REQUEST, "bad redirect_uri").into_response(),
    };
    u.query_pairs_mut().extend_pairs(params.iter());
    (
        axum::http::StatusCode::FOUND,
        [(axum::http::header::LOCATION, u.to_string())],
    )
        .into_response()
}

/// A bearer token from the `Authorization` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}

/// An HTML page that auto-posts `fields` to `action` (Apple's `form_post`).
pub fn form_post_page(action: &str, fields: &[(String, String)]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
                esc(k),
                esc(v)
            )
        })
        .collect();
    format!(
        "<html><body onload=\"document.forms[0].submit()\"><form method=\"POST\" action=\"{}\">{inputs}</form></body></html>",
        esc(action)
    )
}

/// Parses what `form_post_page` wrote: the action and the fields.
pub fn parse_form_post(html: &str) -> (String, Vec<(String, String)>) {
    let unesc = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(unesc(&tag[start..end]))
    };
    let form_tag = html
        .split("<form")
        .nth(1)
        .and_then(|s| s.split('>').next())
        .unwrap_or("");
    let action = attr(form_tag, "action").unwrap_or_default();
    let fields = html
        .split("<input")
        .skip(1)
        .filter_map(|t| {
            let tag = t.split("/>").next()?;
            Some((attr(tag, "name")?, attr(tag, "value")?))
        })
        .collect();
    (action, fields)
}

/// Shared state helper.
pub type Shared<T> = Arc<Mutex<T>>;
