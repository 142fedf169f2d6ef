//! The admin API of interface.md section 3, driven over HTTP: pools and domains, app
//! clients, providers, keys, resource servers (users are in `users`).

mod clients;
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

#[tokio::test]
async fn keys_rotate_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_kid() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let old = env.tokens().await;
    let old_at = json_str(&old, "access_token");
    let kid_of = |jwt: &str| -> String {
        let h = jwt.split('.').next().unwrap();
        let h: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, h).unwrap(),
        )
        .unwrap();
        json_str(&h, "kid")
    };
    let old_kid = kid_of(&old_at);
    let (s, v) = gw.admin("GET", "/pools/default/keys", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["kid"], old_kid.as_str());
    assert_eq!(items[0]["active"], true);
    assert!(
        !v.to_string().contains("\"d\""),
        "a private key leaked: {v}"
    );

    let (s, v) = gw.admin("POST", "/pools/default/keys/rotate", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new_kid = json_str(&v, "active_kid");
    assert_ne!(new_kid, old_kid);
    let (s, _) = gw
        .admin(
            "POST",
            "/pools/default/keys/rotate",
            Some(json!({"force": true})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "action bodies take {{}} only");

    let (_, v) = gw.admin("GET", "/pools/default/keys", None).await;
    let active: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .collect();
    assert_eq!(active.len(), 1, "{v}");
    let jwks = gw.jwks().await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()),
        "the old kid left JWKS: {kids:?}"
    );

    // New tokens carry a kid that is active now; old ones still verify.
    let (_, v) = gw.admin("GET", "/pools/default/keys", None).await;
    let active_kid = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["active"] == true)
        .unwrap()["kid"]
        .clone();
    let fresh = env.tokens().await;
    let new_at = json_str(&fresh, "access_token");
    assert_eq!(kid_of(&new_at), active_kid.as_str().unwrap());
    assert_eq!(
        kid_of(&json_str(&fresh, "id_token")),
        active_kid.as_str().unwrap()
    );
    assert_ne!(kid_of(&new_at), old_kid);
    let jwks = gw.jwks().await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == active_kid)
    );
    assert_eq!(env.introspect(&old_at).await["active"], true);
    assert_eq!(env.userinfo(&old_at).await.0, StatusCode::OK);
    // The old refresh token still refreshes, and what it yields uses the new key.
    let (s, r) = env.refresh(&json_str(&old, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        kid_of(&json_str(&r, "access_token")),
        active_kid.as_str().unwrap()
    );
}

