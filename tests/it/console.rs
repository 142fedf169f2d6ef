//! The admin console over real HTTP: sign-in with the admin token, the session
//! cookie's attributes, CSRF (missing or wrong token, foreign Origin: refused, nothing
//! changed), idle and absolute expiry on an injected clock, providers and clients made
//! through the forms and read back through `/admin/v1`, a user disabled (the browser
//! side is in `console_browser`).

use std::sync::Arc;

use poolgate::clock::FixedClock;
use poolgate::model::{IdentityLink, User};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::json;

use crate::harness::{ADMIN_TOKEN, Gw, ptype};

/// A console user agent without a cookie store: cookies are handled by hand so their
/// attributes can be checked.
pub(crate) struct Console<'a> {
    pub(crate) gw: &'a Gw,
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// The value of hidden input `name` in a page.
pub(crate) fn hidden(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &body[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

pub(crate) fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The text of `body` between the first `start` and the next `end`.
pub(crate) fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {body}"))
        + start.len();
    &body[at..at + body[at..].find(end).unwrap()]
}

/// Where a console page that moves on by itself goes (a form's navigation is held to
/// the console's `form-action 'self'`, so it is a page, not a redirect): its refresh
/// URL, which its "Continue" link names too.
pub(crate) fn moves_on_to(body: &str) -> String {
    let unescape = |v: &str| v.replace("&amp;", "&").replace("&#x2f;", "/");
    let to = unescape(between(
        body,
        "<meta http-equiv=\"refresh\" content=\"0; url=",
        "\"",
    ));
    assert_eq!(
        unescape(between(body, "<a id=\"continue\" href=\"", "\"")),
        to
    );
    to
}

/// `name=value` of the Set-Cookie named `name`.
pub(crate) fn cookie_pair(cookies: &[String], name: &str) -> Option<String> {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// GET of the sign-in form: its pre-session cookie and CSRF field.
async fn signin_form(gw: &Gw) -> (String, String) {
    let r = gw.http.get(gw.url("/console/signin")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let pre = cookie_pair(&set_cookies(&r), "poolgate-console-pre").unwrap();
    let body = r.text().await.unwrap();
    (pre, hidden(&body, "csrf").unwrap())
}

async fn post_signin(gw: &Gw, pre: &str, csrf: &str, token: &str) -> reqwest::Response {
    gw.http
        .post(gw.url("/console/signin"))
        .header(COOKIE, pre)
        .header(ORIGIN, &gw.base)
        .form(&[("csrf", csrf), ("token", token)])
        .send()
        .await
        .unwrap()
}

impl<'a> Console<'a> {
    pub(crate) async fn sign_in(gw: &'a Gw) -> Console<'a> {
        let (pre, csrf) = signin_form(gw).await;
        let r = post_signin(gw, &pre, &csrf, ADMIN_TOKEN).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[LOCATION], "/console/pools");
        let cookie = cookie_pair(&set_cookies(&r), "poolgate-console").unwrap();
        let mut c = Console {
            gw,
            cookie,
            csrf: String::new(),
        };
        let (s, body) = c.get("/console/pools").await;
        assert_eq!(s, StatusCode::OK);
        c.csrf = hidden(&body, "csrf").unwrap();
        c
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .gw
            .http
            .get(self.gw.url(path))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// A form POST from the console's own page (its Origin, its CSRF token).
    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut f: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        f.extend_from_slice(form);
        self.post_raw(path, &f, Some(&self.gw.base)).await
    }

    pub(crate) async fn post_raw(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .gw
            .http
            .post(self.gw.url(path))
            .header(COOKIE, &self.cookie)
            .form(form);
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        req.send().await.unwrap()
    }
}

pub(crate) async fn seed_user(gw: &Gw, username: &str) {
    let store = &gw.running.as_ref().unwrap().store;
    let now = 1_700_000_000;
    let user = User {
        pool_id: "default".into(),
        id: format!("sub-{username}"),
        username: username.into(),
        enabled: true,
        email: Some(format!("{username}@example.com")),
        email_norm: Some(format!("{username}@example.com")),
        email_verified: true,
        attributes: Default::default(),
        groups: vec![],
        created_at: now,
        updated_at: now,
        tokens_valid_after: 0,
    };
    let link = IdentityLink {
        pool_id: "default".into(),
        provider_name: "Google".into(),
        provider_type: ptype("Google"),
        subject: format!("g-{username}"),
        issuer: None,
        user_id: user.id.clone(),
        primary: true,
        created_at_ms: now * 1000,
    };
    store.create_user_with_identity(&user, &link).await.unwrap();
}

#[tokio::test]
async fn console_sign_in_csrf_and_forms() {
    let gw = Gw::start().await;

    // Not signed in: every page leads to the sign-in form.
    let r = gw.http.get(gw.url("/console/pools")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/signin");

    // A wrong token is refused and opens no session.
    let (pre, csrf) = signin_form(&gw).await;
    let r = post_signin(&gw, &pre, &csrf, "test-admin-token-0123456780").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(cookie_pair(&set_cookies(&r), "poolgate-console").is_none());
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("That is not the admin token.")
    );
    // The sign-in form's own token: without it (a cross-site login), refused.
    let r = post_signin(&gw, &pre, "forged", ADMIN_TOKEN).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(cookie_pair(&set_cookies(&r), "poolgate-console").is_none());

    // The session cookie: HttpOnly, SameSite=Strict, host-only, plain name on loopback
    // http (where Secure, hence __Host-, is not possible).
    let (pre, csrf) = signin_form(&gw).await;
    let r = post_signin(&gw, &pre, &csrf, ADMIN_TOKEN).await;
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("poolgate-console="))
        .unwrap();
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=28800"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    assert!(!session.contains("Secure"), "{session}");
    assert!(session.split(';').next().unwrap().len() > 40, "{session}");

    let c = Console::sign_in(&gw).await;
    let (s, body) = c.get("/console/pools").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(">default</a>"), "{body}");
    let csp = gw
        .http
        .get(gw.url("/console/pools"))
        .header(COOKIE, &c.cookie)
        .send()
        .await
        .unwrap()
        .headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );

    // CSRF: without the token, with a wrong one, from a foreign origin, or marked
    // cross-site by the browser: refused, and nothing is created.
    let create = [("id", "forged"), ("domains", "forged.example")];
    let refused = [
        c.post_raw("/console/pools", &create, Some(&gw.base)).await,
        c.post_raw(
            "/console/pools",
            &[("csrf", "x".repeat(43).as_str()), create[0], create[1]],
            Some(&gw.base),
        )
        .await,
        c.post_raw(
            "/console/pools",
            &[("csrf", c.csrf.as_str()), create[0], create[1]],
            Some("https://evil.example"),
        )
        .await,
        c.post_raw(
            "/console/pools",
            &[("csrf", c.csrf.as_str()), create[0], create[1]],
            Some("null"),
        )
        .await,
    ];
    for r in refused {
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("Nothing was changed"));
    }
    let cross = gw
        .http
        .post(gw.url("/console/pools"))
        .header(COOKIE, &c.cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", c.csrf.as_str()), create[0], create[1]])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    // Another session's token is not this one's.
    let other = Console::sign_in(&gw).await;
    assert_ne!(other.csrf, c.csrf);
    let r = c
        .post_raw(
            "/console/pools",
            &[("csrf", other.csrf.as_str()), create[0], create[1]],
            Some(&gw.base),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (s, _) = gw.admin("GET", "/pools/forged", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The same form, from the console's page: the pool exists.
    let r = c
        .post(
            "/console/pools",
            &[("id", "acme"), ("domains", "login.acme.test")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/pools/acme?ok=pool-created");
    let (s, v) = gw.admin("GET", "/pools/acme", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["domains"], json!(["login.acme.test"]));
    let (_, page) = c.get("/console/pools/acme").await;
    assert!(
        page.contains("login.acme.test. CNAME") || page.contains("login.acme.test. A 127.0.0.1"),
        "{page}"
    );
    // Settings: only the form's fields change (the pool's name is kept).
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/acme",
            Some(json!({"settings": {"name": "Acme"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = c
        .post(
            "/console/pools/acme/settings",
            &[("signing_alg", "ES256"), ("email_case_sensitive", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, v) = gw.admin("GET", "/pools/acme", None).await;
    assert_eq!(v["settings"]["signing_alg"], "ES256");
    assert_eq!(v["settings"]["email_case_sensitive"], true);
    assert_eq!(v["settings"]["name"], "Acme");
    let r = c
        .post("/console/pools/acme/settings", &[("signing_alg", "XS256")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, v) = gw.admin("GET", "/pools/acme", None).await;
    assert_eq!(v["settings"]["signing_alg"], "ES256");
    // A refused change lists the service's problems, and writes nothing.
    let r = c
        .post("/console/pools", &[("id", "Bad Id"), ("domains", "")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("id: 1 to 63 of a-z"));

    // A provider through its type's form; the page shows what to give the IdP.
    let (s, form) = c
        .get("/console/pools/default/providers/new?type=Google")
        .await;
    assert_eq!(s, StatusCode::OK);
    let form = form.replace("&#x2f;", "/");
    assert!(
        form.contains(&format!("<code>{}/oauth2/idpresponse</code>", gw.base)),
        "{form}"
    );
    let r = c
        .post(
            "/console/pools/default/providers",
            &[
                ("type", "Google"),
                ("name", "Google"),
                ("client_id", "google-client-1"),
                ("client_secret", "google-secret-1"),
                ("attribute_mapping", "name = name"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, v) = gw
        .admin("GET", "/pools/default/providers/Google", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["type"], "Google");
    assert_eq!(v["details"]["client_id"], "google-client-1");
    assert_eq!(v["details"]["client_secret"], "********");
    assert_eq!(v["attribute_mapping"]["name"], "name");
    // Editing keeps the stored secret when the mask comes back.
    let (_, edit) = c.get("/console/pools/default/providers/Google").await;
    assert!(!edit.contains("google-secret-1"));
    let r = c
        .post(
            "/console/pools/default/providers",
            &[
                ("type", "Google"),
                ("existing", "1"),
                ("name", "Google"),
                ("client_id", "google-client-2"),
                ("client_secret", "********"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let store = &gw.running.as_ref().unwrap().store;
    let rec = store
        .get_provider("default", "Google")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.details["client_id"], "google-client-2");
    assert_eq!(rec.details["client_secret"], "google-secret-1");
    // An OIDC provider without its issuer: the problem in words, nothing stored.
    let r = c
        .post(
            "/console/pools/default/providers",
            &[
                ("type", "OIDC"),
                ("name", "Corp"),
                ("client_id", "x"),
                ("client_secret", "y"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.unwrap();
    assert!(body.contains("issuer"), "{body}");
    assert!(body.contains("role=\"alert\""));
    let (s, _) = gw.admin("GET", "/pools/default/providers/Corp", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // An app client through the form: its secret shown once, on the answer only.
    let r = c
        .post(
            "/console/pools/default/clients",
            &[
                ("name", "Web"),
                (
                    "callback_urls",
                    "https://app.example/cb\nhttp://localhost:3000/cb",
                ),
                ("scope", "openid"),
                ("scope", "email"),
                ("provider", "Google"),
                ("generate_secret", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let page = r.text().await.unwrap();
    let grab = |id: &str| {
        let at = page.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
        page[at..at + page[at..].find('<').unwrap()].to_owned()
    };
    let (client_id, secret) = (grab("client-id"), grab("client-secret"));
    assert_eq!(secret.len(), 43);
    let (s, v) = gw
        .admin("GET", &format!("/pools/default/clients/{client_id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "Web");
    assert_eq!(
        v["callback_urls"],
        json!(["https://app.example/cb", "http://localhost:3000/cb"])
    );
    assert_eq!(v["allowed_scopes"], json!(["openid", "email"]));
    assert_eq!(v["supported_identity_providers"], json!(["Google"]));
    assert_eq!(v["has_secret"], true);
    let (_, again) = c
        .get(&format!("/console/pools/default/clients/{client_id}"))
        .await;
    assert!(again.contains(&client_id) && !again.contains(&secret));
    // A client naming a provider the pool lacks is refused in words.
    let r = c
        .post(
            "/console/pools/default/clients",
            &[
                ("name", "Bad"),
                ("callback_urls", "https://a.example/cb"),
                ("provider", "Nope"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("no provider named"));
    let (_, v) = gw.admin("GET", "/pools/default/clients", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);

    // Users: found by email, disabled, signed out.
    seed_user(&gw, "ada").await;
    let (s, list) = c
        .get("/console/pools/default/users?email=ADA%40example.com")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list.contains("/console/pools/default/users/ada\""),
        "{list}"
    );
    let (_, detail) = c.get("/console/pools/default/users/ada").await;
    assert!(detail.contains("<code>g-ada</code>"), "{detail}");
    let r = c
        .post("/console/pools/default/users/ada/disable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, v) = gw.admin("GET", "/pools/default/users/ada", None).await;
    assert_eq!(v["enabled"], false);
    let (_, detail) = c
        .get("/console/pools/default/users/ada?ok=user-disabled")
        .await;
    assert!(detail.contains("id=\"user-state\">disabled<"));
    // A forged disable of another user changes nothing.
    seed_user(&gw, "bob").await;
    let r = c
        .post_raw(
            "/console/pools/default/users/bob/disable",
            &[],
            Some(&gw.base),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, v) = gw.admin("GET", "/pools/default/users/bob", None).await;
    assert_eq!(v["enabled"], true);

    // Keys: a rotation through the form.
    let (_, before) = gw.admin("GET", "/pools/default/keys", None).await;
    let r = c.post("/console/pools/default/keys/rotate", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, after) = gw.admin("GET", "/pools/default/keys", None).await;
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        before["items"].as_array().unwrap().len() + 1
    );

    // Sign-out ends the session: its cookie no longer opens anything.
    let r = c.post("/console/signout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let gone = set_cookies(&r);
    assert!(
        gone.iter()
            .any(|c| c.starts_with("poolgate-console=;") && c.contains("Max-Age=0"))
    );
    let (s, _) = c.get("/console/pools").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = other.get("/console/pools").await;
    assert_eq!(s, StatusCode::OK, "other sessions live on");
}

#[tokio::test]
async fn console_sessions_expire_when_idle_and_when_old() {
    let tmp = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}/poolgate.db", tmp.path().display());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let clock = FixedClock::at(now_ms);
    let gw = Gw::start_with(&store, tmp.path(), None, Arc::new(clock.clone())).await;

    // Idle: 29 minutes apart keeps it; 30 minutes of silence ends it.
    let c = Console::sign_in(&gw).await;
    for _ in 0..3 {
        clock.advance_secs(29 * 60);
        assert_eq!(c.get("/console/pools").await.0, StatusCode::OK);
    }
    clock.advance_secs(30 * 60);
    assert_eq!(c.get("/console/pools").await.0, StatusCode::SEE_OTHER);
    clock.advance_secs(-30 * 60);
    assert_eq!(
        c.get("/console/pools").await.0,
        StatusCode::SEE_OTHER,
        "an expired session is removed, not only hidden"
    );

    // Absolute: however busy, 8 hours after sign-in it ends.
    let c = Console::sign_in(&gw).await;
    for _ in 0..19 {
        clock.advance_secs(25 * 60);
        assert_eq!(c.get("/console/pools").await.0, StatusCode::OK);
    }
    clock.advance_secs(5 * 60);
    assert_eq!(c.get("/console/pools").await.0, StatusCode::SEE_OTHER);
}

/// Behind a TLS front (a public name over plain HTTP to the gateway), the cookies take
/// the `__Host-` prefix with `Secure`, and the Origin that passes is the https one.
#[tokio::test]
async fn console_cookie_over_https_front() {
    let gw = Gw::start().await;
    let (s, v) = gw
        .admin(
            "POST",
            "/pools",
            Some(json!({"id": "acme", "domains": ["login.acme.test"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let host = "login.acme.test";
    let r = gw
        .http
        .get(gw.url("/console/signin"))
        .header(reqwest::header::HOST, host)
        .send()
        .await
        .unwrap();
    let pre = cookie_pair(&set_cookies(&r), "__Host-poolgate-console-pre").unwrap();
    let csrf = hidden(&r.text().await.unwrap(), "csrf").unwrap();
    let post = |origin: &'static str| {
        gw.http
            .post(gw.url("/console/signin"))
            .header(reqwest::header::HOST, host)
            .header(COOKIE, &pre)
            .header(ORIGIN, origin)
            .form(&[("csrf", csrf.as_str()), ("token", ADMIN_TOKEN)])
            .send()
    };
    let r = post("http://login.acme.test").await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the http origin is not this console's"
    );
    let r = post("https://login.acme.test").await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-poolgate-console="))
        .unwrap();
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    // The plain name is not read over HTTPS: a cookie planted without Secure is ignored.
    let value = session
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1;
    let r = gw
        .http
        .get(gw.url("/console/pools"))
        .header(reqwest::header::HOST, host)
        .header(COOKIE, format!("poolgate-console={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = gw
        .http
        .get(gw.url("/console/pools"))
        .header(reqwest::header::HOST, host)
        .header(COOKIE, format!("__Host-poolgate-console={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
