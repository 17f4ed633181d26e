//! shoal-paya's one integration test binary: request shapes and retry rules over a capturing
//! transport, decoded fixtures, and (with shoal-testkit) end-to-end runs against the emulator.

mod credentials;
mod emulator;
mod fixtures;
mod redaction;
mod requests;
mod retries;
mod support;
