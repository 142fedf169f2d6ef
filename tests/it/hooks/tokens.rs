//! Pre-token generation and pre-sign-up through a real sign-in: a trigger written for
//! Cognito changes poolgate's tokens the same way, and a pre-sign-up hook refuses or
//! links through the admin API.

use aws_lc_rs::hmac;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{HookServer, Reply, app_error, echo, hooked, metrics, sign_in, users};
use crate::e2e::{exchange, refresh, register, verify_jwt};
use crate::fakes::oidc::{self, OidcOpts};
use crate::harness::{claims, json_str};

/// The logic of the V2 example function of Cognito's pre-token-generation
/// documentation, written again here: add two claims and a scope to the access token,
/// take a scope away, replace the user's groups and IAM roles; plus an ID-token claim
/// and a suppressed one. Like a Lambda function, it returns the event it was given
/// with `response` filled in.
async fn documented_v2_handler(mut event: Value) -> Reply {
    event["response"]["claimsAndScopeOverrideDetails"] = json!({
        "idTokenGeneration": {
            "claimsToAddOrOverride": {"tenant": "acme", "sub": "not-the-user"},
            "claimsToSuppress": ["email"]
        },
        "accessTokenGeneration": {
            "claimsToAddOrOverride": {
                "my_first_claim": "my_first_value",
                "my_second_claim": "my_second_value",
                "client_id": "another-client"
            },
            "scopesToAdd": ["openid", "email", "solar-system-data/asteroids.add"],
            "scopesToSuppress": ["profile"]
        },
        "groupOverrideDetails": {
            "groupsToOverride": ["new-group-A", "new-group-B", "new-group-C"],
            "iamRolesToOverride": [
                "arn:aws:iam::123456789012:role/new_roleA",
                "arn:aws:iam::123456789012:role/new_roleB"
            ],
            "preferredRole": "arn:aws:iam::123456789012:role/new_roleA"
        }
    });
    Reply::Json(event)
}

/// HMAC-SHA256 of `"<t>.<body>"`, computed here independently of poolgate's code.
fn expected_signature(secret: &str, header: &str, body: &[u8]) -> bool {
    let t = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap();
    let v1 = header
        .split(',')
        .find_map(|p| p.strip_prefix("v1="))
        .unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - t.parse::<i64>().unwrap()).abs() < 60
        && hex::encode(hmac::sign(&key, &msg).as_ref()) == v1
}

#[tokio::test]
async fn a_cognito_v2_trigger_changes_the_tokens_the_same_way() {
    let server = HookServer::start(documented_v2_handler).await;
    let (env, secret) = hooked(json!({
        "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": server.url("/pre-token")}
    }))
    .await;
    let (landing, verifier) = sign_in(&env, "Corp").await;
    let (s, t) = exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let jwks = env.gw.jwks().await;
    let (_, id) = verify_jwt(&json_str(&t, "id_token"), &jwks);
    let (_, at) = verify_jwt(&json_str(&t, "access_token"), &jwks);

    assert_eq!(id["tenant"], "acme");
    assert!(id.get("email").is_none(), "suppressed from the ID token");
    assert_eq!(id["name"], "Ada Lovelace", "other claims stay");
    assert_ne!(id["sub"], "not-the-user", "sub is protected");
    assert_eq!(
        id["cognito:groups"],
        json!(["new-group-A", "new-group-B", "new-group-C"])
    );
    assert_eq!(id["cognito:roles"].as_array().unwrap().len(), 2);
    assert_eq!(
        id["cognito:preferred_role"],
        "arn:aws:iam::123456789012:role/new_roleA"
    );
    assert_eq!(at["my_first_claim"], "my_first_value");
    assert_eq!(at["my_second_claim"], "my_second_value");
    assert_eq!(at["client_id"], env.client, "client_id is protected");
    assert_eq!(at["sub"], id["sub"]);
    assert_eq!(
        at["scope"], "openid email solar-system-data/asteroids.add",
        "profile suppressed, the new scope added once"
    );
    assert_eq!(
        at["cognito:groups"],
        json!(["new-group-A", "new-group-B", "new-group-C"])
    );
    assert!(
        at.get("cognito:roles").is_none(),
        "roles belong to the ID token"
    );
    assert_eq!(t["scope"], at["scope"]);

    // The event was Cognito's, signed with the pool's secret.
    let calls = server.calls();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(c.path, "/pre-token");
    assert!(
        expected_signature(&secret, &c.signature, &c.body),
        "{}",
        c.signature
    );
    assert!(!expected_signature("another-secret", &c.signature, &c.body));
    assert_eq!(c.request_id.len(), 36);
    let e = &c.event;
    assert_eq!(e["version"], "2");
    assert_eq!(e["triggerSource"], "TokenGeneration_HostedAuth");
    assert_eq!(e["region"], "us-east-1");
    assert_eq!(e["userPoolId"], "default");
    assert_eq!(e["userName"], "Corp_user-1");
    assert_eq!(e["callerContext"]["clientId"], env.client);
    assert_eq!(e["request"]["userAttributes"]["email"], "ada@example.com");
    assert_eq!(e["request"]["userAttributes"]["email_verified"], "true");
    assert_eq!(e["request"]["userAttributes"]["sub"], id["sub"]);
    assert_eq!(
        e["request"]["scopes"],
        json!(["openid", "email", "profile"])
    );
    assert_eq!(
        e["request"]["groupConfiguration"]["groupsToOverride"],
        json!([])
    );
    assert_eq!(
        e["response"],
        json!({"claimsAndScopeOverrideDetails": null})
    );

    // A refresh asks again (TokenGeneration_RefreshTokens) and changes the new tokens.
    let (s, r) = refresh(&env, &json_str(&t, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        claims(&json_str(&r, "access_token"))["my_first_claim"],
        "my_first_value"
    );
    assert_eq!(claims(&json_str(&r, "id_token"))["tenant"], "acme");
    let calls = server.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1].event["triggerSource"],
        "TokenGeneration_RefreshTokens"
    );

    let m = metrics(&env).await;
    assert!(
        m.contains("poolgate_hook_calls_total{trigger=\"pre_token_generation\"} 2"),
        "{m}"
    );
    assert!(m.contains("poolgate_hook_duration_seconds_count{trigger=\"pre_token_generation\"} 2"));
}

