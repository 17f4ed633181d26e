//! The import engine the PebblePad and Paya imports share: read and validate every row first,
//! then send the valid ones concurrently with a journal entry before and after each, skip rows
//! an earlier run finished, and write the report and the summary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use serde_json::json;
use shoal::core::{Clock as _, PipelineStats, SystemClock};

use super::fsutil;
use super::journal::{Entry, Journal, Replay, RowState};
use crate::args::ImportArgs;
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::Ui;

/// One row of the input, as read: its line number and its cells by known column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// The line of the row in the file (the header is line 1).
    pub line: u64,
    /// Cells in the order of the `columns` given to [`read_table`]; `None` when the file has
    /// no such column.
    pub cells: Vec<Option<String>>,
    /// Set when the row cannot be read as a whole (wrong number of fields, bad UTF-8).
    pub error: Option<String>,
}

impl TableRow {
    /// The cell of column `i`, trimmed; `None` when absent or blank.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.cells
            .get(i)
            .and_then(|c| c.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The cell of column `i` exactly as written; `None` when absent or empty.
    pub fn raw(&self, i: usize) -> Option<&str> {
        self.cells
            .get(i)
            .and_then(|c| c.as_deref())
            .filter(|s| !s.is_empty())
    }
}

/// Reads a CSV whose header names some of `columns` (case-insensitive; `(name, required)`).
/// A missing required column, an unknown or a repeated column is an error for the whole file.
pub fn read_table(path: &Path, columns: &[(&str, bool)]) -> CliResult<Vec<TableRow>> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
    read_table_from(&bytes, path, columns)
}

fn read_table_from(
    input: &[u8],
    path: &Path,
    columns: &[(&str, bool)],
) -> CliResult<Vec<TableRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(input);
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let expected = || format!("the columns are {}", names.join(", "));
    let headers = reader
        .byte_headers()
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?
        .clone();
    let mut map: Vec<Option<usize>> = vec![None; columns.len()];
    for (pos, h) in headers.iter().enumerate() {
        let h = String::from_utf8_lossy(h);
        let h = h.trim_start_matches('\u{feff}').trim();
        let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(h)) else {
            return Err(
                CliError::usage(format!("{}: unknown column {h:?}", path.display()))
                    .hint(expected()),
            );
        };
        if map[i].is_some() {
            return Err(CliError::usage(format!(
                "{}: column {h:?} appears twice",
                path.display()
            )));
        }
        map[i] = Some(pos);
    }
    if let Some((name, _)) = columns
        .iter()
        .zip(&map)
        .find(|((_, required), at)| *required && at.is_none())
        .map(|(c, _)| c)
    {
        return Err(CliError::usage(format!(
            "{}: the required column {name} is missing",
            path.display()
        ))
        .hint(expected()));
    }
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    // Lines are counted from byte offsets (the reader's own count skips blank lines).
    let (mut line, mut counted_to) = (1u64, 0usize);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(CliError::usage(format!(
                    "cannot read {} after line {line}: {e}",
                    path.display()
                )));
            }
        }
        let at = record
            .position()
            .map_or(counted_to, |p| {
                usize::try_from(p.byte()).unwrap_or(counted_to)
            })
            .clamp(counted_to, input.len());
        // A record's position may point at blank lines skipped before it.
        let at = at
            + input[at..]
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
        line += input[counted_to..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        counted_to = at;
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let mut error = None;
        if record.len() != headers.len() {
            error = Some(format!(
                "has {} fields, the header has {}",
                record.len(),
                headers.len()
            ));
        }
        let cells = map
            .iter()
            .map(|at| {
                let bytes = record.get((*at)?)?;
                match std::str::from_utf8(bytes) {
                    Ok(s) => Some(s.to_string()),
                    Err(_) => {
                        error.get_or_insert_with(|| "is not valid UTF-8".into());
                        None
                    }
                }
            })
            .collect();
        rows.push(TableRow { line, cells, error });
    }
    Ok(rows)
}

/// A valid row, ready to send.
#[derive(Debug)]
pub struct Row<T> {
    /// Its line in the input.
    pub line: u64,
    /// Its key (username, contact_api_id).
    pub key: String,
    /// What to send.
    pub item: T,
}

