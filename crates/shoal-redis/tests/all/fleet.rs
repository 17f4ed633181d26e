//! Spawning `fleet-worker` processes and reading their summaries.
// Real processes share no fake clock: the fleet tests coordinate on wall time (seconds).
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix milliseconds now.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Sleeps (blocking the calling thread, run it in `spawn_blocking`) until a Unix ms.
pub fn sleep_until_ms(at: u64) {
    let now = unix_ms();
    if at > now {
        std::thread::sleep(Duration::from_millis(at - now));
    }
}

/// Starts one worker with `--name value` pairs and extra environment.
pub fn spawn(args: &[(&str, String)], env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleet-worker"));
    for (name, value) in args {
        cmd.arg(format!("--{name}")).arg(value);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fleet-worker")
}

/// Reads one line from a worker's stdout (blocking).
pub fn read_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read worker stdout");
    line.trim().to_string()
}

/// What one worker reported.
#[derive(Debug)]
pub struct Summary {
    pub ok: u64,
    pub failed: u64,
    pub errors: Vec<String>,
}

/// Waits for every worker and parses its JSON summary; panics with stderr on a failed exit.
pub async fn finish(children: Vec<Child>) -> Vec<Summary> {
    tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| {
                let out = child.wait_with_output().expect("wait for worker");
                let stdout = String::from_utf8_lossy(&out.stdout);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "worker failed: {stderr}\n{stdout}");
                let line = stdout.lines().last().unwrap_or_default();
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("bad summary {line:?}: {e}; stderr: {stderr}"));
                Summary {
                    ok: v["ok"].as_u64().unwrap(),
                    failed: v["failed"].as_u64().unwrap(),
                    errors: v["errors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e.as_str().unwrap_or_default().to_string())
                        .collect(),
                }
            })
            .collect()
    })
    .await
    .unwrap()
}
