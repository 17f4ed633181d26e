//! Incremental runs (SQLite in-process; the same bodies run on Postgres from `postgres.rs`):
//! the second run asks `since = first start − lag` and counts exactly the records added and
//! changed; an interrupted run resumes from its committed cursor; a dropped future loses no
//! committed page; a previous run past the 90-day limit means a full window, said so.

use shoal_core::ConfigureClient as _;
use std::sync::Arc;
use std::time::Duration;

use shoal_core::{Clock, ManualClock};
use shoal_pearldiver::AudienceWindow;
use shoal_sync::{
    AudienceSelection, DbUrl, FullReason, Outcome, Point, SyncOptions, Syncer, WindowMode,
};
use shoal_testkit::pearldiver::AudienceSpec;
use time::OffsetDateTime;

use crate::support::{client, dump, emulator, same_rows, scalar, syncer};

const HOUR: Duration = Duration::from_secs(3600);

fn sel(s: &str) -> AudienceSelection {
    s.parse().unwrap()
}

pub fn sqlite_db() -> (tempfile::TempDir, DbUrl) {
    let dir = tempfile::tempdir().unwrap();
    let db = DbUrl::sqlite(dir.path().join("pd.db"));
    (dir, db)
}

/// First run: full window, everything inserted. Then 5 records appear and 3 + 1 change; the
/// second run asks since the first start less the lag and counts exactly those.
pub async fn second_run_counts_exactly_the_new_and_changed_records(db: &DbUrl) {
    let clock = ManualClock::new();
    let t0 = OffsetDateTime::from(clock.system_now());
    let pd = emulator(
        &clock,
        vec![
            AudienceSpec::new(17, "Boston", 2_500),
            AudienceSpec::new(23, "Pricing", 1_000),
        ],
    )
    .await;
    let syncer = syncer(&pd, &clock, db).await;

    let first = syncer.sync(&sel("17,23")).await.unwrap();
    assert!(first.ok, "{first:?}");
    assert_eq!(
        (
            first.totals.pages,
            first.totals.records,
            first.totals.inserted
        ),
        (4, 3_500, 3_500)
    );
    for a in &first.audiences {
        assert_eq!(a.window, Some(AudienceWindow::LastDays(90)));
        assert_eq!(
            a.mode,
            Some(WindowMode::Full {
                reason: FullReason::FirstRun
            })
        );
    }
    let before = dump(db).await;
    assert_eq!(before.len(), 3_500);

    clock.advance(2 * HOUR);
    assert_eq!(pd.add_records(17, 5), 2_500..2_505);
    pd.touch_records(17, 100..103);
    pd.touch_records(23, 0..1);

    let second = syncer.sync(&sel("17,23")).await.unwrap();
    assert!(second.ok, "{second:?}");
    let a17 = &second.audiences[0];
    assert_eq!(a17.window, Some(AudienceWindow::Since(t0 - HOUR)));
    assert_eq!(
        a17.mode,
        Some(WindowMode::Incremental { previous_start: t0 })
    );
    // Record 0 is still inside since on the frozen timeline: received again, unchanged.
    assert_eq!(
        (
            a17.counts.inserted,
            a17.counts.updated,
            a17.counts.unchanged
        ),
        (5, 3, 1)
    );
    let a23 = &second.audiences[1];
    assert_eq!(
        (
            a23.counts.inserted,
            a23.counts.updated,
            a23.counts.unchanged
        ),
        (0, 1, 0)
    );
    assert_eq!(
        (
            second.totals.inserted,
            second.totals.updated,
            second.totals.unchanged
        ),
        (5, 4, 1)
    );

    let after = dump(db).await;
    assert_eq!(after.len(), 3_505);
    let changed: Vec<&str> = after
        .iter()
        .filter(|r| !before.contains(r))
        .map(|r| r[1].as_deref().unwrap())
        .collect();
    assert_eq!(
        changed,
        [
            "pd-17-000000100",
            "pd-17-000000101",
            "pd-17-000000102",
            "pd-17-000002500",
            "pd-17-000002501",
            "pd-17-000002502",
            "pd-17-000002503",
            "pd-17-000002504",
            "pd-23-000000000",
        ]
    );
    // The later copy won, first_seen_at was kept, last_seen_at moved to the second run.
    let first_seen = scalar(
        db,
        "SELECT first_seen_at FROM records WHERE id = 'pd-17-000000100'",
    )
    .await
    .unwrap();
    let last_seen = scalar(
        db,
        "SELECT last_seen_at FROM records WHERE id = 'pd-17-000000100'",
    )
    .await
    .unwrap();
    assert!(
        first_seen.starts_with("2026-01-01") && first_seen.contains("00:00:00"),
        "{first_seen}"
    );
    assert!(
        last_seen.starts_with("2026-01-01") && last_seen.contains("02:00:00"),
        "{last_seen}"
    );

    // A third run an hour later: the lag overlaps the second run; nothing new.
    clock.advance(HOUR);
    let third = syncer.sync(&sel("17,23")).await.unwrap();
    assert_eq!(
        (
            third.totals.inserted,
            third.totals.updated,
            third.totals.unchanged
        ),
        (0, 0, 9)
    );
    assert_eq!(dump(db).await, after);
    let runs = scalar(db, "SELECT count(*) FROM sync_runs WHERE status = 'done'").await;
    assert_eq!(runs.as_deref(), Some("6"));
}