#[tokio::test]
async fn resource_servers_and_client_credentials() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let rs = "https://api.example.com";
    let path = format!("/pools/default/resource-servers/{}", urlencode(rs));
    let (s, v) = gw
        .admin(
            "PUT",
            &path,
            Some(json!({"name": "API", "scopes": [{"name": "read", "description": "r"}, {"name": "write", "description": "w"}]})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (s, v) = gw.admin("GET", &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["scopes"].as_array().unwrap().len(), 2);
    let (s, v) = gw
        .admin(
            "PUT",
            &path,
            Some(json!({"name": "API", "scopes": [{"name": "a b"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    let read = format!("{rs}/read");
    let write = format!("{rs}/write");
    let m2m = json!({"name": "m2m", "generate_secret": true, "allowed_oauth_flows": ["client_credentials"], "allowed_scopes": [read, write]});
    let (id, secret) = gw.client(m2m.clone()).await;
    let secret = secret.unwrap();
    // Unknown resource-server scope, and client_credentials without a secret.
    let mut bad = m2m.clone();
    bad["allowed_scopes"] = json!([format!("{rs}/delete")]);
    let (s, v) = gw.admin("POST", "/pools/default/clients", Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let mut public = m2m.clone();
    public["generate_secret"] = json!(false);
    let (s, v) = gw
        .admin("POST", "/pools/default/clients", Some(public))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    let (s, v) = gw
        .token(
            &[("grant_type", "client_credentials"), ("scope", &read)],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v.get("id_token").is_none() && v.get("refresh_token").is_none(),
        "{v}"
    );
    assert_eq!(v["scope"], read.as_str());
    let c = claims(&json_str(&v, "access_token"));
    assert_eq!(c["client_id"], id.as_str());
    assert_eq!(c["token_use"], "access");
    assert_eq!(c["scope"], read.as_str());
    // No scope asked: all of the client's resource-server scopes.
    let (s, v) = gw
        .token(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["scope"].as_str().unwrap().split(' ').count(), 2);
    // openid or a foreign scope: invalid_scope, nothing issued.
    for scope in [
        "openid",
        "email",
        "https://other.example/read",
        &format!("{read} openid"),
    ] {
        let (s, v) = gw
            .token(
                &[("grant_type", "client_credentials"), ("scope", scope)],
                Some((&id, &secret)),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{scope}: {v}");
        assert_eq!(v["error"], "invalid_scope");
        assert_no_token(&v);
    }
    // Wrong secret, and the app client without the flow.
    let (s, v) = gw
        .token(&[("grant_type", "client_credentials")], Some((&id, "nope")))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_no_token(&v);
    let (s, v) = env.token(&[("grant_type", "client_credentials")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "unauthorized_client");
    assert_no_token(&v);

    let (s, _) = gw.admin("DELETE", &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = gw.admin("GET", &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn providers_validated_masked_and_secret_kept_on_masked_put() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let path = format!("/pools/default/providers/{IDP}");
    let (s, v) = gw.admin("GET", &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["details"]["client_secret"], "********");
    assert_eq!(v["details"]["client_id"], "rp-client");
    let (_, list) = gw.admin("GET", "/pools/default/providers", None).await;
    assert_eq!(list["items"][0]["details"]["client_secret"], "********");
    assert!(!list.to_string().contains("rp-secret"));

    // Round trip: PUT back what GET showed (the masked secret) keeps the secret.
    let mut body = json!({"type": v["type"], "details": v["details"], "attribute_mapping": v["attribute_mapping"], "idp_identifiers": v["idp_identifiers"], "link_by_email": v["link_by_email"]});
    let (s, v2) = gw.admin("PUT", &path, Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    let t = env.tokens().await;
    assert!(t["id_token"].is_string());

    // Control: a really different secret breaks the sign-in (so the round trip mattered).
    body["details"]["client_secret"] = json!("not-the-secret");
    let (s, _) = gw.admin("PUT", &path, Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK);
    let (url, _) = env.authorize("after-bad-secret");
    match Browser::new().follow(&url, APP).await {
        Landing::App(q) => assert!(!q.contains_key("code"), "{q:?}"),
        Landing::Page(s, _) => assert!(!s.is_server_error()),
    }
    gw.put_provider(IDP, provider_body(&env.fake)).await;
    env.tokens().await;

    // Validation per type, naming the key.
    let iss = env.fake.issuer();
    let cases = [
        (
            json!({"type": "OIDC", "details": {"client_secret": "s", "issuer": iss}}),
            "client_id",
        ),
        (
            json!({"type": "OIDC", "details": {"client_id": "c", "issuer": iss}}),
            "client_secret",
        ),
        (
            json!({"type": "OIDC", "details": {"client_id": "c", "client_secret": "s", "issuer": iss, "colour": 1}}),
            "colour",
        ),
        (
            json!({"type": "OIDC", "details": {"client_id": "c", "client_secret": "s", "issuer": "http://idp.example.com"}}),
            "issuer",
        ),
        (
            json!({"type": "Google", "details": {"client_secret": "s"}}),
            "client_id",
        ),
        (
            json!({"type": "Facebook", "details": {"client_id": "c"}}),
            "client_secret",
        ),
        (
            json!({"type": "SignInWithApple", "details": {"client_id": "c", "team_id": "T", "key_id": "K"}}),
            "private_key",
        ),
        (
            json!({"type": "LoginWithAmazon", "details": {"client_secret": "s"}}),
            "client_id",
        ),
        (json!({"type": "Myspace", "details": {}}), "Myspace"),
        (
            json!({"type": "OIDC", "details": {}, "linkage": "x"}),
            "linkage",
        ),
        (
            json!({"type": "OIDC", "details": {"client_id": "c", "client_secret": "s", "issuer": iss}, "link_by_email": "always"}),
            "always",
        ),
    ];
    for (body, key) in cases {
        let (s, v) = gw
            .admin("PUT", "/pools/default/providers/Other", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(key),
            "{key} not named: {v}"
        );
    }
    let (s, _) = gw
        .admin("GET", "/pools/default/providers/Other", None)
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a refused provider must not be stored"
    );
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/providers/has%20space",
            Some(provider_body(&env.fake)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Delete: the provider is gone and the client can no longer use it.
    let (s, _) = gw.admin("DELETE", &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = gw.admin("GET", &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (url, _) = env.authorize("gone");
    match Browser::new().follow(&url, APP).await {
        Landing::App(q) => assert!(!q.contains_key("code") && q.contains_key("error"), "{q:?}"),
        Landing::Page(s, b) => assert!(s.is_client_error(), "{s} {b}"),
    }
}
