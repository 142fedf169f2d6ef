//! poolgate: a self-hosted federation gateway. Requests flow one way:
//! `http -> flow -> {provider, identity, token} -> store`.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod clock;
pub mod model;
pub mod provider;
pub mod store;
