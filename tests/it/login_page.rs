//! The hosted sign-in page, the error page, security headers and branding,
//! through real HTTP on 127.0.0.1.

use poolgate::model::{LinkPolicy, ProviderRecord, ProviderTypeName};
use reqwest::StatusCode;
use serde_json::{Map, json};
use url::Url;

use crate::harness::{Gw, app_client_body, authorize_url, ptype};

pub const APP: &str = "http://127.0.0.1:9/cb";

/// Registers providers straight in the store (their adapters are not what is tested).
pub async fn seed_providers(gw: &Gw, list: &[(&str, ProviderTypeName, &[&str])]) {
    let store = &gw.running.as_ref().unwrap().store;
    for (name, t, idents) in list {
        let rec = ProviderRecord {
            pool_id: "default".into(),
            name: (*name).into(),
            provider_type: t.clone(),
            details: Map::new(),
            attribute_mapping: Default::default(),
            idp_identifiers: idents.iter().map(|s| s.to_string()).collect(),
            link_by_email: LinkPolicy::Never,
            created_at: 0,
            updated_at: 0,
            version: String::new(),
        };
        store.put_provider(&rec).await.unwrap();
    }
}

async fn all_kinds(gw: &Gw) -> String {
    seed_providers(
        gw,
        &[
            ("Google", ptype("Google"), &[]),
            ("Facebook", ptype("Facebook"), &[]),
            ("SignInWithApple", ptype("SignInWithApple"), &[]),
            ("LoginWithAmazon", ptype("LoginWithAmazon"), &[]),
            ("Okta", ptype("OIDC"), &[]),
            ("AcmeAD", ptype("SAML"), &["acme.example"]),
            ("Hidden", ptype("OIDC"), &[]),
        ],
    )
    .await;
    let mut body = app_client_body(
        APP,
        &[
            "Google",
            "Facebook",
            "SignInWithApple",
            "LoginWithAmazon",
            "Okta",
            "AcmeAD",
        ],
        false,
    );
    body["name"] = json!("Shop <b>&</b> Co");
    gw.client(body).await.0
}

fn login_url(gw: &Gw, client: &str, extra: &[(&str, &str)]) -> String {
    let mut u = Url::parse(&gw.url("/login")).unwrap();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", APP);
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    u.to_string()
}

