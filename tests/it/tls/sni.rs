//! Certificates by SNI: two pools on one port, each with its own certificate and
//! issuer; tokens stay on their pool's domain; handshakes without SNI.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{TestCa, TlsGw, create_pool, get, issuer_of};

#[tokio::test]
async fn two_pools_on_one_port_each_with_its_certificate_and_issuer() {
    let gw = TlsGw::start().await;
    let ca = TestCa::new("poolgate test CA");
    let acme = ca.leaf(&["login.acme.test"]);
    let globex = ca.leaf(&["*.globex.test"]);
    create_pool(&gw, "acme").await;
    create_pool(&gw, "globex").await;
    let (s, v) = gw.put_domain("acme", "login.acme.test", Some(&acme)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tls"], json!(true));
    let (s, v) = gw
        .put_domain("globex", "sso.globex.test", Some(&globex))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let client = gw.client(&ca, &["login.acme.test", "sso.globex.test"]);
    let (iss_a, der_a) = issuer_of(&client, &gw, "login.acme.test").await;
    let (iss_b, der_b) = issuer_of(&client, &gw, "sso.globex.test").await;
    assert_eq!(iss_a, format!("https://login.acme.test:{}", gw.tls_port()));
    assert_eq!(iss_b, format!("https://sso.globex.test:{}", gw.tls_port()));
    assert_eq!(
        der_a, acme.der,
        "the acme domain is served with acme's certificate"
    );
    assert_eq!(
        der_b, globex.der,
        "the globex domain is served with globex's certificate"
    );

    // The chain is checked against the SNI name: a client trusting another CA refuses.
    let other = TestCa::new("another CA");
    let stranger = gw.client(&other, &["login.acme.test"]);
    assert!(
        get(&stranger, &gw.https("login.acme.test", "/healthz"))
            .await
            .is_err()
    );

    // HSTS over TLS only; every response carries the frame and referrer policies.
    let (resp, _) = get(&client, &gw.https("login.acme.test", "/healthz"))
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let plain = reqwest::get(format!("{}/healthz", gw.http_base))
        .await
        .unwrap();
    assert!(plain.headers().get("strict-transport-security").is_none());
    assert_eq!(plain.headers()["referrer-policy"], "no-referrer");

    // The JWKS URL of each pool's discovery is on its own domain.
    let (resp, _) = get(
        &client,
        &gw.https("sso.globex.test", "/.well-known/openid-configuration"),
    )
    .await
    .unwrap();
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(
        doc["jwks_uri"],
        json!(format!(
            "https://sso.globex.test:{}/.well-known/jwks.json",
            gw.tls_port()
        ))
    );

    // A token issued on acme's domain is acme's: globex's domain does not honour it.
    let mut secrets = Vec::new();
    for pool in ["acme", "globex"] {
        let (s, v) = gw
            .admin(
                "PUT",
                &format!("/pools/{pool}/resource-servers/api"),
                Some(json!({"name": "API", "scopes": [{"name": "read"}]})),
            )
            .await;
        assert!(s.is_success(), "{v}");
        let body = json!({
            "name": "svc", "generate_secret": true, "callback_urls": [], "allowed_oauth_flows": ["client_credentials"],
            "allowed_scopes": ["api/read"], "supported_identity_providers": [],
        });
        let (s, v) = gw
            .admin("POST", &format!("/pools/{pool}/clients"), Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        secrets.push((
            v["client_id"].as_str().unwrap().to_owned(),
            v["client_secret"].as_str().unwrap().to_owned(),
        ));
    }
    let token = client
        .post(gw.https("login.acme.test", "/oauth2/token"))
        .basic_auth(&secrets[0].0, Some(&secrets[0].1))
        .form(&[("grant_type", "client_credentials"), ("scope", "api/read")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let token: Value = token.json().await.unwrap();
    let access = token["access_token"].as_str().unwrap();
    let introspect = |name: &'static str, (id, secret): (String, String)| {
        let client = client.clone();
        let url = gw.https(name, "/oauth2/introspect");
        let access = access.to_owned();
        async move {
            let r = client
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", access)])
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let at_acme = introspect("login.acme.test", secrets[0].clone()).await;
    assert_eq!(at_acme["active"], json!(true), "{at_acme}");
    assert_eq!(at_acme["iss"], json!(iss_a));
    let at_globex = introspect("sso.globex.test", secrets[1].clone()).await;
    assert_eq!(at_globex, json!({"active": false}));

    // The expiry gauge, per domain.
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", gw.http_base))
        .bearer_auth(crate::harness::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("poolgate_tls_certificate_expiry_seconds")
                && l.contains(&gw.domain("login.acme.test"))
        })
        .unwrap_or_else(|| panic!("no expiry gauge for acme in {metrics}"));
    let secs: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        secs > 365 * 86_400,
        "rcgen's default validity is far ahead: {line}"
    );

    gw.running.unwrap().shutdown().await;
}

#[tokio::test]
async fn an_ip_address_domain_is_served_without_sni() {
    let gw = TlsGw::start().await;
    let ca = TestCa::new("poolgate test CA");
    let leaf = ca.leaf(&["127.0.0.1"]);
    let (s, v) = gw.put_domain("default", "127.0.0.1", Some(&leaf)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Clients send no SNI for an IP address: the default pool's certificate answers.
    let client = gw.client(&ca, &[]);
    let url = format!(
        "https://127.0.0.1:{}/.well-known/openid-configuration",
        gw.tls_port()
    );
    let (resp, der) = get(&client, &url).await.unwrap();
    assert_eq!(der, leaf.der);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(
        doc["issuer"],
        json!(format!("https://127.0.0.1:{}", gw.tls_port()))
    );
    gw.running.unwrap().shutdown().await;
}
