//! Fuzz target over SigV4 verification of Cognito API calls (`sigv4::verify`: the
//! `Authorization` header parser, the canonical request, the date and scope checks)
//! against a request boto3 signed (tests/fixtures/sigv4/). Inputs: (a) a raw
//! `Authorization` value on the genuine request, (b) edit scripts over the genuine
//! request: bytes of the method, path, query, body, `Authorization`, `X-Amz-Date` and
//! `Host` set, inserted, deleted or cut, headers added. Properties: no panic; a request
//! that verifies carries the signature boto3 computed, the same method, body, date and
//! the same canonical value of every header it signed, and no session token.
#![no_main]

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use poolgate::cognito::sigv4::{Signed, verify};

const FIXTURE: &str = include_str!("../../tests/fixtures/sigv4/boto3-describe-user-pool.http");
const SECRET: &str = "fixture-secret-0123456789abcdef";
const ACCESS_KEY: &str = "poolgate";

#[derive(Clone)]
struct Request {
    method: Vec<u8>,
    path: Vec<u8>,
    query: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

struct Fixture {
    genuine: Request,
    signature: String,
    now: i64,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (head, body) = FIXTURE.split_once("\r\n\r\n").unwrap();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap().split(' ');
        let method = first.next().unwrap().as_bytes().to_vec();
        let path = first.next().unwrap().as_bytes().to_vec();
        let headers: Vec<(String, Vec<u8>)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_ascii_lowercase(), v.trim().as_bytes().to_vec())
            })
            .collect();
        let genuine = Request {
            method,
            path,
            query: Vec::new(),
            headers,
            body: body.as_bytes().to_vec(),
        };
        let auth = String::from_utf8(value(&genuine, "authorization").unwrap()).unwrap();
        let signature = auth.rsplit_once("Signature=").unwrap().1.to_owned();
        let date = String::from_utf8(value(&genuine, "x-amz-date").unwrap()).unwrap();
        let now = chrono::NaiveDateTime::parse_from_str(&date, "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc()
            .timestamp();
        let f = Fixture {
            genuine,
            signature,
            now,
        };
        assert!(check(&f.genuine, f.now).expect("headers").is_ok(), "the genuine request verifies");
        f
    })
}

fn value(r: &Request, name: &str) -> Option<Vec<u8>> {
    r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// SigV4's canonical header value: each value trimmed with inner spaces collapsed,
/// several joined by `,`.
fn canonical(r: &Request, name: &str) -> Option<String> {
    let values: Vec<String> = r
        .headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| {
            String::from_utf8_lossy(v)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Verifies `r`; `None` when it cannot be carried by HTTP at all.
fn check(r: &Request, now: i64) -> Option<Result<(), String>> {
    let method = std::str::from_utf8(&r.method).ok()?;
    let path = std::str::from_utf8(&r.path).ok()?;
    let query = std::str::from_utf8(&r.query).ok()?;
    axum::http::Method::from_bytes(method.as_bytes()).ok()?;
    let mut headers = HeaderMap::new();
    for (k, v) in &r.headers {
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).ok()?,
            HeaderValue::from_bytes(v).ok()?,
        );
    }
    let signed = Signed {
        method,
        path,
        query,
        headers: &headers,
        body: &r.body,
    };
    Some(
        verify(&signed, ACCESS_KEY, SECRET, now)
            .map(|_| ())
            .map_err(|e| e.code.to_owned()),
    )
}

fn edit(bytes: &mut Vec<u8>, kind: u8, pos: u8, v: u8) {
    let len = bytes.len();
    match kind % 4 {
        0 if len > 0 => bytes[pos as usize % len] = v,
        1 => bytes.insert(pos as usize % (len + 1), v),
        2 if len > 0 => {
            bytes.remove(pos as usize % len);
        }
        3 => bytes.truncate(pos as usize % (len + 1)),
        _ => {}
    }
}

fn header_mut<'a>(r: &'a mut Request, name: &str) -> &'a mut Vec<u8> {
    if let Some(i) = r.headers.iter().position(|(k, _)| k == name) {
        return &mut r.headers[i].1;
    }
    r.headers.push((name.to_owned(), Vec::new()));
    &mut r.headers.last_mut().unwrap().1
}

const ADDED: [&str; 6] = [
    "host",
    "x-amz-date",
    "x-amz-target",
    "content-type",
    "x-amz-security-token",
    "authorization",
];

fn assert_same_signed_request(f: &Fixture, r: &Request) {
    let g = &f.genuine;
    assert_eq!(r.method, g.method, "method");
    assert_eq!(r.body, g.body, "body");
    assert!(value(r, "x-amz-security-token").is_none(), "session token");
    let auth = canonical(r, "authorization").unwrap();
    assert!(auth.contains(&f.signature), "signature {auth}");
    for name in ["host", "x-amz-date", "x-amz-target", "content-type"] {
        assert_eq!(canonical(r, name), canonical(g, name), "{name}");
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut r = f.genuine.clone();
    if mode % 2 == 0 {
        // A raw Authorization value on the genuine request.
        *header_mut(&mut r, "authorization") = rest.to_vec();
    } else {
        for e in rest.chunks_exact(3) {
            let (t, pos, v) = (e[0], e[1], e[2]);
            let kind = t / 8;
            match t % 8 {
                0 => edit(&mut r.method, kind, pos, v),
                1 => edit(&mut r.path, kind, pos, v),
                2 => edit(&mut r.query, kind, pos, v),
                3 => edit(&mut r.body, kind, pos, v),
                4 => edit(header_mut(&mut r, "authorization"), kind, pos, v),
                5 => edit(header_mut(&mut r, "x-amz-date"), kind, pos, v),
                6 => edit(header_mut(&mut r, "host"), kind, pos, v),
                _ => {
                    let name = ADDED[pos as usize % ADDED.len()];
                    r.headers.push((name.to_owned(), vec![v; (kind % 3) as usize]));
                }
            }
        }
    }
    if let Some(Ok(())) = check(&r, f.now) {
        assert_same_signed_request(f, &r);
    }
});