pub fn assert_page_headers(r: &reqwest::Response) {
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("script-src"),
        "no script, no inline style: {csp}"
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h.get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP"
    );
    assert_eq!(h["cache-control"], "no-store");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn authorize_without_provider_shows_the_page_with_the_allowed_buttons() {
    let gw = Gw::start().await;
    let client = all_kinds(&gw).await;
    let hostile_state = "s1\"><script>alert(1)</script>";
    let start = authorize_url(
        &gw,
        &client,
        APP,
        &[
            ("state", hostile_state),
            ("nonce", "n-123"),
            ("scope", "openid email"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ],
    );
    let r = gw.http.get(&start).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let login = gw.url("").to_owned() + "";
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.starts_with(&format!("{login}/login?")), "{loc}");

    let r = gw.http.get(&loc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_page_headers(&r);
    let page = r.text().await.unwrap();
    assert!(
        page.starts_with("<!doctype html>\n<html lang=\"en\">"),
        "{page}"
    );
    assert!(
        !page.contains("<script"),
        "no script and the state is escaped: {page}"
    );
    assert!(!page.contains(" style="), "no inline style");
    assert!(
        page.contains("Sign in to Shop &lt;b&gt;&amp;&lt;&#x2f;b&gt; Co"),
        "{page}"
    );
    let labels = [
        "Continue with Google",
        "Continue with Facebook",
        "Sign in with Apple",
        "Login with Amazon",
        "Continue with Okta",
        "Continue with AcmeAD",
    ];
    let mut at = 0;
    for l in labels {
        let i = page[at..]
            .find(l)
            .unwrap_or_else(|| panic!("{l} missing or out of order in {page}"));
        at += i;
    }
    assert!(
        !page.contains("Hidden"),
        "a provider the client does not support is not offered"
    );
    assert_eq!(page.matches("name=\"identity_provider\"").count(), 6);
    // Every form carries the app's request through the round trip.
    assert_eq!(page.matches("action=\"/oauth2/authorize\"").count(), 7);
    assert_eq!(
        page.matches("method=\"get\"").count(),
        7,
        "GET forms only: nothing to forge"
    );
    for needle in [
        "name=\"state\" value=\"s1&quot;&gt;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;\"",
        "name=\"nonce\" value=\"n-123\"",
        "name=\"code_challenge\" value=\"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\"",
        "name=\"code_challenge_method\" value=\"S256\"",
        "name=\"scope\" value=\"openid email\"",
        "name=\"response_type\" value=\"code\"",
    ] {
        assert_eq!(
            page.matches(needle).count(),
            7,
            "{needle} in every form: {page}"
        );
    }
    // The identifier field: labelled, an email input, routed by idp_identifiers.
    assert!(page.contains("<label for=\"idp_identifier\">Work email</label>"));
    assert!(page.contains("id=\"idp_identifier\" name=\"idp_identifier\" type=\"email\""));
    assert!(page.contains("href=\"/login/assets/login.css\""));

    // The stylesheet is served, and is CSS.
    let css = gw
        .http
        .get(gw.url("/login/assets/login.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.text().await.unwrap().contains(":focus-visible"));
}

#[tokio::test]
async fn email_routing_sends_an_unknown_domain_back_with_an_error() {
    let gw = Gw::start().await;
    let client = all_kinds(&gw).await;
    let (_, challenge) = crate::harness::pkce();
    let u = authorize_url(
        &gw,
        &client,
        APP,
        &[
            ("state", "st"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("idp_identifier", "bob@nowhere.example"),
        ],
    );
    let r = gw.http.get(&u).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(loc.as_str().starts_with(APP));
    let q: std::collections::BTreeMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st");
}

#[tokio::test]
async fn email_routing_sends_a_claimed_domain_to_its_provider() {
    let gw = Gw::start().await;
    let fake = crate::fakes::oidc::start(crate::fakes::oidc::OidcOpts::default()).await;
    let o = fake.opts();
    gw.put_provider(
        "Corp",
        json!({"type": "OIDC", "idp_identifiers": ["corp.example"],
               "details": {"client_id": o.client_id, "client_secret": o.client_secret, "issuer": fake.issuer()}}),
    )
    .await;
    seed_providers(&gw, &[("Google", ptype("Google"), &[])]).await;
    let client = gw
        .client(app_client_body(APP, &["Google", "Corp"], true))
        .await
        .0;
    // What the page's email form submits: the app's request plus idp_identifier.
    let u = authorize_url(
        &gw,
        &client,
        APP,
        &[("state", "st"), ("idp_identifier", "Ada@Corp.Example")],
    );
    let r = gw.http.get(&u).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(
        loc.starts_with(&fake.url("/")),
        "routed to the provider claiming the domain: {loc}"
    );
}

#[tokio::test]
async fn no_identifier_field_without_idp_identifiers_and_a_note_without_providers() {
    let gw = Gw::start().await;
    seed_providers(&gw, &[("Google", ptype("Google"), &[])]).await;
    let google = gw.client(app_client_body(APP, &["Google"], true)).await.0;
    let page = gw
        .http
        .get(login_url(&gw, &google, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Continue with Google"));
    assert!(!page.contains("idp_identifier"), "{page}");

    let none = gw.client(app_client_body(APP, &[], true)).await.0;
    let page = gw
        .http
        .get(login_url(&gw, &none, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("No sign-in method is enabled"), "{page}");
}

#[tokio::test]
async fn branding_comes_from_its_own_stylesheet() {
    let gw = Gw::start().await;
    seed_providers(&gw, &[("Google", ptype("Google"), &[])]).await;
    let mut body = app_client_body(APP, &["Google"], true);
    body["branding"] = json!({
        "logo_url": "https://cdn.example/logo.png",
        "primary_color": "#ffd400",
        "css": ".card { border-width: 3px; }"
    });
    let client = gw.client(body).await.0;
    let r = gw
        .http
        .get(login_url(&gw, &client, &[]))
        .send()
        .await
        .unwrap();
    assert_page_headers(&r);
    let page = r.text().await.unwrap();
    let href = format!("/login/branding/{client}.css");
    assert!(
        page.contains(&format!(
            "<link rel=\"stylesheet\" href=\"{}\">",
            href.replace('/', "&#x2f;")
        )) || page.contains(&format!("href=\"{href}\"")),
        "{page}"
    );
    assert!(
        page.contains("src=\"https:&#x2f;&#x2f;cdn.example&#x2f;logo.png\"")
            || page.contains("src=\"https://cdn.example/logo.png\""),
        "{page}"
    );

    let r = gw.http.get(gw.url(&href)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let css = r.text().await.unwrap();
    assert!(css.contains("--pg-primary: #ffd400"), "{css}");
    assert!(
        css.contains("--pg-on-primary: #111111"),
        "dark text on a light colour: {css}"
    );
    assert!(css.contains(".card { border-width: 3px; }"));

    let r = gw
        .http
        .get(gw.url("/login/branding/nobody.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Branding is checked on the way in.
    let mut bad = app_client_body(APP, &["Google"], true);
    bad["branding"] = json!({"logo_url": "javascript:alert(1)", "primary_color": "red"});
    let (s, v) = gw.admin("POST", "/pools/default/clients", Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
}

#[tokio::test]
async fn error_page_has_the_request_id_and_a_link_back() {
    let gw = Gw::start().await;
    let r = gw
        .http
        .get(login_url(&gw, "no-such-client", &[]))
        .header("referer", "https://shop.example/account?tab=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_page_headers(&r);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("The app client is not known to this pool."),
        "{page}"
    );
    assert!(page.contains(&format!("<code>{id}</code>")), "{page}");
    assert!(
        page.contains("class=\"back\" href=\"https:&#x2f;&#x2f;shop.example&#x2f;account?tab=1\""),
        "{page}"
    );

    // A Referer that is not http(s) never becomes a link.
    let r = gw
        .http
        .get(login_url(&gw, "no-such-client", &[]))
        .header("referer", "javascript:alert(1)")
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(!page.contains("javascript"), "{page}");
    assert!(page.contains("Return to the app and try again."));

    // Non-page responses get a locked-down CSP too.
    let r = gw
        .http
        .get(gw.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
}
