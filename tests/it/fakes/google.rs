//! A fake Google: the OIDC fake with Google's shapes: `email_verified`, `hd` for
//! Workspace accounts, `azp`, and the legacy issuer spelling (`accounts.google.com`,
//! here `127.0.0.1:PORT`) on demand.

use serde_json::{Value, json};

pub use super::oidc::{FakeHandle, OidcOpts};

/// Options of the fake Google.
#[derive(Clone, Debug)]
pub struct GoogleOpts {
    pub client_id: String,
    pub client_secret: String,
    /// The Workspace domain the user belongs to (`hd` claim); `None` for a consumer account.
    pub hd: Option<String>,
    /// Write `iss` without the scheme, as Google sometimes does.
    pub legacy_issuer: bool,
}

impl Default for GoogleOpts {
    fn default() -> Self {
        Self {
            client_id: "123-abc.apps.googleusercontent.com".into(),
            client_secret: "GOCSPX-test".into(),
            hd: None,
            legacy_issuer: false,
        }
    }
}

pub async fn start(o: GoogleOpts) -> FakeHandle {
    let user = json!({
        "sub": "110169484474386276334",
        "email": "grace@example.com",
        "email_verified": true,
        "name": "Grace Hopper",
        "given_name": "Grace",
        "family_name": "Hopper",
        "picture": "https://lh3.googleusercontent.com/a/photo",
        "locale": "en",
    });
    let mut opts = OidcOpts {
        client_id: o.client_id.clone(),
        client_secret: o.client_secret,
        user: user.as_object().cloned().unwrap_or_default(),
        algs: Some(vec!["RS256".into()]),
        ..OidcOpts::default()
    };
    opts.token.azp = Some(o.client_id);
    let h = super::oidc::start(opts).await;
    set_hd(&h, o.hd);
    set_legacy_issuer(&h, o.legacy_issuer);
    h
}

/// Sets or clears the `hd` claim.
pub fn set_hd(h: &FakeHandle, hd: Option<String>) {
    h.set(|o| match hd {
        Some(d) => {
            o.token.extra.insert("hd".into(), Value::String(d));
        }
        None => {
            o.token.extra.remove("hd");
        }
    });
}

/// Switches `iss` between `http://127.0.0.1:PORT` and the scheme-less legacy form.
pub fn set_legacy_issuer(h: &FakeHandle, on: bool) {
    let legacy = h.issuer().split_once("://").map(|(_, r)| r.to_owned());
    h.set(|o| o.token.iss = if on { legacy } else { None });
}

/// Ready-to-use `details` of a `Google` registration pointing at this fake.
pub fn details(h: &FakeHandle) -> Value {
    let o = h.opts();
    json!({"client_id": o.client_id, "client_secret": o.client_secret, "endpoints": endpoints(h)})
}

/// The `details.endpoints` pointing the Google adapter at this fake.
pub fn endpoints(h: &FakeHandle) -> Value {
    json!({ "issuer": h.issuer() })
}
