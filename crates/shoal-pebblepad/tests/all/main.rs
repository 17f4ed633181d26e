//! The one integration binary of shoal-pebblepad: request snapshots, fixtures, and runs against
//! the testkit emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]
