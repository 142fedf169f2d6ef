//! Adapter-level tests: each adapter built from a `ProviderRecord` pointing at a fake
//! upstream on 127.0.0.1, driven through `begin`, the browser step (reqwest, no redirect
//! following) and `complete`.

mod amazon;
mod apple;
mod facebook;
mod files;
mod github;
mod google;
mod native;
mod oidc;
mod private_key_jwt;
mod validation;

use std::sync::Arc;
use std::time::Duration;

use poolgate::clock::{Clock, SharedClock, SystemClock};
use poolgate::model::{LinkPolicy, ProviderRecord, ProviderTypeName};
use poolgate::provider::{
    BeginRequest, BrowserAction, CallbackParams, ProviderContext, ProviderError, SharedProvider,
    UpstreamIdentity,
};
use serde_json::Value;
use url::Url;

use crate::fakes;

/// poolgate's callback as the adapters see it; never contacted (the browser step only
/// reads where the upstream sends the browser).
pub const REDIRECT: &str = "https://pool.example.test/oauth2/idpresponse";

pub fn redirect_uri() -> Url {
    Url::parse(REDIRECT).unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub fn ctx() -> ProviderContext {
    ProviderContext {
        http: http(),
        clock: Arc::new(SystemClock),
    }
}

pub fn ctx_with_clock(clock: SharedClock) -> ProviderContext {
    ProviderContext {
        http: http(),
        clock,
    }
}

pub fn record(t: ProviderTypeName, name: &str, details: Value) -> ProviderRecord {
    ProviderRecord {
        pool_id: "default".into(),
        name: name.into(),
        provider_type: t,
        details: details.as_object().cloned().unwrap(),
        attribute_mapping: Default::default(),
        idp_identifiers: vec![],
        link_by_email: LinkPolicy::Never,
        created_at: 0,
        updated_at: 0,
        version: String::new(),
    }
}

pub fn build(t: ProviderTypeName, details: Value) -> SharedProvider {
    poolgate::provider::registry::build(&record(t, "Upstream", details), &ctx()).unwrap()
}

/// What the browser does with a `BrowserAction`: follows the redirect to the upstream
/// once, and reads where the upstream sends it back: the `Location` query, or the fields
/// of the auto-posted form (`form_post`).
pub async fn browser(action: &BrowserAction) -> CallbackParams {
    let BrowserAction::Redirect(url) = action else {
        panic!("expected a redirect, got {action:?}")
    };
    let resp = http().get(url.clone()).send().await.unwrap();
    if resp.status() == reqwest::StatusCode::FOUND {
        let loc = resp
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let back = Url::parse(&loc).unwrap();
        assert_eq!(
            &back[..url::Position::AfterPath],
            REDIRECT,
            "upstream sent the browser elsewhere"
        );
        return CallbackParams(back.query_pairs().into_owned().collect());
    }
    assert_eq!(
        resp.status(),
        reqwest::StatusCode::OK,
        "upstream authorize failed"
    );
    let html = resp.text().await.unwrap();
    let (action, fields) = fakes::parse_form_post(&html);
    assert_eq!(action, REDIRECT);
    CallbackParams(fields.into_iter().collect())
}

/// A complete sign-in: begin, browser, complete.
pub async fn sign_in(p: &SharedProvider) -> Result<UpstreamIdentity, ProviderError> {
    sign_in_with(p, None).await
}

pub async fn sign_in_with(
    p: &SharedProvider,
    login_hint: Option<&str>,
) -> Result<UpstreamIdentity, ProviderError> {
    let state = fakes::random();
    let ru = redirect_uri();
    let begun = p
        .begin(&BeginRequest {
            state: &state,
            redirect_uri: &ru,
            login_hint,
            sp_entity_id: None,
        })
        .await?;
    let params = browser(&begun.action).await;
    p.complete(&params, &begun.upstream_state, &ru).await
}

/// The query of the authorize URL an adapter produced.
pub async fn authorize_query(p: &SharedProvider) -> std::collections::BTreeMap<String, String> {
    let ru = redirect_uri();
    let begun = p
        .begin(&BeginRequest {
            state: "st-1",
            redirect_uri: &ru,
            login_hint: Some("who@example.com"),
            sp_entity_id: None,
        })
        .await
        .unwrap();
    let BrowserAction::Redirect(url) = begun.action else {
        panic!("expected a redirect")
    };
    url.query_pairs().into_owned().collect()
}

pub fn assert_rejected(r: Result<UpstreamIdentity, ProviderError>, what: &str) {
    match r {
        Err(ProviderError::Rejected(_)) => {}
        other => panic!("{what}: expected Rejected, got {other:?}"),
    }
}

pub fn now() -> i64 {
    SystemClock.now()
}

/// Asserts `Rejected` whose message names `needle` (so a case fails for its own reason).
pub fn assert_rejected_because(
    r: Result<UpstreamIdentity, ProviderError>,
    what: &str,
    needle: &str,
) {
    match r {
        Err(ProviderError::Rejected(m)) => assert!(
            m.contains(needle),
            "{what}: rejected for {m:?}, expected {needle:?}"
        ),
        other => panic!("{what}: expected Rejected, got {other:?}"),
    }
}
