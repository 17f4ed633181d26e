//! `shoal pearldiver export`: every record of an audience to NDJSON or CSV, page by page, with a
//! checkpoint of the synced pages so that a crash at any instant can be resumed without a
//! record lost or repeated.
//!
//! # Crash safety
//! Each page is encoded into a reused buffer and appended to the output. Every
//! `--commit-every` (a quarter of a second by default; and after the last page, and before an
//! export stops on an error), the output is `fsync`ed (`sync_data`), and only then
//! `FILE.checkpoint` is replaced atomically (temp file, fsync, rename, directory fsync) with the
//! next page's cursor, the output's byte length, the record and page counts and the job
//! (audience, window, format). At every instant the checkpoint therefore describes a prefix of
//! the output that is complete on disk; bytes past it belong to pages written since, whose
//! checkpoint was never saved. `--resume` truncates the output to the checkpointed length and
//! fetches from the checkpointed cursor, so those pages are written again, once. The
//! checkpoint is written before the output is created and removed once the last page is synced.
//!
//! Such a commit runs on a thread of its own while the next pages are written and fetched. A
//! sync and a checkpoint for every page, in turn with the writing, cost an export of large
//! pages about a fifth of its time (three `fsync`s a page, and a second's pages take a tenth
//! of a second or more to reach the disk); `--commit-every 0` still does that.
//!
//! # Memory
//! The next page is fetched and decoded while the current one is written, so at most three
//! pages are alive at once (on its way, being decoded, being written) whatever the audience
//! size; NDJSON copies each record's raw JSON bytes without decoding them.

use std::fs::File;
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::json;
use shoal::core::{Clock as _, Cursor, Page, SharedClock, SystemClock};
use shoal::pearldiver::PearlDiverClient;
use shoal::pearldiver::RawRecord;

use super::checkpoint::{Checkpoint, ExportJob, format_name};
use super::flatten::Flattener;
use super::fsutil;
use crate::args::{ExportArgs, ExportFormat};
use crate::exit::{CliError, CliResult};
use crate::ui::Ui;

/// The output file of an export with its checkpoint: opens (fresh or resumed) and appends pages.
#[derive(Debug)]
pub struct ExportSink {
    out: PathBuf,
    checkpoint_path: PathBuf,
    file: File,
    /// The output as written; the checkpoint on disk may trail it (`--commit-every`).
    checkpoint: Checkpoint,
    /// Pages have been written since the checkpoint was last saved.
    unsaved: bool,
    /// A sync failed: nothing written since the last checkpoint may be checkpointed.
    sync_failed: bool,
    /// `None`: after every page, before the next is written.
    commit: Option<Commit>,
    committing: Committing,
    buf: Vec<u8>,
    csv: Option<Flattener>,
    resumed_at: Option<u64>,
}

fn io_err(path: &Path, what: &str) -> impl Fn(std::io::Error) -> CliError + use<> {
    let message = format!("cannot {what} {}", path.display());
    move |e| CliError::io(&message, e)
}

