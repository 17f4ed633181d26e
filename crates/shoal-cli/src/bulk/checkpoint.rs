//! The export checkpoint (`FILE.checkpoint`): which job, how far (cursor, bytes, records, pages),
//! replaced atomically after every synced page.

use std::path::Path;

use serde::{Deserialize, Serialize};
use shoal::core::Cursor;
use shoal::pearldiver::AudienceWindow;

use super::fsutil;
use crate::args::ExportFormat;
use crate::exit::{CliError, CliResult, Failure};

/// The format of the checkpoint file; bumped if its meaning changes.
pub const VERSION: u32 = 1;

/// What identifies an export: a checkpoint for another job must not be resumed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportJob {
    /// The audience key.
    pub audience: u64,
    /// The data window.
    pub window: AudienceWindow,
    /// `ndjson` or `csv`.
    pub format: String,
    /// CSV strings written as they are (`--csv-raw`), formula-like ones included.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub csv_raw: bool,
}

impl ExportJob {
    /// The job for these settings.
    pub fn new(audience: u64, window: AudienceWindow, format: ExportFormat) -> Self {
        Self {
            audience,
            window,
            format: format_name(format).to_string(),
            csv_raw: false,
        }
    }

    /// With `raw`, a CSV export writes formula-like strings unneutralised.
    pub fn csv_raw(mut self, raw: bool) -> Self {
        self.csv_raw = raw && self.format == format_name(ExportFormat::Csv);
        self
    }

    /// `audience 17, last 30 days, ndjson`.
    pub fn describe(&self) -> String {
        format!(
            "audience {}, {}, {}",
            self.audience, self.window, self.format
        )
    }
}

/// The name of a format, as written in checkpoints and summaries.
pub fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Ndjson => "ndjson",
        ExportFormat::Csv => "csv",
        ExportFormat::Singer => "singer",
    }
}

/// How far an export got: everything up to `bytes` of the output is complete and synced, and
/// `cursor` fetches the page that follows (`None` before the first page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`VERSION`].
    pub version: u32,
    /// The job.
    pub job: ExportJob,
    /// The next page's cursor; `None` when no page has been written yet.
    pub cursor: Option<Cursor>,
    /// Bytes of the output that are complete.
    pub bytes: u64,
    /// Records in those bytes.
    pub records: u64,
    /// Pages in those bytes.
    pub pages: u64,
    /// Why the server's listing could not go on (its cursors looped or ran empty): the output
    /// holds every page it gave, and resuming would only fetch pages again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl Checkpoint {
    /// The checkpoint of a job that has written nothing yet.
    pub fn start(job: ExportJob) -> Self {
        Self {
            version: VERSION,
            job,
            cursor: None,
            bytes: 0,
            records: 0,
            pages: 0,
            stopped: None,
        }
    }

    /// Replaces the file at `path` with this checkpoint, atomically.
    pub fn save(&self, path: &Path) -> CliResult<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| {
            CliError::new(
                Failure::Internal,
                format!("cannot encode the checkpoint: {e}"),
            )
        })?;
        fsutil::write_atomic(path, &bytes)
    }

    /// The checkpoint at `path`, `None` if there is none.
    pub fn load(path: &Path) -> CliResult<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CliError::io(format!("cannot read {}", path.display()), e)),
        };
        let cp: Self = serde_json::from_slice(&bytes).map_err(|e| {
            CliError::usage(format!(
                "{} is not an export checkpoint: {e}",
                path.display()
            ))
            .hint("remove it and the output to start over")
        })?;
        if cp.version != VERSION {
            return Err(CliError::usage(format!(
                "{} was written by another version of shoal (checkpoint version {})",
                path.display(),
                cp.version
            ))
            .hint("remove it and the output to start over"));
        }
        Ok(Some(cp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_survives_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson.checkpoint");
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        let job = ExportJob::new(17, AudienceWindow::LastDays(30), ExportFormat::Csv);
        let mut cp = Checkpoint::start(job.clone());
        cp.cursor = Some(Cursor::new("eyJvIjoxMDAwfQ"));
        cp.bytes = 12_345;
        cp.records = 1_000;
        cp.pages = 1;
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(cp.clone()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"cursor\": \"eyJvIjoxMDAwfQ\""), "{text}");
        assert!(text.contains("\"lastDays\": 30"), "{text}");
        assert_eq!(job.describe(), "audience 17, last 30 days, csv");
    }

    #[test]
    fn garbage_and_other_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        std::fs::write(&path, b"{nope").unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap_err().kind, Failure::Usage);
        let mut cp = Checkpoint::start(ExportJob::new(
            1,
            AudienceWindow::default(),
            ExportFormat::Ndjson,
        ));
        cp.version = 99;
        std::fs::write(&path, serde_json::to_vec(&cp).unwrap()).unwrap();
        let err = Checkpoint::load(&path).unwrap_err();
        assert!(err.message.contains("version 99"), "{}", err.message);
    }
}
