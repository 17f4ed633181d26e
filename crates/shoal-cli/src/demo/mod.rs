//! `shoal demo`: the whole SDK on the built-in emulators, walked through as a user would — a
//! Pearl Diver login and a large audience streamed while tokens rotate, a paced PebblePad burst,
//! a Paya contact's life with a session token — ending with a summary table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, future::join_all};
use serde_json::json;
use shoal::auth::{
    AccessToken, ConfigureTokens as _, LoopbackOptions, RefreshSettings, RefreshToken,
    UnknownExpiry,
};
use shoal::core::{Clock, ConfigureClient as _, ErrorKind, RetryPolicy, SystemClock};
use shoal::paya::{ContactField, ContactUpdate, Environment, NewContact, Password, PayaClient};
use shoal::pearldiver::{AudienceWindow, PearlDiverClient};
use shoal::pebblepad::{
    BasicUserInfo, Group, GroupMember, Installation, OAuthApp, PebblePadClient, ServiceAccount,
    Target,
};
use shoal_testkit::Fault;
use shoal_testkit::paya::Paya;
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::{PebblePad as PebblePadEmulator, RateLimits};
use shoal_testkit::{Sandbox, SandboxConfig};

use crate::args::DemoArgs;
use crate::exit::{CliError, CliResult, Failure};
use crate::http;
use crate::ui::{Ui, human_duration};

mod paya;
mod pearldiver;
mod pebblepad;

use self::paya::paya;
use self::pearldiver::pearldiver;
use self::pebblepad::pebblepad;

const AUDIENCE: u64 = 42;
const USERS: usize = 20;
const READS: usize = 100;

/// One vendor's line in the summary table.
#[derive(Debug, Default, serde::Serialize)]
struct Row {
    vendor: &'static str,
    records: u64,
    calls: u64,
    refreshes: u64,
    retries: u64,
    rate_limited: u64,
    elapsed_ms: u128,
}

fn now() -> Instant {
    SystemClock.now()
}

/// A failed step: which one and why.
fn step(vendor: &str, what: &str) -> impl FnOnce(CliError) -> CliError {
    let at = format!("{vendor} / {what}");
    move |e| CliError {
        message: format!("{at}: {}", e.message),
        ..e
    }
}

fn check(ok: bool, vendor: &str, what: &str, why: String) -> CliResult {
    if ok {
        Ok(())
    } else {
        Err(CliError::new(
            Failure::Service,
            format!("{vendor} / {what}: {why}"),
        ))
    }
}

fn say(ui: Ui, line: &str) {
    if !ui.json {
        println!("{line}");
    }
}

/// Runs the demo; exit 0 only if every step did what it says.
pub async fn run(args: DemoArgs, ui: Ui) -> CliResult {
    let started = now();
    say(
        ui,
        "Shoal demo: three services emulated on 127.0.0.1 — no account, no network.\n",
    );
    let mut config = SandboxConfig::ephemeral();
    config.pearldiver = self::pearldiver::config(&args);
    config.pebblepad.limits = self::pebblepad::emulator_limits();
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|e| CliError::io("cannot start the emulators", e))?;
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for result in [
        pearldiver(&sandbox.pearldiver, &args, ui).await,
        pebblepad(&sandbox.pebblepad, ui).await,
        paya(&sandbox.paya, ui).await,
    ] {
        match result {
            Ok(row) => rows.push(row),
            Err(e) => {
                say(ui, &format!("  FAILED  {e}"));
                failures.push(e);
            }
        }
    }
    sandbox.shutdown().await;
    let total = started.elapsed();
    let mut table = format!(
        "\n{:<14}{:>9}{:>7}{:>11}{:>9}{:>7}{:>10}",
        "service", "records", "calls", "refreshes", "retries", "429s", "elapsed"
    );
    for r in &rows {
        table.push_str(&format!(
            "\n{:<14}{:>9}{:>7}{:>11}{:>9}{:>7}{:>10}",
            r.vendor,
            r.records,
            r.calls,
            r.refreshes,
            r.retries,
            r.rate_limited,
            human_duration(Duration::from_millis(
                u64::try_from(r.elapsed_ms).unwrap_or(u64::MAX)
            ))
        ));
    }
    let sum = |f: fn(&Row) -> u64| rows.iter().map(f).sum::<u64>();
    table.push_str(&format!(
        "\n{:<14}{:>9}{:>7}{:>11}{:>9}{:>7}{:>10}",
        "total",
        sum(|r| r.records),
        sum(|r| r.calls),
        sum(|r| r.refreshes),
        sum(|r| r.retries),
        sum(|r| r.rate_limited),
        human_duration(total)
    ));
    let failed: Vec<String> = failures.iter().map(|e| e.message.clone()).collect();
    let verdict = if failed.is_empty() {
        "\nEvery step did what it says."
    } else {
        "\nSome steps failed (above)."
    };
    ui.print(
        &format!("{table}{verdict}"),
        &json!({"ok": failed.is_empty(), "services": rows, "elapsed_ms": total.as_millis(), "failures": failed}),
    );
    match failures.into_iter().next() {
        None => Ok(()),
        Some(first) if failed.len() > 1 => Err(CliError::new(
            first.kind,
            format!("{} steps failed; first: {}", failed.len(), first.message),
        )),
        Some(first) => Err(first),
    }
}
