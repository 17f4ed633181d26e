//! The destination behind one seam: a [`Store`] opens per-audience [`Session`]s (holding that
//! audience's lock), and a session commits each page — its rows and the run's cursor — in one
//! transaction.

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod schema;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use shoal_pearldiver::AudienceWindow;
use time::OffsetDateTime;

use crate::error::{SyncError, SyncResult};
pub(crate) use crate::plan::{AudienceState, OpenRun};
use crate::row::RecordRow;
use crate::url::DbUrl;

/// What a sync does when another worker holds an audience's lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LockPolicy {
    /// Wait until the other worker is done, then sync (usually a short incremental run).
    #[default]
    Wait,
    /// Skip the audience and report it as skipped.
    Skip,
}

/// Counters of a run (or of the part of it one invocation did).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Counts {
    /// Pages committed.
    pub pages: u64,
    /// Records received.
    pub records: u64,
    /// Rows that were new.
    pub inserted: u64,
    /// Rows whose raw JSON changed.
    pub updated: u64,
    /// Rows received again, identical.
    pub unchanged: u64,
    /// Records not stored (see [`crate::row`] for the rule).
    pub skipped: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, other: &Counts) {
        self.pages += other.pages;
        self.records += other.records;
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
    }
}

/// A new run.
#[derive(Clone, Debug)]
pub(crate) struct NewRun<'a> {
    pub audience: i64,
    pub name: &'a str,
    pub window: &'a AudienceWindow,
    pub started_at: OffsetDateTime,
    pub note: Option<&'a str>,
}

/// A point of the page loop, given to [`SyncOptions::hook`](crate::SyncOptions::hook): for
/// progress reporting, and for tests that stop a worker there (the kill -9 tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Point {
    /// A page was fetched; nothing of it is written yet.
    Fetched {
        /// The audience.
        audience: u64,
        /// Pages committed before this one in this invocation.
        page: u64,
        /// Records in the page.
        records: u64,
    },
    /// The page's rows and cursor are written inside the open transaction, not yet committed.
    BeforeCommit {
        /// The audience.
        audience: u64,
        /// Pages committed before this one in this invocation.
        page: u64,
    },
    /// The page is committed.
    AfterCommit {
        /// The audience.
        audience: u64,
        /// Pages committed in this invocation, this one included.
        page: u64,
        /// Whether it was the run's last page.
        last: bool,
    },
}

impl Point {
    /// The audience.
    pub fn audience(&self) -> u64 {
        match *self {
            Self::Fetched { audience, .. }
            | Self::BeforeCommit { audience, .. }
            | Self::AfterCommit { audience, .. } => audience,
        }
    }
}

/// A hook called at each [`Point`].
pub type Hook = Arc<dyn Fn(Point) + Send + Sync>;

/// One page to commit.
pub(crate) struct PageWrite {
    pub run_id: i64,
    pub audience: i64,
    /// The cursor the run must still have (compare-and-set against another writer).
    pub expect_cursor: Option<String>,
    /// The next page's cursor; `None` finishes the run.
    pub next_cursor: Option<String>,
    pub rows: Vec<RecordRow>,
    pub records: u64,
    pub skipped: u64,
    /// `last_seen_at` of every row (and `first_seen_at` of new ones): the run's start.
    pub seen_at: OffsetDateTime,
    /// Now (the run's `finished_at` when this is the last page).
    pub now: OffsetDateTime,
    pub hook: Option<Hook>,
    /// Pages committed before this one in this invocation (for the hook).
    pub page_index: u64,
}

