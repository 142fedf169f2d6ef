//! Benchmark of the SAML ACS: signed AD FS-shaped responses posted to
//! `POST /saml2/idpresponse` of an in-process gateway (SQLite store), each verified,
//! checked against replay, resolved to a user and answered with a code. Prints
//! sign-ins per second. Responses are prepared (and signed) before the clock starts.
//!
//! `cargo run --release --example saml_acs_bench [-- COUNT [CONCURRENCY]]`

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poolgate::clock::SystemClock;
use poolgate::config::Settings;
use poolgate::provider::protocol::saml::redirect::xml_time;
use samael::crypto::{Crypto, CryptoProvider};
use serde_json::{Value, json};

const IDP: &str = "http://adfs.corp.example/adfs/services/trust";
const APP: &str = "https://app.example/cb";

fn signed_response(key: &[u8], acs: &str, request_id: &str, user: usize) -> String {
    let t = chrono::Utc::now().timestamp();
    let aid = format!("_a{request_id}");
    let sig = format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><ds:Reference URI=\"#{aid}\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"
    );
    let claims = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims";
    let assertion = format!(
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{aid}\" IssueInstant=\"{ii}\" Version=\"2.0\"><saml:Issuer>{IDP}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\">CORP\\user{user}</saml:NameID><saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml:SubjectConfirmationData InResponseTo=\"{request_id}\" NotOnOrAfter=\"{noa}\" Recipient=\"{acs}\"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{noa}\"><saml:AudienceRestriction><saml:Audience>urn:poolgate:sp:default</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement><saml:Attribute Name=\"{claims}/emailaddress\"><saml:AttributeValue>user{user}@corp.example</saml:AttributeValue></saml:Attribute><saml:Attribute Name=\"{claims}/givenname\"><saml:AttributeValue>User</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>",
        ii = xml_time(t),
        nb = xml_time(t - 5),
        noa = xml_time(t + 3600),
    );
    let signed = Crypto::sign_xml(&assertion, key).expect("sign");
    let signed = &signed[signed.find("<saml:Assertion").expect("assertion")..];
    let resp = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_r{request_id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{acs}\" InResponseTo=\"{request_id}\"><Issuer xmlns=\"urn:oasis:names:tc:SAML:2.0:assertion\">{IDP}</Issuer><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>{}</samlp:Response>",
        xml_time(t),
        signed.trim_end()
    );
    STANDARD.encode(resp)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(500);
    let conc = args.get(1).copied().unwrap_or(4);
    let tmp = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let env: BTreeMap<String, String> = BTreeMap::from([
        ("POOLGATE_LISTEN".into(), format!("127.0.0.1:{port}")),
        ("POOLGATE_PUBLIC_URL".into(), base.clone()),
        (
            "POOLGATE_STORE".into(),
            format!("sqlite://{}/pg.db", tmp.path().display()),
        ),
        (
            "POOLGATE_ADMIN_TOKEN".into(),
            "bench-admin-token-0123456789".into(),
        ),
        (
            "POOLGATE_PROVIDERS_DIR".into(),
            tmp.path().join("p").display().to_string(),
        ),
        ("RUST_LOG".into(), "error".into()),
        // One driver from one address is the whole load: no rate limit.
        ("POOLGATE_RATE_LIMIT_IP".into(), "0".into()),
        ("POOLGATE_RATE_LIMIT_CLIENT".into(), "0".into()),
    ]);
    let settings = Settings::load(None, &env)?;
    let running =
        poolgate::server::start_on(listener, settings, &env, Arc::new(SystemClock)).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let admin = |m: reqwest::Method, p: &str, b: Value| {
        http.request(m, format!("{base}/admin/v1{p}"))
            .bearer_auth("bench-admin-token-0123456789")
            .json(&b)
            .send()
    };
    let key = KeyPair::generate(KeySize::Rsa2048)?
        .as_der()?
        .as_ref()
        .to_vec();
    let rk = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &key.as_slice().into(),
        &rcgen::PKCS_RSA_SHA256,
    )?;
    let cert = rcgen::CertificateParams::new(Vec::<String>::new())?.self_signed(&rk)?;
    let md = format!(
        "<EntityDescriptor entityID=\"{IDP}\" xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\"><IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>{}</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://adfs.corp.example/adfs/ls/\"/></IDPSSODescriptor></EntityDescriptor>",
        STANDARD.encode(cert.der())
    );
    admin(
        reqwest::Method::PUT,
        "/pools/default/providers/ADFS",
        json!({"type": "SAML", "details": {"metadata_xml": md}}),
    )
    .await?
    .error_for_status()?;
    let client: Value = admin(reqwest::Method::POST, "/pools/default/clients", json!({"name": "bench", "generate_secret": true, "callback_urls": [APP], "supported_identity_providers": ["ADFS"]})).await?.json().await?;
    let client_id = client["client_id"].as_str().unwrap_or_default().to_owned();
    let acs = format!("{base}/saml2/idpresponse");

    eprintln!("preparing {count} sign-ins (authorize + signed response)...");
    let mut prepared = Vec::with_capacity(count);
    for i in 0..count {
        let url = format!(
            "{base}/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&identity_provider=ADFS",
            url::form_urlencoded::byte_serialize(APP.as_bytes()).collect::<String>()
        );
        let r = http.get(url).send().await?;
        let loc = url::Url::parse(r.headers()["location"].to_str()?)?;
        let q: BTreeMap<String, String> = loc.query_pairs().into_owned().collect();
        let raw = STANDARD.decode(&q["SAMLRequest"])?;
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(raw.as_slice()).read_to_string(&mut xml)?;
        let at = xml.find(" ID=\"").unwrap_or(0) + 5;
        let rid = xml[at..at + xml[at..].find('"').unwrap_or(0)].to_owned();
        prepared.push((
            signed_response(&key, &acs, &rid, i % 50),
            q["RelayState"].clone(),
        ));
    }

    let start = Instant::now();
    let queue = Arc::new(tokio::sync::Mutex::new(prepared));
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (queue, http, acs) = (queue.clone(), http.clone(), acs.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            loop {
                let Some((resp, relay)) = queue.lock().await.pop() else {
                    break;
                };
                let r = http
                    .post(&acs)
                    .form(&[("SAMLResponse", resp), ("RelayState", relay)])
                    .send()
                    .await;
                if let Ok(r) = r
                    && r.headers()
                        .get("location")
                        .and_then(|l| l.to_str().ok())
                        .is_some_and(|l| l.contains("code="))
                {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "SAML ACS: {ok}/{count} sign-ins (verify + replay check + user + code) in {secs:.2} s = {:.0} per second ({conc} concurrent)",
        ok as f64 / secs
    );
    running.shutdown().await;
    Ok(())
}