impl ExportSink {
    /// Opens `out` for `job`. Without `resume`, an existing output or checkpoint is an error;
    /// with it, the output is truncated to the checkpointed length (an output without a
    /// checkpoint, or a checkpoint of another job, is refused; nothing at all starts afresh).
    pub fn open(out: &Path, job: ExportJob, resume: bool) -> CliResult<Self> {
        let checkpoint_path = fsutil::sidecar(out, "checkpoint");
        let existing = Checkpoint::load(&checkpoint_path)?;
        let out_exists = std::fs::symlink_metadata(out).is_ok();
        let start_over = format!(
            "remove {} and {} to start over",
            out.display(),
            checkpoint_path.display()
        );
        if !resume && (out_exists || existing.is_some()) {
            let what = if out_exists {
                out.display().to_string()
            } else {
                checkpoint_path.display().to_string()
            };
            return Err(
                CliError::usage(format!("{what} already exists")).hint(format!(
                    "pass --resume to continue that export, or remove {} (and {}) to start over",
                    out.display(),
                    checkpoint_path.display()
                )),
            );
        }
        let (file, checkpoint, resumed_at) = match existing {
            None if out_exists => {
                return Err(CliError::usage(format!(
                    "nothing to resume: {} has no checkpoint beside it (a finished export removes its checkpoint)",
                    out.display()
                ))
                .hint(format!("remove {} to export again", out.display())));
            }
            None => {
                let checkpoint = Checkpoint::start(job);
                checkpoint.save(&checkpoint_path)?;
                let file = File::options()
                    .write(true)
                    .create_new(true)
                    .open(out)
                    .map_err(io_err(out, "create"))?;
                fsutil::sync_dir(fsutil::parent_dir(out));
                (file, checkpoint, None)
            }
            Some(checkpoint) => {
                if let Some(why) = &checkpoint.stopped {
                    return Err(CliError::new(
                        crate::exit::Failure::Service,
                        format!(
                            "this export stopped for good: {why}; {} holds the {} records of its {} pages, and resuming would only fetch pages again",
                            out.display(),
                            checkpoint.records,
                            checkpoint.pages
                        ),
                    )
                    .hint(start_over.clone()));
                }
                if checkpoint.job != job {
                    return Err(CliError::usage(format!(
                        "{} belongs to another export ({}); this one is {}",
                        checkpoint_path.display(),
                        checkpoint.job.describe(),
                        job.describe()
                    ))
                    .hint(format!(
                        "resume with the same --audience, window and --format, or {start_over}"
                    )));
                }
                let file = File::options()
                    .write(true)
                    .create(checkpoint.bytes == 0)
                    .truncate(false)
                    .open(out)
                    .map_err(|e| {
                        CliError::io(format!("cannot open {} to resume it", out.display()), e)
                            .hint(start_over.clone())
                    })?;
                let len = file.metadata().map_err(io_err(out, "read"))?.len();
                if len < checkpoint.bytes {
                    return Err(CliError::usage(format!(
                        "{} holds {len} bytes but its checkpoint says {} were written: it was changed since",
                        out.display(),
                        checkpoint.bytes
                    ))
                    .hint(start_over));
                }
                file.set_len(checkpoint.bytes)
                    .map_err(io_err(out, "truncate"))?;
                file.sync_data().map_err(io_err(out, "sync"))?;
                let records = checkpoint.records;
                (file, checkpoint, Some(records))
            }
        };
        let mut file = file;
        file.seek(SeekFrom::Start(checkpoint.bytes))
            .map_err(io_err(out, "seek in"))?;
        let csv = (checkpoint.job.format == format_name(ExportFormat::Csv))
            .then(|| Flattener::with_raw(checkpoint.job.csv_raw));
        let mut sink = Self {
            out: out.to_path_buf(),
            checkpoint_path,
            file,
            checkpoint,
            unsaved: false,
            sync_failed: false,
            commit: None,
            committing: Committing::default(),
            buf: Vec::with_capacity(1 << 20),
            csv,
            resumed_at,
        };
        if sink.is_finished() {
            sink.finish()?;
        }
        Ok(sink)
    }

    /// The cursor of the next page to fetch (`None`: the first page).
    pub fn cursor(&self) -> Option<Cursor> {
        self.checkpoint.cursor.clone()
    }

    /// The checkpoint as it stands.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Whether the last page has been written (and the checkpoint removed).
    pub fn is_finished(&self) -> bool {
        self.checkpoint.pages > 0 && self.checkpoint.cursor.is_none()
    }

    /// Records already in the output when a resumed export started (`None` if not resumed).
    pub fn resumed_at(&self) -> Option<u64> {
        self.resumed_at
    }

    /// Syncs and checkpoints at most every `every` on `clock`'s time, apart from the writing,
    /// instead of after every page before the next is written (the default, for
    /// [`open`](Self::open), and what a zero `every` keeps).
    pub fn commit_every(mut self, clock: SharedClock, every: Duration) -> Self {
        if !every.is_zero() {
            let last = clock.now();
            self.commit = Some(Commit { clock, every, last });
        }
        self
    }

    /// Appends one page and records `next` as the cursor after it; then, when the commit is
    /// due, syncs the output and saves the checkpoint (or removes the checkpoint when `next` is
    /// `None`: the export is complete).
    pub fn write_page(&mut self, records: &[RawRecord], next: Option<Cursor>) -> CliResult<()> {
        self.encode(records)?;
        self.file
            .write_all(&self.buf)
            .map_err(io_err(&self.out, "write"))?;
        self.checkpoint.bytes += self.buf.len() as u64;
        self.checkpoint.records += records.len() as u64;
        self.checkpoint.pages += 1;
        self.checkpoint.cursor = next;
        self.unsaved = true;
        if self.checkpoint.cursor.is_none() {
            self.settle()?;
            self.sync()?;
            return self.finish();
        }
        match &self.commit {
            None => self.save()?,
            Some(commit) if commit.due() => self.commit_apart()?,
            Some(_) => {}
        }
        Ok(())
    }

    /// Syncs the pages written since the last commit and saves the checkpoint after them,
    /// after the commit in flight (if any).
    pub fn save(&mut self) -> CliResult<()> {
        self.settle()?;
        self.sync()?;
        self.checkpoint.save(&self.checkpoint_path)?;
        self.committed();
        Ok(())
    }

