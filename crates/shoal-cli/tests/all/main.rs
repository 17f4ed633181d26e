//! The `shoal` binary driven as a real process against the emulators (started by `shoal sandbox`
//! as a child process, or in-process by `shoal demo`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bulk_export;
mod bulk_import;
mod bulk_progress;
mod bulk_support;
mod demo;
mod doctor;
mod env;
mod hostile;
mod paya;
mod pearldiver;
mod pebblepad;
mod sandbox;
mod support;
mod sync;
mod wire;
