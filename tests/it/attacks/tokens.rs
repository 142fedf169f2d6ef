//! Pool tokens presented where they do not belong: another client's refresh token,
//! another gateway's tokens, an ID token as an access token, tampered JWTs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

#[tokio::test]
async fn refresh_token_is_bound_to_its_client() {
    let env = Env::start(true).await;
    let t = env.tokens().await;
    let rt = json_str(&t, "refresh_token");
    let (other, other_secret) = env.gw.client(app_client_body(APP, &[IDP], true)).await;
    let other_secret = other_secret.unwrap();
    let (s, v) = env
        .gw
        .token(
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
            Some((&other, &other_secret)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant");
    assert_no_token(&v);
    // Another client's revocation request does nothing (RFC 7009 2.1).
    let r = env
        .gw
        .http
        .post(env.gw.url("/oauth2/revoke"))
        .basic_auth(&other, Some(&other_secret))
        .form(&[("token", rt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The owner still refreshes.
    let (s, v) = env.refresh(&rt).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A refresh cannot widen the scope.
    let (s, v) = env
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &json_str(&v, "refresh_token")),
            ("scope", "openid email profile phone"),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_no_token(&v);
}

/// Re-encodes a JWT's payload with `f` applied, keeping header and signature.
fn tamper(jwt: &str, f: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    f(&mut claims);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

#[tokio::test]
async fn only_genuine_live_access_tokens_open_userinfo() {
    let env = Env::start(true).await;
    let t = env.tokens().await;
    let at = json_str(&t, "access_token");
    assert_eq!(env.userinfo(&at).await.0, StatusCode::OK);
    let header = |alg: &str| URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#));
    let payload = at.split('.').nth(1).unwrap();
    let forged = [
        ("id token", json_str(&t, "id_token")),
        ("refresh token", json_str(&t, "refresh_token")),
        (
            "other sub",
            tamper(&at, |c| {
                c["sub"] = json!("00000000-0000-0000-0000-000000000000")
            }),
        ),
        (
            "later exp",
            tamper(&at, |c| {
                c["exp"] = json!(c["exp"].as_i64().unwrap() + 86_400)
            }),
        ),
        (
            "wider scope",
            tamper(&at, |c| c["scope"] = json!("openid admin")),
        ),
        ("alg none", format!("{}.{payload}.", header("none"))),
        (
            "no signature",
            format!("{}.{payload}", at.split('.').next().unwrap()),
        ),
        (
            "hs256",
            format!(
                "{}.{payload}.{}",
                header("HS256"),
                URL_SAFE_NO_PAD.encode([7u8; 32])
            ),
        ),
        ("garbage", "not-a-jwt".to_owned()),
        ("empty parts", "..".to_owned()),
    ];
    for (what, token) in &forged {
        let (s, v) = env.userinfo(token).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{what}: {v}");
        assert!(v.get("email").is_none(), "{what}: {v}");
        let i = env.introspect(token).await;
        if *what != "refresh token" {
            assert_eq!(i["active"], false, "{what}: {i}");
        }
    }
    // Bearer in the query string or a non-bearer scheme is not accepted.
    let r = env
        .gw
        .http
        .get(env.gw.url(&format!("/oauth2/userInfo?access_token={at}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = env
        .gw
        .http
        .get(env.gw.url("/oauth2/userInfo"))
        .header("authorization", format!("Basic {at}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_gateways_tokens_are_foreign() {
    let env = Env::start(true).await;
    let other = Env::start(true).await;
    let theirs = other.tokens().await;
    let at = json_str(&theirs, "access_token");
    assert_eq!(env.userinfo(&at).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(env.introspect(&at).await["active"], false);
    assert_eq!(
        env.introspect(&json_str(&theirs, "refresh_token")).await["active"],
        false
    );
    let (s, v) = env.refresh(&json_str(&theirs, "refresh_token")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_no_token(&v);
}

#[tokio::test]
async fn revoked_access_token_is_dead_but_others_live() {
    let env = Env::start(true).await;
    let a = env.tokens().await;
    let b = env.tokens().await;
    let r = env
        .gw
        .http
        .post(env.gw.url("/oauth2/revoke"))
        .basic_auth(&env.client_id, env.secret.as_ref())
        .form(&[("token", json_str(&a, "refresh_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    env.assert_revoked(&a).await;
    // The other sign-in of the same user is untouched.
    assert_eq!(
        env.userinfo(&json_str(&b, "access_token")).await.0,
        StatusCode::OK
    );
    let (s, _) = env.refresh(&json_str(&b, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK);
}
