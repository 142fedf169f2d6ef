//! A hook that does not answer usably fails the operation cleanly: a timeout, a 500, a
//! malformed or oversized answer, a TLS certificate the gateway does not trust, a
//! redirect. The app gets `access_denied`, and nothing is created or issued.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

use super::{HookServer, Reply, app_error, echo, hooked, metrics, sign_in, users};
use crate::e2e::{exchange, refresh};
use crate::harness::json_str;

/// An HTTPS server on 127.0.0.1 with a self-signed certificate nobody trusts.
async fn untrusted_tls() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = CertificateDer::from(cert.der().to_vec());
    let pk = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let cfg = rustls::ServerConfig::builder_with_provider(poolgate::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], pk)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The client refuses the certificate; nothing is ever served.
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    format!("https://127.0.0.1:{port}/pre-sign-up")
}

/// Signs in with `url` as the pre-sign-up hook: refused with `access_denied`, and no
/// user exists afterwards.
async fn fails_cleanly(url: String, reason: &str) {
    let (env, _) = hooked(json!({"PreSignUp": url})).await;
    let started = std::time::Instant::now();
    let (landing, _) = sign_in(&env, "Corp").await;
    let (error, description) = app_error(&landing);
    assert_eq!(error, "access_denied", "{reason}");
    assert!(description.contains("PreSignUp"), "{reason}: {description}");
    assert!(
        users(&env).await.is_empty(),
        "{reason}: no user may be created"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{reason}: answered within the hook timeout"
    );
    let m = metrics(&env).await;
    assert!(
        m.contains("poolgate_hook_failures_total{trigger=\"pre_sign_up\""),
        "{reason}: {m}"
    );
}

#[tokio::test]
async fn a_late_hook_times_out() {
    let server = HookServer::start(|_: Value| async { Reply::Sleep(Duration::from_secs(7)) }).await;
    fails_cleanly(server.url("/slow"), "timeout").await;
}

#[tokio::test]
async fn a_500_fails() {
    let server =
        HookServer::start(|_: Value| async { Reply::Raw(500, b"Internal Server Error".to_vec()) })
            .await;
    fails_cleanly(server.url("/"), "500").await;
}

#[tokio::test]
async fn a_malformed_answer_fails() {
    let server =
        HookServer::start(|_: Value| async { Reply::Raw(200, b"{\"response\": ".to_vec()) }).await;
    fails_cleanly(server.url("/"), "malformed JSON").await;
    let wrong_type = HookServer::start(|mut e: Value| async move {
        e["response"]["autoConfirmUser"] = json!("yes please");
        Reply::Json(e)
    })
    .await;
    fails_cleanly(wrong_type.url("/"), "wrongly typed response").await;
}

#[tokio::test]
async fn an_oversized_answer_fails() {
    let server = HookServer::start(|mut e: Value| async move {
        e["padding"] = json!("x".repeat(200 * 1024));
        Reply::Json(e)
    })
    .await;
    fails_cleanly(server.url("/"), "oversized").await;
}

#[tokio::test]
async fn an_untrusted_certificate_fails() {
    fails_cleanly(untrusted_tls().await, "bad TLS").await;
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let target = HookServer::start(echo).await;
    let to = target.url("/elsewhere");
    let server = HookServer::start(move |_: Value| {
        let to = to.clone();
        async move { Reply::Redirect(to) }
    })
    .await;
    fails_cleanly(server.url("/"), "redirect").await;
    assert!(target.calls().is_empty(), "the redirect was not followed");
}

