//! Bulk jobs that survive a crash: the Pearl Diver export and the PebblePad and Paya imports.
//!
//! - [`export`]: every record of an audience to NDJSON or CSV with a checkpoint per synced page
//!   (see `export.rs` for the crash-safety argument, `flatten.rs` for the CSV columns).
//! - [`import_users`], [`import_contacts`]: rows of a CSV validated up front, sent concurrently,
//!   each recorded in an append-only journal beside the input (*started*, then *done* or
//!   *failed*) so that `--resume` sends only what is not done (`journal.rs`, `import.rs`; the
//!   vendor rules that make a resend safe are in `users.rs` and `contacts.rs`).

mod checkpoint;
mod contacts;
mod export;
mod flatten;
pub(crate) mod fsutil;
mod import;
mod journal;
mod users;

/// Awaits `work`, calling `tick` every quarter second meanwhile (a progress line's message).
async fn ticking<F: std::future::Future>(work: F, mut tick: impl FnMut()) -> F::Output {
    use shoal::core::Clock as _;
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            () = shoal::core::SystemClock.sleep(std::time::Duration::from_millis(250)) => tick(),
        }
    }
}

/// `shoal pearldiver export`: returns the JSON summary.
pub use export::run as export;

/// `shoal paya contacts import`: returns the JSON summary.
pub use contacts::run as import_contacts;

/// `shoal pebblepad users import`: returns the JSON summary.
pub use users::run as import_users;