#[tokio::test]
async fn sqlite_second_run_counts_exactly_the_new_and_changed_records() {
    let (_dir, db) = sqlite_db();
    second_run_counts_exactly_the_new_and_changed_records(&db).await;
}

/// A client of `pd` whose page requests `answer` may fail: given the request's number (from
/// 1) and query, it returns a status to answer instead of forwarding.
fn client_with(
    pd: &shoal_testkit::pearldiver::PearlDiver,
    clock: &ManualClock,
    answer: impl Fn(u64, &str) -> Option<u16> + Send + Sync + 'static,
) -> shoal_pearldiver::PearlDiverClient {
    use shoal_core::Transport as _;
    let inner = Arc::new(shoal_core::ReqwestTransport::new().unwrap());
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let answer = Arc::new(answer);
    let transport = move |req: shoal_core::http::Request<shoal_core::Bytes>| {
        let (inner, seen, answer) = (inner.clone(), seen.clone(), answer.clone());
        async move {
            if req.uri().path().ends_with("/audiences/17") {
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                if let Some(status) = answer(n, req.uri().query().unwrap_or_default()) {
                    return Ok(shoal_core::http::Response::builder()
                        .status(status)
                        .body(shoal_core::Bytes::new())
                        .unwrap());
                }
            }
            inner.send(req).await
        }
    };
    shoal_pearldiver::PearlDiverClient::builder()
        .api_base(&pd.endpoints().api_base)
        .authenticator(Arc::new(shoal_auth::StaticToken::new(
            shoal_auth::AccessToken::new(pd.mint_tokens().access_token),
        )))
        .transport(transport)
        .clock(clock.shared())
        .retry_policy(shoal_core::RetryPolicy::never())
        .build()
        .unwrap()
}

/// A client of `pd` whose `nth` page request (from 1) answers 503.
fn failing_client(
    pd: &shoal_testkit::pearldiver::PearlDiver,
    clock: &ManualClock,
    nth: u64,
) -> shoal_pearldiver::PearlDiverClient {
    client_with(pd, clock, move |n, _| (n == nth).then_some(503))
}

/// An API failure mid-run keeps the committed pages; the next sync resumes from the committed
/// cursor and the table equals an uninterrupted sync's.
pub async fn a_failed_run_resumes_from_its_committed_cursor(db: &DbUrl, reference: &DbUrl) {
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 4_500)]).await;
    let syncer = syncer(&pd, &clock, db).await;
    // The third page request answers 503 (no retries in these tests), whenever the engine
    // prefetches it.
    let failing = Syncer::open(
        failing_client(&pd, &clock, 3),
        db,
        SyncOptions::default().clock(clock.shared()),
    )
    .await
    .unwrap();
    let broken = failing.sync(&sel("17")).await.unwrap();
    assert!(!broken.ok);
    let report = &broken.audiences[0];
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report.error.as_deref().unwrap().contains("503"),
        "{report:?}"
    );
    assert_eq!((report.counts.pages, report.counts.inserted), (2, 2_000));
    assert_eq!(dump(db).await.len(), 2_000);
    let error = scalar(db, "SELECT last_error FROM sync_runs")
        .await
        .unwrap();
    assert!(error.contains("503"), "{error}");

    let resumed = syncer.sync(&sel("17")).await.unwrap();
    let report = &resumed.audiences[0];
    assert_eq!(report.mode, Some(WindowMode::Resumed { pages_before: 2 }));
    assert_eq!(report.run_id, broken.audiences[0].run_id);
    assert_eq!((report.counts.pages, report.counts.inserted), (3, 2_500));

    let whole = self::syncer(&pd, &clock, reference).await;
    assert!(whole.sync(&sel("17")).await.unwrap().ok);
    same_rows(&dump(db).await, &dump(reference).await, "resumed vs whole");
    let totals = scalar(
        db,
        "SELECT pages || '/' || records || '/' || inserted || '/' || status FROM sync_runs",
    )
    .await;
    assert_eq!(totals.as_deref(), Some("5/4500/4500/done"));
}

