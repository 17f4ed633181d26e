//! Helpers for the bulk-job tests: emulators hosted in the test process (so that their clock,
//! limits, faults and traffic record are under the test's control), the `SHOAL_*` variables
//! that point the built binary at them, and polling without fixed sleeps.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use shoal::auth::{AccessToken, FileTokenStore, RefreshToken, TokenRecord, TokenStore as _};
use shoal::core::{Clock as _, SystemClock};
use shoal_testkit::ManualClock;
use shoal_testkit::paya::{Paya, PayaConfig};
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::{PebblePad, PebblePadConfig, RateLimits};

use crate::support::Guard;

/// The key of the test audience.
pub const AUDIENCE: u64 = 17;

/// A runtime for the emulators; the test thread stays free to drive child processes.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// [`runtime`] and a scratch directory, which every emulator test starts with.
pub fn runtime_and_dir() -> (tokio::runtime::Runtime, tempfile::TempDir) {
    (runtime(), tempfile::tempdir().unwrap())
}

/// `shoal` with exactly these variables.
pub fn shoal(env: &[(String, String)]) -> Command {
    let mut c = crate::support::shoal();
    c.envs(env.iter().map(|(k, v)| (k, v)));
    c
}

/// Spawns `shoal ARGS` with output discarded (stderr to `log`), killed when dropped.
pub fn spawn(
    env: &[(String, String)],
    args: impl IntoIterator<Item = impl AsRef<OsStr>>,
    log: &Path,
) -> Guard {
    let log = std::fs::File::create(log).unwrap();
    Guard(
        shoal(env)
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

pub use crate::support::poll_for;

/// `pearldiver export --audience AUDIENCE --out FILE EXTRA…`.
pub fn export_args(file: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "pearldiver".to_string(),
        "export".into(),
        "--audience".into(),
        AUDIENCE.to_string(),
        "--out".into(),
        file.display().to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// SIGKILLs the child (no chance to clean up) and reaps it; whether it was still running.
pub fn kill(child: &mut Guard) -> bool {
    let running = child.0.try_wait().unwrap().is_none();
    let _ = child.0.kill();
    let _ = child.0.wait();
    running
}

/// A Pearl Diver emulator on a frozen clock (every export sees the same window end, so two
/// exports are byte-comparable) with a `records`-record audience, and a token file whose access
/// token is valid: no refresh happens, so a kill can never lose a rotated token.
pub fn pearldiver(
    rt: &tokio::runtime::Runtime,
    records: u64,
    dir: &Path,
) -> (PearlDiver, Vec<(String, String)>) {
    pearldiver_on(rt, records, dir, ManualClock::new())
}

/// [`pearldiver`] on `clock` (one frozen at the present for a sync, whose `since` comes from
/// the system clock).
pub fn pearldiver_on(
    rt: &tokio::runtime::Runtime,
    records: u64,
    dir: &Path,
    clock: ManualClock,
) -> (PearlDiver, Vec<(String, String)>) {
    let pd = rt
        .block_on(PearlDiver::start(PearlDiverConfig {
            clock: clock.shared(),
            audiences: vec![AudienceSpec::new(AUDIENCE, "Export test", records)],
            ..Default::default()
        }))
        .unwrap();
    let tokens = pd.mint_tokens();
    let token_file = dir.join("pd-tokens.json");
    let day = Duration::from_secs(86_400);
    write_tokens(
        rt,
        &token_file,
        &tokens.access_token,
        &tokens.refresh_token,
        day,
    );
    let e = pd.endpoints();
    let env = vec![
        ("SHOAL_PEARLDIVER_CLIENT_ID", e.client_id.clone()),
        ("SHOAL_PEARLDIVER_CLIENT_SECRET", e.client_secret.clone()),
        ("SHOAL_PEARLDIVER_AUTH_URL", e.authorize_url.clone()),
        ("SHOAL_PEARLDIVER_TOKEN_URL", e.token_url.clone()),
        ("SHOAL_PEARLDIVER_API_URL", e.api_base.clone()),
        ("SHOAL_PEARLDIVER_AUDIENCE_PARAM", e.audience.clone()),
        (
            "SHOAL_PEARLDIVER_TOKEN_FILE",
            token_file.display().to_string(),
        ),
    ];
    (pd, own(env))
}

/// Writes a token file at `path` (as `shoal pearldiver login` would) whose access token is
/// valid for `valid_for`.
pub fn write_tokens(
    rt: &tokio::runtime::Runtime,
    path: &Path,
    access: &str,
    refresh: &str,
    valid_for: Duration,
) {
    let mut record = TokenRecord::unknown_age(AccessToken::new(access), RefreshToken::new(refresh));
    record.expires_at = Some(SystemClock.system_now() + valid_for);
    rt.block_on(async {
        let store = FileTokenStore::new(path.to_path_buf());
        let guard = store.lock().await.unwrap();
        store.save_locked(&record, guard.fence()).await.unwrap();
    });
}

/// A PebblePad emulator whose "minute" is `window` long, allowing `post` POSTs in it, with a
/// service account; no seed users.
pub fn pebblepad(
    rt: &tokio::runtime::Runtime,
    post: u32,
    window: Duration,
    dir: &Path,
) -> (PebblePad, Vec<(String, String)>) {
    let pp = rt
        .block_on(PebblePad::start(PebblePadConfig {
            limits: RateLimits {
                post,
                window,
                ..Default::default()
            },
            seed_users: 0,
            service_account: true,
            traffic_capacity: 100_000,
            ..Default::default()
        }))
        .unwrap();
    let e = pp.endpoints();
    let env = vec![
        ("SHOAL_PEBBLEPAD_HOST", e.host.clone()),
        ("SHOAL_PEBBLEPAD_CLIENT_ID", e.client_id.clone()),
        ("SHOAL_PEBBLEPAD_CLIENT_SECRET", e.client_secret.clone()),
        (
            "SHOAL_PEBBLEPAD_ACCESS_TOKEN",
            e.service_access_token.clone().unwrap(),
        ),
        (
            "SHOAL_PEBBLEPAD_REFRESH_TOKEN",
            e.service_refresh_token.clone().unwrap(),
        ),
        (
            "SHOAL_PEBBLEPAD_TOKEN_FILE",
            dir.join("pp-tokens.json").display().to_string(),
        ),
    ];
    (pp, own(env))
}

/// A Paya emulator without seed contacts, reached with the key method.
pub fn paya(rt: &tokio::runtime::Runtime) -> (Paya, Vec<(String, String)>) {
    let py = rt
        .block_on(Paya::start(PayaConfig {
            seed_contacts: 0,
            traffic_capacity: 100_000,
            ..Default::default()
        }))
        .unwrap();
    let e = py.endpoints();
    let env = vec![
        ("SHOAL_PAYA_BASE_URL", e.base_url.clone()),
        ("SHOAL_PAYA_DEVELOPER_ID", e.developer_id.clone()),
        ("SHOAL_PAYA_USER_ID", e.user_id.clone()),
        ("SHOAL_PAYA_API_KEY", e.user_api_key.clone()),
        ("SHOAL_PAYA_LOCATION_ID", e.location_id.clone()),
    ];
    (py, own(env))
}

fn own(env: Vec<(&str, String)>) -> Vec<(String, String)> {
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Lines of a file (0 when it does not exist).
pub fn lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// The rows of a report CSV (header skipped): (row, key, outcome, id, error).
pub fn report(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>()[2..],
        ["outcome", "id", "error"]
    );
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}
