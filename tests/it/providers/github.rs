//! The GitHub and generic OAuth2 adapters against their fakes.

use poolgate::provider::ProviderError;
use serde_json::json;

use super::*;
use crate::fakes::github::{self, GitHubOpts};
use crate::fakes::oauth2::{self as plain, OAuth2Opts};
use crate::harness::ptype;

#[tokio::test]
async fn github_subject_is_the_numeric_id_and_email_the_verified_primary() {
    let f = github::start(GitHubOpts::default()).await;
    let p = build(ptype("GitHub"), f.details());
    assert_eq!(p.kind().type_name(), "GitHub");
    let q = authorize_query(&p).await;
    assert_eq!(q["scope"], "read:user user:email");
    assert_eq!(q["code_challenge_method"], "S256");
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.subject, "583231");
    assert_eq!(id.email.as_deref(), Some("octocat@example.com"));
    assert!(id.email_verified);
    assert_ne!(
        id.raw["email"], "public-octocat@example.com",
        "never /user's public email"
    );
    assert_eq!(id.raw["login"], "octocat");
    let seen = f.seen();
    assert!(
        seen.token_accept
            .iter()
            .all(|a| a.contains("application/json"))
    );
    assert_eq!(seen.api_calls.len(), 2);
    for (path, ua, accept) in &seen.api_calls {
        assert!(ua.starts_with("poolgate/"), "{path}: User-Agent {ua:?}");
        assert_eq!(accept, "application/vnd.github+json", "{path}");
    }
}

#[tokio::test]
async fn github_unverified_primary_is_kept_unverified_and_missing_primary_gives_no_email() {
    let f = github::start(GitHubOpts::default()).await;
    f.set(|o| {
        o.emails = json!([
            {"email": "verified-secondary@example.com", "primary": false, "verified": true},
            {"email": "fresh@example.com", "primary": true, "verified": false},
        ])
    });
    let p = build(ptype("GitHub"), f.details());
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.email.as_deref(), Some("fresh@example.com"));
    assert!(!id.email_verified);
    f.set(|o| o.emails = json!([{"email": "x@example.com", "primary": false, "verified": true}]));
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.email, None);
    assert!(!id.email_verified);
}

#[tokio::test]
async fn github_without_the_email_scope_does_not_ask_for_emails() {
    let f = github::start(GitHubOpts::default()).await;
    let mut d = f.details();
    d["authorize_scopes"] = json!("read:user");
    let id = sign_in(&build(ptype("GitHub"), d)).await.unwrap();
    assert_eq!(id.email, None);
    assert_eq!(f.seen().api_calls.len(), 1);
}

