//! Routing by Host (an unknown host is 404 JSON, never another pool), the admin API's
//! bearer token on every route, and broken admin bodies.

use super::*;
use crate::harness::ADMIN_TOKEN;

const HOSTED: &[(&str, &str)] = &[
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/jwks.json"),
    (
        "GET",
        "/oauth2/authorize?response_type=code&client_id=x&redirect_uri=http://127.0.0.1:9/cb",
    ),
    ("GET", "/oauth2/idpresponse?state=x&code=y"),
    ("POST", "/oauth2/idpresponse"),
    ("POST", "/oauth2/token"),
    ("GET", "/oauth2/userInfo"),
    ("POST", "/oauth2/revoke"),
    ("POST", "/oauth2/introspect"),
    (
        "GET",
        "/logout?client_id=x&logout_uri=http://127.0.0.1:9/bye",
    ),
    ("GET", "/login?client_id=x"),
];

async fn with_host(gw: &Gw, method: &str, path: &str, host: &str) -> (StatusCode, String) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = gw
        .http
        .request(m, gw.url(path))
        .header("host", host)
        .header("content-type", "application/x-www-form-urlencoded")
        .bearer_auth(ADMIN_TOKEN)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.text().await.unwrap())
}

#[tokio::test]
async fn unknown_host_gets_404_json_on_every_hosted_endpoint() {
    let env = Env::start(true).await;
    let port = env.gw.port;
    let hosts = [
        "evil.example".to_owned(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{}", port + 1),
        format!("127.0.0.1:{port}.evil.example"),
        "127.0.0.1".to_owned(),
        "a b".to_owned(),
    ];
    for host in &hosts {
        for (m, p) in HOSTED {
            let (s, b) = with_host(&env.gw, m, p, host).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{m} {p} on {host}: {b}");
            let v: Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("not JSON: {b}"));
            assert!(v["error"].is_string(), "{v}");
            assert!(!b.contains(&env.gw.base), "the default pool leaked: {b}");
        }
        // Health, metrics and the admin API answer on every host.
        let (s, _) = with_host(&env.gw, "GET", "/healthz", host).await;
        assert_eq!(s, StatusCode::OK, "/healthz on {host}");
        let (s, _) = with_host(&env.gw, "GET", "/metrics", host).await;
        assert_eq!(s, StatusCode::OK, "/metrics on {host}");
        let (s, b) = with_host(&env.gw, "GET", "/admin/v1/pools", host).await;
        assert_eq!(s, StatusCode::OK, "admin on {host}: {b}");
    }
    // The registered host still works.
    let (s, b) = with_host(
        &env.gw,
        "GET",
        "/.well-known/openid-configuration",
        &format!("127.0.0.1:{port}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// Every admin route, with a body that would be valid enough to act on.
fn admin_routes() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GET", "/pools"),
        ("POST", "/pools"),
        ("GET", "/pools/default"),
        ("PATCH", "/pools/default"),
        ("DELETE", "/pools/victim"),
        ("PUT", "/pools/default/domains/x.localhost"),
        ("DELETE", "/pools/default/domains/x.localhost"),
        ("GET", "/pools/default/clients"),
        ("POST", "/pools/default/clients"),
        ("GET", "/pools/default/clients/CLIENT"),
        ("PATCH", "/pools/default/clients/CLIENT"),
        ("DELETE", "/pools/default/clients/CLIENT"),
        ("GET", "/pools/default/providers"),
        ("PUT", "/pools/default/providers/Other"),
        ("GET", "/pools/default/providers/Fake"),
        ("DELETE", "/pools/default/providers/Fake"),
        ("GET", "/pools/default/users"),
        ("GET", "/pools/default/users/Fake_user-1"),
        ("DELETE", "/pools/default/users/Fake_user-1"),
        ("POST", "/pools/default/users/Fake_user-1/disable"),
        ("POST", "/pools/default/users/Fake_user-1/enable"),
        ("POST", "/pools/default/users/Fake_user-1/sign-out"),
        ("POST", "/pools/default/users/Fake_user-1/identities"),
        (
            "DELETE",
            "/pools/default/users/Fake_user-1/identities/Fake/user-1",
        ),
        ("GET", "/pools/default/keys"),
        ("POST", "/pools/default/keys/rotate"),
        ("PUT", "/pools/default/resource-servers/api"),
        ("GET", "/pools/default/resource-servers/api"),
        ("DELETE", "/pools/default/resource-servers/api"),
        ("GET", "/no-such-route"),
    ]
}

#[tokio::test]
async fn admin_api_without_the_token_is_401_on_every_route() {
    let env = Env::start(true).await;
    let tokens = env.tokens().await;
    let (s, _) = env
        .gw
        .admin("POST", "/pools", Some(json!({"id": "victim"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("admin:{ADMIN_TOKEN}")
        )
    );
    let auths: Vec<Option<String>> = vec![
        None,
        Some("Bearer wrong-token".into()),
        Some(format!("Bearer {ADMIN_TOKEN}x")),
        Some(format!("Bearer {}", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1])),
        Some("Bearer ".into()),
        Some(basic),
        Some(ADMIN_TOKEN.into()),
        Some(format!("Token {ADMIN_TOKEN}")),
        Some(format!("Bearer {}", json_str(&tokens, "access_token"))),
    ];
    for (m, p) in admin_routes() {
        let p = p.replace("CLIENT", &env.client_id);
        for auth in &auths {
            let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
            let mut req = env
                .gw
                .http
                .request(method, env.gw.url(&format!("/admin/v1{p}")))
                .json(&json!({"id": "x", "name": "x", "type": "OIDC"}));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = req.send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{m} {p} with {auth:?}"
            );
            assert!(r.headers().contains_key("www-authenticate"));
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"], "unauthorized", "{v}");
        }
    }
    // Nothing was changed by any of them.
    let (s, _) = env.gw.admin("GET", "/pools/victim", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = env
        .gw
        .admin("GET", &format!("/pools/default/providers/{IDP}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = env
        .gw
        .admin(
            "GET",
            &format!("/pools/default/clients/{}", env.client_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = env
        .gw
        .admin("GET", "/pools/default/users/Fake_user-1", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["enabled"], true);
    let (s, _) = env.refresh(&json_str(&tokens, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn broken_admin_bodies_are_4xx() {
    let env = Env::start(true).await;
    let cid = env.client_id.clone();
    let writes = [
        ("POST", "/pools".to_owned()),
        ("PATCH", "/pools/default".to_owned()),
        ("PUT", "/pools/default/domains/x.localhost".to_owned()),
        ("POST", "/pools/default/clients".to_owned()),
        ("PATCH", format!("/pools/default/clients/{cid}")),
        ("PUT", "/pools/default/providers/Other".to_owned()),
        (
            "POST",
            "/pools/default/users/Fake_user-1/identities".to_owned(),
        ),
        (
            "POST",
            "/pools/default/users/Fake_user-1/disable".to_owned(),
        ),
        ("POST", "/pools/default/keys/rotate".to_owned()),
        ("PUT", "/pools/default/resource-servers/api".to_owned()),
    ];
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", b"{\"id\": \"a".to_vec()),
        ("array", b"[1, 2]".to_vec()),
        ("null", b"null".to_vec()),
        ("number", b"42".to_vec()),
        ("invalid utf-8", b"{\"name\": \"\xff\xfe\"}".to_vec()),
        (
            "wrong types",
            br#"{"id": 5, "name": [], "type": {}, "settings": "x", "provider": 1}"#.to_vec(),
        ),
        ("duplicate keys", br#"{"id": "a", "id": "b"}"#.to_vec()),
        (
            "deep nesting",
            [vec![b'['; 10_000], vec![b']'; 10_000]].concat(),
        ),
        (
            "over 64 KiB",
            format!("{{\"name\": \"{}\"}}", "a".repeat(64 * 1024)).into_bytes(),
        ),
        ("a few MB", vec![b' '; 4 * 1024 * 1024]),
    ];
    for (m, p) in &writes {
        for (case, body) in &bodies {
            for ct in ["application/json", "text/plain"] {
                let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
                let r = env
                    .gw
                    .http
                    .request(method, env.gw.url(&format!("/admin/v1{p}")))
                    .bearer_auth(ADMIN_TOKEN)
                    .header("content-type", ct)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let s = r.status();
                let text = r.text().await.unwrap_or_default();
                assert!(s.is_client_error(), "{m} {p} {case} {ct}: {s} {text}");
                if s != StatusCode::PAYLOAD_TOO_LARGE {
                    let v: Value =
                        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
                    assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
                }
            }
        }
    }
    // Nothing half-made: still one client, one provider, the default pool only.
    let (_, v) = env.gw.admin("GET", "/pools/default/clients", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (_, v) = env.gw.admin("GET", "/pools/default/providers", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (_, v) = env.gw.admin("GET", "/pools", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn pools_are_isolated_from_each_other() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let (s, v) = gw
        .admin(
            "POST",
            "/pools",
            Some(json!({"id": "acme", "domains": ["acme.localhost"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = gw
        .admin(
            "POST",
            "/pools/acme/clients",
            Some(json!({"name": "acme app", "generate_secret": true, "callback_urls": [APP]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let acme_id = json_str(&v, "client_id");
    let acme_secret = json_str(&v, "client_secret");
    // acme's client is unknown on the default pool's host.
    let url = crate::harness::authorize_url(gw, &acme_id, APP, &[("state", "s")]);
    assert_error_page(&hop(&Browser::new(), &url).await);
    let (s, v) = gw
        .token(
            &[("grant_type", "client_credentials")],
            Some((&acme_id, &acme_secret)),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_no_token(&v);
    // The default pool's tokens mean nothing on acme's host.
    let t = env.tokens().await;
    let r = gw
        .http
        .get(gw.url("/oauth2/userInfo"))
        .header("host", "acme.localhost")
        .bearer_auth(json_str(&t, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = gw
        .http
        .post(gw.url("/oauth2/token"))
        .header("host", "acme.localhost")
        .basic_auth(&acme_id, Some(&acme_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &json_str(&t, "refresh_token")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant");
    assert_no_token(&v);
    let r = gw
        .http
        .post(gw.url("/oauth2/introspect"))
        .header("host", "acme.localhost")
        .basic_auth(&acme_id, Some(&acme_secret))
        .form(&[("token", json_str(&t, "access_token"))])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["active"], false, "{v}");
    // And the default pool's token still works where it belongs.
    assert_eq!(
        env.userinfo(&json_str(&t, "access_token")).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn huge_headers_are_4xx() {
    let env = Env::start(true).await;
    for size in [8 * 1024, 200 * 1024, 2 * 1024 * 1024] {
        let big = "A".repeat(size);
        let r = env
            .gw
            .http
            .get(env.gw.url("/oauth2/userInfo"))
            .header("authorization", format!("Bearer {big}"))
            .send()
            .await;
        match r {
            Ok(r) => assert!(r.status().is_client_error(), "{size}: {}", r.status()),
            // A header far over hyper's limit may end the connection instead.
            Err(e) => assert!(size > 1024 * 1024, "{size}: {e}"),
        }
        let r = env
            .gw
            .http
            .post(env.gw.url("/oauth2/token"))
            .header("cookie", format!("a={big}"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        if let Ok(r) = r {
            assert!(r.status().is_client_error(), "{size}: {}", r.status());
        }
    }
}