    /// Starts a commit of the pages written so far on a thread of its own, so that the next
    /// pages are written (and fetched) while the output syncs: a second's pages take a
    /// noticeable time to reach the disk. While one still runs, the next page tries again.
    fn commit_apart(&mut self) -> CliResult<()> {
        if self.committing.running() {
            return Ok(());
        }
        self.settle()?;
        self.check_synced()?;
        let file = self.file.try_clone().map_err(io_err(&self.out, "sync"))?;
        let (checkpoint, path) = (self.checkpoint.clone(), self.checkpoint_path.clone());
        let synced = io_err(&self.out, "sync");
        let commit = move || {
            file.sync_data()
                .map_err(|e| CommitFailed::Sync(synced(e)))?;
            checkpoint.save(&path).map_err(CommitFailed::Save)
        };
        // `thread::spawn` would panic where the system has no thread to give.
        let thread = std::thread::Builder::new()
            .name("shoal-export-commit".into())
            .spawn(commit)
            .map_err(|e| CliError::io("cannot start the export's commit thread", e))?;
        self.committing.0 = Some(thread);
        self.committed();
        Ok(())
    }

    fn committed(&mut self) {
        self.unsaved = false;
        if let Some(commit) = &mut self.commit {
            commit.last = commit.clock.now();
        }
    }

    /// Waits for the commit in flight, if any: its failure is the export's.
    fn settle(&mut self) -> CliResult<()> {
        match self.committing.wait() {
            Ok(()) => Ok(()),
            Err(CommitFailed::Sync(e)) => {
                self.sync_failed = true;
                Err(e)
            }
            Err(CommitFailed::Save(e)) => {
                self.unsaved = true;
                Err(e)
            }
        }
    }

    fn check_synced(&self) -> CliResult<()> {
        if self.sync_failed {
            // After a failed fsync, Linux may report the next one clean with the pages lost.
            return Err(CliError::new(
                crate::exit::Failure::Internal,
                format!("{} could not be synced before", self.out.display()),
            ));
        }
        Ok(())
    }

    fn sync(&mut self) -> CliResult<()> {
        self.check_synced()?;
        let synced = self.file.sync_data().map_err(io_err(&self.out, "sync"));
        self.sync_failed = synced.is_err();
        synced
    }

    /// Encodes a page into the reused buffer.
    fn encode(&mut self, records: &[RawRecord]) -> CliResult<()> {
        self.buf.clear();
        match &mut self.csv {
            None => {
                for record in records {
                    push_ndjson_line(&mut self.buf, record.get());
                }
            }
            Some(flat) => {
                let mut w = csv::WriterBuilder::new().from_writer(&mut self.buf);
                let csv_err = |e: csv::Error| {
                    CliError::new(
                        crate::exit::Failure::Internal,
                        format!("cannot encode CSV: {e}"),
                    )
                };
                if self.checkpoint.bytes == 0 && self.checkpoint.pages == 0 {
                    w.write_record(flat.header()).map_err(csv_err)?;
                }
                for record in records {
                    let row = flat.row(record.get()).map_err(|e| {
                        CliError::new(
                            crate::exit::Failure::Service,
                            format!(
                                "a record of page {} is not valid JSON: {e}",
                                self.checkpoint.pages + 1
                            ),
                        )
                    })?;
                    w.write_record(row).map_err(csv_err)?;
                }
                w.flush()
                    .map_err(|e| CliError::io("cannot encode CSV", e))?;
            }
        }
        Ok(())
    }

    /// Marks the checkpoint as stopped for good (the listing cannot go on safely), so that
    /// `--resume` says so instead of fetching pages again.
    pub fn stop(&mut self, why: &str) -> CliResult<()> {
        self.checkpoint.stopped = Some(why.to_string());
        self.save()
    }

    fn finish(&mut self) -> CliResult<()> {
        fsutil::remove_durably(&self.checkpoint_path)
    }

    /// After a failure: commits the pages written so far, so that `--resume` goes on after
    /// them; or, when a fresh export wrote no page, removes the empty output and its
    /// checkpoint so that the same command can simply be run again.
    fn close_after_failure(mut self) {
        let settled = self.settle();
        if self.resumed_at.is_none() && self.checkpoint.pages == 0 {
            drop(self.file);
            let _ = std::fs::remove_file(&self.out);
            let _ = fsutil::remove_durably(&self.checkpoint_path);
        } else if self.unsaved || settled.is_err() {
            // At worst the checkpoint on disk stays where it was, and resume writes more again.
            let _ = self.save();
        }
    }
}