#[tokio::test]
async fn post_authentication_failure_issues_no_code() {
    let server = HookServer::start(|e: Value| async move {
        if e["triggerSource"] == "PostAuthentication_Authentication" {
            Reply::Raw(500, br#"{"errorMessage":"audit log down"}"#.to_vec())
        } else {
            Reply::Json(e)
        }
    })
    .await;
    let (env, _) = hooked(json!({
        "PostAuthentication": server.url("/post"),
        "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": server.url("/token")},
    }))
    .await;
    let (landing, _) = sign_in(&env, "Corp").await;
    let (error, description) = app_error(&landing);
    assert_eq!(error, "access_denied");
    assert_eq!(
        description,
        "PostAuthentication failed with error audit log down."
    );
    let sources: Vec<String> = server
        .calls()
        .iter()
        .map(|c| c.event["triggerSource"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sources,
        ["PostAuthentication_Authentication"],
        "no token generation after a failed post-authentication"
    );
}

#[tokio::test]
async fn a_failed_refresh_hook_issues_nothing() {
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f = fail.clone();
    let server = HookServer::start(move |e: Value| {
        let failing = f.load(std::sync::atomic::Ordering::SeqCst);
        async move {
            if failing {
                Reply::Raw(502, b"bad gateway".to_vec())
            } else {
                Reply::Json(e)
            }
        }
    })
    .await;
    let (env, _) = hooked(json!({
        "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": server.url("/t")}
    }))
    .await;
    let (landing, verifier) = sign_in(&env, "Corp").await;
    let (s, t) = exchange(&env, &landing.code(), &verifier).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let rt = json_str(&t, "refresh_token");
    let (s, e) = refresh(&env, &rt).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"], "access_denied");
    assert!(e.get("access_token").is_none());
    // The refresh token is as it was: once the hook answers again, it works.
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let (s, e) = refresh(&env, &rt).await;
    assert_eq!(s, StatusCode::OK, "{e}");
}

#[tokio::test]
async fn pre_authentication_refusal_changes_and_links_nothing() {
    let env = crate::e2e::setup("verified", false).await;
    let (landing, _) = sign_in(&env, "Corp").await;
    landing.code();
    let server = HookServer::start(|_: Value| async {
        Reply::Raw(400, br#"{"errorMessage":"Account locked"}"#.to_vec())
    })
    .await;
    super::set_hooks(&env, json!({"PreAuthentication": server.url("/pre-auth")}))
        .await
        .unwrap();

    // The same user again, with a new name upstream: refused, the name stays.
    env.fake.set(|o| {
        o.user.insert("name".into(), json!("Someone Else"));
    });
    let (landing, _) = sign_in(&env, "Corp").await;
    let (error, description) = app_error(&landing);
    assert_eq!(error, "access_denied");
    assert_eq!(
        description,
        "PreAuthentication failed with error Account locked."
    );
    let (_, u) = env
        .gw
        .admin("GET", "/pools/default/users/Corp_user-1", None)
        .await;
    assert_eq!(u["attributes"]["name"], "Ada Lovelace", "{u}");

    // A second provider whose verified email would link onto that user: nothing linked.
    let mut opts = crate::fakes::oidc::OidcOpts {
        client_id: "rp2".into(),
        ..Default::default()
    };
    opts.user.insert("sub".into(), json!("other-77"));
    let other = crate::fakes::oidc::start(opts).await;
    crate::e2e::register(&env.gw, "Other", &other, "verified").await;
    let (s, v) = env
        .gw
        .admin(
            "PATCH",
            &format!("/pools/default/clients/{}", env.client),
            Some(json!({"supported_identity_providers": ["Corp", "Other"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (landing, _) = sign_in(&env, "Other").await;
    assert_eq!(app_error(&landing).0, "access_denied");
    let (_, u) = env
        .gw
        .admin("GET", "/pools/default/users/Corp_user-1", None)
        .await;
    assert_eq!(u["identities"].as_array().unwrap().len(), 1, "{u}");
    assert_eq!(users(&env).await.len(), 1);
    let e = &server.calls()[0].event;
    assert_eq!(e["triggerSource"], "PreAuthentication_Authentication");
    assert_eq!(
        e["request"]["userAttributes"]["cognito:user_status"],
        "EXTERNAL_PROVIDER"
    );
}
