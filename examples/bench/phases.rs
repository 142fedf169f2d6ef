//! Phases against `poolgate serve` as a separate process, each reporting the gateway's
//! own CPU time per operation (from /proc, so the driver, the fakes and the hook server
//! are not counted) and then run again at half its peak rate for p50/p99:
//!   - ES256 and EdDSA token grants (authorization_code, refresh_token);
//!   - complete federated OIDC sign-ins, then the same with a pre-token-generation V2
//!     hook on a loopback hook server (the difference is the hook's cost);
//!   - complete SAML sign-ins over HTTP (authorize -> signed AuthnRequest -> the fake
//!     IdP signs a response -> ACS -> code -> token);
//!   - with Redis: two instances, each pinned to its own core, against one.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::gateway::ProcGw;
use super::saml_fixtures::{Idp, Spec, b64, response};
use super::{CB, RawConn, WORKERS, fakes, harness::pkce, path_and_query, percentile};

const SAML_SSO: &str = "https://adfs.corp.example/adfs/ls/";
const SAML_SP: &str = "urn:poolgate:sp:default";

/// One measured run.
pub struct Run {
    pub name: String,
    pub per_s: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// Gateway CPU time per operation (every gateway process of the run together).
    pub gw_cpu: Duration,
}

impl Run {
    fn print(&self) {
        println!(
            "{:<50} {:>8.0}/s   p50 {:>6.2} ms   p99 {:>6.2} ms   gateway cpu {:>5.0} us/op",
            self.name,
            self.per_s,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.gw_cpu.as_secs_f64() * 1e6
        );
    }
}

/// Runs `op(worker, i)` for every `i` of `range` from WORKERS tasks; at `rate`
/// operations per second when given (each starts at its slot), else as fast as they go.
pub(super) async fn drive<F, Fut>(
    name: &str,
    gws: &[&ProcGw],
    range: Range<usize>,
    rate: Option<f64>,
    op: F,
) -> Run
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let total = range.len();
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(range.start));
    let profiled = std::env::var("LOADGEN_CALLGRIND")
        .is_ok_and(|want| want.split(',').any(|w| !w.is_empty() && name.contains(w)))
        && rate.is_none();
    if profiled {
        callgrind_control(gws, "-z");
    }
    let cpu0: Duration = gws.iter().map(|g| g.cpu()).sum();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (op, next, end, first) = (op.clone(), next.clone(), range.end, range.start);
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut failed) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    break;
                }
                if let Some(rate) = rate {
                    let due = start + Duration::from_secs_f64((i - first) as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let t = Instant::now();
                if !op(w, i).await {
                    failed += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, failed)
        }));
    }
    let (mut all, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (l, f) = t.await.expect("worker");
        all.extend(l);
        failed += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = gws
        .iter()
        .map(|g| g.cpu())
        .sum::<Duration>()
        .saturating_sub(cpu0);
    if profiled {
        callgrind_control(gws, "-d");
        println!("  callgrind: counts of these {total} operations dumped");
    }
    assert_eq!(failed, 0, "{name}: {failed} operations failed");
    all.sort();
    let run = Run {
        name: name.to_owned(),
        per_s: total as f64 / elapsed,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        gw_cpu: cpu / total.max(1) as u32,
    };
    run.print();
    run
}

/// Profiling one phase with callgrind: with `LOADGEN_GATEWAY_WRAP="valgrind
/// --tool=callgrind ..."`, set `LOADGEN_CALLGRIND=<parts of phase names, comma-separated>`: the counts
/// are zeroed right before the phase and dumped right after it, so that dump holds
/// exactly the phase's operations.
fn callgrind_control(gws: &[&ProcGw], arg: &str) {
    for g in gws {
        let _ = std::process::Command::new("callgrind_control")
            .arg(arg)
            .arg(g.pid().to_string())
            .stdout(std::process::Stdio::null())
            .status();
    }
}

/// A phase: `n` operations as fast as they go, then `n / 2` more at half that rate.
pub(super) async fn phase<F, Fut>(name: &str, gws: &[&ProcGw], n: usize, op: F) -> Run
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let peak = drive(name, gws, 0..n, None, op.clone()).await;
    let half = peak.per_s / 2.0;
    drive(
        &format!("{name} @ half rate"),
        gws,
        n..n + n / 2,
        Some(half),
        op,
    )
    .await;
    peak
}

/// What the phases share: the instances, one connection per worker (worker `w` talks
/// to instance `w % instances`), the fake upstream's connections.
pub struct Env {
    pub gws: Vec<ProcGw>,
    conns: Vec<Mutex<RawConn>>,
    fake_conns: Vec<Mutex<RawConn>>,
    client: String,
    token_head: String,
    _fake: fakes::oidc::FakeHandle,
}

