//! Integration tests of shoal-core against small hyper servers on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pacing;
mod ratelimit_model;
mod redaction;
mod retry;
mod server;
mod transport;
