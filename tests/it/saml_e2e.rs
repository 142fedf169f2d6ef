//! SAML end to end over real HTTP: `/oauth2/authorize?identity_provider=...` through
//! the signed AuthnRequest, an AD FS-shaped response posted to the ACS, to pool tokens
//! with the mapped attributes; and the catalogue of refusals through the ACS (no code
//! delivered, no 5xx).

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use super::harness::{Gw, authorize_url};
use super::saml_fixtures::*;

pub const APP: &str = "https://app.example/cb";
pub const SP: &str = "urn:poolgate:sp:default";
const SSO: &str = "https://adfs.corp.example/adfs/ls/";
pub const SLO: &str = "https://adfs.corp.example/adfs/ls/slo";

pub struct Env {
    pub gw: Gw,
    pub idp: Idp,
    pub client_id: String,
    pub secret: String,
}

pub async fn env(details: Value) -> Env {
    let mut gw = Gw::start().await;
    // The browser: SP-initiated sign-ins are bound to it by a cookie.
    gw.http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let idp = Idp::new("http://adfs.corp.example/adfs/services/trust");
    let mut d = details;
    let slo = d["idp_signout"].as_bool().unwrap_or(false).then_some(SLO);
    d["metadata_xml"] = json!(idp.metadata(SSO, slo, &[]));
    gw.put_provider(
        "AcmeADFS",
        json!({"type": "SAML", "details": d, "idp_identifiers": ["corp.example"]}),
    )
    .await;
    let (client_id, secret) = gw
        .client(json!({
            "name": "app", "generate_secret": true, "callback_urls": [APP],
            "logout_urls": ["https://app.example/bye"],
            "supported_identity_providers": ["AcmeADFS"],
        }))
        .await;
    Env {
        gw,
        idp,
        client_id,
        secret: secret.unwrap(),
    }
}

/// What the IdP receives: the AuthnRequest's ID and the RelayState.
pub struct Sent {
    pub request_id: String,
    pub relay_state: String,
}

impl Env {
    pub fn acs(&self) -> String {
        self.gw.url("/saml2/idpresponse")
    }

    /// Starts a sign-in as the app would; returns what reached the IdP.
    pub async fn begin(&self) -> Sent {
        let url = authorize_url(
            &self.gw,
            &self.client_id,
            APP,
            &[
                ("identity_provider", "AcmeADFS"),
                ("scope", "openid email profile"),
                ("state", "app-state-1"),
            ],
        );
        let r = self.gw.http.get(url).send().await.unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        let loc = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert!(loc.as_str().starts_with(SSO), "{loc}");
        let q: BTreeMap<String, String> = loc.query_pairs().into_owned().collect();
        assert_eq!(
            q["SigAlg"],
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        );
        assert!(q.contains_key("Signature"));
        let raw = STANDARD.decode(&q["SAMLRequest"]).unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(raw.as_slice())
            .read_to_string(&mut xml)
            .unwrap();
        assert!(
            xml.contains(&format!("AssertionConsumerServiceURL=\"{}\"", self.acs())),
            "{xml}"
        );
        assert!(xml.contains(&format!("<saml:Issuer>{SP}</saml:Issuer>")));
        let id_at = xml.find(" ID=\"").unwrap() + 5;
        let request_id = xml[id_at..id_at + xml[id_at..].find('"').unwrap()].to_owned();
        assert_eq!(request_id.len(), 33, "128-bit ID: {request_id}");
        Sent {
            request_id,
            relay_state: q["RelayState"].clone(),
        }
    }

    /// Posts a response to the ACS; returns status and Location (if any).
    pub async fn post(&self, saml_response: &str, relay_state: &str) -> (StatusCode, Option<Url>) {
        let r = self
            .gw
            .http
            .post(self.acs())
            .form(&[("SAMLResponse", saml_response), ("RelayState", relay_state)])
            .send()
            .await
            .unwrap();
        let loc = r
            .headers()
            .get("location")
            .map(|l| Url::parse(l.to_str().unwrap()).unwrap());
        (r.status(), loc)
    }

    pub fn spec(&self, sent: &Sent) -> Spec {
        Spec::adfs(&self.idp, SP, &self.acs(), Some(&sent.request_id))
    }

    pub async fn tokens(&self, code: &str) -> Value {
        let (s, v) = self
            .gw
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", APP),
                ],
                Some((&self.client_id, &self.secret)),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }
}

