//! shoal-redis integration tests: fleets of real processes against the testkit emulators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cancellation;
mod credential;
mod fleet;
mod pearldiver_fleet;
mod pebblepad_fleet;
mod server;
