//! The admin API of interface.md section 3, driven over HTTP: pools and domains, app
//! clients, providers, keys, resource servers (users are in `users`).

mod clients;
mod keys;
mod providers;
mod users;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::attacks::{APP, Env, IDP, assert_no_token, provider_body};
use crate::harness::{Browser, Landing, claims, json_str};

/// Signs in as upstream subject `sub` with `email`: the token response.
pub async fn sign_in_as(env: &Env, sub: &str, email: &str) -> Value {
    env.fake.set(|o| {
        o.user.insert("sub".into(), json!(sub));
        o.user.insert("email".into(), json!(email));
    });
    env.tokens().await
}

/// GET with a Host header: status and JSON.
async fn get_on(env: &Env, host: &str, path: &str) -> (StatusCode, Value) {
    let r = env
        .gw
        .http
        .get(env.gw.url(path))
        .header("host", host)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn pools_create_list_get_patch_delete_and_route_by_host() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let (s, v) = gw
        .admin(
            "POST",
            "/pools",
            Some(json!({"id": "acme", "domains": ["login.acme.localhost"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], "acme");
    assert_eq!(v["domains"], json!(["login.acme.localhost"]));

    let (s, v) = gw.admin("GET", "/pools", None).await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"acme") && ids.contains(&"default"), "{v}");
    assert!(v.get("next_cursor").is_some());

    // Its own issuer on its own domain, its own keys.
    let (s, d) = get_on(
        &env,
        "login.acme.localhost",
        "/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["issuer"], "http://login.acme.localhost");
    let (_, default_jwks) = get_on(
        &env,
        &format!("127.0.0.1:{}", gw.port),
        "/.well-known/jwks.json",
    )
    .await;
    let (_, acme_jwks) = get_on(&env, "login.acme.localhost", "/.well-known/jwks.json").await;
    assert_ne!(default_jwks["keys"][0]["kid"], acme_jwks["keys"][0]["kid"]);

    // A second claim of the domain.
    let (s, v) = gw
        .admin(
            "POST",
            "/pools",
            Some(json!({"id": "thief", "domains": ["login.acme.localhost"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = gw.admin("GET", "/pools/thief", None).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a refused pool must not be half-made"
    );
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/domains/login.acme.localhost",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = gw
        .admin("POST", "/pools", Some(json!({"id": "acme"})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Bad bodies.
    for (body, field) in [
        (json!({"id": "Bad Id"}), "id"),
        (json!({"id": "ok", "domains": ["Not A Host"]}), "domains"),
        (json!({"id": "ok", "colour": "red"}), "colour"),
        (
            json!({"id": "ok", "settings": {"signing_alg": "HS256"}}),
            "HS256",
        ),
    ] {
        let (s, v) = gw.admin("POST", "/pools", Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v["message"].as_str().unwrap().contains(field),
            "{field}: {v}"
        );
    }

    // PATCH the signing algorithm: the pool signs with ES256 from then on.
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/acme",
            Some(json!({"settings": {"signing_alg": "ES256"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["settings"]["signing_alg"], "ES256");
    let (s, v) = gw.admin("GET", "/pools/acme", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["settings"]["signing_alg"], "ES256");
    let (_, d) = get_on(
        &env,
        "login.acme.localhost",
        "/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["ES256"]));
    let (s, v) = gw
        .admin("PATCH", "/pools/acme", Some(json!({"name": "x"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains("name"), "{v}");

    // Delete: the host is unknown from then on, the domain free again.
    let (s, _) = gw.admin("DELETE", "/pools/acme", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = gw.admin("GET", "/pools/acme", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = get_on(
        &env,
        "login.acme.localhost",
        "/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(v["error"].is_string());
    let (s, _) = gw.admin("DELETE", "/pools/acme", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = gw
        .admin(
            "POST",
            "/pools",
            Some(json!({"id": "acme2", "domains": ["login.acme.localhost"]})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the deleted pool's domain stays claimed: {v}"
    );
    // The default pool cannot go.
    let (s, _) = gw.admin("DELETE", "/pools/default", None).await;
    assert!(s.is_client_error());
    let (s, _) = get_on(
        &env,
        &format!("127.0.0.1:{}", gw.port),
        "/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn custom_domain_add_and_remove() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/domains/id.example.localhost",
            Some(json!({})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (s, d) = get_on(
        &env,
        "id.example.localhost",
        "/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["issuer"], "http://id.example.localhost");
    let (s, _) = gw
        .admin(
            "DELETE",
            "/pools/default/domains/id.example.localhost",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = get_on(
        &env,
        "id.example.localhost",
        "/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/domains/x.localhost",
            Some(json!({"certificate_pem": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