/// A row validation refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Its line in the input.
    pub line: u64,
    /// Its key, if it had one.
    pub key: String,
    /// Why, every reason found.
    pub reason: String,
}

/// The answer for one row.
#[derive(Debug)]
pub enum Sent {
    /// The service has it: `created`, `exists`, `upserted`; the id when known.
    Done(&'static str, Option<String>),
    /// The service refused it, for this reason.
    Failed(String),
    /// Nothing more can succeed (credentials refused): stop the job.
    Fatal(CliError),
}

/// Sends one row; `resend` says an earlier attempt (in an earlier run) may have reached the
/// service.
pub trait RowSender<T>: Sync {
    /// Sends `item`.
    fn send<'a>(&'a self, item: &'a T, resend: bool) -> BoxFuture<'a, Sent>;

    /// The client's counters, whose gauges say what the rows in flight wait for.
    fn stats(&self) -> PipelineStats;
}

/// The progress line's message: failures so far and what the rows in flight wait for.
fn progress_message(failed: u64, stats: &PipelineStats) -> String {
    let mut parts = Vec::new();
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    parts.push(stats.waiting().unwrap_or_else(|| "starting".into()));
    parts.join(" · ")
}

/// What an import is about.
#[derive(Debug)]
pub struct Plan<T> {
    /// The journal's job line.
    pub job: Entry,
    /// The report's name for the key column (`username`, `contact_api_id`).
    pub key_name: &'static str,
    /// Rows that passed validation.
    pub rows: Vec<Row<T>>,
    /// Rows that did not.
    pub invalid: Vec<Invalid>,
}

impl<T> Plan<T> {
    /// A plan with no rows yet.
    pub fn new(job: Entry, key_name: &'static str) -> Self {
        Plan {
            job,
            key_name,
            rows: Vec::new(),
            invalid: Vec::new(),
        }
    }

