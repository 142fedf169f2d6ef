//! The HTTPS listener: rustls (certificate by SNI) in front of the same router as the
//! HTTP listener, each request marked with [`super::ViaTls`] so its issuer is
//! `https://DOMAIN`. Connections are served by `server::serve` (timeouts, connection
//! cap, HTTP/2 by ALPN with its own limits, drain on shutdown).

use std::sync::Arc;

use super::{CertStore, SniResolver, TlsError, provider};

/// The rustls server configuration: TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by ALPN,
/// certificates chosen by SNI from `certs`.
pub fn server_config(certs: Arc<CertStore>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(format!("TLS configuration: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver(certs)));
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
