//! `AdminLinkProviderForUser` by a source attribute (interface.md section 7), driven by
//! boto3: an OIDC claim and a SAML attribute linked onto a native user made by
//! `AdminCreateUser`; the identity's first sign-in (browser, or the token exchange of a
//! native app) lands on that user, and so do the next ones; a pre-sign-up trigger
//! that makes the link during the sign-in; and the refusals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{CLIENT_PY, Creds, boto3, command_at, fails, ok, run};
use crate::e2e::{Env, setup, sign_in_via, tokens_via};
use crate::harness::{Browser, Landing, claims, json_str};
use crate::native_users::create_user;

const POOL: &str = "default";

fn link_body(username: &str, provider: &str, name: &str, value: &str) -> Value {
    json!({"UserPoolId": POOL,
        "DestinationUser": {"ProviderName": "Cognito", "ProviderAttributeValue": username},
        "SourceUser": {"ProviderName": provider, "ProviderAttributeName": name,
                       "ProviderAttributeValue": value}})
}

fn disable_body(provider: &str, name: &str, value: &str) -> Value {
    json!({"UserPoolId": POOL,
        "User": {"ProviderName": provider, "ProviderAttributeName": name,
                 "ProviderAttributeValue": value}})
}

/// `AdminGetUser`: its `sub`, its `identities` attribute (parsed; `[]` when absent)
/// and its status.
async fn get_user(gw: &crate::harness::Gw, username: &str) -> (String, Value, String) {
    let u = ok(
        gw,
        "AdminGetUser",
        json!({"UserPoolId": POOL, "Username": username}),
    )
    .await;
    let attr = |n: &str| {
        u["UserAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["Name"] == n)
            .map(|a| a["Value"].as_str().unwrap().to_owned())
    };
    let ids = attr("identities")
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(json!([]));
    (
        attr("sub").unwrap(),
        ids,
        u["UserStatus"].as_str().unwrap().to_owned(),
    )
}

/// An OIDC identity `sub` with claim `employee_id` through provider `Corp`.
async fn oidc_env(sub: &str, employee_id: &str) -> Env {
    let env = setup("never", false).await;
    let (sub, employee_id) = (sub.to_owned(), employee_id.to_owned());
    env.fake.set(move |o| {
        o.user.insert("sub".into(), json!(sub));
        o.user.insert("employee_id".into(), json!(employee_id));
    });
    env
}

#[tokio::test]
async fn an_oidc_claim_links_onto_a_native_user_at_first_sign_in() {
    let env = oidc_env("oidc-77", "E-1001").await;
    create_user(&env.gw, "carol", "Temporary-Pass-9").await;
    let (carol_sub, ids, status) = get_user(&env.gw, "carol").await;
    assert_eq!(ids, json!([]));
    assert_eq!(status, "FORCE_CHANGE_PASSWORD");

    ok(
        &env.gw,
        "AdminLinkProviderForUser",
        link_body("carol", "Corp", "employee_id", "E-1001"),
    )
    .await;
    // Pending: not an identity yet, as Cognito shows none before the sign-in.
    assert_eq!(get_user(&env.gw, "carol").await.1, json!([]));

    for round in 0..2 {
        let id = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
        assert_eq!(id["sub"], carol_sub.as_str(), "round {round}: {id}");
        assert_eq!(id["cognito:username"], "carol");
        let idents = id["identities"].as_array().unwrap();
        assert_eq!(idents.len(), 1, "{id}");
        assert_eq!(idents[0]["providerName"], "Corp");
        assert_eq!(idents[0]["userId"], "oidc-77");
    }
    let (sub, ids, status) = get_user(&env.gw, "carol").await;
    assert_eq!(sub, carol_sub);
    assert_eq!(ids[0]["userId"], "oidc-77", "{ids}");
    assert_eq!(status, "FORCE_CHANGE_PASSWORD", "the native status is kept");
    let listed = ok(&env.gw, "ListUsers", json!({"UserPoolId": POOL})).await;
    assert_eq!(
        listed["Users"].as_array().unwrap().len(),
        1,
        "no user was made for the identity: {listed}"
    );

    // Consumed: the attribute form finds nothing; the subject form unlinks.
    assert_eq!(
        fails(
            &env.gw,
            "AdminDisableProviderForUser",
            disable_body("Corp", "employee_id", "E-1001")
        )
        .await,
        "UserNotFoundException"
    );
    ok(
        &env.gw,
        "AdminDisableProviderForUser",
        disable_body("Corp", "Cognito_Subject", "oidc-77"),
    )
    .await;
    assert_eq!(get_user(&env.gw, "carol").await.1, json!([]));
}

#[tokio::test]
async fn a_saml_email_links_onto_a_native_user_at_first_sign_in() {
    use crate::saml_e2e::{code_of, env};
    use crate::saml_fixtures::response;
    use base64::Engine;
    let e = env(json!({})).await;
    create_user(&e.gw, "jane", "Temporary-Pass-9").await;
    let (jane_sub, _, _) = get_user(&e.gw, "jane").await;
    // `email`: the pool attribute the provider maps from the AD FS claim, as Cognito
    // documents it. A second pending link names the claim URI itself.
    ok(
        &e.gw,
        "AdminLinkProviderForUser",
        link_body("jane", "AcmeADFS", "email", "jdoe@corp.example"),
    )
    .await;
    let upn = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
    ok(
        &e.gw,
        "AdminLinkProviderForUser",
        link_body("jane", "AcmeADFS", upn, "jdoe@corp.example"),
    )
    .await;
    for round in 0..2 {
        let sent = e.begin().await;
        let xml = response(&e.spec(&sent), &e.idp);
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        let (status, loc) = e.post(&b64, &sent.relay_state).await;
        assert!(status.is_redirection(), "{status}");
        let code = code_of(&loc).unwrap_or_else(|| panic!("no code: {loc:?}"));
        let t = e.tokens(&code).await;
        let id = claims(&json_str(&t, "id_token"));
        assert_eq!(id["sub"], jane_sub.as_str(), "round {round}: {id}");
        assert_eq!(id["cognito:username"], "jane");
        assert_eq!(id["identities"][0]["providerName"], "AcmeADFS");
        assert_eq!(id["identities"][0]["userId"], "CORP\\jdoe");
        assert_eq!(id["identities"].as_array().unwrap().len(), 1);
    }
    let (_, ids, _) = get_user(&e.gw, "jane").await;
    assert_eq!(ids.as_array().unwrap().len(), 1, "{ids}");
    // Both pending links were fulfilled by the one link: neither is left to remove,
    // and jane has room for four more identities.
    for name in ["email", upn] {
        assert_eq!(
            fails(
                &e.gw,
                "AdminDisableProviderForUser",
                disable_body("AcmeADFS", name, "jdoe@corp.example")
            )
            .await,
            "UserNotFoundException",
            "{name}"
        );
    }
    for i in 0..4 {
        ok(
            &e.gw,
            "AdminLinkProviderForUser",
            link_body("jane", "AcmeADFS", "email", &format!("j{i}@corp.example")),
        )
        .await;
    }
}

#[tokio::test]
async fn attribute_links_are_refused_removed_and_matched_exactly() {
    let env = oidc_env("oidc-88", "E-2").await;
    create_user(&env.gw, "dave", "Temporary-Pass-9").await;
    create_user(&env.gw, "erin", "Temporary-Pass-9").await;
    let gw = &env.gw;

    let long = "x".repeat(3000);
    let refused: Vec<(Value, &str)> = vec![
        (
            link_body("dave", "Nope", "employee_id", "E-1"),
            "InvalidParameterException",
        ),
        (
            link_body("nobody", "Corp", "employee_id", "E-1"),
            "UserNotFoundException",
        ),
        (
            link_body("dave", "Corp", "employee_id", &long),
            "InvalidParameterException",
        ),
        (
            link_body("dave", "Corp", "employee_id", "E\u{0}1"),
            "InvalidParameterException",
        ),
        (
            link_body("dave", "Corp", "employee_id", "E-1\r\nX-Injected: 1"),
            "InvalidParameterException",
        ),
        (
            link_body("dave", "Corp", "employee\u{1b}[31m", "E-1"),
            "InvalidParameterException",
        ),
        (
            link_body("dave", "Corp", &long, "E-1"),
            "InvalidParameterException",
        ),
        (
            link_body("dave", "Corp", "", "E-1"),
            "InvalidParameterException",
        ),
    ];
    let calls: Vec<(&str, Value)> = refused
        .iter()
        .map(|(b, _)| ("AdminLinkProviderForUser", b.clone()))
        .collect();
    let answers = boto3(gw, &calls).await;
    for ((body, code), a) in refused.iter().zip(&answers) {
        assert_eq!(a["status"], 400, "{body}: {a}");
        assert_eq!(a["error"]["Code"], *code, "{body}: {a}");
    }

    // Nothing of that was stored: dave still has room for five identities, and a
    // sixth is refused.
    for i in 0..5 {
        ok(
            gw,
            "AdminLinkProviderForUser",
            link_body("dave", "Corp", "employee_id", &format!("E-1{i}")),
        )
        .await;
    }
    assert_eq!(
        fails(
            gw,
            "AdminLinkProviderForUser",
            link_body("dave", "Corp", "employee_id", "E-16")
        )
        .await,
        "LimitExceededException"
    );
    // The same link again changes nothing; onto another user it is refused.
    ok(
        gw,
        "AdminLinkProviderForUser",
        link_body("dave", "Corp", "employee_id", "E-10"),
    )
    .await;
    assert_eq!(
        fails(
            gw,
            "AdminLinkProviderForUser",
            link_body("erin", "Corp", "employee_id", "E-10")
        )
        .await,
        "AliasExistsException"
    );
    // Disabling a pending link removes it (once); the freed place takes another.
    ok(
        gw,
        "AdminDisableProviderForUser",
        disable_body("Corp", "employee_id", "E-14"),
    )
    .await;
    assert_eq!(
        fails(
            gw,
            "AdminDisableProviderForUser",
            disable_body("Corp", "employee_id", "E-14")
        )
        .await,
        "UserNotFoundException"
    );
    ok(
        gw,
        "AdminLinkProviderForUser",
        link_body("dave", "Corp", "employee_id", "E-14"),
    )
    .await;
    assert_eq!(
        fails(
            gw,
            "AdminDisableProviderForUser",
            disable_body("Corp", "employee_id", "E\u{7}")
        )
        .await,
        "InvalidParameterException"
    );

    // The identity's employee_id is E-2: no pending link matches, a new user is made.
    let (dave_sub, _, _) = get_user(gw, "dave").await;
    let id = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    assert_ne!(id["sub"], dave_sub.as_str());
    assert_eq!(id["cognito:username"], "Corp_oidc-88");
    assert_eq!(get_user(gw, "dave").await.1, json!([]));

    // Deleting dave removes his pending links: the source is free for erin.
    ok(
        gw,
        "AdminDeleteUser",
        json!({"UserPoolId": POOL, "Username": "dave"}),
    )
    .await;
    ok(
        gw,
        "AdminLinkProviderForUser",
        link_body("erin", "Corp", "employee_id", "E-10"),
    )
    .await;
}

/// Pending links of two users that one identity matches: poolgate does not guess; the
/// sign-in is refused and nothing changes. Once one is removed, the other is claimed.
#[tokio::test]
async fn an_identity_matching_two_users_is_refused_until_one_link_goes() {
    let env = oidc_env("oidc-99", "E-5").await;
    create_user(&env.gw, "fay", "Temporary-Pass-9").await;
    create_user(&env.gw, "gus", "Temporary-Pass-9").await;
    ok(
        &env.gw,
        "AdminLinkProviderForUser",
        link_body("fay", "Corp", "employee_id", "E-5"),
    )
    .await;
    ok(
        &env.gw,
        "AdminLinkProviderForUser",
        link_body("gus", "Corp", "email", "ada@example.com"),
    )
    .await;
    let (landing, _) = sign_in_via(&env, &Browser::new(), "Corp", "n").await;
    match &landing {
        Landing::App(q) => {
            assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
            assert!(!q.contains_key("code"), "{q:?}");
        }
        other => panic!("{other:?}"),
    }
    let listed = ok(&env.gw, "ListUsers", json!({"UserPoolId": POOL})).await;
    assert_eq!(listed["Users"].as_array().unwrap().len(), 2, "{listed}");
    ok(
        &env.gw,
        "AdminDisableProviderForUser",
        disable_body("Corp", "email", "ada@example.com"),
    )
    .await;
    let (fay_sub, _, _) = get_user(&env.gw, "fay").await;
    let id = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    assert_eq!(id["sub"], fay_sub.as_str());
    assert_eq!(get_user(&env.gw, "gus").await.1, json!([]));
}

/// A native app's token exchange (RFC 8693) claims a pending link as a browser sign-in
/// does.
#[tokio::test]
async fn a_token_exchange_claims_a_pending_link() {
    use crate::e2e_social::{GRACE, Social, body};
    use crate::fakes::TokenKnobs;
    use crate::fakes::google::{self, GoogleOpts};
    const ANDROID: &str = "123-android.apps.googleusercontent.com";
    let f = google::start(GoogleOpts::default()).await;
    let mut d = google::details(&f);
    d["native_client_ids"] = json!([ANDROID]);
    let s = Social::new(&[("Google", body("Google", d, "never"))]).await;
    create_user(&s.gw, "hal", "Temporary-Pass-9").await;
    let (hal_sub, _, _) = get_user(&s.gw, "hal").await;
    ok(
        &s.gw,
        "AdminLinkProviderForUser",
        link_body("hal", "Google", "email", GRACE),
    )
    .await;
    let token = f.mint(ANDROID, None, &TokenKnobs::default());
    for round in 0..2 {
        let (st, t) =
            s.gw.token(
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("client_id", s.client.as_str()),
                    ("subject_token", token.as_str()),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:id_token",
                    ),
                    ("identity_provider", "Google"),
                ],
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "round {round}: {t}");
        let id = claims(&json_str(&t, "id_token"));
        assert_eq!(id["sub"], hal_sub.as_str(), "round {round}: {id}");
        assert_eq!(id["identities"][0]["providerName"], "Google");
    }
    assert_eq!(get_user(&s.gw, "hal").await.1.as_array().unwrap().len(), 1);
}

