//! poolgate's integration tests: one binary, real sockets on 127.0.0.1, real stores,
//! fake upstream providers speaking each provider's wire format.

mod e2e;
mod e2e_linking;
mod e2e_social;
mod e2e_social_linking;
mod fakes;
mod harness;
mod process;
mod providers;
mod store_conformance;
