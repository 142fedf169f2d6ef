//! Users through the admin API: list with filters and cursor pagination, read, delete,
//! disable/enable, link/unlink, global sign-out.

use std::collections::BTreeSet;

use super::*;
use crate::attacks::assert_app_error;
use crate::fakes::oidc::{self, OidcOpts};

async fn user(env: &Env, username: &str) -> (StatusCode, Value) {
    env.gw
        .admin("GET", &format!("/pools/default/users/{username}"), None)
        .await
}

async fn action(env: &Env, username: &str, what: &str) -> (StatusCode, Value) {
    env.gw
        .admin(
            "POST",
            &format!("/pools/default/users/{username}/{what}"),
            Some(json!({})),
        )
        .await
}

#[tokio::test]
async fn users_list_filters_and_cursor_pagination() {
    let env = Env::start(true).await;
    let gw = &env.gw;
    for i in 0..7 {
        sign_in_as(&env, &format!("sub-{i}"), &format!("user{i}@example.com")).await;
    }
    // A second provider with one user of its own.
    let other = oidc::start(OidcOpts {
        user: json!({"sub": "o-1", "email": "other@example.com", "email_verified": true})
            .as_object()
            .cloned()
            .unwrap(),
        ..OidcOpts::default()
    })
    .await;
    gw.put_provider("Other", provider_body(&other)).await;
    let (s, v) = gw
        .admin(
            "PATCH",
            &format!("/pools/default/clients/{}", env.client_id),
            Some(json!({"supported_identity_providers": [IDP, "Other"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (v, c) = crate::harness::pkce();
    let url = crate::harness::authorize_url(
        gw,
        &env.client_id,
        APP,
        &[
            ("identity_provider", "Other"),
            ("state", "s"),
            ("code_challenge", &c),
            ("code_challenge_method", "S256"),
        ],
    );
    let code = Browser::new().follow(&url, APP).await.code();
    let (s, t) = env.exchange(&code, &v).await;
    assert_eq!(s, StatusCode::OK, "{t}");

    // Pages of 3 over 8 users: every user exactly once, then next_cursor null.
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("/pools/default/users?limit=3&cursor={}", urlencode(c)),
            None => "/pools/default/users?limit=3".to_owned(),
        };
        let (s, v) = gw.admin("GET", &q, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let items = v["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        for u in items {
            assert!(seen.insert(json_str(u, "username")), "listed twice: {u}");
        }
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert!(pages >= 3);
    assert!(
        seen.contains("Fake_sub-0") && seen.contains("Other_o-1"),
        "{seen:?}"
    );

    // Filters.
    let (_, v) = gw
        .admin(
            "GET",
            "/pools/default/users?email=USER3%40Example.com",
            None,
        )
        .await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["username"], "Fake_sub-3");
    let (_, v) = gw
        .admin("GET", "/pools/default/users?provider=Other", None)
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["items"][0]["username"], "Other_o-1");
    let (_, v) = gw
        .admin(
            "GET",
            &format!("/pools/default/users?provider={IDP}&limit=60"),
            None,
        )
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 7);
    let (_, v) = gw
        .admin(
            "GET",
            "/pools/default/users?email=nobody%40example.com",
            None,
        )
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    assert!(v["next_cursor"].is_null());

    // Bad queries are 400, never 5xx.
    for q in [
        "limit=0",
        "limit=61",
        "limit=x",
        "cursor=%FF%FE",
        "cursor=garbage",
        "sort=name",
    ] {
        let (s, v) = gw
            .admin("GET", &format!("/pools/default/users?{q}"), None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
    }
    let (s, _) = gw.admin("GET", "/pools/nope/users", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn user_read_and_delete_kills_its_tokens() {
    let env = Env::start(true).await;
    let t = sign_in_as(&env, "del-1", "del@example.com").await;
    let (s, u) = user(&env, "Fake_del-1").await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["username"], "Fake_del-1");
    assert_eq!(u["enabled"], true);
    assert_eq!(u["email"], "del@example.com");
    assert_eq!(u["sub"], claims(&json_str(&t, "id_token"))["sub"]);
    assert_eq!(u["identities"][0]["providerName"], IDP);
    assert_eq!(u["identities"][0]["userId"], "del-1");
    let (s, _) = user(&env, "Fake_nobody").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, _) = env
        .gw
        .admin("DELETE", "/pools/default/users/Fake_del-1", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = user(&env, "Fake_del-1").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    env.assert_revoked(&t).await;
    let (s, _) = env
        .gw
        .admin("DELETE", "/pools/default/users/Fake_del-1", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Signing in again makes a new user with a new sub.
    let again = sign_in_as(&env, "del-1", "del@example.com").await;
    assert_ne!(claims(&json_str(&again, "id_token"))["sub"], u["sub"]);
}

#[tokio::test]
async fn disabled_user_cannot_sign_in_or_refresh_until_enabled() {
    let env = Env::start(true).await;
    let t = sign_in_as(&env, "dis-1", "dis@example.com").await;
    let (s, v) = action(&env, "Fake_dis-1", "disable").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["enabled"], false);
    let (_, u) = user(&env, "Fake_dis-1").await;
    assert_eq!(u["enabled"], false);

    let (url, _) = env.authorize("st-dis");
    assert_app_error(
        &Browser::new().follow(&url, APP).await,
        "access_denied",
        "st-dis",
    );
    let (s, v) = env.refresh(&json_str(&t, "refresh_token")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant");
    assert_no_token(&v);
    let at = json_str(&t, "access_token");
    assert_eq!(env.userinfo(&at).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(env.introspect(&at).await["active"], false);
    assert_eq!(
        env.introspect(&json_str(&t, "refresh_token")).await["active"],
        false
    );

    let (s, v) = action(&env, "Fake_dis-1", "enable").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["enabled"], true);
    let (s, v) = env.refresh(&json_str(&t, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    sign_in_as(&env, "dis-1", "dis@example.com").await;
    let (s, _) = action(&env, "Fake_nobody", "disable").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn link_and_unlink_identities() {
    let env = Env::start(true).await;
    let a = sign_in_as(&env, "a", "a@example.com").await;
    sign_in_as(&env, "b", "b@example.com").await;
    let a_sub = claims(&json_str(&a, "id_token"))["sub"].clone();
    let link = |sub: &str| {
        env.gw.admin(
            "POST",
            "/pools/default/users/Fake_a/identities",
            Some(json!({"provider": IDP, "subject": sub})),
        )
    };
    // b's identity belongs to another user.
    let (s, v) = link("b").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // Four more identities reach the limit of 5.
    for i in 0..4 {
        let (s, v) = link(&format!("extra-{i}")).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = link("extra-0").await;
    assert!(
        s.is_success(),
        "linking the same identity again is idempotent: {s} {v}"
    );
    let (_, u) = user(&env, "Fake_a").await;
    assert_eq!(u["identities"].as_array().unwrap().len(), 5, "{u}");
    let (s, v) = link("sixth").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["message"].as_str().unwrap().contains('5'), "{v}");
    let (_, u) = user(&env, "Fake_a").await;
    assert_eq!(u["identities"].as_array().unwrap().len(), 5);

    // A linked identity signs in as a.
    let t = sign_in_as(&env, "extra-2", "x2@example.com").await;
    assert_eq!(claims(&json_str(&t, "id_token"))["sub"], a_sub);

    // Bad link bodies.
    for body in [
        json!({"provider": "Nope", "subject": "z"}),
        json!({"provider": IDP, "subject": ""}),
        json!({"provider": IDP}),
        json!({"provider": IDP, "subject": "z", "primary": true}),
    ] {
        let (s, v) = env
            .gw
            .admin(
                "POST",
                "/pools/default/users/Fake_a/identities",
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
    }

    // Unlink: the identity no longer signs in as a (it becomes its own user).
    let (s, _) = env
        .gw
        .admin(
            "DELETE",
            &format!("/pools/default/users/Fake_a/identities/{IDP}/extra-2"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = env
        .gw
        .admin(
            "DELETE",
            &format!("/pools/default/users/Fake_a/identities/{IDP}/extra-2"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, u) = user(&env, "Fake_a").await;
    assert_eq!(u["identities"].as_array().unwrap().len(), 4);
    let t = sign_in_as(&env, "extra-2", "x2@example.com").await;
    assert_ne!(claims(&json_str(&t, "id_token"))["sub"], a_sub);
    let (s, _) = user(&env, "Fake_extra-2").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn global_sign_out_revokes_refresh_and_earlier_access_tokens() {
    let env = Env::start(true).await;
    let first = sign_in_as(&env, "so-1", "so@example.com").await;
    let second = sign_in_as(&env, "so-1", "so@example.com").await;
    let bystander = sign_in_as(&env, "so-2", "so2@example.com").await;
    let (s, v) = action(&env, "Fake_so-1", "sign-out").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    env.assert_revoked(&first).await;
    env.assert_revoked(&second).await;
    // A sign-in right after the sign-out (within the same second) works.
    let fresh = sign_in_as(&env, "so-1", "so@example.com").await;
    let at = json_str(&fresh, "access_token");
    assert_eq!(env.userinfo(&at).await.0, StatusCode::OK);
    let (s, v) = env.refresh(&json_str(&fresh, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Another user's tokens are untouched.
    let at = json_str(&bystander, "access_token");
    assert_eq!(env.userinfo(&at).await.0, StatusCode::OK);
    let (s, v) = env.refresh(&json_str(&bystander, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = action(&env, "Fake_nobody", "sign-out").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