/// boto3 against a gateway known by its base URL: what a trigger's code does.
async fn boto3_at(base: &str, calls: &[(&str, Value)]) -> Vec<Value> {
    let mut c = command_at(base, "python3", &Creds::default());
    c.arg(CLIENT_PY).arg("calls");
    let input: Vec<Value> = calls.iter().map(|(op, p)| json!([op, p])).collect();
    let (ok, out, err) = run(c, json!(input).to_string().as_bytes()).await;
    assert!(ok, "client.py failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"))
}

/// Cognito's documentation suggests prestaging the link in a pre-sign-up trigger: one
/// that calls `AdminLinkProviderForUser` by a source attribute before answering makes
/// the sign-in that called it land on the destination user.
#[tokio::test]
async fn a_pre_sign_up_trigger_links_by_attribute_during_the_sign_in() {
    use crate::hooks::{HookServer, echo, set_hooks};
    let env = oidc_env("oidc-55", "E-55").await;
    create_user(&env.gw, "ivy", "Temporary-Pass-9").await;
    let (ivy_sub, _, _) = get_user(&env.gw, "ivy").await;
    let base = env.gw.base.clone();
    let server = HookServer::start(move |event: Value| {
        let base = base.clone();
        async move {
            let claim = event["request"]["userAttributes"]["email"].clone();
            assert_eq!(claim, "ada@example.com", "{event}");
            let answers = boto3_at(
                &base,
                &[(
                    "AdminLinkProviderForUser",
                    link_body("ivy", "Corp", "employee_id", "E-55"),
                )],
            )
            .await;
            assert!(answers[0].get("ok").is_some(), "{}", answers[0]);
            echo(event).await
        }
    })
    .await;
    set_hooks(&env, json!({"PreSignUp": server.url("/link")})).await;
    let id = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    assert_eq!(id["sub"], ivy_sub.as_str(), "{id}");
    assert_eq!(server.calls().len(), 1);
    let listed = ok(&env.gw, "ListUsers", json!({"UserPoolId": POOL})).await;
    assert_eq!(listed["Users"].as_array().unwrap().len(), 1, "{listed}");
    // Linked by subject now: the next sign-in asks the trigger nothing.
    let id = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    assert_eq!(id["sub"], ivy_sub.as_str());
    assert_eq!(server.calls().len(), 1);
}
