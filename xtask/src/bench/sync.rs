//! Scenario 6: `shoal pearldiver sync` — an audience into SQLite and into Postgres, run by the
//! `sync-worker` binary (the engine without the CLI) as a child process against the emulator
//! child. Records/s and peak RSS (the kernel's `VmHWM` of the worker).
//!
//! There is no other sync to compare with, so the baseline column holds the target
//! rate (50,000 records/s into SQLite, 20,000 into Postgres) and the ratio is measured/target;
//! peak RSS has the absolute bound 64 MiB. The Postgres server is a throwaway cluster
//! (`shoal_sync::test_util::PostgresServer`, fsync off) on this machine.

use std::process::{Command, Stdio};

use secrecy::ExposeSecret;
use shoal_auth::TokenStore;
use shoal_core::Request;
use shoal_sync::test_util::PostgresServer;

use super::emulate::Emulator;
use super::measure::{median, spread, watch_child};
use super::overhead::{refresh_only, shoal_side};
use super::report::{Goal, Row};
use super::{BenchResult, Plan, target_dir};

const MIB: f64 = 1024.0;

struct Outcome {
    records_per_s: f64,
    peak_kib: u64,
}

fn run_worker(
    exe: &std::path::Path,
    db: &str,
    api: &str,
    token: &str,
    records: u64,
) -> BenchResult<Outcome> {
    let child = Command::new(exe)
        .args([
            "--db",
            db,
            "--api-base",
            api,
            "--token",
            token,
            "--audience",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting sync-worker: {e}"))?;
    let (elapsed, peak_kib, ok) = watch_child(child);
    if !ok {
        return Err(format!("sync-worker failed on {db}"));
    }
    Ok(Outcome {
        records_per_s: records as f64 / elapsed.as_secs_f64(),
        peak_kib,
    })
}

/// Runs the scenario.
pub async fn run(plan: Plan) -> BenchResult<Vec<Row>> {
    let records: u64 = if plan.quick { 200_000 } else { 1_000_000 };
    let runs = if plan.quick { 1 } else { 3 };
    let exe = target_dir().join("release").join("sync-worker");
    if !exe.exists() {
        return Err(format!(
            "{} is missing (built by `cargo xtask bench`)",
            exe.display()
        ));
    }
    let dir = target_dir().join("bench").join("sync");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let emu = Emulator::start(&["pearldiver", "--records", &records.to_string()])?;
    let side = shoal_side(&emu, refresh_only(&emu), false)?;
    side.pipeline
        .execute(Request::get("audiences"))
        .await
        .map_err(|e| e.to_string())?;
    let record = side
        .store
        .load()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no token")?;
    let token = record.access_token.expose_secret().to_string();
    let api = emu.field("api_base");
    // Postgres's stock settings are sized for a small machine (128 MB of buffers, a checkpoint
    // every 1 GB of WAL); these are the first ones a team running it would raise.
    let server = PostgresServer::try_start_with(&[
        ("shared_buffers", "1GB"),
        ("max_wal_size", "8GB"),
        ("checkpoint_timeout", "30min"),
    ])
    .map_err(|e| e.to_string())?;

    let mut rows = Vec::new();
    for (name, target) in [("SQLite", 50_000.0), ("Postgres", 20_000.0)] {
        let (mut rates, mut peak) = (Vec::new(), 0u64);
        for _ in 0..runs {
            let db = if name == "SQLite" {
                let path = dir.join("bench.db");
                for ext in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
                }
                format!("sqlite:{}", path.display())
            } else {
                server.create_database("bench")
            };
            let o = run_worker(&exe, &db, &api, &token, records)?;
            rates.push(o.records_per_s);
            peak = peak.max(o.peak_kib);
        }
        rows.push(Row::new(
            &format!("sync {records} into {name}: throughput vs target"),
            "records/s",
            median(rates.clone()),
            target,
            Goal::AtLeast(1.0),
            spread(&rates),
        ));
        rows.push(Row::new(
            &format!("sync {records} into {name}: peak RSS"),
            "MiB",
            peak as f64 / MIB,
            f64::NAN,
            Goal::ValueAtMost(64.0),
            0.0,
        ));
    }
    Ok(rows)
}