#[tokio::test]
async fn github_fake_refuses_without_user_agent_and_answers_form_without_accept() {
    let f = github::start(GitHubOpts::default()).await;
    // The fake behaves as GitHub does, which is why the adapter sends both headers.
    let r = http()
        .get(f.url("/user"))
        .bearer_auth("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let r = http()
        .post(f.url("/login/oauth/access_token"))
        .form(&[("client_id", "nope"), ("client_secret", "x"), ("code", "c")])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    assert_eq!(
        r.text().await.unwrap(),
        "error=incorrect_client_credentials"
    );
}

#[tokio::test]
async fn github_errors_sent_with_status_200_fail_the_sign_in() {
    let f = github::start(GitHubOpts::default()).await;
    let mut d = f.details();
    d["client_secret"] = json!("wrong");
    let r = sign_in(&build(ptype("GitHub"), d)).await;
    assert!(
        matches!(r, Err(ProviderError::Upstream(ref m)) if m.contains("incorrect_client_credentials")),
        "{r:?}"
    );
    f.set(|o| o.deny = true);
    let r = sign_in(&build(ptype("GitHub"), f.details())).await;
    assert!(matches!(r, Err(ProviderError::Denied)), "{r:?}");
}

#[tokio::test]
async fn github_enterprise_server_by_base_url() {
    let f = github::start(GitHubOpts::default()).await;
    let d = json!({"client_id": "Iv1.0123456789abcdef", "client_secret": "gh-secret-0123456789",
        "enterprise_url": f.url("/")});
    let id = sign_in(&build(ptype("GitHub"), d)).await.unwrap();
    assert_eq!(id.subject, "583231");
    let paths: Vec<String> = f.seen().api_calls.into_iter().map(|c| c.0).collect();
    assert_eq!(paths, ["/user", "/user/emails"]);
}

#[tokio::test]
async fn github_details_are_validated() {
    let r = poolgate::provider::registry::validate(&record(
        ptype("GitHub"),
        "GitHub",
        json!({"client_id": "a", "client_secret": "b", "endpoints": {"jwks_uri": "https://x/"}, "enterprise_url": "http://ghe.example.com"}),
    ));
    let errs = r.unwrap_err().join("\n");
    assert!(errs.contains("endpoints.jwks_uri"), "{errs}");
    assert!(errs.contains("enterprise_url"), "{errs}");
}

#[tokio::test]
async fn generic_oauth2_basic_auth_dotted_subject_and_unverified_email() {
    let f = plain::start(OAuth2Opts::default()).await;
    let p = build(ptype("OAuth2"), f.details());
    assert_eq!(p.kind().type_name(), "OAuth2");
    let q = authorize_query(&p).await;
    assert_eq!(q["scope"], "identify email");
    assert!(
        !q.contains_key("code_challenge"),
        "PKCE only when configured"
    );
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.subject, "4711");
    assert_eq!(f.seen().token_auth, ["client_secret_basic"]);
    // `email` is not at the top level here: nothing without a mapping.
    assert_eq!(id.email, None);
    assert_eq!(id.raw["data"]["display_name"], "Kay Example");
}

#[tokio::test]
async fn generic_oauth2_email_verified_only_from_a_mapped_attribute_or_trust() {
    let f = plain::start(OAuth2Opts {
        auth: "client_secret_post",
        require_pkce: true,
        form_answers: true,
        ..OAuth2Opts::default()
    })
    .await;
    let mut d = f.details();
    d["pkce"] = json!(true);
    let mut rec = record(ptype("OAuth2"), "Plain", d.clone());
    rec.attribute_mapping
        .insert("email".into(), "data.mail".into());
    let p = poolgate::provider::registry::build(&rec, &ctx()).unwrap();
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.email.as_deref(), Some("kay@example.com"));
    assert!(!id.email_verified, "never verified by default");
    assert_eq!(f.seen().token_auth, ["client_secret_post"]);
    rec.attribute_mapping
        .insert("email_verified".into(), "data.mail_confirmed".into());
    let p = poolgate::provider::registry::build(&rec, &ctx()).unwrap();
    assert!(sign_in(&p).await.unwrap().email_verified);
    f.set(|o| o.me["data"]["mail_confirmed"] = json!(false));
    assert!(!sign_in(&p).await.unwrap().email_verified);
    rec.attribute_mapping.remove("email_verified");
    rec.details.insert("trust_email".into(), json!(true));
    let p = poolgate::provider::registry::build(&rec, &ctx()).unwrap();
    assert!(sign_in(&p).await.unwrap().email_verified);
}

#[tokio::test]
async fn generic_oauth2_refusals() {
    let f = plain::start(OAuth2Opts::default()).await;
    // Wrong authentication method: the fake accepts only Basic.
    let mut d = f.details();
    d["token_endpoint_auth_method"] = json!("client_secret_post");
    let r = sign_in(&build(ptype("OAuth2"), d)).await;
    assert!(matches!(r, Err(ProviderError::Upstream(_))), "{r:?}");
    // A subject attribute the userinfo lacks.
    let mut d = f.details();
    d["subject_attribute"] = json!("data.nope");
    assert_rejected(sign_in(&build(ptype("OAuth2"), d)).await, "missing subject");
    // Missing URLs are reported by key.
    let errs = poolgate::provider::registry::validate(&record(
        ptype("OAuth2"),
        "P",
        json!({"client_id": "a", "client_secret": "b", "token_url": "http://example.com/t"}),
    ))
    .unwrap_err()
    .join("\n");
    for k in ["authorize_url", "userinfo_url", "token_url"] {
        assert!(errs.contains(&format!("details.{k}")), "{k}: {errs}");
    }
}