/// What [`Session::mark_run`] records about a run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RunMark<'a> {
    /// The unfinished run is replaced by a new one, for this reason.
    Abandoned(&'a str),
    /// The last error of a run that stays resumable.
    Error(&'a str),
}

impl<'a> RunMark<'a> {
    /// The statement (`$1`/`?1` the run id, `$2`/`?2` the text), what is being done, the text.
    pub(crate) fn statement(self, placeholder: char) -> (String, &'static str, &'a str) {
        let p = placeholder;
        match self {
            Self::Abandoned(why) => (
                format!(
                    "UPDATE sync_runs SET status = 'abandoned', note = {p}2 WHERE run_id = {p}1"
                ),
                "abandoning a run",
                why,
            ),
            Self::Error(error) => (
                format!("UPDATE sync_runs SET last_error = {p}2 WHERE run_id = {p}1"),
                "recording an error",
                error,
            ),
        }
    }
}

impl PageWrite {
    /// The error when the run's cursor moved under this writer.
    pub(crate) fn superseded(&self) -> SyncError {
        SyncError::Superseded {
            audience: u64::try_from(self.audience).unwrap_or(0),
            run_id: self.run_id,
        }
    }
}

/// How one page merged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Merged {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// A destination database.
#[async_trait]
pub(crate) trait Store: Send + Sync {
    /// Takes audience `key`'s lock (waiting or not, per `policy`) and returns a session that
    /// holds it; `None` when skipped because another worker holds it.
    async fn session(&self, key: u64, policy: LockPolicy) -> SyncResult<Option<Box<dyn Session>>>;

    /// What the destination knows of `key`, without taking its lock (for a dry run).
    async fn peek(&self, key: u64) -> SyncResult<AudienceState>;
}

/// A connection holding one audience's lock.
#[async_trait]
pub(crate) trait Session: Send {
    /// The audience's runs.
    async fn state(&mut self, audience: i64) -> SyncResult<AudienceState>;
    /// Records the audience (name) and a new run; returns its id.
    async fn start_run(&mut self, run: NewRun<'_>) -> SyncResult<i64>;
    /// Abandons a run or notes its error.
    async fn mark_run(&mut self, run_id: i64, mark: RunMark<'_>) -> SyncResult<()>;
    /// Writes a page and moves the cursor, in one transaction.
    async fn commit_page(&mut self, page: PageWrite) -> SyncResult<Merged>;
}

/// Opens (and migrates) the destination.
pub(crate) async fn open(url: &DbUrl) -> SyncResult<Arc<dyn Store>> {
    if url.is_postgres() {
        #[cfg(feature = "postgres")]
        return Ok(Arc::new(postgres::PgStore::open(url).await?));
        #[cfg(not(feature = "postgres"))]
        return Err(not_compiled(url, "postgres"));
    }
    #[cfg(feature = "sqlite")]
    return Ok(Arc::new(sqlite::SqliteStore::open(url).await?));
    #[cfg(not(feature = "sqlite"))]
    return Err(not_compiled(url, "sqlite"));
}

/// Opens the destination without writing anything (no migration, no file created): `None`
/// when the database does not exist yet or has no schema.
pub(crate) async fn open_read_only(url: &DbUrl) -> SyncResult<Option<Arc<dyn Store>>> {
    fn shared<S: Store + 'static>(store: Option<S>) -> Option<Arc<dyn Store>> {
        store.map(|s| Arc::new(s) as Arc<dyn Store>)
    }
    if url.is_postgres() {
        #[cfg(feature = "postgres")]
        return Ok(shared(postgres::PgStore::open_read_only(url).await?));
        #[cfg(not(feature = "postgres"))]
        return Err(not_compiled(url, "postgres"));
    }
    #[cfg(feature = "sqlite")]
    return Ok(shared(sqlite::SqliteStore::open_read_only(url).await?));
    #[cfg(not(feature = "sqlite"))]
    return Err(not_compiled(url, "sqlite"));
}

#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn not_compiled(url: &DbUrl, feature: &'static str) -> SyncError {
    SyncError::BackendNotCompiled {
        url: url.clone(),
        feature,
    }
}

/// A stored timestamp back.
pub(crate) fn stored_ts(url: &DbUrl, text: &str) -> SyncResult<OffsetDateTime> {
    crate::timefmt::parse_ts(text).ok_or_else(|| SyncError::Corrupt {
        url: url.clone(),
        what: format!("timestamp {text:?}"),
    })
}

/// A window as stored in `sync_runs.sync_window`.
pub(crate) fn window_text(window: &AudienceWindow) -> String {
    serde_json::to_string(window).unwrap_or_else(|_| "{}".into())
}

/// A stored window back.
pub(crate) fn window_from(url: &DbUrl, text: &str) -> SyncResult<AudienceWindow> {
    serde_json::from_str(text).map_err(|e| SyncError::Corrupt {
        url: url.clone(),
        what: format!("sync_runs.sync_window {text:?}: {e}"),
    })
}

/// An audience key as stored (BIGINT).
pub(crate) fn key_i64(key: u64) -> SyncResult<i64> {
    i64::try_from(key).map_err(|_| {
        SyncError::InvalidInput(format!(
            "audience key {key} is larger than a database BIGINT can hold"
        ))
    })
}

/// A counter as stored.
pub(crate) fn count_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
