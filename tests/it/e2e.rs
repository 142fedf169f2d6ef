//! End to end through a generic OIDC provider: the app's view of poolgate (issue 2).
//! Tokens are verified as a backend would: openidconnect's ID-token verifier and the
//! published JWKS, not poolgate's own code.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fakes::oidc::{self, FakeHandle, OidcOpts};
use crate::harness::{
    Browser, Gw, Landing, app_client_body, authorize_url, claims, json_str, pkce,
};

pub const CB: &str = "http://127.0.0.1:9/cb";

pub struct Env {
    pub gw: Gw,
    pub fake: FakeHandle,
    pub client: String,
    /// The client's secret, when it is confidential: the token endpoint, revocation and
    /// introspection then authenticate with it (HTTP Basic).
    pub secret: Option<String>,
}

/// A gateway with one OIDC provider `Corp` (linking policy `link`) and one app client.
pub async fn setup(link: &str, confidential: bool) -> Env {
    let gw = Gw::start().await;
    let fake = oidc::start(OidcOpts::default()).await;
    register(&gw, "Corp", &fake, link).await;
    let (client, secret) = gw
        .client(app_client_body(CB, &["Corp"], confidential))
        .await;
    Env {
        gw,
        fake,
        client,
        secret,
    }
}

pub async fn register(gw: &Gw, name: &str, fake: &FakeHandle, link: &str) {
    let o = fake.opts();
    gw.put_provider(
        name,
        json!({"type": "OIDC", "details": {"issuer": fake.issuer(), "client_id": o.client_id, "client_secret": o.client_secret}, "link_by_email": link}),
    )
    .await;
}

/// Signs in through `provider`; returns where the browser landed and the PKCE verifier.
pub async fn sign_in_via(
    env: &Env,
    browser: &Browser,
    provider: &str,
    nonce: &str,
) -> (Landing, String) {
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &env.gw,
        &env.client,
        CB,
        &[
            ("scope", "openid email profile"),
            ("state", "app-state-1"),
            ("nonce", nonce),
            ("identity_provider", provider),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    (browser.follow(&url, CB).await, verifier)
}

/// A whole sign-in and code exchange; the token response.
pub async fn tokens_via(env: &Env, provider: &str, nonce: &str) -> Value {
    let (landing, verifier) = sign_in_via(env, &Browser::new(), provider, nonce).await;
    let code = landing.code();
    let (s, v) = exchange(env, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

pub async fn exchange(env: &Env, code: &str, verifier: &str) -> (StatusCode, Value) {
    env.gw
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &env.client),
                ("code", code),
                ("redirect_uri", CB),
                ("code_verifier", verifier),
            ],
            env.basic(),
        )
        .await
}

pub async fn refresh(env: &Env, rt: &str) -> (StatusCode, Value) {
    env.gw
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &env.client),
                ("refresh_token", rt),
            ],
            env.basic(),
        )
        .await
}

impl Env {
    /// HTTP Basic credentials of a confidential client.
    pub fn basic(&self) -> Option<(&str, &str)> {
        self.secret.as_deref().map(|s| (self.client.as_str(), s))
    }

