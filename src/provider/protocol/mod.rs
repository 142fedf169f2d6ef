//! Shared upstream protocol code: OAuth2 code exchange and PKCE, OIDC discovery, JWKS and id_token checks.

pub mod saml;
