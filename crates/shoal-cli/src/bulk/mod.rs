//! Bulk jobs that survive a crash: the Pearl Diver export and the PebblePad and Paya imports.

use shoal::paya::PayaClient;
use shoal::pearldiver::PearlDiverClient;

use crate::args::{ExportArgs, ImportArgs};
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::Ui;

/// `shoal pearldiver export`: returns the JSON summary.
pub async fn export(client: &PearlDiverClient, args: &ExportArgs, ui: Ui) -> CliResult<serde_json::Value> {
    let _ = (client, args, ui);
    Err(CliError::new(Failure::Internal, "export is not available in this build"))
}

/// `shoal paya contacts import`: returns the JSON summary.
pub async fn import_contacts(
    client: &PayaClient,
    args: &ImportArgs,
    location_id: &str,
    ui: Ui,
) -> CliResult<serde_json::Value> {
    let _ = (client, args, location_id, ui);
    Err(CliError::new(Failure::Internal, "contact import is not available in this build"))
}
