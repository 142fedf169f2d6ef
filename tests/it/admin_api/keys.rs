//! Signing keys (rotation keeps old tokens verifiable) and resource servers with the
//! client_credentials grant.

use super::*;

#[tokio::test]
async fn keys_rotate_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_kid() {
    use poolgate::clock::{Clock, FixedClock, SystemClock};
    let clock = FixedClock::at(SystemClock.now_ms());
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
    let gw = crate::harness::Gw::start_with(
        &store,
        tmp.path(),
        None,
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let env = Env::start_on(gw, crate::fakes::oidc::OidcOpts::default(), true).await;
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

    // The new key is published before it signs: until every instance has it, tokens
    // still carry the old kid.
    assert!(kids.contains(&new_kid.as_str()), "not published: {kids:?}");
    let pending = env.tokens().await;
    assert_eq!(kid_of(&json_str(&pending, "access_token")), old_kid);
    let (_, v) = gw.admin("GET", "/pools/default/keys", None).await;
    let signing: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["signing"] == true)
        .collect();
    assert_eq!(signing.len(), 1, "{v}");
    assert_eq!(signing[0]["kid"], old_kid.as_str(), "{v}");
    clock.advance_secs(poolgate::token::keys::PUBLISH_BEFORE_SIGNING_S);

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