pub fn code_of(loc: &Option<Url>) -> Option<String> {
    loc.as_ref()?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Refused: no code, not a server error.
fn assert_refused(name: &str, (status, loc): &(StatusCode, Option<Url>)) {
    assert!(!status.is_server_error(), "{name}: {status}");
    assert!(
        code_of(loc).is_none(),
        "{name}: a code was delivered: {loc:?}"
    );
}

#[tokio::test]
async fn adfs_sign_in_end_to_end() {
    let e = env(json!({})).await;
    let sent = e.begin().await;
    let xml = response(&e.spec(&sent), &e.idp);
    let (status, loc) = e.post(&b64(&xml), &sent.relay_state).await;
    assert!(status.is_redirection(), "{status}");
    let loc = loc.unwrap();
    assert!(loc.as_str().starts_with(APP), "{loc}");
    let q: BTreeMap<String, String> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "app-state-1");
    let t = e.tokens(&q["code"]).await;
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["email"], "jdoe@corp.example");
    assert_eq!(id["email_verified"], false);
    assert_eq!(id["given_name"], "Jane");
    assert_eq!(id["family_name"], "Doe");
    assert_eq!(id["cognito:username"], "AcmeADFS_CORP\\jdoe");
    // An upstream's groups never become the pool's groups (interface.md section 5).
    assert!(
        id.get("groups").is_none() && id.get("cognito:groups").is_none(),
        "{id}"
    );
    let ident = &id["identities"][0];
    assert_eq!(ident["providerType"], "SAML");
    assert_eq!(ident["providerName"], "AcmeADFS");
    assert_eq!(ident["userId"], "CORP\\jdoe");
    assert_eq!(ident["issuer"], e.idp.entity_id);

    // The same response again: the flow was consumed, and the assertion remembered.
    assert_refused("posted twice", &e.post(&b64(&xml), &sent.relay_state).await);
    let again = e.begin().await;
    assert_refused(
        "replayed into a new flow",
        &e.post(&b64(&xml), &again.relay_state).await,
    );
}

#[tokio::test]
async fn sp_metadata_and_encrypted_assertions() {
    let e = env(json!({"encrypted_responses": true})).await;
    let md =
        e.gw.http
            .get(e.gw.url("/saml2/metadata"))
            .send()
            .await
            .unwrap();
    assert_eq!(md.status(), StatusCode::OK);
    let md = md.text().await.unwrap();
    assert!(md.contains(&format!("entityID=\"{SP}\"")));
    assert!(md.contains(&format!("Location=\"{}\"", e.acs())));
    let enc_at = md.find("use=\"encryption\"").unwrap();
    let c0 = enc_at + md[enc_at..].find("<ds:X509Certificate>").unwrap() + 20;
    let cert = STANDARD
        .decode(&md[c0..c0 + md[c0..].find('<').unwrap()])
        .unwrap();
    for enc in [Enc::Cbc256, Enc::Gcm256] {
        let sent = e.begin().await;
        let spec = e.spec(&sent);
        let ea = encrypt(&assertion(&spec, &e.idp), &cert, enc);
        let (status, loc) = e
            .post(&b64(&response_with(&spec, &ea, &e.idp)), &sent.relay_state)
            .await;
        assert!(status.is_redirection());
        let code = code_of(&loc).unwrap_or_else(|| panic!("no code: {loc:?}"));
        let id = claims(e.tokens(&code).await["id_token"].as_str().unwrap());
        assert_eq!(id["email"], "jdoe@corp.example");
    }
    // Plain assertions are refused when encryption is required.
    let sent = e.begin().await;
    assert_refused(
        "unencrypted",
        &e.post(&b64(&response(&e.spec(&sent), &e.idp)), &sent.relay_state)
            .await,
    );
}

