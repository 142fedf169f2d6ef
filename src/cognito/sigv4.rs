//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`) verification of Cognito API calls:
//! the canonical request and string to sign rebuilt from what arrived, the signing key
//! derived from the admin token, and the signatures compared in constant time.
//!
//! The HMAC-SHA256 and SHA-256 maths are aws-lc-rs's (already the crate's primitive
//! library); only the canonical forms are built here, as the SigV4 documentation
//! defines them, and tested against requests that boto3 and the AWS CLI signed.

use aws_lc_rs::{digest, hmac};
use axum::http::HeaderMap;
use chrono::NaiveDateTime;

use super::error::CognitoError;
use crate::secret::constant_time_eq;

/// The only algorithm AWS clients use with SigV4 and a secret key.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service name of the credential scope.
pub const SERVICE: &str = "cognito-idp";
/// Largest difference between the request's `X-Amz-Date` and our clock (AWS's rule).
pub const MAX_SKEW_S: i64 = 300;

/// The request as it arrived, for verification.
pub struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// What a verified signature tells about the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The region of the credential scope (`us-east-1`, ...).
    pub region: String,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, PartialEq, Eq)]
struct AuthHeader<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn incomplete(msg: impl Into<String>) -> CognitoError {
    CognitoError::new("IncompleteSignatureException", msg)
}

fn invalid_signature(msg: impl Into<String>) -> CognitoError {
    CognitoError::new("InvalidSignatureException", msg)
}

fn unrecognized() -> CognitoError {
    CognitoError::new(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
}

fn parse_auth(value: &str) -> Result<AuthHeader<'_>, CognitoError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            incomplete(format!(
                "Authorization header requires the {ALGORITHM} algorithm."
            ))
        })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| incomplete("Authorization header is malformed."))?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => {
                return Err(incomplete(format!(
                    "Authorization header has an unknown part {k}."
                )));
            }
        };
        if slot.replace(v).is_some() {
            return Err(incomplete(format!("Authorization header repeats {k}.")));
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(incomplete(
            "Credential must be KEY/DATE/REGION/SERVICE/aws4_request.",
        ));
    };
    let signed_headers: Vec<&str> = signed.split(';').collect();
    if signed_headers
        .iter()
        .any(|h| h.is_empty() || *h != h.to_ascii_lowercase())
    {
        return Err(incomplete(
            "SignedHeaders must be lower-case names separated by ';'.",
        ));
    }
    Ok(AuthHeader {
        access_key_id,
        date,
        region,
        service,
        terminator,
        signed_headers,
        signature,
    })
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4
/// wants (upper-case hex).
fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The canonical URI: each segment of the path as the client sent it, encoded once
/// more (every AWS service but S3 double-encodes).
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// The canonical query: pairs decoded, encoded again, sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header's values as SigV4 canonicalises them: trimmed, inner runs of spaces
/// collapsed, several values joined by `,`. `None` when the header is absent.
fn canonical_header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = Vec::new();
    for v in headers.get_all(name) {
        let text = String::from_utf8_lossy(v.as_bytes());
        values.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    (!values.is_empty()).then(|| values.join(","))
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// The signature the client should have sent, from the parts it said it signed.
fn expected_signature(
    req: &Signed<'_>,
    auth: &AuthHeader<'_>,
    amz_date: &str,
    secret: &str,
) -> Result<String, CognitoError> {
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let value = canonical_header_value(req.headers, name).ok_or_else(|| {
            invalid_signature(format!("The signed header {name} is not in the request."))
        })?;
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&value);
        canonical_headers.push('\n');
    }
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        auth.signed_headers.join(";"),
        sha256_hex(req.body),
    );
    let scope = format!(
        "{}/{}/{}/{}",
        auth.date, auth.region, auth.service, auth.terminator
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), auth.date);
    let k_region = hmac_sha256(&k_date, auth.region);
    let k_service = hmac_sha256(&k_region, auth.service);
    let k_signing = hmac_sha256(&k_service, auth.terminator);
    Ok(hex::encode(hmac_sha256(&k_signing, &string_to_sign)))
}

/// Verifies the request's SigV4 signature against `access_key_id` and `secret` at
/// `now` (unix seconds). Errors as AWS answers them: `UnrecognizedClientException`
/// for a missing or unknown credential, `IncompleteSignatureException` for a
/// malformed header, `InvalidSignatureException` for a wrong signature or a date more
/// than five minutes off.
pub fn verify(
    req: &Signed<'_>,
    access_key_id: &str,
    secret: &str,
    now: i64,
) -> Result<Verified, CognitoError> {
    let Some(header) = req.headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(CognitoError::new(
            "UnrecognizedClientException",
            "Missing Authentication Token: the request must be signed with AWS Signature Version 4.",
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| incomplete("Authorization header is not ASCII."))?;
    let auth = parse_auth(header)?;
    if !constant_time_eq(auth.access_key_id.as_bytes(), access_key_id.as_bytes()) {
        return Err(unrecognized());
    }
    // Session credentials are never ours: poolgate issues no session tokens.
    if req.headers.contains_key("x-amz-security-token") {
        return Err(unrecognized());
    }
    if auth.service != SERVICE || auth.terminator != "aws4_request" {
        return Err(invalid_signature(format!(
            "Credential should be scoped to a valid region and to the service '{SERVICE}'."
        )));
    }
    let region_ok = !auth.region.is_empty()
        && auth.region.len() <= 32
        && auth
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(invalid_signature(
            "Credential should be scoped to a valid region.",
        ));
    }
    for required in ["host", "x-amz-date"] {
        if !auth.signed_headers.contains(&required) {
            return Err(invalid_signature(format!(
                "The '{required}' header must be signed."
            )));
        }
    }
    let amz_date = req
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| incomplete("The X-Amz-Date header is required."))?;
    let at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| incomplete("X-Amz-Date must be YYYYMMDD'T'HHMMSS'Z'."))?
        .and_utc()
        .timestamp();
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(invalid_signature(
            "Credential should be scoped to the date of X-Amz-Date.",
        ));
    }
    if (now - at).abs() > MAX_SKEW_S {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is more than 5 minutes from the server's time."
        )));
    }
    let expected = expected_signature(req, &auth, amz_date, secret)?;
    if !constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(invalid_signature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ));
    }
    Ok(Verified {
        region: auth.region.to_owned(),
    })
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