    /// Adds the row at `line`: refused with every one of `reasons`, or else valid with `item()`.
    pub fn add(&mut self, line: u64, key: String, reasons: &[String], item: impl FnOnce() -> T) {
        if reasons.is_empty() {
            self.rows.push(Row {
                line,
                key,
                item: item(),
            });
        } else {
            self.invalid.push(Invalid {
                line,
                key,
                reason: reasons.join("; "),
            });
        }
    }
}

/// The row each key was first seen on, for keys that must be unique within the file.
#[derive(Debug, Default)]
pub struct FirstSeen(HashMap<String, u64>);

impl FirstSeen {
    /// Records `key` for row `line`; when an earlier row had it, the reason (`"{name} {shown:?}
    /// repeats row N"`) instead.
    pub fn repeat(&mut self, name: &str, key: String, shown: &str, line: u64) -> Option<String> {
        match self.0.get(&key) {
            Some(first) => Some(format!("{name} {shown:?} repeats row {first}")),
            None => {
                self.0.insert(key, line);
                None
            }
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReportLine {
    line: u64,
    key: String,
    outcome: String,
    id: String,
    error: String,
}

/// A row's report line, and the error that stops the job if it was fatal.
type Answered = (ReportLine, Option<CliError>);

/// The journal beside an input: `FILE.journal`.
pub fn journal_path(input: &Path) -> PathBuf {
    fsutil::sidecar(input, "journal")
}

/// Runs an import; the `--json` summary.
pub async fn run<T: Sync>(
    args: &ImportArgs,
    ui: Ui,
    plan: Plan<T>,
    sender: &dyn RowSender<T>,
) -> CliResult<serde_json::Value> {
    let clock = SystemClock;
    let started_at = clock.now();
    let journal_path = journal_path(&args.file);
    if !args.resume && journal_path.exists() {
        // Said before validation so that the user learns it first.
        Journal::open(&journal_path, plan.job.clone(), false)?;
    }
    let mut report = refuse_invalid(args, &plan)?;
    let (journal, replay) = Journal::open(&journal_path, plan.job.clone(), args.resume)?;
    let todo = Todo::from_replay(&plan, &replay, &mut report);

    let bar = ui.bar(
        plan.rows.len() as u64,
        "{bar:30} {pos}/{len} rows · {per_sec} · {elapsed} · {msg}",
    );
    bar.set_position(todo.done_before);
    bar.reset_eta();
    let results = send_all(
        todo.pending,
        &journal,
        sender,
        args.concurrency.max(1),
        &bar,
    )
    .await;

    let mut fatal: Option<CliError> = None;
    let mut journal_error = None;
    let mut sent = 0u64;
    for r in results {
        match r {
            Ok(Some((line, f))) => {
                sent += 1;
                report.push(line);
                if fatal.is_none() {
                    fatal = f;
                }
            }
            Ok(None) => {}
            Err(e) => {
                journal_error.get_or_insert(e);
            }
        }
    }
    bar.finish_and_clear();
    if let Some(path) = &args.report {
        write_report(path, plan.key_name, &mut report)?;
    }
    if let Some(e) = journal_error {
        return Err(e.hint("the rows recorded so far are safe; run again with --resume"));
    }
    let mut outcomes: HashMap<&str, u64> = HashMap::new();
    for l in &report {
        *outcomes.entry(l.outcome.as_str()).or_default() += 1;
    }
    let count = |k: &str| outcomes.get(k).copied().unwrap_or(0);
    let failed = count("failed");
    let elapsed = clock
        .now()
        .saturating_duration_since(started_at)
        .as_secs_f64();
    let summary = json!({
        "file": args.file.display().to_string(),
        "rows": plan.rows.len() + plan.invalid.len(),
        "invalid": plan.invalid.len(),
        "done_before": todo.done_before,
        "resent": todo.resent,
        "sent": sent,
        "created": count("created"),
        "exists": count("exists"),
        "upserted": count("upserted"),
        "failed": failed,
        "journal": journal.path().display().to_string(),
        "report": args.report.as_ref().map(|p| p.display().to_string()),
        "elapsed_seconds": (elapsed * 1000.0).round() / 1000.0,
    });
    if let Some(e) = fatal {
        let not_sent = plan.rows.len() as u64 - todo.done_before - sent;
        return Err(e.hint(format!(
            "stopped with {not_sent} rows not sent; fix the cause, then run again with --resume"
        )));
    }
    if failed > 0 {
        let where_ = args
            .report
            .as_ref()
            .map(|p| format!("see {}", p.display()))
            .unwrap_or_else(|| format!("see {} or pass --report FILE", journal.path().display()));
        return Err(CliError::new(
            Failure::Service,
            format!("{failed} of {} rows failed ({where_})", plan.rows.len()),
        )
        .hint("run again with --resume to retry only the rows not done"));
    }
    Ok(summary)
}

/// The report lines of the invalid rows, each also printed on stderr; unless `--skip-invalid`,
/// any invalid row stops the job before anything is sent.
fn refuse_invalid<T>(args: &ImportArgs, plan: &Plan<T>) -> CliResult<Vec<ReportLine>> {
    let mut report: Vec<ReportLine> = plan
        .invalid
        .iter()
        .map(|i| ReportLine {
            line: i.line,
            key: i.key.clone(),
            outcome: "invalid".into(),
            id: String::new(),
            error: i.reason.clone(),
        })
        .collect();
    if plan.invalid.is_empty() {
        return Ok(report);
    }
    for i in &plan.invalid {
        let key = if i.key.is_empty() {
            String::new()
        } else {
            format!(" ({})", i.key)
        };
        eprintln!("row {}{key}: {}", i.line, i.reason);
    }
    if args.skip_invalid {
        return Ok(report);
    }
    if let Some(path) = &args.report {
        write_report(path, plan.key_name, &mut report)?;
    }
    Err(CliError::usage(format!(
        "{} of {} rows of {} are invalid (listed above); nothing was sent",
        plan.invalid.len(),
        plan.invalid.len() + plan.rows.len(),
        args.file.display()
    ))
    .hint("fix them, or pass --skip-invalid to import the valid rows only"))
}

/// What is left to send after replaying the journal.
struct Todo<'a, T> {
    /// Rows to send, and whether an earlier run may already have sent each.
    pending: Vec<(&'a Row<T>, bool)>,
    done_before: u64,
    resent: u64,
}

impl<'a, T> Todo<'a, T> {
    /// Rows the journal has as done go to the report; the rest are pending.
    fn from_replay(plan: &'a Plan<T>, replay: &Replay, report: &mut Vec<ReportLine>) -> Self {
        let mut todo = Todo {
            pending: Vec::new(),
            done_before: 0,
            resent: 0,
        };
        for row in &plan.rows {
            match replay.state(row.line, &row.key) {
                Some(RowState::Done { outcome, id }) => {
                    todo.done_before += 1;
                    report.push(ReportLine {
                        line: row.line,
                        key: row.key.clone(),
                        outcome: outcome.clone(),
                        id: id.clone().unwrap_or_default(),
                        error: String::new(),
                    });
                }
                Some(_) => {
                    todo.resent += 1;
                    todo.pending.push((row, true));
                }
                None => todo.pending.push((row, false)),
            }
        }
        todo
    }
}

/// Sends the pending rows `concurrency` at a time, journaling each; a fatal answer stops the
/// rows not yet started. The progress line says what the rows in flight wait for.
async fn send_all<T: Sync>(
    pending: Vec<(&Row<T>, bool)>,
    journal: &Journal,
    sender: &dyn RowSender<T>,
    concurrency: usize,
    bar: &indicatif::ProgressBar,
) -> Vec<CliResult<Option<Answered>>> {
    let stop = AtomicBool::new(false);
    let failures = std::sync::atomic::AtomicU64::new(0);
    let (stop, failures) = (&stop, &failures);
    let work = futures_util::stream::iter(pending)
        .map(|(row, resend)| async move {
            if stop.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let answered = send_row(row, resend, journal, sender).await?;
            if answered.1.is_some() {
                stop.store(true, Ordering::SeqCst);
            }
            if answered.0.outcome == "failed" {
                failures.fetch_add(1, Ordering::SeqCst);
            }
            bar.inc(1);
            Ok(Some(answered))
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<CliResult<Option<Answered>>>>();
    let show = || {
        bar.set_message(progress_message(
            failures.load(Ordering::SeqCst),
            &sender.stats(),
        ));
    };
    show();
    super::ticking(work, show).await
}

/// One row: journaled as started, sent, then journaled with its answer.
async fn send_row<T: Sync>(
    row: &Row<T>,
    resend: bool,
    journal: &Journal,
    sender: &dyn RowSender<T>,
) -> CliResult<Answered> {
    journal
        .record(&Entry::Started {
            row: row.line,
            key: row.key.clone(),
        })
        .await?;
    let mut line = ReportLine {
        line: row.line,
        key: row.key.clone(),
        outcome: String::new(),
        id: String::new(),
        error: String::new(),
    };
    let mut fatal = None;
    let entry = match sender.send(&row.item, resend).await {
        Sent::Done(outcome, id) => {
            line.outcome = outcome.into();
            line.id = id.clone().unwrap_or_default();
            Entry::Done {
                row: row.line,
                key: row.key.clone(),
                outcome: outcome.into(),
                id,
            }
        }
        Sent::Failed(error) => {
            line.outcome = "failed".into();
            line.error = error.clone();
            Entry::Failed {
                row: row.line,
                key: row.key.clone(),
                error,
            }
        }
        Sent::Fatal(e) => {
            line.outcome = "failed".into();
            line.error = e.message.clone();
            let entry = Entry::Failed {
                row: row.line,
                key: row.key.clone(),
                error: e.message.clone(),
            };
            fatal = Some(e);
            entry
        }
    };
    journal.record(&entry).await?;
    Ok((line, fatal))
}

/// Writes the report (row, key, outcome, id, error), sorted by row, atomically.
fn write_report(path: &Path, key_name: &str, lines: &mut [ReportLine]) -> CliResult<()> {
    lines.sort_by_key(|l| l.line);
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail =
        |e: csv::Error| CliError::new(Failure::Internal, format!("cannot encode the report: {e}"));
    w.write_record(["row", key_name, "outcome", "id", "error"])
        .map_err(fail)?;
    for l in lines.iter() {
        w.write_record([
            l.line.to_string().as_str(),
            &l.key,
            &l.outcome,
            &l.id,
            &l.error,
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::new(Failure::Internal, format!("cannot encode the report: {e}")))?;
    fsutil::write_atomic(path, &bytes)
}

/// Reasons an e-mail address is malformed, or `None` when it has the usual shape
/// (`local@domain.tld`, no spaces, at most 254 characters).
pub fn email_problem(email: &str) -> Option<String> {
    let bad = || Some(format!("{email:?} is not an e-mail address"));
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad();
    };
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad();
    }
    None
}