#[tokio::test]
async fn sqlite_a_failed_run_resumes_from_its_committed_cursor() {
    let (_a, db) = sqlite_db();
    let (_b, reference) = sqlite_db();
    a_failed_run_resumes_from_its_committed_cursor(&db, &reference).await;
}

/// Dropping the sync future right after a page is fetched, while its commit runs: the page is
/// either committed whole or not at all, and the next sync finishes the table exactly.
#[tokio::test]
async fn a_dropped_sync_future_never_leaves_half_a_page() {
    let (_a, db) = sqlite_db();
    let (_b, reference) = sqlite_db();
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 3_500)]).await;
    let cancel = Arc::new(tokio::sync::Notify::new());
    let notify = cancel.clone();
    let hook: shoal_sync::Hook = Arc::new(move |p| {
        if let Point::Fetched { page: 2, .. } = p {
            notify.notify_one();
        }
    });
    let s = Syncer::open(
        client(&pd, clock.shared()),
        &db,
        SyncOptions::default().clock(clock.shared()).hook(hook),
    )
    .await
    .unwrap();
    let all = sel("17");
    tokio::select! {
        biased;
        _ = cancel.notified() => {}
        r = s.sync(&all) => panic!("the sync should have been dropped first: {r:?}"),
    }
    drop(s);
    // One read sees the rows and the run's counters together: whole pages only. (The commit
    // may still be finishing on the blocking pool: it completes without its caller.)
    let consistent = scalar(
        &db,
        "SELECT (SELECT count(*) FROM records) || '=' || (SELECT records FROM sync_runs)",
    )
    .await
    .unwrap();
    // Whole 1000-record pages, and not the last one: the drop came after page 2 was fetched,
    // and pages already on their way may have committed after it (CI saw 3000).
    let (rows, counted) = consistent.split_once('=').unwrap();
    assert_eq!(rows, counted, "the cursor moved with its rows");
    let rows: u64 = rows.parse().unwrap();
    assert!(
        rows % 1000 == 0 && (1000..3500).contains(&rows),
        "whole pages only, and not all: {rows}"
    );

    let again = syncer(&pd, &clock, &db).await.sync(&all).await.unwrap();
    assert!(again.ok);
    assert!(
        syncer(&pd, &clock, &reference)
            .await
            .sync(&all)
            .await
            .unwrap()
            .ok
    );
    same_rows(
        &dump(&db).await,
        &dump(&reference).await,
        "dropped vs whole",
    );
}

#[tokio::test]
async fn a_run_past_the_90_day_limit_takes_the_full_window_and_says_so() {
    let (_dir, db) = sqlite_db();
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 100)]).await;
    let s = syncer(&pd, &clock, &db).await;
    assert!(s.sync(&sel("17")).await.unwrap().ok);
    clock.advance(Duration::from_secs(90 * 86_400));
    // A new client: the first one's access token expired meanwhile.
    let late = syncer(&pd, &clock, &db)
        .await
        .sync(&sel("17"))
        .await
        .unwrap();
    let a = &late.audiences[0];
    assert_eq!(a.window, Some(AudienceWindow::LastDays(90)));
    assert!(matches!(
        a.mode,
        Some(WindowMode::Full {
            reason: FullReason::BeyondLimit { .. }
        })
    ));
    assert!(a.note.as_deref().unwrap().contains("90-day limit"), "{a:?}");
    let note = scalar(
        &db,
        "SELECT note FROM sync_runs ORDER BY run_id DESC LIMIT 1",
    )
    .await;
    assert!(note.unwrap().contains("90-day limit"));
}

