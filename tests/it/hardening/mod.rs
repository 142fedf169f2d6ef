//! Issue 12, hardening: each attack of docs/security.md written as a test that failed
//! on the code before its fix.

mod chromium;
mod durability;
mod floods;
mod instances;
mod linking;
mod listeners;
mod proxies;
mod ratelimit;
mod repost;
mod saml_csrf;
mod ssrf;

/// A client without cookies that follows no redirect: another browser.
pub fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The action and fields of a poolgate form page (minijinja's HTML escaping undone).
pub fn form_fields(html: &str) -> (String, Vec<(String, String)>) {
    let unesc = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = tag[start..].find('"')? + start;
        Some(unesc(&tag[start..end]))
    };
    let form = html
        .split("<form")
        .nth(1)
        .and_then(|s| s.split('>').next())
        .unwrap_or("");
    let action = attr(form, "action").unwrap_or_default();
    let fields = html
        .split("<input")
        .skip(1)
        .filter_map(|t| {
            let tag = t.split('>').next()?;
            Some((attr(tag, "name")?, attr(tag, "value")?))
        })
        .collect();
    (action, fields)
}

/// A gateway over a fresh SQLite file with extra settings; its base URL.
pub struct Custom {
    /// Kept so the gateway serves as long as the test holds this.
    _running: poolgate::server::Running,
    pub base: String,
    _tmp: tempfile::TempDir,
}

impl Custom {
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let providers = tmp.path().join("providers");
        std::fs::create_dir_all(&providers).unwrap();
        let store = format!("sqlite://{}/p.db", tmp.path().display());
        let mut env = crate::harness::env_for(port, &store, &providers);
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let settings = poolgate::config::Settings::load(None, &env).unwrap();
        let running = poolgate::server::start_on(
            listener,
            settings,
            &env,
            std::sync::Arc::new(poolgate::clock::SystemClock),
        )
        .await
        .unwrap();
        Self {
            _running: running,
            base: format!("http://127.0.0.1:{port}"),
            _tmp: tmp,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
