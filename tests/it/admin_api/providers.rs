//! Identity providers: validated per type naming the key, secrets masked on read, a
//! masked value sent back keeps the stored secret.

use super::*;

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

/// An upstream step that fails (a SAML `metadata_url` nothing answers at) is a 400
/// naming the detail, never the upstream's error: that may name internal hosts.
#[tokio::test]
async fn upstream_fetch_errors_name_no_internal_host() {
    let gw = crate::harness::Gw::start().await;
    // A port just freed: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/federationmetadata.xml");
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/providers/Corp",
            Some(json!({"type": "SAML", "details": {"metadata_url": url}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("metadata_url"), "{v}");
    assert!(
        !message.contains("127.0.0.1") && !message.contains(&port.to_string()),
        "the upstream error reached the caller: {v}"
    );
    let (s, _) = gw.admin("GET", "/pools/default/providers/Corp", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Every unknown detail key is named at once, and an unknown type names the type.
#[tokio::test]
async fn unknown_keys_and_types_are_named() {
    let gw = crate::harness::Gw::start().await;
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/providers/G",
            Some(json!({"type": "Google", "details": {
                "client_id": "c", "client_secret": "s",
                "hosted_domian": "example.com", "clientid": "x",
                "endpoints": {"jwks": "https://x.example"},
            }})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let message = v.to_string();
    for key in [
        "details.hosted_domian",
        "details.clientid",
        "details.endpoints.jwks",
    ] {
        assert!(message.contains(key), "{key} not named: {v}");
    }
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/providers/G",
            Some(json!({"type": "google", "details": {}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("\\\"google\\\""), "{v}");
    let (s, _) = gw.admin("GET", "/pools/default/providers/G", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
