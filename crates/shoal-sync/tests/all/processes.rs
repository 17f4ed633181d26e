//! Real `sync-worker` processes: killed with SIGKILL at three points of a sync and run again
//! (the table equals an uninterrupted sync's), and two workers sharing one Postgres.
// Real processes share no fake clock: these tests run on wall time, bounded to seconds.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use shoal_core::{Clock, SystemClock};
use shoal_sync::test_util::PostgresServer;
use shoal_sync::{DbUrl, SyncOptions, Syncer};
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};

use crate::incremental::sqlite_db;
use crate::support::{client, dump, same_rows, scalar};

/// An emulator on the wall clock with records that stay put: frozen an hour ahead, so that
/// no record ages out of the 90-day window while the test runs.
async fn wall_emulator(size: u64) -> PearlDiver {
    PearlDiver::start(PearlDiverConfig {
        frozen_at: Some(SystemClock.system_now() + std::time::Duration::from_secs(3_600)),
        audiences: vec![AudienceSpec::new(17, "Boston", size)],
        ..Default::default()
    })
    .await
    .unwrap()
}

fn worker(pd: &PearlDiver, db: &DbUrl, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sync-worker"))
        .args(["--db", &db.to_string()])
        .args(["--api-base", &pd.endpoints().api_base])
        .args(["--token", &pd.mint_tokens().access_token])
        .args(["--audience", "17"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sync-worker")
}

/// Waits (off the runtime) for a worker to print `STALLED`, then kills it with SIGKILL.
async fn kill_when_stalled(mut child: Child) {
    tokio::task::spawn_blocking(move || {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "STALLED",
            "the worker must reach its stall point"
        );
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success());
    })
    .await
    .unwrap();
}

/// Waits for a worker to exit and returns its summary.
async fn finish(child: Child) -> serde_json::Value {
    tokio::task::spawn_blocking(move || {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "worker failed: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
    })
    .await
    .unwrap()
}

async fn reference(pd: &PearlDiver) -> (tempfile::TempDir, DbUrl) {
    let (dir, db) = sqlite_db();
    let s = Syncer::open(
        client(pd, SystemClock::shared()),
        &db,
        SyncOptions::default(),
    )
    .await
    .unwrap();
    assert!(s.sync(&"17".parse().unwrap()).await.unwrap().ok);
    (dir, db)
}

/// Kill at `point`, run the same command again, compare with an uninterrupted sync.
async fn killed_then_rerun_equals_an_uninterrupted_sync(point: &str, pages_before: u64) {
    let pd = wall_emulator(4_500).await;
    let (_dir, db) = sqlite_db();
    kill_when_stalled(worker(&pd, &db, &["--stall-at", point])).await;
    let committed = scalar(&db, "SELECT pages FROM sync_runs").await;
    assert_eq!(committed, Some(pages_before.to_string()), "at {point}");
    let rows = scalar(&db, "SELECT count(*) FROM records").await;
    assert_eq!(
        rows,
        Some((pages_before * 1000).to_string()),
        "whole pages at {point}"
    );

    let summary = finish(worker(&pd, &db, &[])).await;
    let a = &summary["audiences"][0];
    assert_eq!(a["outcome"], "synced", "{summary}");
    assert_eq!(a["mode"]["mode"], "resumed", "{summary}");
    assert_eq!(a["mode"]["pages_before"], pages_before, "{summary}");
    assert_eq!(a["pages"], 5 - pages_before, "{summary}");

    let (_ref_dir, clean) = reference(&pd).await;
    let got = dump(&db).await;
    assert_eq!(got.len(), 4_500);
    same_rows(&got, &dump(&clean).await, point);
    let run = scalar(
        &db,
        "SELECT count(*) || ' ' || max(pages) || ' ' || max(records) || ' ' || max(inserted) || ' ' || max(status) FROM sync_runs",
    )
    .await;
    assert_eq!(
        run.as_deref(),
        Some("1 5 4500 4500 done"),
        "killed at {point}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_a_page_is_fetched_before_it_is_written() {
    killed_then_rerun_equals_an_uninterrupted_sync("fetched:2", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_inside_the_open_transaction_of_a_page() {
    killed_then_rerun_equals_an_uninterrupted_sync("before-commit:2", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_right_after_a_page_commits() {
    killed_then_rerun_equals_an_uninterrupted_sync("after-commit:3", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_sync_every_record_once() {
    let server = PostgresServer::start();
    let db: DbUrl = server.create_database("fleet").parse().unwrap();
    let pd = wall_emulator(20_000).await;
    let a = worker(&pd, &db, &[]);
    let b = worker(&pd, &db, &[]);
    let (a, b) = (finish(a).await, finish(b).await);
    let inserted: Vec<u64> = [&a, &b]
        .iter()
        .map(|s| s["audiences"][0]["inserted"].as_u64().unwrap())
        .collect();
    assert_eq!(inserted.iter().sum::<u64>(), 20_000, "{a}\n{b}");
    assert!(
        inserted.contains(&0),
        "one worker waited and found nothing new: {inserted:?}"
    );
    let counts = scalar(
        &db,
        "SELECT count(*) || ' ' || count(DISTINCT id) FROM records",
    )
    .await;
    assert_eq!(counts.as_deref(), Some("20000 20000"));
    // The runs never overlapped: the second started after the first had finished.
    let overlap = scalar(
        &db,
        "SELECT count(*) FROM sync_runs r1 JOIN sync_runs r2 ON r1.run_id < r2.run_id \
         WHERE r2.started_at < r1.finished_at",
    )
    .await;
    assert_eq!(overlap.as_deref(), Some("0"));
    let done = scalar(&db, "SELECT count(*) FROM sync_runs WHERE status = 'done'").await;
    assert_eq!(done.as_deref(), Some("2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_postgres_worker_releases_its_lock_and_its_open_page() {
    let server = PostgresServer::start();
    let db: DbUrl = server.create_database("killed").parse().unwrap();
    let pd = wall_emulator(3_000).await;
    let mut holder = worker(&pd, &db, &["--stall-at", "before-commit:1"]);
    // Wait for the stall (the lock is held, page 2 sits in an open transaction).
    let stdout = holder.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    assert_eq!(line.trim(), "STALLED");
    let skipped = finish(worker(&pd, &db, &["--lock", "skip"])).await;
    assert_eq!(
        skipped["audiences"][0]["outcome"], "skipped_locked",
        "{skipped}"
    );
    holder.kill().unwrap();
    let _ = holder.wait();

    let resumed = finish(worker(&pd, &db, &[])).await;
    let a = &resumed["audiences"][0];
    assert_eq!(a["mode"]["mode"], "resumed", "{resumed}");
    assert_eq!(
        (a["pages"].as_u64(), a["inserted"].as_u64()),
        (Some(2), Some(2_000))
    );
    let (_dir, clean) = reference(&pd).await;
    same_rows(
        &dump(&db).await,
        &dump(&clean).await,
        "before-commit:1 on postgres",
    );
}
