//! Kills in the middle of load, over a real `redis-server` with docker-compose.yml's
//! persistence (AOF): (1) redis-server is killed with SIGKILL while two gateway
//! instances serve sign-ins, refreshes and identity links, and started again on the
//! same data folder and port: every sign-in, refresh token and link a gateway
//! acknowledged is still there, calls in flight fail cleanly (503, never a 500), and
//! both instances serve again by themselves; (2) one of two gateway processes is
//! killed with SIGKILL under load (refreshes, app client creations): the other goes on
//! serving every request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use poolgate::clock::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::e2e::{CB, register};
use crate::fakes::oidc::{self, FakeHandle, OidcOpts};
use crate::harness::{
    ADMIN_TOKEN, Browser, Gw, Landing, app_client_body, authorize_url, claims, host_of, pkce,
};
use crate::redis_server::RedisServer;

/// A sign-in the gateway acknowledged (tokens issued).
#[derive(Clone, Debug)]
struct SignedIn {
    subject: String,
    username: String,
    refresh_token: String,
}

/// What the load saw and what the gateways acknowledged.
#[derive(Default)]
struct Tally {
    signed_in: Vec<SignedIn>,
    /// (username, subject) of links made through the admin API.
    linked: Vec<(String, String)>,
    /// Every status answered, by step.
    statuses: BTreeMap<String, Vec<u16>>,
    /// Successes per worker after the restart.
    after_restart: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn saw(&mut self, step: &str, status: StatusCode) {
        self.statuses
            .entry(step.to_owned())
            .or_default()
            .push(status.as_u16());
    }

    fn all(&self) -> impl Iterator<Item = (&String, &u16)> {
        self.statuses
            .iter()
            .flat_map(|(k, v)| v.iter().map(move |s| (k, s)))
    }
}

/// One federated sign-in of upstream subject `subject` begun on `start` and finished
/// (callback, code exchange) on `finish`, as a browser and an app do. `None` when a
/// step was refused; every status goes to the tally.
async fn sign_in(
    start: &Gw,
    finish: &Gw,
    client: &str,
    tally: &Mutex<Tally>,
) -> Option<(String, String, String)> {
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        start,
        client,
        CB,
        &[
            ("scope", "openid email profile"),
            ("identity_provider", "Corp"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let landing = Browser::new().follow(&url, CB).await;
    let code = match landing {
        Landing::App(q) => match q.get("code") {
            Some(c) => c.clone(),
            None => {
                tally
                    .lock()
                    .await
                    .saw("sign-in: error to the app", StatusCode::FOUND);
                return None;
            }
        },
        Landing::Page(status, _) => {
            tally.lock().await.saw("sign-in page", status);
            return None;
        }
    };
    let (s, v) = finish
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client),
                ("code", &code),
                ("redirect_uri", CB),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await;
    tally.lock().await.saw("code exchange", s);
    if s != StatusCode::OK {
        return None;
    }
    let id = claims(v["id_token"].as_str()?);
    Some((
        id["cognito:username"].as_str()?.to_owned(),
        v["refresh_token"].as_str()?.to_owned(),
        id["sub"].as_str()?.to_owned(),
    ))
}

async fn refresh(gw: &Gw, client: &str, rt: &str) -> StatusCode {
    gw.token(
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", rt),
        ],
        None,
    )
    .await
    .0
}

async fn user(gw: &Gw, username: &str) -> (StatusCode, Value) {
    gw.admin("GET", &format!("/pools/default/users/{username}"), None)
        .await
}

fn has_link(user: &Value, provider: &str, subject: &str) -> bool {
    user["identities"].as_array().is_some_and(|ids| {
        ids.iter()
            .any(|i| i["providerName"] == provider && i["userId"] == subject)
    })
}

