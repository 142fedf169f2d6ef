//! `GET /logout` as Cognito's: a registered `logout_uri` is redirected to, anything
//! unregistered is an error page and never a redirect.

use reqwest::StatusCode;
use url::Url;

use crate::harness::{Gw, app_client_body, ptype};
use crate::login_page::{APP, assert_page_headers, seed_providers};

#[tokio::test]
async fn logout_redirects_only_to_registered_uris() {
    let gw = Gw::start().await;
    seed_providers(&gw, &[("Google", ptype("Google"), &[])]).await;
    let client = gw.client(app_client_body(APP, &["Google"], true)).await.0;
    let logout = |q: &[(&str, &str)]| {
        let mut u = Url::parse(&gw.url("/logout")).unwrap();
        u.query_pairs_mut().extend_pairs(q);
        u.to_string()
    };

    // Registered logout_uri: redirected there, exactly.
    let r = gw
        .http
        .get(logout(&[
            ("client_id", &client),
            ("logout_uri", "http://127.0.0.1:9/bye"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "http://127.0.0.1:9/bye");

    // Not registered: an error page, and no redirect.
    for uri in [
        "http://127.0.0.1:9/bye/",
        "https://evil.example/",
        "http://127.0.0.1:9/cb",
    ] {
        let r = gw
            .http
            .get(logout(&[("client_id", &client), ("logout_uri", uri)]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert!(r.headers().get("location").is_none());
        assert_page_headers(&r);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("The logout_uri is not registered for this app client.")
        );
    }

    // redirect_uri + response_type: back to the sign-in page with the request.
    let r = gw
        .http
        .get(logout(&[
            ("client_id", &client),
            ("redirect_uri", APP),
            ("response_type", "code"),
            ("state", "xyz"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(loc.path(), "/login");
    assert_eq!(
        format!("{}://{}", loc.scheme(), loc.host_str().unwrap()),
        "http://127.0.0.1"
    );
    let q: std::collections::BTreeMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], client);
    assert_eq!(q["redirect_uri"], APP);
    assert_eq!(q["state"], "xyz");
    let page = gw.http.get(loc.as_str()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Continue with Google"));

    // An unregistered redirect_uri, an unknown client, or nothing to do: error pages.
    for q in [
        vec![
            ("client_id", client.as_str()),
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "code"),
        ],
        vec![
            ("client_id", "nobody"),
            ("logout_uri", "http://127.0.0.1:9/bye"),
        ],
        vec![("logout_uri", "http://127.0.0.1:9/bye")],
        vec![("client_id", client.as_str())],
    ] {
        let r = gw.http.get(logout(&q)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q:?}");
        assert!(r.headers().get("location").is_none(), "{q:?}");
    }
}
