//! The one integration binary of shoal-pebblepad: request snapshots, installations, decoded
//! fixtures, client behaviour over a capture transport, and runs against the testkit emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod addressing;
mod behaviour;
mod emulator;
mod fixtures;
mod installations;
mod pacing;
mod requests;
mod support;
