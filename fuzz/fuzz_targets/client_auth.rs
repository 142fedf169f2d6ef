//! Fuzz target over client authentication headers (`client_auth`: HTTP Basic, RFC 6749
//! section 2.3.1 with RFC 7617). Inputs: (a) a raw `Authorization` value, (b) raw bytes
//! put in a `Basic` header as its base64 payload, (c) an id and secret encoded as the RFC
//! says. Properties: no panic; credentials come only from a `Basic` scheme (any case);
//! each part is exactly its percent-decoding (`+` a space) as an independent decoder
//! here computes it, and bytes that do not decode to UTF-8 are refused, never read as
//! something else; an encoded pair decodes back to itself.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use poolgate::http::hosted::client_auth;

/// application/x-www-form-urlencoded decoding of one value, written out by hand: `+`
/// is a space, `%XY` with two hex digits is that byte, anything else is itself.
fn spec_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn with_header(v: HeaderValue) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, v);
    h
}

fn check_payload(raw: &[u8], scheme: &str) {
    let v = HeaderValue::from_str(&format!("{scheme} {}", STANDARD.encode(raw)))
        .expect("base64 is a valid header value");
    let got = client_auth(&with_header(v));
    let expected = std::str::from_utf8(raw)
        .ok()
        .and_then(|t| t.split_once(':'))
        .and_then(|(id, secret)| Some((spec_decode(id)?, spec_decode(secret)?)));
    match (got, expected) {
        (Ok(auth), Some(pair)) => assert_eq!(auth.basic, Some(pair)),
        (Err(_), None) => {}
        (got, expected) => panic!("{raw:?}: got {got:?}, expected {expected:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        // A raw Authorization header: anything but `Basic` carries no credentials.
        0 => {
            let Ok(v) = HeaderValue::from_bytes(rest) else {
                return;
            };
            if let Ok(auth) = client_auth(&with_header(v))
                && auth.basic.is_some()
            {
                let text = std::str::from_utf8(rest).expect("credentials came from text");
                assert!(text.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("basic ")));
            }
        }
        // Any bytes as the payload of a Basic header, under a scheme name of any case.
        1 => {
            let scheme = if rest.first().is_some_and(|b| b & 1 == 1) {
                "basic"
            } else {
                "BASIC"
            };
            check_payload(rest, "Basic");
            check_payload(rest, scheme);
        }
        // An id and a secret encoded as the RFC says: they come back unchanged.
        _ => {
            let text = String::from_utf8_lossy(rest);
            let text: &str = &text;
            let (id, secret) = text.split_once('\u{0}').unwrap_or((text, ""));
            let raw = format!("{}:{}", form_encode(id), form_encode(secret));
            let v = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw)))
                .expect("base64 is a valid header value");
            let auth = client_auth(&with_header(v)).expect("well-formed Basic credentials");
            assert_eq!(auth.basic, Some((id.to_owned(), secret.to_owned())));
        }
    }
});
