//! `shoal pearldiver sync` and `export --format singer`: flags into shoal-sync's calls.

use std::io::Write as _;

use serde_json::json;
use shoal::pearldiver::PearlDiverClient;
use shoal_sync::singer::{self, SingerOptions, SingerState};
use shoal_sync::{AudienceSelection, DbUrl, LockPolicy, Outcome, SyncOptions, Syncer};

use crate::args::{ExportArgs, SyncArgs};
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::Ui;

/// Runs `shoal pearldiver sync`; the `--json` summary (printed by the caller).
pub async fn sync(client: PearlDiverClient, args: &SyncArgs, ui: Ui) -> CliResult {
    let selection: AudienceSelection = args.audience.parse()?;
    let db = match &args.db {
        Some(url) => url.parse::<DbUrl>()?,
        None => DbUrl::default_sqlite().ok_or_else(|| {
            CliError::usage("this platform has no data directory for the default database")
                .hint("pass --db sqlite:PATH or --db postgres://…")
        })?,
    };
    let options = SyncOptions::default()
        .lag(args.lag.into())
        .concurrency(args.concurrency.max(1))
        .lock(if args.skip_locked {
            LockPolicy::Skip
        } else {
            LockPolicy::Wait
        });
    if args.dry_run {
        let plan = Syncer::plan(&client, &db, &selection, &options).await?;
        let mut human = format!(
            "{} ({})",
            plan.db,
            if plan.db_exists {
                "exists"
            } else {
                "would be created"
            }
        );
        for a in &plan.audiences {
            human.push_str(&format!("\n{:>8}  {}: {}", a.key, a.name, a.note));
        }
        ui.print(&human, &json!(plan));
        return Ok(());
    }
    let syncer = Syncer::open(client, &db, options).await?;
    let summary = syncer.sync(&selection).await?;
    let mut human = format!(
        "{}: {} pages, {} records ({} inserted, {} updated, {} unchanged) in {:.1} s",
        summary.db,
        summary.totals.pages,
        summary.totals.records,
        summary.totals.inserted,
        summary.totals.updated,
        summary.totals.unchanged,
        summary.elapsed_ms as f64 / 1000.0
    );
    for a in &summary.audiences {
        let what = match (&a.outcome, &a.error) {
            (Outcome::Failed, Some(e)) => format!("failed: {e}"),
            (Outcome::SkippedLocked, _) => "skipped: another worker holds it".to_string(),
            _ => format!(
                "{} inserted, {} updated, {} unchanged{}",
                a.counts.inserted,
                a.counts.updated,
                a.counts.unchanged,
                a.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
        };
        human.push_str(&format!("\n{:>8}  {}: {what}", a.key, a.name));
    }
    ui.print(&human, &json!(summary));
    if summary.ok {
        return Ok(());
    }
    let failed: Vec<String> = summary
        .audiences
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Failed))
        .map(|a| {
            format!(
                "audience {}: {}",
                a.key,
                a.error.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    let mut err = CliError::new(Failure::Service, failed.join("; "))
        .hint("run the same command again: each audience continues from its last committed page");
    // The summary is on stdout already.
    err.reported = ui.json;
    Err(err)
}

/// Runs `shoal pearldiver export --format singer`: messages to `--out` (`-` for stdout),
/// continuing from `--state`.
pub async fn singer_export(
    client: &PearlDiverClient,
    args: &ExportArgs,
    ui: Ui,
) -> CliResult<serde_json::Value> {
    let mut state = match &args.state {
        Some(path) => SingerState::read(path)?,
        None => SingerState::default(),
    };
    let options = SingerOptions::default();
    let to_stdout = args.out.as_os_str() == "-";
    let summary = if to_stdout {
        let stdout = std::io::stdout().lock();
        singer::export(client, args.audience, &mut state, &options, stdout).await?
    } else {
        let file = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&args.out)
            .map_err(|e| {
                CliError::io(format!("cannot create {}", args.out.display()), e)
                    .hint("Singer output goes to a new file, or to stdout with --out -")
            })?;
        let mut out = std::io::BufWriter::new(file);
        let summary = singer::export(client, args.audience, &mut state, &options, &mut out).await?;
        out.flush()
            .and_then(|()| out.get_ref().sync_data())
            .map_err(|e| CliError::io(format!("cannot write {}", args.out.display()), e))?;
        summary
    };
    let _ = ui;
    Ok(json!({
        "out": args.out.display().to_string(),
        "audience": args.audience,
        "format": "singer",
        "records": summary.records,
        "written": summary.written,
        "skipped": summary.skipped,
        "pages": summary.pages,
        "window": summary.window,
        "mode": summary.mode,
    }))
}
