//! Issue 14: refresh-token rotation per app client (off by default, as Cognito's; on,
//! with a retry grace and family revocation), and introspection that answers only a
//! confidential client about its own tokens.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cognito_tokens::tokens_with_scope;
use crate::e2e::{CB, Env, introspect, refresh, setup, userinfo};
use crate::harness::{app_client_body, json_str};

async fn signed_in(env: &Env) -> String {
    json_str(
        &tokens_with_scope(env, "openid email profile").await,
        "refresh_token",
    )
}

fn assert_refused(r: &(StatusCode, Value)) {
    assert_eq!(r.0, StatusCode::BAD_REQUEST, "{}", r.1);
    assert_eq!(r.1["error"], "invalid_grant");
    assert!(r.1.get("access_token").is_none());
}

#[tokio::test]
async fn rotation_off_keeps_the_token_until_it_is_revoked() {
    let env = setup("never", true).await;
    let rt = signed_in(&env).await;
    for _ in 0..3 {
        let (s, r) = refresh(&env, &rt).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert!(r.get("refresh_token").is_none(), "{r}");
    }
    assert_eq!(introspect(&env, &rt).await["active"], true);
    let r = env
        .post_as_client("/oauth2/revoke", &[("token", rt.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_refused(&refresh(&env, &rt).await);
}

#[tokio::test]
async fn rotation_on_without_grace_revokes_the_family_on_reuse() {
    let env = setup("never", false).await;
    env.enable_rotation(0).await;
    let rt1 = signed_in(&env).await;
    let (s, r) = refresh(&env, &rt1).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let rt2 = json_str(&r, "refresh_token");
    assert_ne!(rt1, rt2);
    assert_refused(&refresh(&env, &rt1).await);
    assert_refused(&refresh(&env, &rt2).await);
    assert_eq!(
        userinfo(&env, &json_str(&r, "access_token")).await.0,
        StatusCode::UNAUTHORIZED,
        "the family's access tokens die with it"
    );
}

#[tokio::test]
async fn rotation_grace_lets_the_previous_token_work_once_more() {
    let env = setup("never", false).await;
    env.enable_rotation(30).await;
    let rt1 = signed_in(&env).await;
    let (s, r2) = refresh(&env, &rt1).await;
    assert_eq!(s, StatusCode::OK, "{r2}");
    let rt2 = json_str(&r2, "refresh_token");
    // The app lost that answer and retries within the grace: it works, once.
    let (s, r3) = refresh(&env, &rt1).await;
    assert_eq!(s, StatusCode::OK, "{r3}");
    let rt3 = json_str(&r3, "refresh_token");
    assert!(rt3 != rt1 && rt3 != rt2);
    // A third use is reuse: the whole family goes.
    assert_refused(&refresh(&env, &rt1).await);
    assert_refused(&refresh(&env, &rt2).await);
    assert_refused(&refresh(&env, &rt3).await);

    // After the grace, a used token is reuse at once.
    env.enable_rotation(1).await;
    let rt1 = signed_in(&env).await;
    let (s, r) = refresh(&env, &rt1).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let rt2 = json_str(&r, "refresh_token");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_refused(&refresh(&env, &rt1).await);
    assert_refused(&refresh(&env, &rt2).await);
}

#[tokio::test]
async fn rotation_settings_are_validated() {
    let env = setup("never", false).await;
    let path = format!("/pools/default/clients/{}", env.client);
    for bad in [
        json!({"refresh_token_rotation": {"enabled": true, "retry_grace_s": 61}}),
        json!({"refresh_token_rotation": {"enabled": "yes"}}),
        json!({"refresh_token_rotation": {"enabled": true, "grace": 5}}),
    ] {
        let (s, v) = env.gw.admin("PATCH", &path, Some(bad.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad} -> {v}");
    }
    let (_, v) = env.gw.admin("GET", &path, None).await;
    assert_eq!(
        v["refresh_token_rotation"],
        json!({"enabled": false, "retry_grace_s": 0}),
        "off by default, and unchanged by refused patches"
    );
}

#[tokio::test]
async fn introspection_answers_only_the_confidential_owner() {
    let env = setup("never", true).await;
    let t = tokens_with_scope(&env, "openid email").await;
    let at = json_str(&t, "access_token");
    let rt = json_str(&t, "refresh_token");
    assert_eq!(introspect(&env, &at).await["active"], true);

    // Another confidential client learns nothing about them.
    let (other, other_secret) = env.gw.client(app_client_body(CB, &["Corp"], true)).await;
    let other_secret = other_secret.unwrap();
    for token in [&at, &rt] {
        let r = env
            .gw
            .http
            .post(env.gw.url("/oauth2/introspect"))
            .basic_auth(&other, Some(&other_secret))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
    }
    // A public client proves nothing: refused (RFC 7662 section 2.1).
    let (public, _) = env.gw.client(app_client_body(CB, &["Corp"], false)).await;
    let r = env
        .gw
        .http
        .post(env.gw.url("/oauth2/introspect"))
        .form(&[("client_id", public.as_str()), ("token", at.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    assert!(v.get("active").is_none());

    // Deleting the app client ends its tokens at userInfo.
    assert_eq!(userinfo(&env, &at).await.0, StatusCode::OK);
    let (s, _) = env
        .gw
        .admin(
            "DELETE",
            &format!("/pools/default/clients/{}", env.client),
            None,
        )
        .await;
    assert!(s.is_success());
    assert_eq!(userinfo(&env, &at).await.0, StatusCode::UNAUTHORIZED);
}

/// The same rotation rules over Redis: the client's setting, the grace mark and the
/// family revocation live in the shared store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_grace_and_reuse_over_redis() {
    let server = crate::redis_server::RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let gw = crate::harness::Gw::start_with(
        &server.url(),
        tmp.path(),
        None,
        std::sync::Arc::new(poolgate::clock::SystemClock),
    )
    .await;
    let fake = crate::fakes::oidc::start(Default::default()).await;
    crate::e2e::register(&gw, "Corp", &fake, "never").await;
    let mut body = app_client_body(CB, &["Corp"], false);
    body["refresh_token_rotation"] = json!({"enabled": true, "retry_grace_s": 30});
    let (client, _) = gw.client(body).await;
    let env = Env {
        gw,
        fake,
        client,
        secret: None,
    };
    let rt1 = signed_in(&env).await;
    let (s, r2) = refresh(&env, &rt1).await;
    assert_eq!(s, StatusCode::OK, "{r2}");
    let (s, r3) = refresh(&env, &rt1).await;
    assert_eq!(s, StatusCode::OK, "the one retry: {r3}");
    assert_refused(&refresh(&env, &rt1).await);
    assert_refused(&refresh(&env, &json_str(&r2, "refresh_token")).await);
    assert_refused(&refresh(&env, &json_str(&r3, "refresh_token")).await);
}