impl Env {
    pub async fn new(gws: Vec<ProcGw>) -> Self {
        let fake = fakes::oidc::start(fakes::oidc::OidcOpts {
            es256: true,
            algs: Some(vec!["ES256".into()]),
            ..Default::default()
        })
        .await;
        let o = fake.opts();
        let a = &gws[0];
        let (s, v) = a
            .admin(
                "PUT",
                "/pools/default/providers/Corp",
                Some(json!({"type": "OIDC", "details": {"issuer": fake.issuer(), "client_id": o.client_id, "client_secret": o.client_secret}})),
            )
            .await;
        assert!(s < 300, "provider: {s} {v}");
        let (s, v) = a
            .admin(
                "POST",
                "/pools/default/clients",
                Some(super::harness::app_client_body(CB, &["Corp"], true)),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let client = v["client_id"].as_str().expect("client id").to_owned();
        let secret = v["client_secret"].as_str().expect("secret").to_owned();
        let (mut conns, mut fake_conns) = (Vec::new(), Vec::new());
        let fake_port = fake.base.port().expect("fake port");
        for w in 0..WORKERS {
            conns.push(Mutex::new(RawConn::connect(gws[w % gws.len()].port).await));
            fake_conns.push(Mutex::new(RawConn::connect(fake_port).await));
        }
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client}:{secret}"));
        let token_head = format!(
            "POST /oauth2/token HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
            a.host
        );
        Self {
            gws,
            conns,
            fake_conns,
            client,
            token_head,
            _fake: fake,
        }
    }

    pub(super) fn all(&self) -> Vec<&ProcGw> {
        self.gws.iter().collect()
    }

    async fn set_alg(&self, alg: &str) {
        let (s, v) = self.gws[0]
            .admin(
                "PATCH",
                "/pools/default",
                Some(json!({"settings": {"signing_alg": alg}})),
            )
            .await;
        assert!(s < 300, "{s} {v}");
        // A rotated-in key signs only once every instance has published it (10 s), and
        // key rings are re-read every 3 s: wait until tokens carry the new algorithm.
        let start = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (code, verifier) = self.sign_in(0).await.expect("sign-in");
            let v = self.exchange(0, &code, &verifier).await.expect("exchange");
            if header_alg(v["id_token"].as_str().unwrap_or_default()).as_deref() == Some(alg) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "tokens never switched to {alg}"
            );
        }
    }

    /// A federated sign-in up to the code: (code, verifier).
    async fn sign_in(&self, w: usize) -> Option<(String, String)> {
        let (verifier, challenge) = pkce();
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client)
            .append_pair("redirect_uri", CB)
            .append_pair("scope", "openid email profile")
            .append_pair("identity_provider", "Corp")
            .append_pair("state", "s")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let host = &self.gws[0].host;
        let mut gw = self.conns[w].lock().await;
        let r = gw
            .get(host, &format!("/oauth2/authorize?{q}"), None)
            .await?;
        let cookie = cookies(&r.headers);
        let upstream = url::Url::parse(r.header("location")?).ok()?;
        let fake_host = format!("127.0.0.1:{}", upstream.port()?);
        let r = self.fake_conns[w]
            .lock()
            .await
            .get(&fake_host, path_and_query(upstream.as_str())?, None)
            .await?;
        let callback = r.header("location")?.to_owned();
        let r = gw
            .get(host, path_and_query(&callback)?, Some(&cookie))
            .await?;
        code_of(r.header("location")?).map(|c| (c, verifier))
    }

    async fn token(&self, w: usize, form: &[(&str, &str)]) -> Option<Value> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let (s, v) = self.conns[w]
            .lock()
            .await
            .post_form(&self.token_head, &body)
            .await;
        (s == 200).then_some(v)
    }

    async fn exchange(&self, w: usize, code: &str, verifier: &str) -> Option<Value> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ];
        self.token(w, &form).await
    }
}

/// The `alg` of a JWT's header.
fn header_alg(jwt: &str) -> Option<String> {
    use base64::Engine;
    let head = jwt.split('.').next()?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head)
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    v["alg"].as_str().map(str::to_owned)
}

