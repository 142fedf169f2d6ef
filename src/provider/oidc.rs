//! The generic OpenID Connect adapter.