/// A commit running on a thread of its own; dropped, it waits for the thread, so that no
/// checkpoint is written after its export has ended.
#[derive(Debug, Default)]
struct Committing(Option<std::thread::JoinHandle<Result<(), CommitFailed>>>);

#[derive(Debug)]
enum CommitFailed {
    Sync(CliError),
    Save(CliError),
}

impl Committing {
    fn running(&self) -> bool {
        self.0.as_ref().is_some_and(|t| !t.is_finished())
    }

    fn wait(&mut self) -> Result<(), CommitFailed> {
        let Some(thread) = self.0.take() else {
            return Ok(());
        };
        thread.join().unwrap_or_else(|_| {
            Err(CommitFailed::Sync(CliError::new(
                crate::exit::Failure::Internal,
                "the output's sync panicked",
            )))
        })
    }
}

impl Drop for Committing {
    fn drop(&mut self) {
        let _ = self.wait();
    }
}

/// How often an export's written pages are synced and checkpointed, apart from the writing.
#[derive(Debug)]
struct Commit {
    clock: SharedClock,
    every: Duration,
    /// When the last commit started.
    last: Instant,
}

impl Commit {
    fn due(&self) -> bool {
        self.clock.now().saturating_duration_since(self.last) >= self.every
    }
}

/// Appends a record's JSON and a newline. The bytes are copied as received; only a record that
/// itself spans lines (whitespace newlines from a pretty-printing server) has its whitespace
/// outside strings removed, so each record stays one line.
fn push_ndjson_line(buf: &mut Vec<u8>, json: &str) {
    let bytes = json.as_bytes();
    if memchr::memchr2(b'\n', b'\r', bytes).is_none() {
        buf.extend_from_slice(bytes);
    } else {
        let (mut in_string, mut escaped) = (false, false);
        for &b in bytes {
            if in_string {
                buf.push(b);
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                if b == b'"' {
                    in_string = true;
                }
                buf.push(b);
            }
        }
    }
    buf.push(b'\n');
}

/// Writes and syncs a page on the blocking pool, so that the next page is read and decoded
/// meanwhile. Dropped before it is done, it waits for the page being written (and the sink,
/// with its lock, to be closed): when the drop returns, the output and its checkpoint agree
/// and another export of the same file may begin.
async fn write_apart(
    mut sink: ExportSink,
    page: Page<RawRecord>,
) -> CliResult<(ExportSink, CliResult<()>)> {
    let (done, finished) = std::sync::mpsc::sync_channel::<()>(0);
    let _wait = WaitOnDrop(finished);
    let task = tokio::task::spawn_blocking(move || {
        let written = sink.write_page(&page.items, page.next);
        // The sink drops before `done` when nobody takes the result: tuple order.
        (sink, written, done)
    });
    let (sink, written, _done) = task.await.map_err(|e| {
        CliError::new(
            crate::exit::Failure::Internal,
            format!("the page writer failed: {e}"),
        )
    })?;
    Ok((sink, written))
}

/// Blocks, when dropped, until the writer it was made for has finished (its sender dropped).
struct WaitOnDrop(std::sync::mpsc::Receiver<()>);

impl Drop for WaitOnDrop {
    fn drop(&mut self) {
        let _ = self.0.recv();
    }
}

