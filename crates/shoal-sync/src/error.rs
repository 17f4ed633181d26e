//! [`SyncError`]: everything a sync can fail with, each message saying what to do, none with a
//! secret (database URLs are printed redacted).

use std::path::PathBuf;

use crate::url::DbUrl;

/// What went wrong in a sync or an export.
///
/// No variant carries a password: database URLs appear in their redacted form
/// ([`DbUrl`]'s `Display`), and database messages are passed through
/// [`DbUrl::redact_text`] before they are kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The `--db` value could not be understood.
    #[error("invalid database URL {url:?}: {reason}")]
    InvalidDbUrl {
        /// The value, redacted.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The URL names a backend this build was compiled without.
    #[error(
        "{url} needs the `{feature}` feature of shoal-sync, which this build was compiled without"
    )]
    BackendNotCompiled {
        /// The URL, redacted.
        url: DbUrl,
        /// The cargo feature that would enable it.
        feature: &'static str,
    },
    /// The database could not be opened or reached.
    #[error("cannot open the database {url}: {reason}")]
    Connect {
        /// The URL, redacted.
        url: DbUrl,
        /// The driver's reason, redacted.
        reason: String,
    },
    /// The database (file) can only be read.
    #[error(
        "the database {url} is read-only: a sync writes to it (check the file's permissions and its directory's)"
    )]
    ReadOnly {
        /// The URL, redacted.
        url: DbUrl,
    },
    /// The database was written by a newer shoal-sync.
    #[error(
        "the database {url} has schema version {found}, newer than this shoal-sync knows ({supported}); upgrade shoal, or point --db at another database"
    )]
    SchemaTooNew {
        /// The URL, redacted.
        url: DbUrl,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A statement failed.
    #[error("database error on {url} while {doing}: {reason}")]
    Database {
        /// The URL, redacted.
        url: DbUrl,
        /// What the sync was doing.
        doing: &'static str,
        /// The driver's reason, redacted.
        reason: String,
    },
    /// Another writer moved this run on while we worked: our page was rolled back.
    #[error(
        "audience {audience}: another worker advanced run {run_id} at the same time; this worker's page was rolled back (use a Postgres advisory lock: one worker per audience)"
    )]
    Superseded {
        /// The audience key.
        audience: u64,
        /// The run.
        run_id: i64,
    },
    /// Pearl Diver (or the pipeline in front of it) failed.
    #[error("Pearl Diver: {0}")]
    Api(#[from] shoal_core::Error),
    /// A requested audience is not in the account's list.
    #[error("audience {0} is not one this account can read (see `shoal pearldiver audiences`)")]
    UnknownAudience(u64),
    /// A value read back from the database makes no sense (hand-edited, or another program).
    #[error("the database {url} holds an unexpected value: {what}")]
    Corrupt {
        /// The URL, redacted.
        url: DbUrl,
        /// What was wrong.
        what: String,
    },
    /// Reading or writing a file (Singer output, a state file).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A Singer state file that could not be understood.
    #[error("state file {path}: {reason}")]
    InvalidState {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A value outside what the destination can store.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// A sync result.
pub type SyncResult<T> = Result<T, SyncError>;

impl SyncError {
    /// Whether the failure came from the destination database (connection, schema, statement).
    pub fn is_database(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. }
                | Self::ReadOnly { .. }
                | Self::SchemaTooNew { .. }
                | Self::Database { .. }
                | Self::Corrupt { .. }
        )
    }
}
