//! TLS for custom domains: certificate checks (the SNI listener comes with issue 6).

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}")]
    Invalid(String),
}

/// Checks that `cert_pem` and `key_pem` are PEM blocks of a certificate and a key.
pub fn check_pair(_domain: &str, cert_pem: &str, key_pem: &str) -> Result<(), TlsError> {
    if !cert_pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(TlsError::Invalid(
            "certificate_pem: no PEM certificate".into(),
        ));
    }
    if !key_pem.contains("PRIVATE KEY-----") {
        return Err(TlsError::Invalid(
            "private_key_pem: no PEM private key".into(),
        ));
    }
    Ok(())
}
