//! TLS for custom domains: checks of an uploaded certificate and key (PEM chain, names,
//! key match, validity), the SNI certificate store kept current from the store, and the
//! HTTPS listener.

pub mod listener;
pub mod sni;

use std::net::IpAddr;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

pub use sni::{CertStore, SniResolver};

/// Marks a request that arrived over TLS (inserted by the HTTPS listener, read by the
/// HTTP layer to answer as `https://DOMAIN`).
#[derive(Clone, Copy, Debug)]
pub struct ViaTls;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> TlsError {
    TlsError::Invalid(msg.into())
}

/// The crypto provider of every TLS object poolgate builds (ring, as reqwest's).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A parsed certificate chain with its key, ready to serve.
pub struct LoadedCert {
    pub certified: Arc<CertifiedKey>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// DNS names of the leaf's subjectAltName, lower case (wildcards kept as `*.x`).
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
}

impl std::fmt::Debug for LoadedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedCert")
            .field("not_after", &self.not_after)
            .field("dns_names", &self.dns_names)
            .finish()
    }
}

/// Parses a PEM chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1), and
/// checks that the key is the leaf's: rustls compares the key's SubjectPublicKeyInfo
/// with the certificate's.
pub fn load_pair(cert_pem: &str, key_pem: &str) -> Result<LoadedCert, TlsError> {
    let mut chain = Vec::new();
    for c in CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
        chain.push(c.map_err(|e| invalid(format!("certificate_pem: not valid PEM ({e})")))?);
    }
    if chain.is_empty() {
        return Err(invalid(
            "certificate_pem: no PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|_| {
        invalid("private_key_pem: no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)")
    })?;
    let (not_before, not_after, dns_names, ip_addresses) = leaf_facts(&chain[0])?;
    for (i, c) in chain.iter().enumerate().skip(1) {
        X509Certificate::from_der(c.as_ref()).map_err(|_| {
            invalid(format!(
                "certificate_pem: certificate {} of the chain is not valid X.509",
                i + 1
            ))
        })?;
    }
    let signing = provider().key_provider.load_private_key(key).map_err(|_| {
        invalid("private_key_pem: unsupported key type (use RSA, ECDSA P-256/P-384 or Ed25519)")
    })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            invalid("private_key_pem: the private key does not belong to the certificate")
        }
        _ => invalid("private_key_pem: the key could not be compared with the certificate"),
    })?;
    Ok(LoadedCert {
        certified: Arc::new(certified),
        not_before,
        not_after,
        dns_names,
        ip_addresses,
    })
}

type LeafFacts = (i64, i64, Vec<String>, Vec<IpAddr>);

fn leaf_facts(leaf: &CertificateDer<'_>) -> Result<LeafFacts, TlsError> {
    let (_, cert) = X509Certificate::from_der(leaf.as_ref())
        .map_err(|_| invalid("certificate_pem: the first certificate is not valid X.509"))?;
    let validity = cert.validity();
    let san = cert
        .subject_alternative_name()
        .map_err(|_| invalid("certificate_pem: malformed subjectAltName extension"))?;
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Some(san) = san {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => dns.push(n.to_ascii_lowercase()),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        ips.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        ips.push(IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }
    Ok((
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
        dns,
        ips,
    ))
}

/// The host part of a `host[:port]` domain, brackets of an IPv6 literal removed.
pub fn host_of(domain: &str) -> &str {
    if let Some(rest) = domain.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match domain.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => domain,
    }
}

/// RFC 6125 section 6.4: exact match, or a wildcard standing for exactly one whole
/// left-most label (`*.acme.com` covers `login.acme.com`, not `acme.com` nor
/// `a.b.acme.com`). Case-insensitive.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(suffix) = pattern.strip_prefix("*.") {
        // A wildcard over a public suffix-like single label (`*.com`) is never honoured.
        if !suffix.contains('.') {
            return false;
        }
        return match host.split_once('.') {
            Some((label, rest)) => !label.is_empty() && rest == suffix,
            None => false,
        };
    }
    pattern == host
}

impl LoadedCert {
    /// Does the leaf name `domain` (its host; an IP literal against IP SANs)?
    pub fn covers(&self, domain: &str) -> bool {
        let host = host_of(domain);
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.ip_addresses.contains(&ip);
        }
        self.dns_names.iter().any(|p| name_matches(p, host))
    }
}

/// The checks of an uploaded pair for `domain` at `now` (unix seconds): PEM, key match,
/// the leaf names the domain's host, and it is valid now.
pub fn check_pair(
    domain: &str,
    cert_pem: &str,
    key_pem: &str,
    now: i64,
) -> Result<LoadedCert, TlsError> {
    let loaded = load_pair(cert_pem, key_pem)?;
    if !loaded.covers(domain) {
        let names = if loaded.dns_names.is_empty() && loaded.ip_addresses.is_empty() {
            "no subjectAltName names".to_owned()
        } else {
            let mut all = loaded.dns_names.clone();
            all.extend(loaded.ip_addresses.iter().map(|i| i.to_string()));
            all.join(", ")
        };
        return Err(invalid(format!(
            "certificate_pem: the certificate is not valid for {} (it names: {names})",
            host_of(domain)
        )));
    }
    if loaded.not_after <= now {
        return Err(invalid(format!(
            "certificate_pem: the certificate expired at {}",
            rfc3339(loaded.not_after)
        )));
    }
    if loaded.not_before > now {
        return Err(invalid(format!(
            "certificate_pem: the certificate is not valid before {}",
            rfc3339(loaded.not_before)
        )));
    }
    Ok(loaded)
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_matches("*.acme.com", "login.acme.com"));
        assert!(name_matches("*.ACME.com", "Login.acme.com"));
        assert!(!name_matches("*.acme.com", "acme.com"));
        assert!(!name_matches("*.acme.com", "a.b.acme.com"));
        assert!(!name_matches("*.com", "acme.com"));
        assert!(name_matches("login.acme.com", "login.acme.com."));
        assert!(!name_matches("login.acme.com", "logout.acme.com"));
    }

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_of("login.acme.com:8443"), "login.acme.com");
        assert_eq!(host_of("login.acme.com"), "login.acme.com");
        assert_eq!(host_of("[::1]:8443"), "::1");
        assert_eq!(host_of("127.0.0.1:1"), "127.0.0.1");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let e = check_pair("a.test", "nope", "nope", 0)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("certificate_pem")));
    }
}
