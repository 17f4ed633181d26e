//! shoal-sync integration tests: the engine against the testkit's Pearl Diver emulator, into
//! SQLite in-process and into Postgres servers the tests start themselves, plus real worker
//! processes killed mid-sync.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod hostile;
mod incremental;
mod postgres;
mod processes;
mod singer;
mod support;