#[tokio::test]
async fn a_v1_trigger_changes_the_id_token_only() {
    let server = HookServer::start(|mut event: Value| async move {
        event["response"]["claimsOverrideDetails"] = json!({
            "claimsToAddOrOverride": {"tenant": "acme"},
            "claimsToSuppress": ["given_name"]
        });
        Reply::Json(event)
    })
    .await;
    // The legacy key is V1_0.
    let (env, _) = hooked(json!({"PreTokenGeneration": server.url("/v1")})).await;
    let (landing, verifier) = sign_in(&env, "Corp").await;
    let (s, t) = exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = claims(&json_str(&t, "id_token"));
    let at = claims(&json_str(&t, "access_token"));
    assert_eq!(id["tenant"], "acme");
    assert!(id.get("given_name").is_none());
    assert!(at.get("tenant").is_none());
    let e = &server.calls()[0].event;
    assert_eq!(e["version"], "1");
    assert!(
        e["request"].get("scopes").is_none(),
        "V1 events carry no scopes"
    );
}

#[tokio::test]
async fn pre_sign_up_refuses_and_nothing_is_created() {
    let server = HookServer::start(|_event: Value| async move {
        Reply::Raw(
            400,
            br#"{"errorType":"Error","errorMessage":"Outsiders are not allowed"}"#.to_vec(),
        )
    })
    .await;
    let (env, _) = hooked(json!({
        "PreSignUp": server.url("/pre-sign-up"),
        "PostAuthentication": server.url("/post-auth"),
    }))
    .await;
    let (landing, _) = sign_in(&env, "Corp").await;
    let (error, description) = app_error(&landing);
    assert_eq!(error, "access_denied");
    assert_eq!(
        description,
        "PreSignUp failed with error Outsiders are not allowed."
    );
    assert!(users(&env).await.is_empty(), "no user was created");
    let calls = server.calls();
    assert_eq!(calls.len(), 1, "nothing ran after the refusal");
    let e = &calls[0].event;
    assert_eq!(e["triggerSource"], "PreSignUp_ExternalProvider");
    assert_eq!(e["userName"], "Corp_user-1");
    assert_eq!(e["request"]["userAttributes"]["email"], "ada@example.com");
    assert!(e["request"]["userAttributes"].get("sub").is_none());
    assert_eq!(
        e["response"],
        json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false})
    );
    let m = metrics(&env).await;
    assert!(
        m.contains("poolgate_hook_failures_total{trigger=\"pre_sign_up\",reason=\"refused\"} 1"),
        "{m}"
    );
}

