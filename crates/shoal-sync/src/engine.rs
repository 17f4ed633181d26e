//! [`Syncer`]: runs the sync of each chosen audience — lock, plan, page loop — several at once
//! within a bound, and sums up what happened in a [`SyncSummary`].

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use shoal_core::{Cursor, SharedClock, SystemClock};
use shoal_pearldiver::{AudienceWindow, PearlDiverClient};
use time::OffsetDateTime;

use crate::error::{SyncError, SyncResult};
use crate::plan::{Planned, WindowMode, describe, plan};
use crate::row::page_rows;
use crate::store::{
    self, Counts, Hook, LockPolicy, NewRun, PageWrite, Point, RunMark, Session, Store, key_i64,
};
use crate::url::DbUrl;

/// Which audiences to sync: `all`, or keys (`17,23`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudienceSelection {
    /// Every audience the account can read.
    All,
    /// These keys, in this order (duplicates dropped).
    Keys(Vec<u64>),
}

impl FromStr for AudienceSelection {
    type Err = SyncError;

    /// `all`, or comma-separated keys.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(Self::All);
        }
        let mut keys = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let key: u64 = part.parse().map_err(|_| {
                SyncError::InvalidInput(format!(
                    "--audience takes `all` or comma-separated keys such as 17,23; got {part:?}"
                ))
            })?;
            key_i64(key)?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(Self::Keys(keys))
    }
}

/// How a sync runs.
#[derive(Clone)]
#[non_exhaustive]
pub struct SyncOptions {
    /// Subtracted from the previous run's start to get `since` (`--lag`, default 1 hour): the
    /// attribution window for records the vendor reports late.
    pub lag: Duration,
    /// Audiences synced at once within this process (at least 1; default 4).
    pub concurrency: usize,
    /// When another worker holds an audience: wait or skip (default wait).
    pub lock: LockPolicy,
    /// Records larger than this (bytes of JSON) are skipped (default 4 MiB).
    pub max_record_bytes: usize,
    /// Time: run starts, `since`, `elapsed` (default: the system clock).
    pub clock: SharedClock,
    /// Called at each [`Point`] of the page loop (tests stop a worker there).
    pub hook: Option<Hook>,
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("lag", &self.lag)
            .field("concurrency", &self.concurrency)
            .field("lock", &self.lock)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            lag: Duration::from_secs(3_600),
            concurrency: 4,
            lock: LockPolicy::Wait,
            max_record_bytes: 4 << 20,
            clock: SystemClock::shared(),
            hook: None,
        }
    }
}

impl SyncOptions {
    shoal_core::builder_setters! {
        /// Sets the lag.
        lag(lag: Duration) => lag;
        /// Sets how many audiences run at once.
        concurrency(n: usize) => concurrency = n.max(1);
        /// Sets what to do when another worker holds an audience.
        lock(policy: LockPolicy) => lock;
        /// Sets the clock.
        clock(clock: SharedClock) => clock;
        /// Sets the largest record stored.
        max_record_bytes(bytes: usize) => max_record_bytes;
        /// Sets a hook called at each [`Point`] of the page loop.
        hook(hook: Hook) => hook = Some(hook);
    }
}

/// What happened to one audience.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Synced to the end of its window.
    Synced,
    /// Another worker held its lock and the policy was to skip.
    SkippedLocked,
    /// Failed; committed pages stay, and the next run continues from the committed cursor.
    Failed,
}

/// One audience's part of a [`SyncSummary`]. Counts are this invocation's (a resumed run's
/// earlier pages are in `sync_runs`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AudienceReport {
    /// The audience key.
    pub key: u64,
    /// Its name.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
    /// The run (`sync_runs.run_id`), when one was started or resumed.
    pub run_id: Option<i64>,
    /// The window asked for.
    pub window: Option<AudienceWindow>,
    /// How the window was chosen.
    pub mode: Option<WindowMode>,
    /// A sentence on the window for people (e.g. why a full window was taken).
    pub note: Option<String>,
    /// Pages, records, inserted, updated, unchanged, skipped.
    #[serde(flatten)]
    pub counts: Counts,
    /// The error, when failed.
    pub error: Option<String>,
    /// Time spent, in milliseconds.
    pub elapsed_ms: u64,
}

