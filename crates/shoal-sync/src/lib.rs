//! # shoal-sync
//!
//! The engine behind `shoal pearldiver sync`: keeps Pearl Diver audiences current in SQLite or
//! Postgres — incrementally, exactly once, crash safe with no side files — and writes Singer
//! messages (`shoal pearldiver export --format singer`).
//!
//! **Who depends on it directly:** the `shoal` CLI, and programs that want the sync without the
//! CLI. SDK users who never sync do not: nothing else in the workspace depends on this crate.
//!
//! **Cargo features:**
//! - `sqlite` (default): the embedded destination (rusqlite with SQLite bundled);
//! - `postgres` (default): the Postgres destination (tokio-postgres, no TLS yet) with an
//!   advisory lock per audience, so that many workers can share one database;
//! - `test-util`: `test_util::PostgresServer`, a throwaway Postgres cluster for tests;
//! - `sync-worker`: the `sync-worker` binary the multi-process tests spawn.
//!
//! Without `sqlite` and `postgres`, only the [`singer`] module and the types build.
//!
//! ## Guarantees
//! - **Exactly once, crash safe, no side files.** The state lives in the destination: each
//!   page's upserts and the run's cursor commit in one transaction (`sync_runs.cursor`, moved
//!   by compare-and-set). A process killed at any instant leaves whole pages; running the same
//!   sync again continues from the committed cursor. Rows merge by `(audience_key, id)`: the
//!   later copy wins and `first_seen_at` is kept.
//! - **Incremental.** The first run takes the full 90-day window; later runs ask for
//!   `since = previous run's start − lag`, or the full window (and say so) when that would be
//!   past Pearl Diver's 90-day limit. See [`WindowMode`].
//! - **Concurrent.** Audiences run in parallel within a bound ([`SyncOptions::concurrency`]);
//!   on Postgres, workers in many processes take a session advisory lock per audience and wait
//!   or skip ([`LockPolicy`]). A killed worker's lock dies with its connection.
//! - **Bad input is refused before anything is written**: an unreachable or wrong database, a
//!   read-only file, a schema from a newer version ([`SyncError`]). Hostile records follow one
//!   skip rule ([`row`]).
//!
//! ## Tables
//! `audiences` (key, name, last_synced_at), `records` (audience_key, id, first_name,
//! last_name, email, company_name, phones, addresses, company, sessions — JSONB on Postgres —,
//! raw, first_seen_at, last_seen_at; primary key (audience_key, id)), `sync_runs` (run_id,
//! audience_key, sync_window, started_at, finished_at, pages, records, inserted, updated,
//! unchanged, skipped, status, cursor, note, last_error) and `shoal_sync_schema` (versions).
//! `first_seen_at`/`last_seen_at` are the start of the run that first/last received the record.
//!
//! ## Example
//! ```
//! use shoal_core::{ConfigureClient as _, ManualClock};
//! use shoal_sync::{AudienceSelection, DbUrl, SyncOptions, Syncer};
//! use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = ManualClock::new();
//! let pd = PearlDiver::start(PearlDiverConfig {
//!     clock: clock.shared(),
//!     audiences: vec![AudienceSpec::new(17, "Boston", 2_500)],
//!     ..Default::default()
//! })
//! .await?;
//! let client = shoal_pearldiver::PearlDiverClient::builder()
//!     .api_base(&pd.endpoints().api_base)
//!     .authenticator(std::sync::Arc::new(shoal_auth::StaticToken::new(
//!         shoal_auth::AccessToken::new(pd.mint_tokens().access_token),
//!     )))
//!     .clock(clock.shared())
//!     .build()?;
//! let dir = tempfile::tempdir()?;
//! let db = DbUrl::sqlite(dir.path().join("pd.db"));
//! let syncer = Syncer::open(client, &db, SyncOptions::default().clock(clock.shared())).await?;
//! let all = "17".parse::<AudienceSelection>()?;
//! let first = syncer.sync(&all).await?;
//! assert_eq!((first.totals.pages, first.totals.inserted), (3, 2_500));
//! let again = syncer.sync(&all).await?; // incremental: since the first run's start − 1 h
//! assert_eq!(again.totals.inserted, 0);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod engine;
mod error;
mod plan;
pub mod row;
pub mod singer;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod store;
#[cfg(feature = "test-util")]
pub mod test_util;
mod timefmt;
mod url;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use engine::{
    AudienceReport, AudienceSelection, Outcome, PlannedAudience, SyncOptions, SyncPlan,
    SyncSummary, Syncer,
};
pub use error::{SyncError, SyncResult};
pub use plan::{FullReason, LIMIT_MARGIN, WindowMode};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use store::schema::SCHEMA_VERSION;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use store::{Counts, Hook, LockPolicy, Point};
pub use url::{DEFAULT_DB_FILE, DbUrl};

#[cfg(feature = "postgres")]
pub use store::postgres::lock_key as advisory_lock_key;
