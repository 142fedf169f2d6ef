//! poolgate's integration tests: one binary, real sockets on 127.0.0.1, real stores,
//! fake upstream providers speaking each provider's wire format.

mod browser;
mod e2e;
mod e2e_linking;
mod fakes;
mod harness;
mod login_page;
mod logout;
mod process;
mod providers;
mod store_conformance;
mod tls;
mod webdriver;
