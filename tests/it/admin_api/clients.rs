//! App clients: secret shown once, unknown fields named, validity bounds honoured and
//! bounded, redirect URL rules, patch and delete.

use super::*;
use crate::harness::app_client_body;

#[tokio::test]
async fn client_secret_is_shown_once_and_stored_hashed() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let (s, v) = gw
        .admin(
            "POST",
            "/pools/default/clients",
            Some(app_client_body(APP, &[IDP], true)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = json_str(&v, "client_id");
    let secret = json_str(&v, "client_secret");
    assert!(secret.len() >= 32, "{secret}");
    let (s, got) = gw
        .admin("GET", &format!("/pools/default/clients/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(got.get("client_secret").is_none(), "{got}");
    assert!(!got.to_string().contains(&secret));
    let (_, list) = gw.admin("GET", "/pools/default/clients", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&secret), "{list}");
    assert!(list.get("next_cursor").is_some());
    // A PATCH answers without the secret too, and cannot set one.
    let (s, p) = gw
        .admin(
            "PATCH",
            &format!("/pools/default/clients/{id}"),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["name"], "renamed");
    assert!(!p.to_string().contains(&secret));
    let (s, p) = gw
        .admin(
            "PATCH",
            &format!("/pools/default/clients/{id}"),
            Some(json!({"client_secret": "mine"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    // The secret works at the token endpoint (client_credentials is not enabled, so the
    // answer is about the grant, not the credentials).
    let (s, v) = gw
        .token(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await;
    assert_eq!(v["error"], "unauthorized_client", "{s} {v}");
    // No secret asked for: none returned.
    let (s, v) = gw
        .admin(
            "POST",
            "/pools/default/clients",
            Some(app_client_body(APP, &[IDP], false)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        v.get("client_secret").is_none() || v["client_secret"].is_null(),
        "{v}"
    );
}

#[tokio::test]
async fn client_bodies_are_validated_naming_the_field() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let base = app_client_body(APP, &[IDP], true);
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("colour", json!("red")), "colour"),
        (
            with("id_token_validity_s", json!(299)),
            "id_token_validity_s",
        ),
        (
            with("id_token_validity_s", json!(86_401)),
            "id_token_validity_s",
        ),
        (
            with("access_token_validity_s", json!(10)),
            "access_token_validity_s",
        ),
        (
            with("refresh_token_validity_s", json!(60)),
            "refresh_token_validity_s",
        ),
        // A type error names the value it could not take.
        (with("id_token_validity_s", json!(-5)), "-5"),
        (
            with("supported_identity_providers", json!(["Nope"])),
            "supported_identity_providers",
        ),
        (
            with("allowed_scopes", json!(["openid", "admin"])),
            "allowed_scopes",
        ),
        (
            with("allowed_oauth_flows", json!(["implicit"])),
            "allowed_oauth_flows",
        ),
        (with("allowed_oauth_flows", json!(["password"])), "password"),
        (with("callback_urls", json!([])), "callback_urls"),
        (with("name", json!("")), "name"),
    ];
    for (body, field) in cases {
        let (s, v) = gw
            .admin("POST", "/pools/default/clients", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(field),
            "{field} not named: {v}"
        );
    }
    // Redirect URL rules.
    let refused = [
        "http://app.example.com/cb",
        "https://app.example.com/cb#frag",
        "/relative/cb",
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "not a url",
    ];
    for u in refused {
        let (s, v) = gw
            .admin(
                "POST",
                "/pools/default/clients",
                Some(with("callback_urls", json!([u]))),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{u}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains("callback_urls"),
            "{v}"
        );
        let (s, v) = gw
            .admin(
                "POST",
                "/pools/default/clients",
                Some(with("logout_urls", json!([u]))),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{u}: {v}");
    }
    let accepted = [
        "https://app.example.com/cb",
        "http://localhost:3000/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8000/cb",
        "com.example.app:/oauth2redirect",
    ];
    for u in accepted {
        let (s, v) = gw
            .admin(
                "POST",
                "/pools/default/clients",
                Some(with("callback_urls", json!([u]))),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{u}: {v}");
    }
    // Only the clients accepted above exist (nothing half-made).
    let (_, list) = gw.admin("GET", "/pools/default/clients", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1 + accepted.len());
    // A PATCH is validated the same way and leaves the client unchanged on error.
    let p = format!("/pools/default/clients/{}", env.client_id);
    let (s, v) = gw
        .admin(
            "PATCH",
            &p,
            Some(json!({"callback_urls": ["http://evil.example/cb"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (_, c) = gw.admin("GET", &p, None).await;
    assert_eq!(c["callback_urls"], json!([APP]));
}

#[tokio::test]
async fn client_token_lifetimes_are_honoured() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let p = format!("/pools/default/clients/{}", env.client_id);
    let (s, v) = gw
        .admin(
            "PATCH",
            &p,
            Some(json!({"id_token_validity_s": 600, "access_token_validity_s": 900, "refresh_token_validity_s": 7200})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t = env.tokens().await;
    let id = claims(&json_str(&t, "id_token"));
    let at = claims(&json_str(&t, "access_token"));
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        600
    );
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        900
    );
    assert_eq!(t["expires_in"], 900);
    let rt = env.introspect(&json_str(&t, "refresh_token")).await;
    assert_eq!(rt["active"], true, "{rt}");
    assert_eq!(
        rt["exp"].as_i64().unwrap() - rt["iat"].as_i64().unwrap(),
        7200,
        "{rt}"
    );
}

#[tokio::test]
async fn deleted_client_can_no_longer_sign_in_or_refresh() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    let t = env.tokens().await;
    let p = format!("/pools/default/clients/{}", env.client_id);
    let (s, _) = gw.admin("DELETE", &p, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = gw.admin("GET", &p, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = gw.admin("DELETE", &p, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (url, _) = env.authorize("x");
    let h = crate::attacks::hop(&Browser::new(), &url).await;
    crate::attacks::assert_error_page(&h);
    let (s, v) = env.refresh(&json_str(&t, "refresh_token")).await;
    assert!(s.is_client_error(), "{v}");
    assert_no_token(&v);
}

#[tokio::test]
async fn client_and_provider_changes_apply_to_the_next_request() {
    // Clients and providers are read on every request (and kept in memory by the SQLite
    // store): an admin change must be what the very next request sees.
    let env = Env::start(true).await;
    let gw = &env.gw;
    let t = env.tokens().await;
    assert!(t["refresh_token"].is_string(), "{t}");
    let client = format!("/pools/default/clients/{}", env.client_id);

    // The callback URL is changed: the old one is refused at once (an error page).
    let (s, v) = gw
        .admin(
            "PATCH",
            &client,
            Some(json!({"callback_urls": ["http://127.0.0.1:9/other"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (url, _) = env.authorize("s");
    let r = gw.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (s, _) = gw
        .admin("PATCH", &client, Some(json!({"callback_urls": [APP]})))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (code, verifier) = env.code().await;

    // The provider is deleted: a new sign-in through it is sent back to the app.
    let (s, _) = gw
        .admin("DELETE", &format!("/pools/default/providers/{IDP}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (url, _) = env.authorize("s");
    let r = gw.http.get(&url).send().await.unwrap();
    // The client and its redirect are fine, so the app hears of it (RFC 6749 4.1.2.1).
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.starts_with(APP), "{loc}");
    assert!(loc.contains("error=invalid_request"), "{loc}");
    assert!(!loc.contains("code="), "{loc}");

    // The client is deleted: its credentials and its codes stop working.
    let (s, _) = gw.admin("DELETE", &client, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = env.exchange(&code, &verifier).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"], "invalid_client");
    assert_no_token(&v);
    let (s, v) = env.refresh(&json_str(&t, "refresh_token")).await;
    assert_eq!(v["error"], "invalid_client", "{s} {v}");
}
