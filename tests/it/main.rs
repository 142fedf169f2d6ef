//! poolgate's integration tests: one binary, real sockets on 127.0.0.1, real stores,
//! fake upstream providers speaking each provider's wire format.

// The fakes carry knobs and helpers for the end-to-end tests too; not all are used here.
#[allow(dead_code)]
mod fakes;
mod providers;
