//! Floods: per client IP and per app client budgets on the token endpoint, authorize
//! and the admin API; `429` with `Retry-After`, other endpoints and other clients
//! unaffected.

use reqwest::StatusCode;

use super::Custom;
use crate::harness::ADMIN_TOKEN;

/// Statuses of `n` requests built by `req`, in order, with the first 429's Retry-After.
async fn burst(
    n: usize,
    req: impl Fn() -> reqwest::RequestBuilder,
) -> (Vec<StatusCode>, Option<u64>) {
    let mut out = Vec::new();
    let mut retry = None;
    for _ in 0..n {
        let r = req().send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS && retry.is_none() {
            retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
        }
        out.push(r.status());
    }
    (out, retry)
}

#[tokio::test]
async fn a_flood_from_one_address_is_answered_429_with_retry_after() {
    let gw = Custom::start(&[("POOLGATE_RATE_LIMIT_IP", "5")]).await;
    let http = reqwest::Client::new();
    let token = || {
        http.post(gw.url("/oauth2/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ])
    };
    let (statuses, retry) = burst(40, token).await;
    assert_ne!(statuses[0], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "no request of the flood was refused: {statuses:?}"
    );
    let retry = retry.expect("Retry-After on 429");
    assert!((1..=5).contains(&retry), "{retry}");
    // The admin API has its own budget, and is limited the same way.
    let admin = || http.get(gw.url("/admin/v1/pools")).bearer_auth(ADMIN_TOKEN);
    let (statuses, _) = burst(40, admin).await;
    assert_eq!(statuses[0], StatusCode::OK);
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Health checks are never limited.
    let (statuses, _) = burst(40, || http.get(gw.url("/healthz"))).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn one_app_client_flooding_does_not_spend_another_clients_budget() {
    let gw = Custom::start(&[
        ("POOLGATE_RATE_LIMIT_IP", "0"),
        ("POOLGATE_RATE_LIMIT_CLIENT", "5"),
    ])
    .await;
    let http = reqwest::Client::new();
    // client_secret_post / public: the client_id in the form.
    let (a, _) = burst(40, || {
        http.post(gw.url("/oauth2/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", "app-a")])
    })
    .await;
    assert!(a.contains(&StatusCode::TOO_MANY_REQUESTS), "{a:?}");
    // client_secret_basic: the client in the Authorization header.
    let (basic, _) = burst(40, || {
        http.post(gw.url("/oauth2/token"))
            .basic_auth("app-a", Some("secret"))
            .form(&[("grant_type", "client_credentials")])
    })
    .await;
    assert!(
        basic
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count()
            > 20,
        "app-a's budget is spent whichever way it authenticates: {basic:?}"
    );
    let r = http
        .post(gw.url("/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "app-b")])
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "app-b has its own budget"
    );
    // Authorize counts per client_id of the query.
    let (auth, _) = burst(40, || {
        http.get(gw.url("/oauth2/authorize?client_id=app-c&response_type=code"))
    })
    .await;
    assert!(auth.contains(&StatusCode::TOO_MANY_REQUESTS), "{auth:?}");
}
