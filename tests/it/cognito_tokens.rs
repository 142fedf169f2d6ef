//! Issue 14: an app and a backend written for Cognito work unchanged. The app is
//! configured with a Cognito-style authority (`{public URL}/{pool id}`), discovers
//! poolgate through it, signs in and refreshes twice with its first refresh token; the
//! backend verifies the tokens with the npm `aws-jwt-verify` library (JwtVerifier and
//! its Cognito field checks), run by node, which also refuses any `typ` on access
//! tokens as Spring Security's default decoder does. Claims and userInfo follow the
//! scopes, and userInfo answers strings.

use openidconnect::core::CoreProviderMetadata;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::e2e::{CB, Env, exchange, refresh, setup, userinfo};
use crate::harness::{Browser, authorize_url, claims, json_str, pkce};

/// Runs `tests/node/verify-cognito.mjs` (installed by `scripts/setup.sh --test`):
/// the verified headers and payloads, or the verifier's refusal.
pub async fn aws_jwt_verify(input: Value) -> Result<Value, String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node");
    assert!(
        std::path::Path::new(dir)
            .join("node_modules/aws-jwt-verify/package.json")
            .exists(),
        "aws-jwt-verify is missing: run scripts/setup.sh --test"
    );
    let mut child = tokio::process::Command::new("node")
        .arg("verify-cognito.mjs")
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Signs in through `Corp` asking for `scope`; the token response.
pub async fn tokens_with_scope(env: &Env, scope: &str) -> Value {
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &env.gw,
        &env.client,
        CB,
        &[
            ("scope", scope),
            ("state", "s"),
            ("nonce", "n-1"),
            ("identity_provider", "Corp"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let code = Browser::new().follow(&url, CB).await.code();
    let (s, t) = exchange(env, &code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

/// Sets a setting of the default pool.
pub async fn pool_setting(env: &Env, settings: Value) -> (StatusCode, Value) {
    env.gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({ "settings": settings })),
        )
        .await
}

#[tokio::test]
async fn a_cognito_authority_app_keeps_its_first_refresh_token() {
    let env = setup("never", false).await;
    let (s, v) = pool_setting(&env, json!({"issuer_style": "cognito"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["settings"]["issuer_style"], "cognito");
    let authority = format!("{}/default", env.gw.base);

    // The app discovers poolgate through the authority, as oidc-client-ts does with
    // Cognito's `https://cognito-idp.REGION.amazonaws.com/POOL_ID`; the endpoints are
    // on the pool's domain.
    let doc: Value = env
        .gw
        .http
        .get(format!("{authority}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let meta: CoreProviderMetadata =
        serde_json::from_value(doc).expect("an OIDC discovery document");
    assert_eq!(meta.issuer().as_str(), authority);
    assert_eq!(
        meta.authorization_endpoint().as_str(),
        env.gw.url("/oauth2/authorize")
    );
    assert_eq!(
        meta.jwks_uri().as_str(),
        env.gw.url("/.well-known/jwks.json")
    );
    let under: Value = env
        .gw
        .http
        .get(format!("{authority}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(under, env.gw.jwks().await, "one key set, two addresses");

    let t = tokens_with_scope(&env, "openid email profile").await;
    let rt = json_str(&t, "refresh_token");
    assert_eq!(claims(&json_str(&t, "id_token"))["iss"], authority);
    let verified = aws_jwt_verify(json!({
        "authority": authority, "client_id": env.client,
        "id_token": t["id_token"], "access_token": t["access_token"],
    }))
    .await
    .expect("aws-jwt-verify accepts the sign-in's tokens");
    assert_eq!(
        verified["id_token"]["payload"]["cognito:username"],
        "Corp_user-1"
    );
    assert_eq!(verified["access_token"]["payload"]["version"], 2);
    assert_eq!(
        verified["access_token"]["header"],
        json!({"alg": "RS256", "kid": verified["access_token"]["header"]["kid"]})
    );

    // Twice with the FIRST refresh token: rotation is off by default, as in Cognito, and
    // the answer carries no new refresh token.
    let mut last = Value::Null;
    for _ in 0..2 {
        let (s, r) = refresh(&env, &rt).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert!(r.get("refresh_token").is_none(), "{r}");
        assert_eq!(
            claims(&json_str(&r, "id_token"))["origin_jti"],
            claims(&json_str(&t, "id_token"))["origin_jti"],
            "one sign-in"
        );
        last = r;
    }
    aws_jwt_verify(json!({
        "authority": authority, "client_id": env.client,
        "id_token": last["id_token"], "access_token": last["access_token"],
    }))
    .await
    .expect("aws-jwt-verify accepts the refreshed tokens");
    let (s, ui) = userinfo(&env, &json_str(&last, "access_token")).await;
    assert_eq!(s, StatusCode::OK, "{ui}");

    // The verifier really checks: another client id, or an ID token offered as an
    // access token, is refused.
    let e = aws_jwt_verify(json!({
        "authority": authority, "client_id": "another-client",
        "access_token": last["access_token"],
    }))
    .await
    .unwrap_err();
    assert!(e.contains("Client"), "{e}");
    let e = aws_jwt_verify(json!({
        "authority": authority, "client_id": env.client, "access_token": last["id_token"],
    }))
    .await
    .unwrap_err();
    assert!(e.contains("oken use") || e.contains("typ"), "{e}");

    // Served on the public URL's host only, and only for a pool that issues so.
    let r = env
        .gw
        .http
        .get(format!("{authority}/.well-known/openid-configuration"))
        .header("host", format!("other.localhost:{}", env.gw.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (s, _) = pool_setting(&env, json!({"issuer_style": "domain"})).await;
    assert_eq!(s, StatusCode::OK);
    let r = env
        .gw
        .http
        .get(format!("{authority}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Back to the domain issuer: the cognito-issued access token is foreign now.
    assert_eq!(
        userinfo(&env, &json_str(&last, "access_token")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn claims_and_user_info_follow_the_scopes() {
    let env = setup("never", false).await;

    let t = tokens_with_scope(&env, "openid email").await;
    let id = claims(&json_str(&t, "id_token"));
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(id["email_verified"], true);
    assert!(
        id.get("name").is_none() && id.get("given_name").is_none(),
        "{id}"
    );
    let (s, ui) = userinfo(&env, &json_str(&t, "access_token")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ui["sub"], id["sub"]);
    assert_eq!(ui["username"], "Corp_user-1");
    assert_eq!(ui["email_verified"], "true", "strings, as Cognito's");
    assert!(ui.get("name").is_none(), "{ui}");
    assert!(
        ui.as_object().unwrap().values().all(Value::is_string),
        "every value a string: {ui}"
    );

    let t = tokens_with_scope(&env, "openid profile").await;
    let id = claims(&json_str(&t, "id_token"));
    assert_eq!(id["name"], "Ada Lovelace");
    assert_eq!(id["family_name"], "Lovelace");
    assert!(id.get("email").is_none(), "{id}");
    let (_, ui) = userinfo(&env, &json_str(&t, "access_token")).await;
    assert_eq!(ui["given_name"], "Ada");
    assert!(ui.get("email").is_none() && ui.get("email_verified").is_none());

    // `openid` alone releases every attribute, as Cognito does.
    let t = tokens_with_scope(&env, "openid").await;
    let id = claims(&json_str(&t, "id_token"));
    assert_eq!(id["email"], "ada@example.com");
    assert_eq!(id["name"], "Ada Lovelace");
    assert_eq!(id["identities"][0]["providerName"], "Corp");
    let (_, ui) = userinfo(&env, &json_str(&t, "access_token")).await;
    assert_eq!(ui["name"], "Ada Lovelace");
    let identities: Value = serde_json::from_str(ui["identities"].as_str().unwrap()).unwrap();
    assert_eq!(identities[0]["userId"], "user-1");
    assert!(
        ui.as_object().unwrap().values().all(Value::is_string),
        "{ui}"
    );
}

#[tokio::test]
async fn pool_groups_become_cognito_groups_and_roles() {
    let env = setup("never", false).await;
    let (s, _) = pool_setting(&env, json!({"issuer_style": "cognito"})).await;
    assert_eq!(s, StatusCode::OK);
    let authority = format!("{}/default", env.gw.base);
    let t = tokens_with_scope(&env, "openid email").await;
    let sub = claims(&json_str(&t, "id_token"))["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    // Pool groups (the Cognito API's CreateGroup and AdminAddUserToGroup), made here
    // straight in the store, as those operations do.
    let store = &env.gw.running.as_ref().unwrap().store;
    for (name, precedence, role) in [
        (
            "staff",
            Some(5),
            Some("arn:aws:iam::123456789012:role/Staff"),
        ),
        (
            "admins",
            Some(1),
            Some("arn:aws:iam::123456789012:role/Admin"),
        ),
        ("readers", None, None),
    ] {
        let g = poolgate::model::Group {
            pool_id: "default".into(),
            name: name.into(),
            description: None,
            precedence,
            role_arn: role.map(str::to_owned),
            created_at: 0,
            updated_at: 0,
        };
        store.create_group(&g).await.unwrap();
        store.add_to_group("default", name, &sub).await.unwrap();
    }
    let (s, r) = refresh(&env, &json_str(&t, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let id = claims(&json_str(&r, "id_token"));
    let at = claims(&json_str(&r, "access_token"));
    // By precedence, as Cognito orders them; roles from the groups' RoleArn.
    assert_eq!(id["cognito:groups"], json!(["admins", "staff", "readers"]));
    assert_eq!(at["cognito:groups"], json!(["admins", "staff", "readers"]));
    assert_eq!(
        id["cognito:roles"],
        json!([
            "arn:aws:iam::123456789012:role/Admin",
            "arn:aws:iam::123456789012:role/Staff"
        ])
    );
    assert_eq!(
        id["cognito:preferred_role"],
        "arn:aws:iam::123456789012:role/Admin"
    );
    assert!(
        at.get("cognito:roles").is_none(),
        "ID token only, as Cognito"
    );
    let input = |groups: Value| {
        json!({
            "authority": authority, "client_id": env.client,
            "id_token": r["id_token"], "access_token": r["access_token"], "groups": groups,
        })
    };
    aws_jwt_verify(input(json!(["staff"])))
        .await
        .expect("aws-jwt-verify's group check passes");
    let e = aws_jwt_verify(input(json!(["auditors"])))
        .await
        .unwrap_err();
    assert!(e.contains("group"), "{e}");
}