fn cookies(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

fn code_of(location: &str) -> Option<String> {
    let landing = url::Url::parse(location).ok()?;
    if !landing.as_str().starts_with(CB) {
        return None;
    }
    landing
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

/// Codes made by `count` sign-ins (not timed).
async fn codes(env: &Arc<Env>, count: usize) -> Arc<Vec<(String, String)>> {
    let out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (e, o) = (env.clone(), out.clone());
    let _ = drive("  (preparing codes)", &[], 0..count, None, move |w, _| {
        let (e, o) = (e.clone(), o.clone());
        async move {
            let Some(c) = e.sign_in(w).await else {
                return false;
            };
            o.lock().expect("lock").push(c);
            true
        }
    })
    .await;
    Arc::new(std::mem::take(&mut *out.lock().expect("lock")))
}

/// authorization_code then refresh_token grants with pool tokens signed with `alg`.
pub async fn token_phases(env: &Arc<Env>, label: &str, alg: &str, n: usize) -> (Run, Run) {
    env.set_alg(alg).await;
    let codes = codes(env, n + n / 2).await;
    let refresh: Arc<Vec<std::sync::Mutex<String>>> = Arc::new(
        (0..codes.len())
            .map(|_| std::sync::Mutex::default())
            .collect(),
    );
    let (e, c, r) = (env.clone(), codes.clone(), refresh.clone());
    let code = phase(
        &format!("[{label}] authorization_code ({alg})"),
        &env.all(),
        n,
        move |w, i| {
            let (e, c, r) = (e.clone(), c.clone(), r.clone());
            async move {
                let Some(v) = e.exchange(w, &c[i].0, &c[i].1).await else {
                    return false;
                };
                *r[i].lock().expect("lock") =
                    v["refresh_token"].as_str().unwrap_or_default().to_owned();
                true
            }
        },
    )
    .await;
    let (e, r) = (env.clone(), refresh.clone());
    let rt = phase(
        &format!("[{label}] refresh_token ({alg})"),
        &env.all(),
        n,
        move |w, i| {
            let (e, r) = (e.clone(), r.clone());
            async move { refresh_once(&e, w, &r[i]).await }
        },
    )
    .await;
    (code, rt)
}

pub(super) async fn refresh_once(e: &Env, w: usize, slot: &std::sync::Mutex<String>) -> bool {
    let rt = slot.lock().expect("lock").clone();
    let Some(v) = e
        .token(
            w,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await
    else {
        return false;
    };
    if let Some(new) = v["refresh_token"].as_str() {
        *slot.lock().expect("lock") = new.to_owned();
    }
    true
}

/// Complete federated sign-ins (ES256), without then with a pre-token V2 hook.
pub async fn sign_in_phases(env: &Arc<Env>, label: &str, n: usize) -> (Run, Run) {
    env.set_alg("ES256").await;
    let op = |e: Arc<Env>| {
        move |w: usize, _i: usize| {
            let e = e.clone();
            async move {
                let Some((code, verifier)) = e.sign_in(w).await else {
                    return false;
                };
                e.exchange(w, &code, &verifier).await.is_some()
            }
        }
    };
    let plain = phase(
        &format!("[{label}] OIDC sign-in (ES256)"),
        &env.all(),
        n,
        op(env.clone()),
    )
    .await;

    // The hook server of examples/hook_server.rs, on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook_url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().expect("addr").port()
    );
    let hooks =
        json!({"PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": hook_url}});
    let (s, v) = env.gws[0]
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"hooks": hooks}})),
        )
        .await;
    assert!(s < 300, "{s} {v}");
    let secret = v["settings"]["hook_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, super::hook_server::app(secret)).await;
    });
    // Pools are read through a cache of half a second.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let hooked = phase(
        &format!("[{label}] OIDC sign-in + pre-token V2 hook"),
        &env.all(),
        n,
        op(env.clone()),
    )
    .await;
    println!(
        "{:<50} {:>+8.0} us of gateway CPU per sign-in",
        format!("[{label}] cost of the hook"),
        (hooked.gw_cpu.as_secs_f64() - plain.gw_cpu.as_secs_f64()) * 1e6
    );
    let (s, v) = env.gws[0]
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"hooks": {}}})),
        )
        .await;
    assert!(s < 300, "{s} {v}");
    server.abort();
    (plain, hooked)
}

/// Complete SAML sign-ins over HTTP with signed AuthnRequests.
pub async fn saml_phase(env: &Arc<Env>, label: &str, n: usize) -> Run {
    // Pool tokens as in the OIDC sign-ins (already so after them; a run of this phase
    // alone would otherwise sign with the pool's default RS256).
    env.set_alg("ES256").await;
    let a = &env.gws[0];
    let idp = Arc::new(Idp::new("http://adfs.corp.example/adfs/services/trust"));
    let details = json!({"metadata_xml": idp.metadata(SAML_SSO, None, &[]), "sign_requests": true});
    let (s, v) = a
        .admin(
            "PUT",
            "/pools/default/providers/ADFS",
            Some(json!({"type": "SAML", "details": details})),
        )
        .await;
    assert!(s < 300, "{s} {v}");
    let (s, v) = a
        .admin(
            "PATCH",
            &format!("/pools/default/clients/{}", env.client),
            Some(json!({"supported_identity_providers": ["Corp", "ADFS"]})),
        )
        .await;
    assert!(s < 300, "{s} {v}");
    let acs = format!("http://{}/saml2/idpresponse", a.host);
    // The first sign-in makes the pool's SP keys: not part of the figures.
    saml_sign_in(env, &idp, &acs, 0, 0)
        .await
        .expect("SAML warm-up sign-in");
    let (e, idp2) = (env.clone(), idp.clone());
    phase(
        &format!("[{label}] SAML sign-in (signed AuthnRequest)"),
        &env.all(),
        n,
        move |w, i| {
            let (e, idp, acs) = (e.clone(), idp2.clone(), acs.clone());
            async move { saml_sign_in(&e, &idp, &acs, w, i).await.is_some() }
        },
    )
    .await
}