#[tokio::test]
async fn acs_refusals_deliver_no_code() {
    let e = env(json!({})).await;
    let other = Idp::new(&e.idp.entity_id);
    type Case = (&'static str, Box<dyn Fn(&Env, &Sent) -> String>);
    let cases: Vec<Case> = vec![
        (
            "modified",
            Box::new(|e, s| response(&e.spec(s), &e.idp).replace("CORP\\jdoe", "CORP\\admin")),
        ),
        (
            "unsigned",
            Box::new(|e, s| {
                let mut sp = e.spec(s);
                sp.sign_assertion = false;
                response(&sp, &e.idp)
            }),
        ),
        (
            "foreign key",
            Box::new(move |e, s| response(&e.spec(s), &other)),
        ),
        (
            "rsa-sha1",
            Box::new(|e, s| {
                let mut sp = e.spec(s);
                sp.sig_alg = RSA_SHA1;
                sp.digest = SHA1;
                response(&sp, &e.idp)
            }),
        ),
        (
            "audience",
            Box::new(|e, s| {
                let mut sp = e.spec(s);
                sp.audience = "urn:poolgate:sp:other".into();
                response(&sp, &e.idp)
            }),
        ),
        (
            "recipient",
            Box::new(|e, s| {
                let mut sp = e.spec(s);
                sp.recipient = "https://evil.example/saml2/idpresponse".into();
                response(&sp, &e.idp)
            }),
        ),
        (
            "expired",
            Box::new(|e, s| {
                let mut sp = e.spec(s);
                sp.issue_instant -= 7200;
                sp.not_before -= 7200;
                sp.not_on_or_after = now() - 3600;
                response(&sp, &e.idp)
            }),
        ),
        (
            "in-response-to",
            Box::new(|e, s| {
                let mut sp = e.spec(s);
                sp.in_response_to = Some("_other".into());
                response(&sp, &e.idp)
            }),
        ),
        (
            "doctype",
            Box::new(|e, s| {
                format!(
                    "<!DOCTYPE r [<!ENTITY x SYSTEM \"http://127.0.0.1:9/\">]>{}",
                    response(&e.spec(s), &e.idp)
                )
            }),
        ),
        (
            "comment in NameID",
            Box::new(|e, s| {
                let mut sp = e.spec(s);
                sp.name_id = "admin@corp.example.evil.example".into();
                response(&sp, &e.idp)
                    .replace("admin@corp.example.evil", "admin@corp.example<!---->.evil")
            }),
        ),
    ];
    for (name, make) in cases {
        let sent = e.begin().await;
        let r = e.post(&b64(&make(&e, &sent)), &sent.relay_state).await;
        assert_refused(name, &r);
        let (_, loc) = &r;
        let loc = loc
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no redirect"));
        assert!(loc.as_str().starts_with(APP), "{name}: {loc}");
        assert!(
            loc.query_pairs()
                .any(|(k, v)| k == "error" && v == "access_denied"),
            "{name}"
        );
    }
    // Malformed base64, and no RelayState at all.
    let sent = e.begin().await;
    assert_refused("base64", &e.post("%%%not base64", &sent.relay_state).await);
    let good = response(&e.spec(&sent), &e.idp);
    assert_refused("no relay state", &e.post(&b64(&good), "").await);
    // A 2 MB body: refused before parsing.
    let big = "A".repeat(2_000_000);
    let (status, _) = e.post(&big, &sent.relay_state).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A refused post consumed its flow (the RelayState is single-use); a fresh flow
    // with the genuine response signs in.
    assert_refused(
        "flow consumed",
        &e.post(&b64(&good), &sent.relay_state).await,
    );
    let fresh = e.begin().await;
    let (_, loc) = e
        .post(&b64(&response(&e.spec(&fresh), &e.idp)), &fresh.relay_state)
        .await;
    assert!(code_of(&loc).is_some(), "{loc:?}");
}

#[tokio::test]
async fn idp_initiated_only_when_allowed_and_once() {
    let e = env(json!({"allow_idp_initiated": true})).await;
    let mut spec = Spec::adfs(&e.idp, SP, &e.acs(), None);
    spec.in_response_to = None;
    let xml = b64(&response(&spec, &e.idp));
    let relay = format!(
        "client_id={}&redirect_uri={}&response_type=code&scope=openid+email",
        e.client_id,
        url::form_urlencoded::byte_serialize(APP.as_bytes()).collect::<String>()
    );
    let (_, loc) = e.post(&xml, &relay).await;
    assert!(code_of(&loc).is_some(), "{loc:?}");
    assert_refused("unsolicited replay", &e.post(&xml, &relay).await);

    let strict = env(json!({})).await;
    let mut spec = Spec::adfs(&strict.idp, SP, &strict.acs(), None);
    spec.in_response_to = None;
    let relay = format!(
        "client_id={}&redirect_uri={}",
        strict.client_id,
        url::form_urlencoded::byte_serialize(APP.as_bytes()).collect::<String>()
    );
    assert_refused(
        "not allowed",
        &strict
            .post(&b64(&response(&spec, &strict.idp)), &relay)
            .await,
    );
}

#[tokio::test]
async fn registration_refuses_metadata_without_signing_key() {
    let gw = Gw::start().await;
    let idp = Idp::new("http://adfs.corp.example/adfs/services/trust");
    let md = idp
        .metadata(SSO, None, &[])
        .replace("use=\"signing\"", "use=\"encryption\"");
    let (s, v) = gw
        .admin(
            "PUT",
            "/pools/default/providers/NoKey",
            Some(json!({"type": "SAML", "details": {"metadata_xml": md}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("signing"), "{v}");
}