#[tokio::test]
async fn several_audiences_run_within_the_bound_and_all_land() {
    let (_dir, db) = sqlite_db();
    let clock = ManualClock::new();
    let sizes = [1_500, 0, 2_001, 999, 1_000];
    let pd = emulator(
        &clock,
        sizes
            .iter()
            .enumerate()
            .map(|(i, n)| AudienceSpec::new(i as u64 + 1, format!("a{i}"), *n))
            .collect(),
    )
    .await;
    let finished = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = finished.clone();
    let progress: shoal_sync::Hook = Arc::new(move |p| {
        if let Point::AfterCommit { last: true, .. } = p {
            seen.lock().unwrap().push(p.audience());
        }
    });
    let s = Syncer::open(
        client(&pd, clock.shared()),
        &db,
        SyncOptions::default()
            .clock(clock.shared())
            .concurrency(3)
            .hook(progress),
    )
    .await
    .unwrap();
    let summary = s.sync(&AudienceSelection::All).await.unwrap();
    let mut done = finished.lock().unwrap().clone();
    done.sort_unstable();
    assert_eq!(
        done,
        [1, 2, 3, 4, 5],
        "each audience's last page reported once"
    );
    assert!(summary.ok, "{summary:?}");
    let keys: Vec<u64> = summary.audiences.iter().map(|a| a.key).collect();
    assert_eq!(keys, [1, 2, 3, 4, 5]);
    for (a, n) in summary.audiences.iter().zip(sizes) {
        assert_eq!(a.counts.inserted, n, "{a:?}");
        assert_eq!(a.outcome, Outcome::Synced);
    }
    assert_eq!(dump(&db).await.len() as u64, sizes.iter().sum::<u64>());
    let names = scalar(
        &db,
        "SELECT group_concat(name, ',') FROM (SELECT name FROM audiences ORDER BY key)",
    )
    .await;
    assert_eq!(names.as_deref(), Some("a0,a1,a2,a3,a4"));
    let json = serde_json::to_value(&summary).unwrap();
    for field in ["inserted", "updated", "unchanged", "pages", "elapsed_ms"] {
        assert!(json.get(field).is_some(), "summary lacks {field}: {json}");
    }
}

#[tokio::test]
async fn a_dry_run_plans_without_writing_or_fetching_records() {
    let (dir, db) = sqlite_db();
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 1_500)]).await;
    let c = client(&pd, clock.shared());
    let opts = SyncOptions::default().clock(clock.shared());
    let plan = Syncer::plan(&c, &db, &sel("17"), &opts).await.unwrap();
    assert!(!plan.db_exists);
    assert_eq!(plan.audiences[0].window, AudienceWindow::LastDays(90));
    assert!(
        !dir.path().join("pd.db").exists(),
        "a dry run creates nothing"
    );
    assert_eq!(pd.traffic().count("GET", "/v1/audiences/17"), 0);

    assert!(
        syncer(&pd, &clock, &db)
            .await
            .sync(&sel("17"))
            .await
            .unwrap()
            .ok
    );
    clock.advance(HOUR);
    let plan = Syncer::plan(&c, &db, &sel("17"), &opts).await.unwrap();
    assert!(plan.db_exists);
    assert!(matches!(
        plan.audiences[0].mode,
        WindowMode::Incremental { .. }
    ));
    let err = Syncer::plan(&c, &db, &sel("99"), &opts).await.unwrap_err();
    assert!(err.to_string().contains("audience 99"), "{err}");
}

#[tokio::test]
async fn a_refused_saved_page_token_replaces_the_run_with_a_fresh_one() {
    let (_a, db) = sqlite_db();
    let (_b, reference) = sqlite_db();
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 4_500)]).await;
    let opts = || SyncOptions::default().clock(clock.shared());
    let broken = Syncer::open(failing_client(&pd, &clock, 3), &db, opts())
        .await
        .unwrap()
        .sync(&sel("17"))
        .await
        .unwrap();
    assert_eq!(broken.audiences[0].counts.pages, 2);
    let stale = scalar(&db, "SELECT cursor FROM sync_runs").await.unwrap();

    // The saved token has expired at the vendor: 400 for it, and only for it.
    clock.advance(Duration::from_secs(1));
    let refusing = client_with(&pd, &clock, move |_, query| {
        query.contains(&stale).then_some(400)
    });
    let fresh = Syncer::open(refusing, &db, opts())
        .await
        .unwrap()
        .sync(&sel("17"))
        .await
        .unwrap();
    let a = &fresh.audiences[0];
    assert_eq!(a.outcome, Outcome::Synced, "{a:?}");
    assert_eq!(
        a.mode,
        Some(WindowMode::Full {
            reason: FullReason::FirstRun
        })
    );
    assert_ne!(a.run_id, broken.audiences[0].run_id);
    // One second later the oldest record has aged out of the 90-day window: 4,499 in all.
    assert_eq!((a.counts.inserted, a.counts.unchanged), (2_499, 2_000));
    let runs = scalar(
        &db,
        "SELECT group_concat(status || ':' || coalesce(note, ''), ' | ') FROM (SELECT * FROM sync_runs ORDER BY run_id)",
    )
    .await
    .unwrap();
    assert!(
        runs.starts_with("abandoned:Pearl Diver refused its saved page token"),
        "{runs}"
    );
    assert!(runs.contains(" | done:first run"), "{runs}");
    assert!(
        syncer(&pd, &clock, &reference)
            .await
            .sync(&sel("17"))
            .await
            .unwrap()
            .ok
    );
    same_rows(&dump(&db).await, &dump(&reference).await, "fresh vs whole");
}