/// Runs `shoal pearldiver export`; the `--json` summary.
pub async fn run(
    client: &PearlDiverClient,
    args: &ExportArgs,
    ui: Ui,
) -> CliResult<serde_json::Value> {
    let clock = SystemClock;
    let started = clock.now();
    let window = crate::pearldiver::window(&args.window)?;
    let job = ExportJob::new(args.audience, window, args.format).csv_raw(args.csv_raw);
    if !(args.resume && has_cursor(&args.out)) {
        // Checked before anything is created; a resumed export's cursor pins its window.
        window.validate(clock.system_now())?;
    }
    let mut sink = ExportSink::open(&args.out, job, args.resume)?
        .commit_every(client.pipeline().clock().clone(), args.commit_every);
    let start_records = sink.checkpoint().records;
    let bar = ui.counter("{spinner} {human_pos} records · {msg} · {per_sec} · {elapsed}");
    bar.set_position(start_records);
    bar.reset_eta();
    bar.set_message(format!("{} pages", sink.checkpoint().pages));

    if !sink.is_finished() {
        let pages = client
            .audiences()
            .records(args.audience, window)
            .raw_shared()
            .resume_from(sink.cursor())
            .by_page();
        let mut pages = std::pin::pin!(pages);
        let message = |pages: u64| {
            let waiting = client.pipeline().stats().waiting();
            format!(
                "{pages} pages · {}",
                waiting.as_deref().unwrap_or("writing")
            )
        };
        bar.set_message(message(sink.checkpoint().pages));
        let tick = |pages: u64| {
            let bar = bar.clone();
            move || bar.set_message(message(pages))
        };
        let mut next = super::ticking(pages.next(), tick(sink.checkpoint().pages)).await;
        while let Some(page) = next {
            if let Err(shoal::core::Error::Pagination(why)) = &page {
                // The page before was written with a `next` that loops: never resume from it.
                bar.abandon();
                let why = why.clone();
                sink.stop(&why)?;
                return Err(CliError::new(
                    crate::exit::Failure::Service,
                    format!(
                        "{why}; {} holds the {} records the server gave before",
                        args.out.display(),
                        sink.checkpoint().records
                    ),
                ));
            }
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    let e = resume_hint(CliError::from(e), &sink);
                    bar.abandon();
                    sink.close_after_failure();
                    return Err(e);
                }
            };
            let n = page.items.len() as u64;
            let done = sink.checkpoint().pages;
            // The next page is read and decoded while this one is written.
            let (wrote, following) = super::ticking(
                async { tokio::join!(write_apart(sink, page), pages.next()) },
                tick(done),
            )
            .await;
            let (back, written) = wrote?;
            sink = back;
            if let Err(e) = written {
                bar.abandon();
                sink.close_after_failure();
                return Err(e);
            }
            bar.inc(n);
            bar.set_message(message(sink.checkpoint().pages));
            if sink.is_finished() {
                break;
            }
            next = following;
        }
        if !sink.is_finished() {
            bar.abandon();
            return Err(resume_hint(
                CliError::new(
                    crate::exit::Failure::Service,
                    "the audience listing ended without a last page",
                ),
                &sink,
            ));
        }
    }
    bar.finish_and_clear();
    let cp = sink.checkpoint();
    let elapsed = clock.now().saturating_duration_since(started).as_secs_f64();
    let this_run = cp.records - start_records;
    Ok(json!({
        "out": args.out.display().to_string(),
        "audience": args.audience,
        "format": format_name(args.format),
        "records": cp.records,
        "pages": cp.pages,
        "bytes": cp.bytes,
        "resumed": sink.resumed_at().is_some(),
        "records_this_run": this_run,
        "elapsed_seconds": (elapsed * 1000.0).round() / 1000.0,
        "records_per_second": if elapsed > 0.0 { (this_run as f64 / elapsed).round() } else { 0.0 },
    }))
}

/// Whether the checkpoint beside `out` holds a next-page cursor.
fn has_cursor(out: &Path) -> bool {
    Checkpoint::load(&fsutil::sidecar(out, "checkpoint"))
        .ok()
        .flatten()
        .is_some_and(|cp| cp.cursor.is_some())
}

fn resume_hint(err: CliError, sink: &ExportSink) -> CliError {
    if sink.checkpoint().pages == 0 && sink.resumed_at().is_none() {
        return err;
    }
    let hint = format!(
        "{} pages ({} records) are saved; run the same command with --resume to continue",
        sink.checkpoint().pages,
        sink.checkpoint().records
    );
    match err.hint {
        Some(h) => CliError {
            hint: Some(format!("{h}; {hint}")),
            ..err
        },
        None => err.hint(hint),
    }
}

#[cfg(test)]
mod tests {
    use shoal::pearldiver::AudienceWindow;

    use super::*;
    use crate::exit::Failure;

    fn raw(s: &str) -> RawRecord {
        RawRecord::from_text(s)
    }

    fn page(from: usize, n: usize) -> Vec<RawRecord> {
        (from..from + n)
            .map(|i| {
                raw(&format!(
                    r#"{{"id":"r{i}","firstName":"N{i}","zz":{{"keep":[1, 2.50]}}}}"#
                ))
            })
            .collect()
    }

    fn job(format: ExportFormat) -> ExportJob {
        ExportJob::new(17, AudienceWindow::LastDays(30), format)
    }

    /// Writes pages 0..pages (3 records each) in one go.
    fn export_all(out: &Path, format: ExportFormat, pages: usize) {
        let mut sink = ExportSink::open(out, job(format), false).unwrap();
        for p in 0..pages {
            let next = (p + 1 < pages).then(|| Cursor::new(format!("c{}", p + 1)));
            sink.write_page(&page(p * 3, 3), next).unwrap();
        }
        assert!(sink.is_finished());
    }

