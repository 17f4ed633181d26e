//! `xtask emulate pearldiver|pebblepad …`: one emulator in its own process, for benchmarks.
//!
//! Prints one JSON line with its endpoints and credentials, then serves until standard input
//! closes (the parent holds the pipe, so a dying parent takes the emulator with it).

use std::io::BufRead;
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::time::Duration;

use shoal_testkit::Fault;
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::{PebblePad, PebblePadConfig, RateLimits};

fn flag(args: &[String], name: &str) -> Option<u64> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// Runs an emulator until stdin closes.
pub fn emulate(args: &[String]) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("emulate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match args.first().map(String::as_str) {
            Some("pearldiver") => {
                let records = flag(args, "--records").unwrap_or(100_000);
                let ttl = flag(args, "--token-ttl").unwrap_or(86_400);
                let pd = PearlDiver::start(PearlDiverConfig {
                    audiences: vec![AudienceSpec::new(1, "Benchmark audience", records)],
                    access_token_ttl: Duration::from_secs(ttl),
                    traffic_capacity: 16,
                    ..PearlDiverConfig::default()
                })
                .await?;
                println!(
                    "{}",
                    serde_json::to_string(pd.endpoints()).unwrap_or_default()
                );
                wait_for_stdin_eof().await;
                pd.shutdown().await;
                Ok(())
            }
            Some("pebblepad") => {
                let window = Duration::from_millis(flag(args, "--window-ms").unwrap_or(2000));
                let get = flag(args, "--get").unwrap_or(100) as u32;
                let concurrency = flag(args, "--concurrency").unwrap_or(4) as u32;
                let pp = PebblePad::start(PebblePadConfig {
                    limits: RateLimits {
                        get,
                        post: get,
                        put: get,
                        delete: get,
                        concurrency,
                        window,
                    },
                    traffic_capacity: 16,
                    ..PebblePadConfig::default()
                })
                .await?;
                // Network latency on the way in: the server counts each call this much later
                // than the client admitted it.
                if let Some(ms) = flag(args, "--latency-ms").filter(|ms| *ms > 0) {
                    pp.faults()
                        .push(Fault::delay(Duration::from_millis(ms)).always());
                }
                let mut endpoints = serde_json::to_value(pp.endpoints()).unwrap_or_default();
                // The default config issues a service account; its token is the bench's bearer.
                endpoints["access_token"] = endpoints["service_access_token"].clone();
                println!("{endpoints}");
                wait_for_stdin_eof().await;
                pp.shutdown().await;
                Ok(())
            }
            _ => Err(std::io::Error::other(
                "usage: xtask emulate pearldiver|pebblepad [flags]",
            )),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("emulate: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_stdin_eof() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        while lock.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    })
    .await;
}

/// A running emulator child: its endpoints, killed on drop.
pub struct Emulator {
    child: Child,
    _stdout: std::io::BufReader<ChildStdout>,
    /// The JSON line it printed.
    pub endpoints: serde_json::Value,
}

impl Emulator {
    /// Starts `xtask emulate <args>` (this same binary) and reads its endpoints.
    pub fn start(args: &[&str]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .arg("emulate")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the emulator: {e}"))?;
        let stdout = child.stdout.take().ok_or("no emulator stdout")?;
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let endpoints =
            serde_json::from_str(&line).map_err(|e| format!("emulator said {line:?}: {e}"))?;
        Ok(Self {
            child,
            _stdout: reader,
            endpoints,
        })
    }

    /// A string field of the endpoints.
    pub fn field(&self, name: &str) -> String {
        self.endpoints[name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
