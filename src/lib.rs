//! poolgate: a self-hosted federation gateway. Requests flow one way:
//! `http/cognito -> admin -> flow -> {provider, identity, token, tls, hooks} -> store`
//! (docs/architecture.md; `tests/it/layers.rs` checks it).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod admin;
pub mod clock;
pub mod cognito;
pub mod config;
pub mod flow;
pub mod hooks;
pub mod http;
pub mod identity;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod native;
pub mod provider;
pub mod secret;
pub mod server;
pub mod store;
pub mod tls;
pub mod token;