#[tokio::test]
async fn pre_sign_up_links_the_identity_onto_an_existing_user() {
    let env = crate::e2e::setup("never", false).await;
    // Ada first signs in through Corp: user Corp_user-1.
    let (landing, verifier) = sign_in(&env, "Corp").await;
    let (s, first) = exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let first_sub = claims(&json_str(&first, "id_token"))["sub"].clone();

    // A second provider, and a pre-sign-up hook that links its new identities onto the
    // user with the same email through the admin API before answering, as a Cognito
    // trigger does with AdminLinkProviderForUser.
    let mut opts = OidcOpts {
        client_id: "rp2".into(),
        ..Default::default()
    };
    opts.user.insert("sub".into(), json!("other-77"));
    let other = oidc::start(opts).await;
    register(&env.gw, "Other", &other, "never").await;
    let (s, v) = env
        .gw
        .admin(
            "PATCH",
            &format!("/pools/default/clients/{}", env.client),
            Some(json!({"supported_identity_providers": ["Corp", "Other"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let admin = env.gw.url("/admin/v1");
    let server = HookServer::start(move |event: Value| {
        let admin = admin.clone();
        async move {
            let user_name = event["userName"].as_str().unwrap().to_owned();
            let (provider, subject) = user_name.split_once('_').unwrap();
            let linked = reqwest::Client::new()
                .post(format!(
                    "{admin}/pools/default/users/Corp_user-1/identities"
                ))
                .bearer_auth(crate::harness::ADMIN_TOKEN)
                .json(&json!({"provider": provider, "subject": subject}))
                .send()
                .await
                .unwrap();
            assert_eq!(linked.status(), StatusCode::CREATED);
            echo(event).await
        }
    })
    .await;
    super::set_hooks(&env, json!({"PreSignUp": server.url("/link")}))
        .await
        .unwrap();

    let (landing, verifier) = sign_in(&env, "Other").await;
    let (s, t) = exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = claims(&json_str(&t, "id_token"));
    assert_eq!(
        id["sub"], first_sub,
        "the sign-in landed on the linked user"
    );
    assert_eq!(id["identities"].as_array().unwrap().len(), 2);
    assert_eq!(users(&env).await.len(), 1, "no second user");
    // The next sign-in through Other is already linked: no pre-sign-up call.
    let (landing, _) = sign_in(&env, "Other").await;
    landing.code();
    assert_eq!(server.calls().len(), 1);
}

#[tokio::test]
async fn auto_verify_email_is_honoured() {
    let server = HookServer::start(|mut event: Value| async move {
        event["response"]["autoVerifyEmail"] = json!(true);
        Reply::Json(event)
    })
    .await;
    let (env, _) = hooked(json!({"PreSignUp": server.url("/")})).await;
    env.fake.set(|o| {
        o.user.insert("email_verified".into(), json!(false));
    });
    let (landing, verifier) = sign_in(&env, "Corp").await;
    let (s, t) = exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(claims(&json_str(&t, "id_token"))["email_verified"], true);
}

#[tokio::test]
async fn a_v3_trigger_sees_client_credentials_and_v2_does_not() {
    let server = HookServer::start(|mut event: Value| async move {
        event["response"]["claimsAndScopeOverrideDetails"] = json!({
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"partner": "acme", "sub": "someone"},
                "scopesToSuppress": ["api/write"]
            }
        });
        Reply::Json(event)
    })
    .await;
    let (env, _) = hooked(json!({
        "PreTokenGenerationConfig": {"LambdaVersion": "V3_0", "LambdaArn": server.url("/m2m")}
    }))
    .await;
    let (s, v) = env
        .gw
        .admin(
            "PUT",
            "/pools/default/resource-servers/api",
            Some(json!({"name": "API", "scopes": [{"name": "read"}, {"name": "write"}]})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (id, secret) = env
        .gw
        .client(json!({
            "name": "machine", "generate_secret": true,
            "allowed_oauth_flows": ["client_credentials"],
            "allowed_scopes": ["api/read", "api/write"],
        }))
        .await;
    let secret = secret.unwrap();
    let form = [("grant_type", "client_credentials")];
    let (s, t) = env.gw.token(&form, Some((&id, &secret))).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let at = claims(&json_str(&t, "access_token"));
    assert_eq!(at["partner"], "acme");
    assert_eq!(at["sub"], id.as_str(), "sub is protected");
    assert_eq!(at["scope"], "api/read");
    assert_eq!(t["scope"], "api/read");
    let e = &server.calls()[0].event;
    assert_eq!(e["version"], "3");
    assert_eq!(e["triggerSource"], "TokenGeneration_ClientCredentials");
    assert!(e.get("userName").is_none());
    assert_eq!(e["callerContext"]["clientId"], id.as_str());
    assert_eq!(e["request"]["scopes"], json!(["api/read", "api/write"]));

    // A V2 hook is for users only: machine tokens are issued without calling it.
    super::set_hooks(
        &env,
        json!({"PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": server.url("/m2m")}}),
    )
    .await;
    let (s, t) = env.gw.token(&form, Some((&id, &secret))).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert!(
        claims(&json_str(&t, "access_token"))
            .get("partner")
            .is_none()
    );
    assert_eq!(server.calls().len(), 1);
}