async fn saml_sign_in(e: &Env, idp: &Idp, acs: &str, w: usize, i: usize) -> Option<()> {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &e.client)
        .append_pair("redirect_uri", CB)
        .append_pair("scope", "openid email")
        .append_pair("identity_provider", "ADFS")
        .append_pair("state", "s")
        .finish();
    let host = &e.gws[0].host;
    let mut gw = e.conns[w].lock().await;
    let r = gw
        .get(host, &format!("/oauth2/authorize?{q}"), None)
        .await?;
    let cookie = cookies(&r.headers);
    let loc = url::Url::parse(r.header("location")?).ok()?;
    let pairs: std::collections::BTreeMap<String, String> =
        loc.query_pairs().into_owned().collect();
    pairs.get("Signature")?;
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        pairs.get("SAMLRequest")?,
    )
    .ok()?;
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::DeflateDecoder::new(raw.as_slice()),
        &mut xml,
    )
    .ok()?;
    let at = xml.find(" ID=\"")? + 5;
    let rid = &xml[at..at + xml[at..].find('"')?];
    // The IdP's part (signing the response) runs in the driver, not in the gateway.
    let mut spec = Spec::adfs(idp, SAML_SP, acs, Some(rid));
    spec.name_id = format!("CORP\\user{}", i % 200);
    let resp = b64(&response(&spec, idp));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &resp)
        .append_pair("RelayState", pairs.get("RelayState")?)
        .finish();
    let head = format!(
        "POST /saml2/idpresponse HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    );
    let req = format!("{head}Content-Length: {}\r\n\r\n{body}", body.len());
    let r = gw.exchange(&req).await?;
    let code = code_of(r.header("location")?)?;
    drop(gw);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
    ];
    e.token(w, &form).await.map(|_| ())
}

/// Two instances on one Redis, each pinned to its own core, against one instance:
/// ES256 refresh grants. The driver is not pinned (it shares the cores).
pub async fn two_instances(
    bin: &std::path::Path,
    redis_url: &str,
    dir: &std::path::Path,
    n: usize,
) {
    let a = ProcGw::start(bin, redis_url, &dir.join("a"), Some(0), None).await;
    let public = format!("http://{}", a.host);
    let b = ProcGw::start(bin, redis_url, &dir.join("b"), Some(1), Some(&public)).await;
    let one = Arc::new(Env::new(vec![a]).await);
    one.set_alg("ES256").await;
    let chains = refresh_chains(&one, n + n / 2).await;
    let (e, c) = (one.clone(), chains.clone());
    let single = phase(
        "[redis] refresh_token ES256, 1 instance (core 0)",
        &one.all(),
        n,
        move |w, i| {
            let (e, c) = (e.clone(), c.clone());
            async move { refresh_once(&e, w, &c[i]).await }
        },
    )
    .await;
    let Ok(one) = Arc::try_unwrap(one) else {
        return;
    };
    let mut gws = one.gws;
    gws.push(b);
    let both = Arc::new(Env::new(gws).await);
    let chains = refresh_chains(&both, n + n / 2).await;
    let (e, c) = (both.clone(), chains.clone());
    let pair = phase(
        "[redis] refresh_token ES256, 2 instances (cores 0, 1)",
        &both.all(),
        n,
        move |w, i| {
            let (e, c) = (e.clone(), c.clone());
            async move { refresh_once(&e, w, &c[i]).await }
        },
    )
    .await;
    println!(
        "{:<50} {:>8.2}x combined throughput of two instances against one",
        "[redis] two instances",
        pair.per_s / single.per_s.max(1e-9)
    );
}

/// `count` refresh tokens, one per sign-in (not timed).
pub(super) async fn refresh_chains(
    env: &Arc<Env>,
    count: usize,
) -> Arc<Vec<std::sync::Mutex<String>>> {
    let codes = codes(env, count).await;
    let mut out = Vec::new();
    for (i, (code, verifier)) in codes.iter().enumerate() {
        let v = env
            .exchange(i % WORKERS, code, verifier)
            .await
            .expect("exchange");
        out.push(std::sync::Mutex::new(
            v["refresh_token"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    Arc::new(out)
}
