//! Fuzz target over what `/oauth2/token` parses before any lookup: the form body
//! (`parse_form`: a repeated parameter is an error, RFC 6749 section 3.1) and HTTP
//! Basic client authentication (RFC 6749 section 2.3.1: each part form-urlencoded).
//! Properties: no panic; a parsed form holds each name once and survives a re-encoding
//! unchanged; Basic credentials decode only from a well-formed header, and a pair
//! encoded the RFC's way decodes back to itself.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use poolgate::http::hosted::client_auth;
use poolgate::http::parse_form;

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        // The body.
        0 => {
            if let Ok(form) = parse_form(rest) {
                let again: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form.iter())
                    .finish();
                let back = parse_form(again.as_bytes()).expect("a re-encoded form parses");
                assert_eq!(back, form);
            }
        }
        // A raw Authorization header.
        1 => {
            let Ok(v) = HeaderValue::from_bytes(rest) else {
                return;
            };
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v);
            if let Ok(auth) = client_auth(&h)
                && auth.basic.is_some()
            {
                let text = std::str::from_utf8(rest).expect("decoded credentials came from text");
                assert!(text.starts_with("Basic ") || text.starts_with("basic "));
            }
        }
        // An id and a secret encoded as the RFC says: they come back unchanged.
        _ => {
            let text = String::from_utf8_lossy(rest);
            let text: &str = &text;
            let (id, secret) = text.split_once('\u{0}').unwrap_or((text, ""));
            let raw = format!("{}:{}", form_encode(id), form_encode(secret));
            let v = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw)))
                .expect("base64 is a valid header value");
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v);
            let auth = client_auth(&h).expect("well-formed Basic credentials");
            assert_eq!(auth.basic, Some((id.to_owned(), secret.to_owned())));
        }
    }
});