    /// A form POST to `path` authenticated as the app client.
    pub async fn post_as_client(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut f = form.to_vec();
        f.push(("client_id", &self.client));
        let mut req = self.gw.http.post(self.gw.url(path)).form(&f);
        if let Some((id, secret)) = self.basic() {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.unwrap()
    }

    /// Makes the app client rotate its refresh tokens.
    pub async fn enable_rotation(&self, retry_grace_s: u64) {
        let (s, v) = self
            .gw
            .admin(
                "PATCH",
                &format!("/pools/default/clients/{}", self.client),
                Some(json!({"refresh_token_rotation": {"enabled": true, "retry_grace_s": retry_grace_s}})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

pub async fn userinfo(env: &Env, at: &str) -> (StatusCode, Value) {
    let r = env
        .gw
        .http
        .get(env.gw.url("/oauth2/userInfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// RFC 7662 introspection as the app client, which must be confidential.
pub async fn introspect(env: &Env, token: &str) -> Value {
    assert!(
        env.secret.is_some(),
        "introspection needs a confidential client"
    );
    let r = env
        .post_as_client("/oauth2/introspect", &[("token", token)])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Verifies an RS256/ES256 JWS against a JWKS document with aws-lc-rs from the JWK's
/// public parameters; returns (header, claims).
pub fn verify_jwt(jwt: &str, jwks: &Value) -> (Value, Value) {
    use aws_lc_rs::signature;
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in JWKS"));
    let msg = format!("{}.{}", parts[0], parts[1]);
    let sig = B64.decode(parts[2]).unwrap();
    let d = |k: &str| B64.decode(jwk[k].as_str().unwrap()).unwrap();
    let ok = match header["alg"].as_str().unwrap() {
        "RS256" => signature::RsaPublicKeyComponents {
            n: d("n"),
            e: d("e"),
        }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg.as_bytes(), &sig)
        .is_ok(),
        "ES256" => {
            let mut point = vec![4u8];
            point.extend(d("x"));
            point.extend(d("y"));
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(msg.as_bytes(), &sig)
                .is_ok()
        }
        "EdDSA" => signature::UnparsedPublicKey::new(&signature::ED25519, d("x"))
            .verify(msg.as_bytes(), &sig)
            .is_ok(),
        other => panic!("unexpected alg {other}"),
    };
    assert!(ok, "signature does not verify");
    (header, claims(jwt))
}

#[tokio::test]
async fn happy_path_every_claim() {
    let env = setup("never", false).await;
    let t = tokens_via(&env, "Corp", "nonce-123").await;
    let issuer = env.gw.base.clone();
    let jwks = env.gw.jwks().await;

    // The ID token passes a standard OIDC verifier against the JWKS.
    let set: CoreJsonWebKeySet = serde_json::from_value(jwks.clone()).unwrap();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(env.client.clone()),
        IssuerUrl::new(issuer.clone()).unwrap(),
        set,
    );
    let id_token: CoreIdToken = json_str(&t, "id_token").parse().unwrap();
    id_token
        .claims(&verifier, &Nonce::new("nonce-123".into()))
        .expect("id_token verifies");

    let (h, id) = verify_jwt(&json_str(&t, "id_token"), &jwks);
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["typ"], "JWT");
    assert_eq!(id["iss"], issuer);
    assert_eq!(id["aud"], env.client);
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["nonce"], "nonce-123");
    assert!(
        uuid::Uuid::parse_str(id["sub"].as_str().unwrap()).is_ok(),
        "sub is a UUID: {}",
        id["sub"]
    );
    let iat = id["iat"].as_i64().unwrap();
    assert_eq!(id["exp"].as_i64().unwrap(), iat + 3600);
    assert!(id["auth_time"].as_i64().unwrap() <= iat);
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Ada Lovelace");
    assert_eq!(id["given_name"], "Ada");
    assert_eq!(id["family_name"], "Lovelace");
    assert_eq!(id["cognito:username"], "Corp_user-1");
    assert!(id.get("cognito:groups").is_none(), "in no pool group");
    assert!(id.get("groups").is_none() && id.get("username").is_none());
    assert!(id["jti"].is_string() && id["event_id"].is_string());
    assert!(id["origin_jti"].is_string());
    let ident = &id["identities"][0];
    assert_eq!(ident["userId"], "user-1");
    assert_eq!(ident["providerName"], "Corp");
    assert_eq!(ident["providerType"], "OIDC");
    assert_eq!(ident["issuer"], env.fake.issuer());
    assert_eq!(ident["primary"], "true");
    assert!(
        ident["dateCreated"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 1_600_000_000_000
    );

    // at_hash binds the ID token to the access token (OIDC Core 3.1.3.6).
    let at = json_str(&t, "access_token");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, at.as_bytes());
    assert_eq!(id["at_hash"], B64.encode(&digest.as_ref()[..16]));

    let (h, a) = verify_jwt(&at, &jwks);
    assert!(h.get("typ").is_none(), "kid and alg only, as Cognito: {h}");
    assert_eq!(a["iss"], issuer);
    assert_eq!(a["sub"], id["sub"]);
    assert_eq!(a["client_id"], env.client);
    assert_eq!(a["token_use"], "access");
    assert_eq!(a["scope"], "openid email profile");
    assert_eq!(a["username"], "Corp_user-1");
    assert_eq!(
        a["exp"].as_i64().unwrap(),
        a["iat"].as_i64().unwrap() + 3600
    );
    assert!(a["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(a["auth_time"].is_i64());
    assert_eq!(a["version"], 2);
    assert_eq!(a["event_id"], id["event_id"], "one authentication event");
    assert_eq!(a["origin_jti"], id["origin_jti"]);
    assert_ne!(a["jti"], id["jti"]);
    assert!(a.get("groups").is_none() && a.get("cognito:groups").is_none());

    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    let rt = json_str(&t, "refresh_token");
    assert!(
        rt.len() >= 43 && !rt.contains('.'),
        "opaque, at least 256 bits"
    );

    // Discovery names the same issuer and JWKS.
    let d: Value = env
        .gw
        .http
        .get(env.gw.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], issuer);
    assert_eq!(d["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));

    // The upstream saw PKCE and a nonce from poolgate.
    let q = &env.fake.seen().authorize_queries[0];
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(
        q.contains_key("nonce") && q["nonce"] != "nonce-123",
        "poolgate uses its own upstream nonce"
    );
}

#[tokio::test]
async fn second_sign_in_is_the_same_user_and_userinfo_answers() {
    let env = setup("never", false).await;
    let a = claims(&json_str(&tokens_via(&env, "Corp", "n1").await, "id_token"));
    env.fake.set(|o| {
        o.user.insert("name".into(), json!("Ada King"));
        o.user.remove("given_name");
    });
    let t = tokens_via(&env, "Corp", "n2").await;
    let b = claims(&json_str(&t, "id_token"));
    assert_eq!(a["sub"], b["sub"]);
    assert_eq!(
        b["name"], "Ada King",
        "attributes are updated on every sign-in"
    );
    assert_eq!(
        b["given_name"], "Ada",
        "an attribute no longer sent is kept"
    );
    let (s, ui) = userinfo(&env, &json_str(&t, "access_token")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ui["sub"], a["sub"]);
    assert_eq!(ui["email"], "ada@example.com");
    assert_eq!(ui["username"], "Corp_user-1");
    let (_, users) = env.gw.admin("GET", "/pools/default/users", None).await;
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn refresh_rotation_and_reuse_detection() {
    let env = setup("never", true).await;
    env.enable_rotation(0).await;
    let t = tokens_via(&env, "Corp", "n").await;
    let rt1 = json_str(&t, "refresh_token");
    let (s, t2) = refresh(&env, &rt1).await;
    assert_eq!(s, StatusCode::OK, "{t2}");
    let rt2 = json_str(&t2, "refresh_token");
    assert_ne!(rt1, rt2, "rotated");
    assert!(t2["id_token"].is_string() && t2["access_token"].is_string());
    let id2 = claims(&json_str(&t2, "id_token"));
    assert_eq!(id2["sub"], claims(&json_str(&t, "id_token"))["sub"]);

    // The old one fails; presenting it revokes the new one too (RFC 9700 4.14.2).
    let (s, e) = refresh(&env, &rt1).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_grant");
    let (s, _) = refresh(&env, &rt2).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the family is revoked");
    // ...and the access tokens of the family are no longer honoured.
    assert_eq!(
        introspect(&env, &json_str(&t2, "access_token")).await["active"],
        false
    );
}

#[tokio::test]
async fn revocation_and_introspection() {
    let env = setup("never", true).await;
    let t = tokens_via(&env, "Corp", "n").await;
    let at = json_str(&t, "access_token");
    let rt = json_str(&t, "refresh_token");

    let i = introspect(&env, &at).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], env.client);
    assert_eq!(i["token_type"], "access_token");
    assert_eq!(i["username"], "Corp_user-1");
    assert_eq!(i["iss"], env.gw.base);
    let i = introspect(&env, &rt).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "refresh_token");
    assert_eq!(
        introspect(&env, "not-a-token").await,
        json!({"active": false})
    );

    // Revoking the access token: userinfo and introspection refuse it.
    let r = env
        .post_as_client("/oauth2/revoke", &[("token", at.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(introspect(&env, &at).await["active"], false);
    assert_eq!(userinfo(&env, &at).await.0, StatusCode::UNAUTHORIZED);

    // Revoking the refresh token: it no longer refreshes.
    let r = env
        .post_as_client("/oauth2/revoke", &[("token", rt.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(introspect(&env, &rt).await["active"], false);
    assert_eq!(refresh(&env, &rt).await.0, StatusCode::BAD_REQUEST);
    // An unknown token is answered 200 as well (RFC 7009 2.2).
    let r = env
        .post_as_client("/oauth2/revoke", &[("token", "nope")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn disabled_user_gets_access_denied() {
    let env = setup("never", false).await;
    let t = tokens_via(&env, "Corp", "n").await;
    let (s, _) = env
        .gw
        .admin(
            "POST",
            "/pools/default/users/Corp_user-1/disable",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (landing, _) = sign_in_via(&env, &Browser::new(), "Corp", "n").await;
    match landing {
        Landing::App(q) => {
            assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
            assert_eq!(q.get("state").map(String::as_str), Some("app-state-1"));
            assert!(!q.contains_key("code"));
        }
        other => panic!("expected a redirect to the app: {other:?}"),
    }
    assert_eq!(
        refresh(&env, &json_str(&t, "refresh_token")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        userinfo(&env, &json_str(&t, "access_token")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_sign_ins_create_one_user() {
    let env = std::sync::Arc::new(setup("never", false).await);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            tokens_via(&env, "Corp", &format!("n{i}")).await
        }));
    }
    let mut subs = std::collections::BTreeSet::new();
    for t in tasks {
        subs.insert(
            claims(&json_str(&t.await.unwrap(), "id_token"))["sub"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(subs.len(), 1, "one user: {subs:?}");
    let (_, users) = env
        .gw
        .admin("GET", "/pools/default/users?provider=Corp", None)
        .await;
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
}