    #[test]
    fn ndjson_passes_records_through_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.ndjson");
        export_all(&out, ExportFormat::Ndjson, 2);
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text.lines().count(), 6);
        assert_eq!(
            text.lines().next().unwrap(),
            r#"{"id":"r0","firstName":"N0","zz":{"keep":[1, 2.50]}}"#
        );
        assert!(
            !fsutil::sidecar(&out, "checkpoint").exists(),
            "a finished export removes its checkpoint"
        );
    }

    #[test]
    fn multi_line_records_become_one_line_with_strings_intact() {
        let mut buf = Vec::new();
        push_ndjson_line(
            &mut buf,
            "{\n  \"a\": \"x \\\" y\\n z\",\n  \"b\": [1, 2]\n}",
        );
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"a\":\"x \\\" y\\n z\",\"b\":[1,2]}\n"
        );
    }

    #[test]
    fn csv_has_one_header_and_flattened_rows() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.csv");
        export_all(&out, ExportFormat::Csv, 3);
        let mut reader = csv::Reader::from_path(&out).unwrap();
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.len(), super::super::flatten::columns().len());
        let rows: Vec<_> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 9);
        assert_eq!(&rows[4][0], "r4");
        assert_eq!(
            rows[4].get(headers.len() - 1).unwrap(),
            r#"{"zz.keep.0":1,"zz.keep.1":2.5}"#
        );
    }

    /// A crash after a page was appended (even partly) but before its checkpoint: resume
    /// truncates the stray bytes and rewrites that page once — byte-identical to a clean run.
    #[test]
    fn resume_truncates_to_the_checkpoint_and_matches_a_clean_run() {
        for format in [ExportFormat::Ndjson, ExportFormat::Csv] {
            let dir = tempfile::tempdir().unwrap();
            let clean = dir.path().join("clean");
            export_all(&clean, format, 4);

            let out = dir.path().join("crashed");
            let mut sink = ExportSink::open(&out, job(format), false).unwrap();
            sink.write_page(&page(0, 3), Some(Cursor::new("c1")))
                .unwrap();
            sink.write_page(&page(3, 3), Some(Cursor::new("c2")))
                .unwrap();
            // Page 3 reached the file (half of it) but its checkpoint was never written.
            sink.encode(&page(6, 3)).unwrap();
            let half = sink.buf.len() / 2;
            sink.file.write_all(&sink.buf[..half]).unwrap();
            drop(sink);

            let mut sink = ExportSink::open(&out, job(format), true).unwrap();
            assert_eq!(sink.cursor(), Some(Cursor::new("c2")));
            assert_eq!(sink.resumed_at(), Some(6));
            sink.write_page(&page(6, 3), Some(Cursor::new("c3")))
                .unwrap();
            drop(sink);
            // Another interruption, then the last page.
            let mut sink = ExportSink::open(&out, job(format), true).unwrap();
            sink.write_page(&page(9, 3), None).unwrap();
            assert!(sink.is_finished());
            assert_eq!(sink.checkpoint().records, 12);
            assert_eq!(
                std::fs::read(&out).unwrap(),
                std::fs::read(&clean).unwrap(),
                "{format:?}"
            );
        }
    }

    /// Between commits the checkpoint on disk trails the output: a crash then truncates the
    /// pages written since the last commit, and resume writes them again, once.
    #[test]
    fn pages_written_between_commits_are_written_again_after_a_crash() {
        use shoal::core::ManualClock;
        let dir = tempfile::tempdir().unwrap();
        let clean = dir.path().join("clean");
        export_all(&clean, ExportFormat::Ndjson, 4);
        let out = dir.path().join("crashed");
        let on_disk = |out: &Path| Checkpoint::load(&fsutil::sidecar(out, "checkpoint")).unwrap();
        let clock = ManualClock::new();
        let every = Duration::from_secs(1);
        let mut sink = ExportSink::open(&out, job(ExportFormat::Ndjson), false)
            .unwrap()
            .commit_every(clock.shared(), every);
        sink.write_page(&page(0, 3), Some(Cursor::new("c1")))
            .unwrap();
        sink.write_page(&page(3, 3), Some(Cursor::new("c2")))
            .unwrap();
        assert_eq!(sink.checkpoint().records, 6, "as written");
        assert_eq!(on_disk(&out).unwrap().records, 0, "not committed yet");
        clock.advance(every);
        sink.write_page(&page(6, 3), Some(Cursor::new("c3")))
            .unwrap();
        sink.settle().unwrap();
        let saved = on_disk(&out).unwrap();
        assert_eq!((saved.records, saved.cursor), (9, Some(Cursor::new("c3"))));
        // Written, not committed, then a crash: resume truncates it and fetches it again.
        sink.write_page(&page(9, 3), Some(Cursor::new("c4")))
            .unwrap();
        drop(sink);
        let mut sink = ExportSink::open(&out, job(ExportFormat::Ndjson), true).unwrap();
        assert_eq!(sink.cursor(), Some(Cursor::new("c3")));
        assert_eq!(sink.resumed_at(), Some(9));
        sink.write_page(&page(9, 3), None).unwrap();
        assert!(sink.is_finished());
        assert!(
            on_disk(&out).is_none(),
            "a finished export has no checkpoint"
        );
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&clean).unwrap());
    }

    /// An export that fails commits what it wrote, so that `--resume` goes on after it; a sync
    /// that failed once is never followed by a checkpoint.
    #[test]
    fn a_failure_commits_the_pages_written_before_it() {
        use shoal::core::ManualClock;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.ndjson");
        let clock = ManualClock::new();
        let mut sink = ExportSink::open(&out, job(ExportFormat::Ndjson), false)
            .unwrap()
            .commit_every(clock.shared(), Duration::from_secs(1));
        sink.write_page(&page(0, 3), Some(Cursor::new("c1")))
            .unwrap();
        sink.close_after_failure();
        let sink = ExportSink::open(&out, job(ExportFormat::Ndjson), true).unwrap();
        assert_eq!(sink.cursor(), Some(Cursor::new("c1")));
        assert_eq!(sink.resumed_at(), Some(3));

        let mut sink = sink.commit_every(clock.shared(), Duration::from_secs(1));
        sink.write_page(&page(3, 3), Some(Cursor::new("c2")))
            .unwrap();
        sink.sync_failed = true;
        assert!(sink.save().is_err());
        sink.close_after_failure();
        let sink = ExportSink::open(&out, job(ExportFormat::Ndjson), true).unwrap();
        assert_eq!(
            sink.cursor(),
            Some(Cursor::new("c1")),
            "not after a failed sync"
        );
    }

    #[test]
    fn a_crash_before_the_first_page_resumes_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.csv");
        drop(ExportSink::open(&out, job(ExportFormat::Csv), false).unwrap());
        // The output may not even have been created.
        std::fs::remove_file(&out).unwrap();
        let mut sink = ExportSink::open(&out, job(ExportFormat::Csv), true).unwrap();
        assert_eq!(sink.cursor(), None);
        sink.write_page(&page(0, 1), None).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 2);
    }

    #[test]
    fn existing_files_need_resume_and_the_same_job() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.ndjson");
        let mut sink = ExportSink::open(&out, job(ExportFormat::Ndjson), false).unwrap();
        sink.write_page(&page(0, 3), Some(Cursor::new("c1")))
            .unwrap();
        drop(sink);

        let err = ExportSink::open(&out, job(ExportFormat::Ndjson), false).unwrap_err();
        assert_eq!(err.kind, Failure::Usage);
        assert!(err.to_string().contains("--resume"), "{err}");

        let other = ExportJob::new(17, AudienceWindow::LastDays(7), ExportFormat::Ndjson);
        let err = ExportSink::open(&out, other, true).unwrap_err();
        assert!(err.to_string().contains("another export"), "{err}");
        let err = ExportSink::open(&out, job(ExportFormat::Csv), true).unwrap_err();
        assert!(
            err.to_string()
                .contains("audience 17, last 30 days, ndjson"),
            "{err}"
        );

        // An output shorter than its checkpoint was changed behind our back.
        std::fs::write(&out, b"x").unwrap();
        let err = ExportSink::open(&out, job(ExportFormat::Ndjson), true).unwrap_err();
        assert!(err.to_string().contains("changed"), "{err}");

        // A checkpoint alone also blocks a fresh run; an output alone cannot be resumed.
        std::fs::remove_file(&out).unwrap();
        assert!(ExportSink::open(&out, job(ExportFormat::Ndjson), false).is_err());
        fsutil::remove_durably(&fsutil::sidecar(&out, "checkpoint")).unwrap();
        std::fs::write(&out, b"done\n").unwrap();
        let err = ExportSink::open(&out, job(ExportFormat::Ndjson), true).unwrap_err();
        assert!(err.to_string().contains("nothing to resume"), "{err}");
    }

    /// Issue 17: the whole export dropped at every pending point (a page on its way, a page
    /// received but not yet written, the progress ticker) — the output truncated to its
    /// checkpoint is always a prefix of a clean export with the records the checkpoint counts,
    /// and `--resume` then ends byte-identical to the clean export: no record lost or repeated.
    /// Committing after every page (each drop then resumes from a different checkpoint).
    #[tokio::test]
    async fn an_export_dropped_anywhere_resumes_to_the_clean_output() {
        dropped_anywhere(Duration::ZERO).await;
    }

    /// The same, committing every second on a clock that stands still: only the last page
    /// commits, so every drop leaves written pages past the checkpoint for resume to cut.
    #[tokio::test]
    async fn an_export_dropped_between_commits_resumes_to_the_clean_output() {
        let cut = dropped_anywhere(Duration::from_secs(1)).await;
        assert!(cut >= 2, "drops past the checkpoint: {cut}");
    }

    /// The drop test at `every`; how many drops left written pages past the checkpoint.
    async fn dropped_anywhere(commit_every: Duration) -> usize {
        use shoal::auth::{MemoryTokenStore, TokenRecord};
        use shoal::core::{ConfigureClient as _, ManualClock};
        use shoal_core::test_util::drop_at_every_pending_point;
        use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};

        let clock = ManualClock::new();
        let pd = PearlDiver::start(PearlDiverConfig {
            clock: clock.shared(),
            audiences: vec![AudienceSpec::new(17, "Visitors", 150)],
            page_size: 40,
            ..Default::default()
        })
        .await
        .unwrap();
        let ep = pd.endpoints().clone();
        let tokens = pd.mint_tokens();
        let mut held =
            TokenRecord::unknown_age(tokens.access_token.into(), tokens.refresh_token.into());
        held.expires_at = Some(clock.system_now() + std::time::Duration::from_secs(86_400));
        held.refresh_issued_at = Some(clock.system_now());
        use shoal::auth::ConfigureTokens as _;
        let client = &PearlDiverClient::builder()
            .oauth(
                ep.client_id.clone(),
                ep.client_secret.as_str().into(),
                ep.redirect_uri.clone(),
            )
            .authorize_url(&ep.authorize_url)
            .token_url(&ep.token_url)
            .audience(Some(&ep.audience))
            .api_base(&ep.api_base)
            .token_store(std::sync::Arc::new(MemoryTokenStore::with_record(held)))
            .clock(clock.shared())
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let args = |out: &str, resume: bool| ExportArgs {
            audience: 17,
            window: crate::args::WindowArgs {
                days: Some(90),
                since: None,
            },
            format: ExportFormat::Ndjson,
            out: dir.path().join(out),
            resume,
            csv_raw: false,
            state: None,
            commit_every,
        };
        let ui = Ui {
            json: true,
            progress: false,
            timeout: 120,
        };
        let clean = args("clean.ndjson", false);
        run(client, &clean, ui).await.unwrap();
        let clean = &std::fs::read(&clean.out).unwrap();
        assert_eq!(clean.iter().filter(|b| **b == b'\n').count(), 150);
        let (fresh, resumed) = (&args("out.ndjson", false), &args("out.ndjson", true));
        let checkpoint = &fsutil::sidecar(&fresh.out, "checkpoint");
        let cut = &std::sync::atomic::AtomicUsize::new(0);

        let points = drop_at_every_pending_point(
            || {
                let _ = std::fs::remove_file(&fresh.out);
                let _ = std::fs::remove_file(checkpoint);
                run(client, fresh, ui)
            },
            |round| async move {
                let what = round.to_string();
                if let Some(summary) = round.into_output() {
                    assert_eq!(summary.unwrap()["records"], 150, "{what}");
                }
                let out = std::fs::read(&fresh.out).unwrap();
                let Some(cp) = Checkpoint::load(checkpoint).unwrap() else {
                    // Only a finished export removes its checkpoint (and refuses --resume).
                    assert_eq!(&out, clean, "{what}: finished, so complete");
                    return;
                };
                let bytes = usize::try_from(cp.bytes).unwrap();
                assert!(out.len() >= bytes, "{what}: truncatable to its checkpoint");
                if out.len() > bytes {
                    cut.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                assert_eq!(&out[..bytes], &clean[..bytes], "{what}: a clean prefix");
                let lines = out[..bytes].iter().filter(|b| **b == b'\n').count();
                assert_eq!(lines as u64, cp.records, "{what}: the records it counts");
                let summary = run(client, resumed, ui).await.unwrap();
                assert_eq!(summary["records"], 150, "{what}");
                assert_eq!(
                    &std::fs::read(&fresh.out).unwrap(),
                    clean,
                    "{what}: resumed"
                );
                assert!(!checkpoint.exists(), "{what}");
            },
        )
        .await;
        assert!(points >= 4, "at least a wait per page: {points}");
        cut.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[test]
    fn a_failure_before_any_page_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.ndjson");
        let sink = ExportSink::open(&out, job(ExportFormat::Ndjson), false).unwrap();
        sink.close_after_failure();
        assert!(!out.exists());
        assert!(!fsutil::sidecar(&out, "checkpoint").exists());
    }
}
