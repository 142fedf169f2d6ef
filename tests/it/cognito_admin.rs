//! Issue 14 on the admin side: mappings onto reserved claims refused, the retired
//! `cognito_claims` refused, `issuer_style` and the SAML SP entity ID per pool,
//! `explicit_auth_flows`; and the hosted page for a client without federated providers.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Browser, Gw, Landing, app_client_body, authorize_url, pkce};

const APP: &str = "http://127.0.0.1:9/cb";

fn oidc_body(mapping: Value) -> Value {
    json!({
        "type": "OIDC",
        "details": {"issuer": "http://127.0.0.1:9/idp", "client_id": "c", "client_secret": "s"},
        "attribute_mapping": mapping,
    })
}

#[tokio::test]
async fn mappings_onto_reserved_claims_are_refused() {
    let gw = Gw::start().await;
    for (attr, why) in [
        ("sub", "reserved"),
        ("iss", "reserved"),
        ("aud", "reserved"),
        ("nonce", "reserved"),
        ("token_use", "reserved"),
        ("scope", "reserved"),
        ("client_id", "reserved"),
        ("identities", "reserved"),
        ("cognito:groups", "reserved"),
        ("cognito:username", "reserved"),
        ("department", "neither"),
        ("custom:", "neither"),
    ] {
        let (s, v) = gw
            .admin(
                "PUT",
                "/pools/default/providers/Corp",
                Some(oidc_body(Value::Object(
                    [(attr.to_owned(), json!("groups"))].into_iter().collect(),
                ))),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{attr}: {v}");
        assert!(v["message"].as_str().unwrap().contains(why), "{attr}: {v}");
        let (s, _) = gw.admin("GET", "/pools/default/providers/Corp", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "nothing written for {attr}");
    }
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/providers/Corp",
            Some(oidc_body(
                json!({"custom:idp_groups": "groups", "nickname": "nick", "email": "mail"}),
            )),
        )
        .await;
    assert!(s.is_success(), "{v}");
}

#[tokio::test]
async fn pool_settings_issuer_style_sp_entity_id_and_the_retired_cognito_claims() {
    let gw = Gw::start().await;
    let (s, v) = gw
        .admin(
            "POST",
            "/pools",
            Some(json!({"id": "old", "settings": {"cognito_claims": true}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains("cognito_claims"));
    let (s, _) = gw.admin("GET", "/pools/old", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    for bad in [
        json!({"cognito_claims": false}),
        json!({"issuer_style": "amazon"}),
        json!({"sp_entity_id": "not a uri"}),
        json!({"sp_entity_id": "ftp://x"}),
    ] {
        let (s, v) = gw
            .admin("PATCH", "/pools/default", Some(json!({ "settings": bad })))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let (_, v) = gw.admin("GET", "/pools/default", None).await;
    assert_eq!(v["settings"]["issuer_style"], "domain", "the default");
    assert!(v["settings"].get("cognito_claims").is_none());

    // Cognito's SP entity ID, so AD FS trusts move unchanged.
    let urn = "urn:amazon:cognito:sp:us-east-1_AbCdEfGhI";
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"sp_entity_id": urn}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["settings"]["sp_entity_id"], urn);
    let xml = gw
        .http
        .get(gw.url("/saml2/metadata"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains(&format!("entityID=\"{urn}\"")), "{xml}");
}

#[tokio::test]
async fn explicit_auth_flows_are_cognito_names() {
    let gw = Gw::start().await;
    let (_, v) = gw
        .admin(
            "POST",
            "/pools/default/clients",
            Some(app_client_body(APP, &[], false)),
        )
        .await;
    assert_eq!(
        v["explicit_auth_flows"],
        json!([
            "ALLOW_CUSTOM_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
            "ALLOW_USER_SRP_AUTH"
        ]),
        "Cognito's defaults"
    );
    for bad in [
        json!(["ALLOW_EVERYTHING"]),
        json!(["USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"]),
    ] {
        let mut body = app_client_body(APP, &[], false);
        body["explicit_auth_flows"] = bad.clone();
        let (s, v) = gw.admin("POST", "/pools/default/clients", Some(body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    let mut body = app_client_body(APP, &[], false);
    body["explicit_auth_flows"] = json!(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]);
    let (s, v) = gw.admin("POST", "/pools/default/clients", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["explicit_auth_flows"],
        json!(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    );
}

fn authorize(gw: &Gw, client: &str, provider: &str) -> String {
    let (_, challenge) = pkce();
    authorize_url(
        gw,
        client,
        APP,
        &[
            ("scope", "openid"),
            ("state", "st"),
            ("identity_provider", provider),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
}

#[tokio::test]
async fn cognito_provider_and_a_client_without_federated_providers() {
    let gw = Gw::start().await;
    // No provider at all: the hosted page says so plainly.
    let (bare, _) = gw.client(app_client_body(APP, &[], false)).await;
    let login = format!(
        "{}?client_id={bare}&redirect_uri={}&response_type=code",
        gw.url("/login"),
        url::form_urlencoded::byte_serialize(APP.as_bytes()).collect::<String>()
    );
    let r = gw.http.get(&login).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("No sign-in method"));
    // COGNITO that the client does not list: an error back to the app, no code.
    match Browser::new()
        .follow(&authorize(&gw, &bare, "COGNITO"), APP)
        .await
    {
        Landing::App(q) => {
            assert_eq!(q["error"], "invalid_request", "{q:?}");
            assert_eq!(q["state"], "st");
            assert!(!q.contains_key("code"));
        }
        other => panic!("{other:?}"),
    }

    // A client listing COGNITO (native users) is sent to the hosted page.
    let (native, _) = gw.client(app_client_body(APP, &["COGNITO"], false)).await;
    let r = gw
        .http
        .get(authorize(&gw, &native, "COGNITO"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.starts_with(&gw.url("/login?")), "{loc}");
    assert!(!loc.contains("identity_provider"), "{loc}");
    let r = gw.http.get(&loc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
