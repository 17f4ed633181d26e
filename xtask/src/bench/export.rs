//! Scenario 2: audience export — `shoal pearldiver export --format ndjson` against a baseline
//! program that pages with bare reqwest, parses each page into `serde_json::Value` and writes one
//! line per record. Records/s and peak RSS (the kernel's `VmHWM` of each child process). And the
//! "server limit": the export's records/s against a client that only reads each page's bytes
//! (finding the next cursor at the page's end) and discards them — the physical limit of a
//! sequential cursor export against this server.

use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use secrecy::ExposeSecret;
use shoal_auth::{FileTokenStore, TokenStore};
use shoal_core::Request;

use super::emulate::Emulator;
use super::measure::{median, spread, watch_child};
use super::overhead::{refresh_only, shoal_side};
use super::report::{Goal, Row};
use super::{BenchResult, Plan, target_dir};

const MIB: f64 = 1024.0;

/// `xtask bench-baseline-export --api-base U --token T --audience K --out FILE [--bytes-only]`:
/// the hand-written reqwest exporter the benchmark compares with; with `--bytes-only`, the
/// client that reads each page's bytes and writes nothing.
pub fn baseline_export(args: &[String]) -> ExitCode {
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(api), Some(token), Some(key), Some(out)) = (
        get("--api-base"),
        get("--token"),
        get("--audience"),
        get("--out"),
    ) else {
        eprintln!(
            "usage: xtask bench-baseline-export --api-base U --token T --audience K --out FILE"
        );
        return ExitCode::from(2);
    };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::FAILURE;
    };
    let run = async {
        if args.iter().any(|a| a == "--bytes-only") {
            bytes_only(&api, &token, &key).await
        } else {
            baseline(&api, &token, &key, Path::new(&out)).await
        }
    };
    match rt.block_on(run) {
        Ok(n) => {
            println!("{n}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("baseline export: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn baseline(api: &str, token: &str, key: &str, out: &Path) -> Result<u64, String> {
    let client = reqwest::Client::new();
    let file = std::fs::File::create(out).map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::new(file);
    let mut page_token: Option<String> = None;
    let mut count = 0u64;
    loop {
        let mut req = client
            .get(format!("{api}/audiences/{key}"))
            .bearer_auth(token);
        if let Some(t) = &page_token {
            req = req.query(&[("pageToken", t)]);
        }
        let body = req
            .send()
            .await
            .map_err(|e| e.to_string())?
            .error_for_status()
            .map_err(|e| e.to_string())?;
        let bytes = body.bytes().await.map_err(|e| e.to_string())?;
        let page: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        for record in page["records"].as_array().into_iter().flatten() {
            serde_json::to_writer(&mut w, record).map_err(|e| e.to_string())?;
            w.write_all(b"\n").map_err(|e| e.to_string())?;
            count += 1;
        }
        page_token = page["pageToken"].as_str().map(str::to_string);
        if page_token.is_none() {
            break;
        }
    }
    w.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

/// Pages through the audience reading only bytes: the next cursor is found by searching the
/// page's tail (the emulator writes it last), nothing is parsed or written. Returns the pages.
async fn bytes_only(api: &str, token: &str, key: &str) -> Result<u64, String> {
    const NEEDLE: &[u8] = br#""pageToken":""#;
    let client = reqwest::Client::new();
    let mut page_token: Option<String> = None;
    let mut pages = 0u64;
    loop {
        let mut req = client
            .get(format!("{api}/audiences/{key}"))
            .bearer_auth(token);
        if let Some(t) = &page_token {
            req = req.query(&[("pageToken", t)]);
        }
        let bytes = req
            .send()
            .await
            .map_err(|e| e.to_string())?
            .error_for_status()
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        pages += 1;
        let tail = &bytes[bytes.len().saturating_sub(4096)..];
        page_token = tail
            .windows(NEEDLE.len())
            .rposition(|w| w == NEEDLE)
            .and_then(|at| {
                let rest = &tail[at + NEEDLE.len()..];
                let end = rest.iter().position(|b| *b == b'"')?;
                std::str::from_utf8(&rest[..end]).ok().map(str::to_string)
            });
        std::hint::black_box(&bytes);
        if page_token.is_none() {
            return Ok(pages);
        }
    }
}

struct Outcome {
    records_per_s: f64,
    peak_kib: u64,
}

fn run_child(mut cmd: Command, records: u64, out: &Path) -> BenchResult<Outcome> {
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(out.with_extension("ndjson.checkpoint"));
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let (elapsed, peak_kib, ok) = watch_child(child);
    if !ok {
        return Err(format!("exporter failed: {cmd:?}"));
    }
    let lines = count_lines(out)?;
    if lines != records {
        return Err(format!(
            "exporter wrote {lines} records, expected {records}"
        ));
    }
    Ok(Outcome {
        records_per_s: records as f64 / elapsed.as_secs_f64(),
        peak_kib,
    })
}

/// Runs the bytes-only client; its records/s (checking it read every page).
fn run_bytes_only(mut cmd: Command, records: u64, dir: &Path) -> BenchResult<f64> {
    let pages_file = dir.join("bytes-only.pages");
    let stdout = std::fs::File::create(&pages_file).map_err(|e| e.to_string())?;
    let child = cmd
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let (elapsed, _, ok) = watch_child(child);
    if !ok {
        return Err(format!("bytes-only client failed: {cmd:?}"));
    }
    let pages: u64 = std::fs::read_to_string(&pages_file)
        .map_err(|e| e.to_string())?
        .trim()
        .parse()
        .map_err(|e| format!("bytes-only client said: {e}"))?;
    if pages != records.div_ceil(1000) {
        return Err(format!(
            "bytes-only client read {pages} pages of {records} records"
        ));
    }
    Ok(records as f64 / elapsed.as_secs_f64())
}

/// Runs the scenario.
pub async fn run(plan: Plan) -> BenchResult<Vec<Row>> {
    let sizes: [u64; 2] = if plan.quick {
        [100_000, 300_000]
    } else {
        [100_000, 1_000_000]
    };
    let runs = if plan.quick { 1 } else { plan.runs };
    let dir = target_dir().join("bench").join("export");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let shoal_exe = target_dir().join("release").join("shoal");
    let xtask_exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut shoal_peaks = Vec::new();
    for records in sizes {
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
        let token_file = dir.join("tokens.json");
        let _ = std::fs::remove_file(&token_file);
        FileTokenStore::new(&token_file)
            .save(&record)
            .await
            .map_err(|e| e.to_string())?;
        let bearer = record.access_token.expose_secret().to_string();
        let (shoal_out, base_out) = (dir.join("shoal.ndjson"), dir.join("baseline.ndjson"));
        let (mut s, mut b, mut s_peak, mut b_peak) = (Vec::new(), Vec::new(), 0u64, 0u64);
        // The server limit is measured at the largest size only.
        let (with_limit, mut limit, mut shoal_at_limit) =
            (records == sizes[1], Vec::new(), Vec::new());
        for run in 0..runs {
            let shoal_cmd = || {
                let mut c = Command::new(&shoal_exe);
                c.args([
                    "pearldiver",
                    "export",
                    "--audience",
                    "1",
                    "--format",
                    "ndjson",
                    "--out",
                ])
                .arg(&shoal_out)
                .env("SHOAL_PEARLDIVER_CLIENT_ID", emu.field("client_id"))
                .env("SHOAL_PEARLDIVER_CLIENT_SECRET", emu.field("client_secret"))
                .env("SHOAL_PEARLDIVER_AUTH_URL", emu.field("authorize_url"))
                .env("SHOAL_PEARLDIVER_TOKEN_URL", emu.field("token_url"))
                .env("SHOAL_PEARLDIVER_API_URL", emu.field("api_base"))
                .env("SHOAL_PEARLDIVER_TOKEN_FILE", &token_file);
                c
            };
            let base_cmd = || {
                let mut c = Command::new(&xtask_exe);
                c.args([
                    "bench-baseline-export",
                    "--api-base",
                    &emu.field("api_base"),
                    "--token",
                    &bearer,
                ])
                .args(["--audience", "1", "--out"])
                .arg(&base_out);
                c
            };
            let bytes_cmd = || {
                let mut c = base_cmd();
                c.arg("--bytes-only");
                c
            };
            let (so, bo) = if run % 2 == 0 {
                if with_limit {
                    limit.push(run_bytes_only(bytes_cmd(), records, &dir)?);
                }
                let so = run_child(shoal_cmd(), records, &shoal_out)?;
                (so, run_child(base_cmd(), records, &base_out)?)
            } else {
                let bo = run_child(base_cmd(), records, &base_out)?;
                let so = run_child(shoal_cmd(), records, &shoal_out)?;
                if with_limit {
                    limit.push(run_bytes_only(bytes_cmd(), records, &dir)?);
                }
                (so, bo)
            };
            if with_limit {
                shoal_at_limit.push(so.records_per_s);
            }
            s_peak = s_peak.max(so.peak_kib);
            b_peak = b_peak.max(bo.peak_kib);
            s.push(so.records_per_s);
            b.push(bo.records_per_s);
        }
        rows.push(Row::new(
            &format!("export {records}: throughput"),
            "records/s",
            median(s.clone()),
            median(b),
            Goal::AtLeast(1.0),
            spread(&s),
        ));
        rows.push(Row::new(
            &format!("export {records}: peak RSS"),
            "MiB",
            s_peak as f64 / MIB,
            b_peak as f64 / MIB,
            Goal::ValueAtMost(64.0),
            0.0,
        ));
        if with_limit {
            rows.push(Row::new(
                &format!("server limit: export {records} / bytes-only client"),
                "records/s",
                median(shoal_at_limit.clone()),
                median(limit),
                Goal::AtLeast(0.95),
                spread(&shoal_at_limit),
            ));
        }
        shoal_peaks.push(s_peak);
        let _ = std::fs::remove_file(&shoal_out);
        let _ = std::fs::remove_file(&base_out);
    }
    // Flat memory: the large export's peak within 10% of the small one's.
    if let [small, large] = shoal_peaks[..] {
        rows.push(Row::new(
            &format!("export peak RSS, {} vs {}", sizes[1], sizes[0]),
            "MiB",
            large as f64 / MIB,
            small as f64 / MIB,
            Goal::AtMost(1.10),
            0.0,
        ));
    }
    Ok(rows)
}

/// Newlines in a file, read in 64 KiB pieces (an export can be a gigabyte).
fn count_lines(path: &Path) -> BenchResult<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
}
