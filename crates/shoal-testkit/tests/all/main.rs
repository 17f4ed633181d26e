//! Integration tests of the emulators, driven by a plain HTTP client (reqwest), never by Shoal's
//! own clients, so a bug in a client cannot hide a bug in an emulator.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns panic on purpose

mod authorize;
mod common;
mod faults;
mod hostile;
mod paya;
mod pearldiver;
mod pebblepad;
mod sandbox;
mod snapshots;