/// Two instances on one Redis, both serving the default pool at A's URL; the provider
/// `Corp` (the fake), a second name `Other` for admin links, one public app client.
async fn pair(url: &str, dir: &std::path::Path) -> (Arc<Gw>, Arc<Gw>, FakeHandle, String) {
    let a = Gw::start_with(url, &dir.join("a"), None, Arc::new(SystemClock)).await;
    let b = Gw::start_as(
        url,
        &dir.join("b"),
        None,
        Some(&a.base),
        Arc::new(SystemClock),
    )
    .await;
    let fake = oidc::start(OidcOpts::default()).await;
    register(&a, "Corp", &fake, "never").await;
    register(&a, "Other", &fake, "never").await;
    let (client, _) = a.client(app_client_body(CB, &["Corp"], false)).await;
    (Arc::new(a), Arc::new(b), fake, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_mid_load_loses_nothing_acknowledged_and_gateways_recover() {
    let mut server = RedisServer::start_durable();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, fake, client) = pair(&server.url(), tmp.path()).await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let restarted = Arc::new(AtomicBool::new(false));

    // Sign-ins of a new upstream user each (a new pool user, link and refresh token),
    // begun on A and finished on B.
    let signer = {
        let (a, b, fake, client) = (a.clone(), b.clone(), fake.clone(), client.clone());
        let (tally, stop, restarted) = (tally.clone(), stop.clone(), restarted.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let subject = format!("dur-{i}");
                fake.set(|o| {
                    o.user.insert("sub".into(), json!(subject));
                    o.user
                        .insert("email".into(), json!(format!("{subject}@example.test")));
                });
                if let Some((username, refresh_token, _)) = sign_in(&a, &b, &client, &tally).await {
                    let mut t = tally.lock().await;
                    t.signed_in.push(SignedIn {
                        subject,
                        username,
                        refresh_token,
                    });
                    if restarted.load(Ordering::Relaxed) {
                        *t.after_restart.entry("sign-in").or_default() += 1;
                    }
                }
            }
        })
    };
    // Refreshes on both instances, and admin links on B, of users signed in so far.
    let refresher = {
        let (a, b, client) = (a.clone(), b.clone(), client.clone());
        let (tally, stop, restarted) = (tally.clone(), stop.clone(), restarted.clone());
        tokio::spawn(async move {
            let mut j = 0;
            // A user holds one link per provider: each user is linked (tried) once.
            let mut tried = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                j += 1;
                let last = tally.lock().await.signed_in.last().cloned();
                let Some(last) = last else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let gw = if j % 2 == 0 { &a } else { &b };
                let s = refresh(gw, &client, &last.refresh_token).await;
                let mut ls = None;
                if tried.insert(last.username.clone()) {
                    let (status, _) = b
                        .admin(
                            "POST",
                            &format!("/pools/default/users/{}/identities", last.username),
                            Some(json!({"provider": "Other", "subject": format!("other-{j}")})),
                        )
                        .await;
                    ls = Some(status);
                }
                let mut t = tally.lock().await;
                t.saw("refresh", s);
                if let Some(ls) = ls {
                    t.saw("admin link", ls);
                }
                let ls = ls.unwrap_or(StatusCode::NO_CONTENT);
                if ls == StatusCode::CREATED {
                    t.linked.push((last.username.clone(), format!("other-{j}")));
                }
                if restarted.load(Ordering::Relaxed) && s == StatusCode::OK {
                    *t.after_restart.entry("refresh").or_default() += 1;
                }
                if restarted.load(Ordering::Relaxed) && ls == StatusCode::CREATED {
                    *t.after_restart.entry("admin link").or_default() += 1;
                }
            }
        })
    };

    // Load, then SIGKILL in the middle of it, a pause, and a start on the same folder.
    let start = Instant::now();
    while tally.lock().await.signed_in.len() < 3 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        tally.lock().await.signed_in.len() >= 3,
        "no load before the kill"
    );
    server.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.restart();
    restarted.store(true, Ordering::Relaxed);
    // Both instances recover by themselves: every worker succeeds again.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        {
            let t = tally.lock().await;
            if ["sign-in", "refresh", "admin link"]
                .iter()
                .all(|k| t.after_restart.get(k).copied().unwrap_or(0) >= 2)
            {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the gateways did not recover: {:?}",
            tally.lock().await.after_restart
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    signer.await.unwrap();
    refresher.await.unwrap();

    let t = tally.lock().await;
    // In flight during the outage: a clean 503; nothing else went wrong.
    for (step, s) in t.all() {
        assert!(
            [200, 201, 503].contains(s),
            "{step} answered {s}: {:?}",
            t.statuses
        );
    }
    assert!(
        t.all().any(|(_, s)| *s == 503),
        "the kill happened under load: some calls met it: {:?}",
        t.statuses
    );
    // Everything acknowledged is there, on both instances.
    for s in &t.signed_in {
        for gw in [&a, &b] {
            let (status, u) = user(gw, &s.username).await;
            assert_eq!(status, StatusCode::OK, "{s:?}: {u}");
            assert!(has_link(&u, "Corp", &s.subject), "{s:?}: {u}");
            assert_eq!(
                refresh(gw, &client, &s.refresh_token).await,
                StatusCode::OK,
                "{s:?}"
            );
        }
    }
    for (username, subject) in &t.linked {
        let (_, u) = user(&b, username).await;
        assert!(has_link(&u, "Other", subject), "{username} {subject}: {u}");
    }
    eprintln!(
        "acknowledged before/after the kill: {} sign-ins (users, links, refresh tokens), {} admin links; statuses {:?}",
        t.signed_in.len(),
        t.linked.len(),
        t.statuses
            .iter()
            .map(|(k, v)| (k, v.iter().filter(|s| **s == 503).count(), v.len()))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_killed_mid_load_leaves_the_other_serving() {
    let server = RedisServer::start_durable();
    let tmp = tempfile::tempdir().unwrap();
    let b = Gw::start_with(
        &server.url(),
        &tmp.path().join("b"),
        None,
        Arc::new(SystemClock),
    )
    .await;
    let fake = oidc::start(OidcOpts::default()).await;
    register(&b, "Corp", &fake, "never").await;
    let (client, _) = b.client(app_client_body(CB, &["Corp"], false)).await;
    // Instance A: the gateway binary, a process of its own, answering for B's URL.
    let adir = tmp.path().join("a");
    std::fs::create_dir_all(adir.join("providers")).unwrap();
    let (mut child, a_port, _logs) = crate::process::spawn(
        &adir,
        &[
            ("POOLGATE_STORE", &server.url()),
            ("POOLGATE_ADMIN_TOKEN", ADMIN_TOKEN),
            ("POOLGATE_PUBLIC_URL", &b.base),
            ("POOLGATE_PROVIDERS_DIR", "providers"),
            ("POOLGATE_CERTS_DIR", "certs"),
        ],
    );
    let host = host_of(&b.base);
    let to_a = reqwest::Client::new();
    let refresh_on_a = |rt: String| {
        let req = to_a
            .post(format!("http://127.0.0.1:{a_port}/oauth2/token"))
            .header("host", host.clone())
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", client.as_str()),
                ("refresh_token", rt.as_str()),
            ]);
        async move { req.send().await.map(|r| r.status()) }
    };
    let tally = Mutex::new(Tally::default());
    let (_, rt, _) = sign_in(&b, &b, &client, &tally).await.expect("a sign-in");
    assert_eq!(
        refresh_on_a(rt.clone()).await.unwrap(),
        StatusCode::OK,
        "A serves"
    );

    // Load on both; A is killed in the middle of it.
    let b = Arc::new(b);
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (b, client, rt, stop) = (b.clone(), client.clone(), rt.clone(), stop.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut created = Vec::new();
            let mut j = 0;
            while !stop.load(Ordering::Relaxed) {
                j += 1;
                statuses.push(refresh(&b, &client, &rt).await.as_u16());
                let mut body = app_client_body(CB, &["Corp"], false);
                body["name"] = json!(format!("app {j}"));
                let (s, v) = b.admin("POST", "/pools/default/clients", Some(body)).await;
                statuses.push(s.as_u16());
                if let Some(id) = v["client_id"].as_str() {
                    created.push(id.to_owned());
                }
                // Paced under the per-IP rate limit (200/s a path): this is load, not a flood.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (statuses, created)
        })
    };
    let mut on_a = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        on_a.push(refresh_on_a(rt.clone()).await.map_err(|_| ()));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed_at = Instant::now();
    while killed_at.elapsed() < Duration::from_secs(2) {
        on_a.push(refresh_on_a(rt.clone()).await.map_err(|_| ()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let (statuses, created) = load.await.unwrap();
    // B answered every request, before, during and after A's death.
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    assert!(statuses.len() > 4, "{statuses:?}");
    // A answered until killed, then not at all (never with an error status).
    assert!(on_a.iter().any(|r| r == &Ok(StatusCode::OK)), "{on_a:?}");
    assert!(on_a.last().is_some_and(Result::is_err), "{on_a:?}");
    assert!(
        on_a.iter().all(|r| r.is_err() || r == &Ok(StatusCode::OK)),
        "{on_a:?}"
    );
    // Every app client B acknowledged is there.
    assert!(!created.is_empty());
    for id in &created {
        let (s, v) = b
            .admin("GET", &format!("/pools/default/clients/{id}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{id}: {v}");
    }
}
