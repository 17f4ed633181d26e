//! The facade's integration tests: every client together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hostile;
