//! Client addresses behind reverse proxies (`POOLGATE_TRUSTED_PROXIES`): a spoofed
//! `X-Forwarded-For` or `Forwarded` from a peer that is not a trusted proxy changes
//! nothing (its budget is the peer's), while a trusted proxy's hop names the client,
//! for the per-IP rate limits and for the Cognito API's per-address sign-in throttle.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Custom;
use crate::harness::{ADMIN_TOKEN, app_client_body};

/// Statuses of `/oauth2/token` requests, the `i`-th with the headers `headers(i)`.
async fn token_statuses(
    gw: &Custom,
    n: usize,
    headers: impl Fn(usize) -> Vec<(&'static str, String)>,
) -> Vec<StatusCode> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for i in 0..n {
        let mut req = http.post(gw.url("/oauth2/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ]);
        for (k, v) in headers(i) {
            req = req.header(k, v);
        }
        out.push(req.send().await.unwrap().status());
    }
    out
}

fn limited(statuses: &[StatusCode]) -> bool {
    statuses.contains(&StatusCode::TOO_MANY_REQUESTS)
}

#[tokio::test]
async fn spoofed_forwarding_headers_from_an_untrusted_peer_are_ignored() {
    // No trusted proxy at all, and one trusted proxy that is not this peer.
    for trusted in ["", "10.0.0.0/8"] {
        let gw = Custom::start(&[
            ("POOLGATE_RATE_LIMIT_IP", "5"),
            ("POOLGATE_RATE_LIMIT_CLIENT", "0"),
            ("POOLGATE_TRUSTED_PROXIES", trusted),
        ])
        .await;
        let statuses = token_statuses(&gw, 40, |i| {
            vec![
                ("x-forwarded-for", format!("198.51.100.{i}")),
                ("forwarded", format!("for=203.0.113.{i}")),
            ]
        })
        .await;
        assert_ne!(statuses[0], StatusCode::TOO_MANY_REQUESTS);
        assert!(
            limited(&statuses),
            "trusted {trusted:?}: a new forwarded address per request escaped the budget: {statuses:?}"
        );
    }
}

#[tokio::test]
async fn a_trusted_proxy_names_each_client_by_its_right_most_untrusted_hop() {
    let gw = Custom::start(&[
        ("POOLGATE_RATE_LIMIT_IP", "5"),
        ("POOLGATE_RATE_LIMIT_CLIENT", "0"),
        ("POOLGATE_TRUSTED_PROXIES", "127.0.0.1/32, ::1"),
    ])
    .await;
    // Forty clients behind the proxy: each has its own budget.
    let statuses = token_statuses(&gw, 40, |i| {
        vec![("x-forwarded-for", format!("198.51.100.{i}"))]
    })
    .await;
    assert!(!limited(&statuses), "{statuses:?}");
    // One client prefixing a new made-up hop each time is still one client.
    let statuses = token_statuses(&gw, 40, |i| {
        vec![("x-forwarded-for", format!("6.6.6.{i}, 192.0.2.55"))]
    })
    .await;
    assert!(limited(&statuses), "{statuses:?}");
    // `Forwarded` (RFC 7239) when there is no X-Forwarded-For.
    let statuses = token_statuses(&gw, 40, |i| {
        vec![("forwarded", format!("for=\"[2001:db8::{i:x}]:4711\""))]
    })
    .await;
    assert!(!limited(&statuses), "{statuses:?}");
}

async fn initiate_auth(gw: &Custom, client_id: &str, username: &str, from: &str) -> Value {
    let r = reqwest::Client::new()
        .post(gw.url("/"))
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-forwarded-for", from)
        .body(
            json!({
                "ClientId": client_id,
                "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": username, "PASSWORD": "Wrong-Horse-1"},
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cognito_api_throttles_sign_in_failures_per_forwarded_client_address() {
    let gw = Custom::start(&[
        ("POOLGATE_RATE_LIMIT_IP", "0"),
        ("POOLGATE_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let r = reqwest::Client::new()
        .post(gw.url("/admin/v1/pools/default/clients"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&{
            let mut body = app_client_body("http://127.0.0.1:9/cb", &["COGNITO"], false);
            body["explicit_auth_flows"] = serde_json::json!(["ALLOW_USER_PASSWORD_AUTH"]);
            body
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let client_id = v["client_id"].as_str().unwrap().to_owned();
    // Failures for many users (each under its own per-user allowance) from one
    // address behind the proxy: past the address's free failures it is slowed down.
    let free = poolgate::native::throttle::IP_FREE as usize;
    for i in 0..free {
        let v = initiate_auth(&gw, &client_id, &format!("nobody{i}"), "198.51.100.9").await;
        assert_eq!(v["message"], "Incorrect username or password.", "{i}: {v}");
    }
    let v = initiate_auth(&gw, &client_id, "another", "198.51.100.9").await;
    assert_eq!(v["message"], "Password attempts exceeded", "{v}");
    // Another client behind the same proxy is not.
    let v = initiate_auth(&gw, &client_id, "another", "198.51.100.10").await;
    assert_eq!(v["message"], "Incorrect username or password.", "{v}");
}