/// The result of [`Syncer::sync`] (`--json` prints it).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SyncSummary {
    /// The destination, redacted.
    pub db: String,
    /// Totals over the audiences.
    #[serde(flatten)]
    pub totals: Counts,
    /// Time spent, in milliseconds.
    pub elapsed_ms: u64,
    /// Whether every audience synced or was skipped by the lock policy.
    pub ok: bool,
    /// Each audience.
    pub audiences: Vec<AudienceReport>,
}

/// A dry run's answer for one audience: what a sync would ask for, nothing written or fetched.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PlannedAudience {
    /// The audience key.
    pub key: u64,
    /// Its name.
    pub name: String,
    /// The window a sync would ask for.
    pub window: AudienceWindow,
    /// How it was chosen.
    pub mode: WindowMode,
    /// A sentence for people.
    pub note: String,
    /// The page a resumed run would continue from.
    pub cursor: Option<String>,
}

/// The result of [`Syncer::plan`] (`--dry-run`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SyncPlan {
    /// The destination, redacted.
    pub db: String,
    /// Whether the database exists with a schema (else a sync would create it).
    pub db_exists: bool,
    /// Each audience.
    pub audiences: Vec<PlannedAudience>,
}

/// The sync engine: a Pearl Diver client, a destination and options.
///
/// ```no_run
/// use shoal_sync::{AudienceSelection, DbUrl, SyncOptions, Syncer};
///
/// # async fn run(client: shoal_pearldiver::PearlDiverClient) -> Result<(), shoal_sync::SyncError> {
/// let db: DbUrl = "sqlite:pearldiver.db".parse()?;
/// let syncer = Syncer::open(client, &db, SyncOptions::default()).await?;
/// let summary = syncer.sync(&"17,23".parse::<AudienceSelection>()?).await?;
/// println!("{}", serde_json::to_string(&summary).unwrap_or_default());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Syncer {
    client: PearlDiverClient,
    url: DbUrl,
    store: Arc<dyn Store>,
    options: SyncOptions,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer")
            .field("db", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Syncer {
    /// Opens the destination — connecting, refusing a read-only database or a newer schema,
    /// and applying migrations — before anything is fetched.
    pub async fn open(
        client: PearlDiverClient,
        db: &DbUrl,
        options: SyncOptions,
    ) -> SyncResult<Self> {
        let store = store::open(db).await?;
        Ok(Self {
            client,
            url: db.clone(),
            store,
            options,
        })
    }

    /// What a sync of `selection` would do, writing nothing (no file or schema is created) and
    /// fetching no record (the audience list is read to resolve names and `all`).
    pub async fn plan(
        client: &PearlDiverClient,
        db: &DbUrl,
        selection: &AudienceSelection,
        options: &SyncOptions,
    ) -> SyncResult<SyncPlan> {
        let store = store::open_read_only(db).await?;
        let audiences = resolve(client, selection).await?;
        let now = OffsetDateTime::from(options.clock.system_now());
        let mut planned = Vec::with_capacity(audiences.len());
        for (key, name) in audiences {
            let state = match &store {
                Some(s) => s.peek(key).await?,
                None => Default::default(),
            };
            let (window, mode, cursor) = match plan(&state, now, options.lag) {
                Planned::Resume(open) => (
                    open.window,
                    WindowMode::Resumed {
                        pages_before: open.pages,
                    },
                    open.cursor,
                ),
                Planned::New { window, mode, .. } => (window, mode, None),
            };
            planned.push(PlannedAudience {
                key,
                name,
                window,
                note: describe(&mode, &window),
                mode,
                cursor,
            });
        }
        Ok(SyncPlan {
            db: db.to_string(),
            db_exists: store.is_some(),
            audiences: planned,
        })
    }

    /// Syncs the chosen audiences, up to `concurrency` at once. An unknown key fails the whole
    /// call before anything is written; a failure of one audience is reported in its
    /// [`AudienceReport`] and does not stop the others.
    pub async fn sync(&self, selection: &AudienceSelection) -> SyncResult<SyncSummary> {
        let started = self.options.clock.now();
        let audiences = resolve(&self.client, selection).await?;
        let mut reports: Vec<AudienceReport> = futures_util::stream::iter(audiences)
            .map(|(key, name)| self.sync_audience(key, name))
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;
        reports.sort_by_key(|r| r.key);
        let mut totals = Counts::default();
        for r in &reports {
            totals.add(&r.counts);
        }
        Ok(SyncSummary {
            db: self.url.to_string(),
            totals,
            elapsed_ms: ms(self.options.clock.now().saturating_duration_since(started)),
            ok: reports.iter().all(|r| r.outcome != Outcome::Failed),
            audiences: reports,
        })
    }

    /// Syncs one audience whose name is known (the list is not read).
    pub async fn sync_audience(&self, key: u64, name: String) -> AudienceReport {
        let started = self.options.clock.now();
        let mut report = AudienceReport {
            key,
            name,
            outcome: Outcome::Synced,
            run_id: None,
            window: None,
            mode: None,
            note: None,
            counts: Counts::default(),
            error: None,
            elapsed_ms: 0,
        };
        if let Err(e) = self.run(&mut report).await {
            report.outcome = Outcome::Failed;
            report.error = Some(e.to_string());
            tracing::warn!(audience = key, error = %e, "sync failed");
        }
        report.elapsed_ms = ms(self.options.clock.now().saturating_duration_since(started));
        report
    }

    async fn run(&self, report: &mut AudienceReport) -> SyncResult<()> {
        let key = report.key;
        let audience = key_i64(key)?;
        let Some(mut session) = self.store.session(key, self.options.lock).await? else {
            report.outcome = Outcome::SkippedLocked;
            report.note = Some("another worker holds this audience's lock: skipped".into());
            return Ok(());
        };
        // A resumed run whose saved page token Pearl Diver refuses (400: expired, say) is
        // abandoned once for a fresh run; its committed pages stay (the merge is idempotent).
        let mut fresh_allowed = true;
        loop {
            // Read only now, under the lock: a worker we waited for may have finished a run.
            let state = session.state(audience).await?;
            let now = OffsetDateTime::from(self.options.clock.system_now());
            let (run_id, window, started_at, cursor, mode) =
                match plan(&state, now, self.options.lag) {
                    Planned::Resume(open) => (
                        open.run_id,
                        open.window,
                        open.started_at,
                        open.cursor,
                        WindowMode::Resumed {
                            pages_before: open.pages,
                        },
                    ),
                    Planned::New {
                        window,
                        mode,
                        abandon,
                    } => {
                        if let Some(old) = abandon {
                            let why = "its window passed Pearl Diver's 90-day limit";
                            session.mark_run(old, RunMark::Abandoned(why)).await?;
                        }
                        let note = describe(&mode, &window);
                        let run_id = session
                            .start_run(NewRun {
                                audience,
                                name: &report.name,
                                window: &window,
                                started_at: now,
                                note: Some(&note),
                            })
                            .await?;
                        (run_id, window, now, None, mode)
                    }
                };
            report.run_id = Some(run_id);
            report.window = Some(window);
            report.note = Some(describe(&mode, &window));
            report.mode = Some(mode);
            tracing::info!(audience = key, run_id, ?window, "sync run");
            let resumed_at = cursor.clone();
            match self
                .pages(&mut *session, report, run_id, window, started_at, cursor)
                .await
            {
                Err(SyncError::Api(e))
                    if fresh_allowed
                        && resumed_at.is_some()
                        && e.status().is_some_and(|s| s.as_u16() == 400) =>
                {
                    tracing::warn!(audience = key, run_id, error = %e, "saved page token refused");
                    session
                        .mark_run(
                            run_id,
                            RunMark::Abandoned(
                                "Pearl Diver refused its saved page token (400): replaced by a new run",
                            ),
                        )
                        .await?;
                    fresh_allowed = false;
                }
                other => return other,
            }
        }
    }

    /// The page loop of one run, from `cursor`.
    async fn pages(
        &self,
        session: &mut dyn Session,
        report: &mut AudienceReport,
        run_id: i64,
        window: AudienceWindow,
        started_at: OffsetDateTime,
        mut cursor: Option<String>,
    ) -> SyncResult<()> {
        let key = report.key;
        let audience = key_i64(key)?;
        let pages = self
            .client
            .audiences()
            .records(key, window)
            .raw()
            .resume_from(cursor.clone().map(Cursor::new))
            .by_page();
        // The next page is fetched and parsed while this one is written: a task feeds a
        // one-page channel and is aborted when this future ends or is dropped.
        let max_bytes = self.options.max_record_bytes;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<shoal_core::Result<Fetched>>(1);
        let feeder = AbortOnDrop(tokio::spawn(async move {
            let mut pages = std::pin::pin!(pages);
            loop {
                let item = match pages.try_next().await {
                    Ok(Some(page)) => Ok(Fetched {
                        records: page.items.len() as u64,
                        rows: page_rows(page.items, max_bytes),
                        next: page.next.map(|c| c.as_str().to_owned()),
                    }),
                    Ok(None) => return,
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        }));
        loop {
            let page = match rx.recv().await {
                Some(Ok(page)) => page,
                None => break,
                Some(Err(e)) => {
                    let _ = session
                        .mark_run(run_id, RunMark::Error(&e.to_string()))
                        .await;
                    return Err(SyncError::Api(e));
                }
            };
            let index = report.counts.pages;
            self.at(Point::Fetched {
                audience: key,
                page: index,
                records: page.records,
            });
            let Fetched {
                rows,
                records,
                next,
            } = page;
            let merged = session
                .commit_page(PageWrite {
                    run_id,
                    audience,
                    expect_cursor: cursor.clone(),
                    next_cursor: next.clone(),
                    rows: rows.rows,
                    records,
                    skipped: rows.skipped,
                    seen_at: started_at,
                    now: OffsetDateTime::from(self.options.clock.system_now()),
                    hook: self.options.hook.clone(),
                    page_index: index,
                })
                .await?;
            report.counts.add(&Counts {
                pages: 1,
                records,
                inserted: merged.inserted,
                updated: merged.updated,
                unchanged: merged.unchanged,
                skipped: rows.skipped,
            });
            self.at(Point::AfterCommit {
                audience: key,
                page: index + 1,
                last: next.is_none(),
            });
            cursor = next;
            if cursor.is_none() {
                break;
            }
        }
        drop(feeder);
        Ok(())
    }

    fn at(&self, point: Point) {
        if let Some(hook) = &self.options.hook {
            hook(point);
        }
    }
}

/// A fetched page, parsed.
struct Fetched {
    rows: crate::row::PageRows,
    records: u64,
    next: Option<String>,
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The audiences of a selection with their names, checked against the account's list.
async fn resolve(
    client: &PearlDiverClient,
    selection: &AudienceSelection,
) -> SyncResult<Vec<(u64, String)>> {
    let list = client.audiences().list().send().await?;
    let name_of = |key: u64| {
        list.audiences
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.name.clone().unwrap_or_default())
    };
    match selection {
        AudienceSelection::All => {
            let mut seen = Vec::new();
            for a in &list.audiences {
                key_i64(a.key)?;
                if !seen.iter().any(|(k, _)| *k == a.key) {
                    seen.push((a.key, a.name.clone().unwrap_or_default()));
                }
            }
            Ok(seen)
        }
        AudienceSelection::Keys(keys) => keys
            .iter()
            .map(|&k| {
                name_of(k)
                    .map(|n| (k, n))
                    .ok_or(SyncError::UnknownAudience(k))
            })
            .collect(),
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_parse_and_refuse_clearly() {
        assert_eq!(
            "all".parse::<AudienceSelection>().unwrap(),
            AudienceSelection::All
        );
        assert_eq!(
            " 17, 23,17".parse::<AudienceSelection>().unwrap(),
            AudienceSelection::Keys(vec![17, 23])
        );
        for bad in ["", "17,,23", "x", "-1", "18446744073709551615"] {
            let err = bad.parse::<AudienceSelection>().unwrap_err();
            assert!(
                err.to_string().contains("--audience") || err.to_string().contains("BIGINT"),
                "{bad}: {err}"
            );
        }
    }
}
