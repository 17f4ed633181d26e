//! `cargo xtask bench`: what Shoal exists for, each figure a ratio against a baseline measured
//! in the same run (the machines are shared and noisy; absolute times alone mean little).
//!
//! The measured process is only the client: emulators run in a child process
//! (`xtask emulate …`), and the export scenario runs both exporters as child processes.
#![allow(clippy::disallowed_methods)] // a benchmark measures real time

mod decode;
mod emulate;
mod export;
mod measure;
mod memory;
mod overhead;
mod pacing;
mod report;
mod storm;
mod sync;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

pub use emulate::emulate;
pub use export::baseline_export;
use report::Row;

/// Sizes and repetitions for one run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Smaller sizes, fewer runs (under 3 minutes on 2 cores).
    pub quick: bool,
    /// A/B runs per scenario.
    pub runs: usize,
    /// Run only this scenario (1–6).
    pub only: Option<u32>,
}

/// The workspace's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// `cargo xtask bench [--quick]`: builds release binaries, then runs the scenarios from them.
pub fn run(args: &[String]) -> ExitCode {
    let quick = args.iter().any(|a| a == "--quick");
    if cfg!(debug_assertions) {
        eprintln!("==> building release binaries (xtask, shoal, sync-worker)");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = Command::new(&cargo)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "xtask",
                "-p",
                "shoal-cli",
                "-p",
                "shoal-sync",
                "--features",
                "shoal-sync/sync-worker",
            ])
            .status();
        if !built.is_ok_and(|s| s.success()) {
            eprintln!("xtask bench: release build failed");
            return ExitCode::FAILURE;
        }
        let exe = target_dir().join("release").join("xtask");
        return match Command::new(exe).arg("bench").args(args).status() {
            Ok(s) if s.success() => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        };
    }
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    let plan = Plan {
        quick,
        runs: if quick { 3 } else { 5 },
        only,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("xtask bench: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(scenarios(plan)) {
        Ok(rows) => {
            report::print(&rows, plan);
            match report::write_json(&rows, plan) {
                Ok(path) => eprintln!("==> results in {}", path.display()),
                Err(e) => eprintln!("xtask bench: could not write results: {e}"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An error while benchmarking, as text.
pub type BenchResult<T> = Result<T, String>;

async fn scenarios(plan: Plan) -> BenchResult<Vec<Row>> {
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    macro_rules! scenario {
        ($n:literal, $name:literal, $run:expr) => {
            if plan.only.is_some_and(|o| o.to_string() != $n) {
                eprintln!(concat!("==> ", $n, "/7 ", $name, " (skipped)"));
            } else {
                eprintln!(concat!("==> ", $n, "/7 ", $name));
                match $run.await {
                    Ok(r) => rows.extend(r),
                    Err(e) => {
                        eprintln!(concat!("xtask bench: ", $name, " failed: {}"), e);
                        failed.push($name);
                    }
                }
            }
        };
    }
    scenario!("1", "request overhead", overhead::run(plan));
    scenario!("2", "audience export", export::run(plan));
    scenario!("3", "refresh storm", storm::run(plan));
    scenario!("4", "rate-limit adherence", pacing::run(plan));
    scenario!("5", "decode", decode::run(plan));
    scenario!("6", "limiter memory", memory::run(plan));
    scenario!("7", "sync", sync::run(plan));
    if failed.is_empty() {
        Ok(rows)
    } else {
        report::print(&rows, plan);
        Err(format!("scenarios failed: {}", failed.join(", ")))
    }
}
