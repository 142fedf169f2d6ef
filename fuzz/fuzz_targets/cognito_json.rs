//! Fuzz target over the Cognito API's request bodies: the bytes of a JSON 1.1 body run
//! through what `POST /` does after the signature check (`http::cognito::run`: JSON
//! parsing, the operation's input shape, then the operation itself with its
//! validation) against a real gateway state on a SQLite store in a temporary folder.
//! The first byte picks the operation; the body is used as given or, when it is a JSON
//! object without one, with `UserPoolId` set to the default pool so inputs reach past
//! the pool lookup. Upstream calls (OIDC discovery, hook URLs) go to a proxy address
//! that refuses connections. Properties: no panic, no hang, and every refusal is a
//! caller's fault (a 4xx Cognito error), never a 5xx.
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use poolgate::clock::SystemClock;
use poolgate::cognito::OPERATIONS;
use poolgate::config::Settings;
use poolgate::http::SharedState;
use poolgate::model::DEFAULT_POOL;
use serde_json::Value;

struct Fixture {
    rt: tokio::runtime::Runtime,
    state: SharedState,
    _dir: std::path::PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // Any upstream call the operations make is refused at once, offline.
        // SAFETY: set before any thread of this process reads the environment.
        unsafe {
            std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9");
            std::env::set_var("HTTP_PROXY", "http://127.0.0.1:9");
            std::env::remove_var("NO_PROXY");
        }
        let dir = std::env::temp_dir().join(format!("poolgate-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("providers")).unwrap();
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        let env: BTreeMap<String, String> = [
            ("POOLGATE_STORE", format!("sqlite://{}/poolgate.db", dir.display())),
            ("POOLGATE_ADMIN_TOKEN", "fuzz-admin-token-0123456789".into()),
            ("POOLGATE_PROVIDERS_DIR", dir.join("providers").display().to_string()),
            ("POOLGATE_CERTS_DIR", dir.join("certs").display().to_string()),
            ("POOLGATE_PUBLIC_URL", "http://localhost:9000".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let settings = Settings::load(None, &env).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let state = rt
            .block_on(poolgate::server::build_state(
                settings,
                &env,
                Arc::new(SystemClock),
            ))
            .unwrap();
        Fixture {
            rt,
            state,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let op = &OPERATIONS[pick as usize % OPERATIONS.len()];
    let mut owned = None;
    if pick & 0x80 != 0
        && let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(body)
        && !m.contains_key("UserPoolId")
    {
        m.insert("UserPoolId".into(), DEFAULT_POOL.into());
        owned = serde_json::to_vec(&Value::Object(m)).ok();
    }
    let body = owned.as_deref().unwrap_or(body);
    let out = f.rt.block_on(poolgate::http::cognito::run(
        f.state.clone(),
        op,
        Some("us-east-1".into()),
        None,
        body,
    ));
    if let Err(e) = out {
        assert!(
            (400..500).contains(&e.status),
            "{}: a 5xx for a caller's input: {e:?}",
            op.name
        );
    }
});
