//! poolgate's integration tests: one binary, real sockets on 127.0.0.1, real stores,
//! fake upstream providers speaking each provider's wire format.

mod admin_api;
mod attacks;
mod browser;
mod compose;
mod e2e;
mod e2e_linking;
mod e2e_social;
mod e2e_social_linking;
mod fakes;
mod harness;
mod login_page;
mod logout;
mod process;
mod providers;
mod redis_cluster_http;
mod redis_conformance;
mod redis_fault;
mod redis_fixtures;
mod redis_gateway;
mod redis_server;
mod redis_store;
mod redis_tls;
mod redis_tokens;
mod redis_users;
mod saml_attacks;
mod saml_e2e;
mod saml_fixtures;
mod saml_logout;
mod saml_metadata;
mod saml_mutation;
mod saml_store;
mod saml_verify;
mod store_conformance;
mod tls;
mod webdriver;
