//! poolgate's integration tests: one binary, real sockets on 127.0.0.1, real stores,
//! fake upstream providers speaking each provider's wire format.

mod browser;
mod fakes;
mod harness;
mod login_page;
mod logout;
mod providers;
mod tls;
mod webdriver;
