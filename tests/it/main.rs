//! poolgate's integration tests: one binary, real sockets on 127.0.0.1, real stores,
//! fake upstream providers speaking each provider's wire format.

mod fakes;
mod harness;
mod providers;
mod saml_attacks;
mod saml_e2e;
mod saml_fixtures;
mod saml_logout;
mod saml_metadata;
mod saml_mutation;
mod saml_verify;
