//! The one integration test binary of shoal-pearldiver: model round trips, and (feature
//! `client`) the client against captured requests and the testkit emulator.

// Test helpers outside `#[test]` functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

#[cfg(feature = "client")]
mod emulator;
mod fixtures;
#[cfg(feature = "client")]
mod requests;
mod roundtrip;
#[cfg(feature = "client")]
mod support;
