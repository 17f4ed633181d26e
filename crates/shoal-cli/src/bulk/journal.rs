//! The import journal (`FILE.csv.journal`): one JSON object per line, appended and synced before
//! the job moves on, so that after a crash it says which rows were done, which failed and which
//! were started without an answer.
//!
//! The first line names the job (`{"event":"job","kind":"paya-contacts","location_id":…}`); every
//! other line is a row event: `started`, then `done` (with the outcome and the new id) or
//! `failed` (with the reason). Replay keeps the last event of each row. A torn last line (a crash
//! mid-write) is ignored, and the next run starts its entries on a fresh line.
//!
//! Writes go through one thread that appends whatever entries are waiting and syncs once for
//! all of them (group commit): each caller's `record` returns only after its entry is on disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

use super::fsutil;
use crate::exit::{CliError, CliResult};

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Entry {
    /// The job the journal belongs to (first line).
    Job {
        /// `pebblepad-users` or `paya-contacts`.
        kind: String,
        /// Paya: the location every contact goes to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location_id: Option<String>,
    },
    /// The row is about to be sent.
    Started {
        /// The row's line in the input.
        row: u64,
        /// Its key (username, contact_api_id).
        key: String,
    },
    /// The service has the row.
    Done {
        /// The row's line in the input.
        row: u64,
        /// Its key.
        key: String,
        /// `created`, `exists`, `upserted`.
        outcome: String,
        /// The record's id, when the service said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// The service refused the row (or it could not be sent).
    Failed {
        /// The row's line in the input.
        row: u64,
        /// Its key.
        key: String,
        /// Why.
        error: String,
    },
}

/// What the journal says about one row after replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowState {
    /// Started, no answer recorded: it may or may not have reached the service.
    Started,
    /// Done, with its outcome and id.
    Done {
        /// `created`, `exists`, `upserted`.
        outcome: String,
        /// The id, if known.
        id: Option<String>,
    },
    /// Failed with this reason.
    Failed(String),
}

/// The journal's content: the job line and the last state of each row, by row and key.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// The job line, if there was one.
    pub job: Option<Entry>,
    /// Last state per (row, key).
    pub rows: HashMap<(u64, String), RowState>,
    /// Whether the last line was torn.
    pub torn: bool,
}

impl Replay {
    /// Reads a journal byte-wise: a crash can tear the last line anywhere, even inside a
    /// multi-byte character, so lines are split on `\n` before anything is decoded.
    pub fn parse(bytes: &[u8]) -> Self {
        let mut replay = Replay::default();
        let complete = bytes.ends_with(b"\n");
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let lines: Vec<&[u8]> = if body.is_empty() {
            Vec::new()
        } else {
            body.split(|b| *b == b'\n').collect()
        };
        for (i, line) in lines.iter().enumerate() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            let entry = match serde_json::from_slice::<Entry>(line) {
                Ok(e) => e,
                Err(_) => {
                    // Only the last line can be torn by a crash; anything else is skipped too
                    // (it cannot be trusted), which at worst resends a row.
                    if i + 1 == lines.len() && !complete {
                        replay.torn = true;
                    }
                    continue;
                }
            };
            match entry {
                Entry::Job { .. } => {
                    if replay.job.is_none() {
                        replay.job = Some(entry);
                    }
                }
                Entry::Started { row, key } => {
                    replay.rows.insert((row, key), RowState::Started);
                }
                Entry::Done {
                    row,
                    key,
                    outcome,
                    id,
                } => {
                    replay
                        .rows
                        .insert((row, key), RowState::Done { outcome, id });
                }
                Entry::Failed { row, key, error } => {
                    replay.rows.insert((row, key), RowState::Failed(error));
                }
            }
        }
        replay
    }

    /// The state of row `row` with key `key`, if the journal has one.
    pub fn state(&self, row: u64, key: &str) -> Option<&RowState> {
        self.rows.get(&(row, key.to_string()))
    }
}

type Ack = tokio::sync::oneshot::Sender<Result<(), String>>;

/// An open journal, appended through a writer thread.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    tx: Option<mpsc::Sender<(Vec<u8>, Ack)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Journal {
    /// Opens the journal at `path` for the job `job`. Without `resume` an existing journal is an
    /// error; with it, its content is replayed (a journal of another job is refused). No journal
    /// starts a new one.
    pub fn open(path: &Path, job: Entry, resume: bool) -> CliResult<(Journal, Replay)> {
        let existing = match File::open(path) {
            Ok(mut f) => {
                let mut text = Vec::new();
                f.read_to_end(&mut text)
                    .map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
                Some(text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(CliError::io(format!("cannot read {}", path.display()), e)),
        };
        let fail = |e| CliError::io(format!("cannot write {}", path.display()), e);
        let (file, replay) = match existing {
            Some(_) if !resume => {
                return Err(CliError::usage(format!(
                    "{} exists: an import of this file was run before",
                    path.display()
                ))
                .hint(format!(
                    "pass --resume to continue it (rows done are skipped), or remove {} to send every row again",
                    path.display()
                )));
            }
            Some(text) => {
                let replay = Replay::parse(&text);
                if replay.job.as_ref().is_some_and(|j| *j != job) {
                    return Err(CliError::usage(format!(
                        "{} belongs to another import ({})",
                        path.display(),
                        describe(replay.job.as_ref())
                    ))
                    .hint(format!(
                        "resume with the same command and options, or remove {}",
                        path.display()
                    )));
                }
                let mut file = File::options().append(true).open(path).map_err(fail)?;
                if !text.is_empty() && !text.ends_with(b"\n") {
                    file.write_all(b"\n").map_err(fail)?;
                }
                if replay.job.is_none() {
                    file.write_all(&line(&job)).map_err(fail)?;
                }
                file.sync_data().map_err(fail)?;
                (file, replay)
            }
            None => {
                let mut file = File::options()
                    .append(true)
                    .create_new(true)
                    .open(path)
                    .map_err(fail)?;
                file.write_all(&line(&job)).map_err(fail)?;
                file.sync_data().map_err(fail)?;
                fsutil::sync_dir(fsutil::parent_dir(path));
                (file, Replay::default())
            }
        };
        let (tx, rx) = mpsc::channel::<(Vec<u8>, Ack)>();
        let thread = std::thread::Builder::new()
            .name("shoal-journal".into())
            .spawn(move || writer(file, rx))
            .map_err(|e| CliError::io("cannot start the journal writer", e))?;
        Ok((
            Journal {
                path: path.to_path_buf(),
                tx: Some(tx),
                thread: Some(thread),
            },
            replay,
        ))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry`; returns once it is synced to disk.
    pub async fn record(&self, entry: &Entry) -> CliResult<()> {
        let (ack, done) = tokio::sync::oneshot::channel();
        let fail = |what: String| {
            CliError::io(
                format!("cannot write {}", self.path.display()),
                std::io::Error::other(what),
            )
        };
        self.tx
            .as_ref()
            .ok_or_else(|| fail("the journal is closed".into()))?
            .send((line(entry), ack))
            .map_err(|_| fail("the journal writer stopped".into()))?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(fail(e)),
            Err(_) => Err(fail("the journal writer stopped".into())),
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn describe(job: Option<&Entry>) -> String {
    match job {
        Some(Entry::Job {
            kind,
            location_id: Some(l),
        }) => format!("{kind}, location {l}"),
        Some(Entry::Job { kind, .. }) => kind.clone(),
        _ => "unknown".into(),
    }
}

fn line(entry: &Entry) -> Vec<u8> {
    let mut v = serde_json::to_vec(entry).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Appends waiting entries, syncs once, acknowledges them all. After a failed write every later
/// entry fails too: the file's tail is unknown.
fn writer(mut file: File, rx: mpsc::Receiver<(Vec<u8>, Ack)>) {
    let mut broken: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let result = match &broken {
            Some(e) => Err(e.clone()),
            None => batch
                .iter()
                .try_for_each(|(bytes, _)| file.write_all(bytes))
                .and_then(|()| file.sync_data())
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = &result {
            broken = Some(e.clone());
        }
        for (_, ack) in batch {
            let _ = ack.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Entry {
        Entry::Job {
            kind: "pebblepad-users".into(),
            location_id: None,
        }
    }

    fn started(row: u64, key: &str) -> Entry {
        Entry::Started {
            row,
            key: key.into(),
        }
    }

    fn done(row: u64, key: &str, outcome: &str, id: Option<&str>) -> Entry {
        Entry::Done {
            row,
            key: key.into(),
            outcome: outcome.into(),
            id: id.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn entries_replay_to_the_last_state_of_each_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv.journal");
        let (journal, replay) = Journal::open(&path, job(), false).unwrap();
        assert_eq!(replay, Replay::default());
        journal.record(&started(2, "ann")).await.unwrap();
        journal
            .record(&done(2, "ann", "created", Some("u-1")))
            .await
            .unwrap();
        journal.record(&started(3, "bob")).await.unwrap();
        journal.record(&started(4, "cy")).await.unwrap();
        journal
            .record(&Entry::Failed {
                row: 4,
                key: "cy".into(),
                error: "400 bad".into(),
            })
            .await
            .unwrap();
        drop(journal);

        // A crash mid-write leaves a torn line.
        let mut f = File::options().append(true).open(&path).unwrap();
        f.write_all(br#"{"event":"done","row":3,"ke"#).unwrap();
        drop(f);

        let err = Journal::open(&path, job(), false).unwrap_err();
        assert!(err.to_string().contains("--resume"), "{err}");
        let other = Entry::Job {
            kind: "paya-contacts".into(),
            location_id: Some("loc".into()),
        };
        let err = Journal::open(&path, other, true).unwrap_err();
        assert!(err.to_string().contains("another import"), "{err}");

        let (journal, replay) = Journal::open(&path, job(), true).unwrap();
        assert!(replay.torn);
        assert_eq!(
            replay.state(2, "ann"),
            Some(&RowState::Done {
                outcome: "created".into(),
                id: Some("u-1".into())
            })
        );
        assert_eq!(replay.state(3, "bob"), Some(&RowState::Started));
        assert_eq!(
            replay.state(4, "cy"),
            Some(&RowState::Failed("400 bad".into()))
        );
        assert_eq!(
            replay.state(2, "someone-else"),
            None,
            "a changed row is not done"
        );
        journal
            .record(&done(3, "bob", "exists", None))
            .await
            .unwrap();
        drop(journal);
        let replay = Replay::parse(&std::fs::read(&path).unwrap());
        assert!(!replay.torn, "new entries start on a fresh line");
        assert!(matches!(
            replay.state(3, "bob"),
            Some(RowState::Done { .. })
        ));
    }

    /// Regression (issue 17 #8): a crash tore the last line inside `ë`'s two bytes.
    #[tokio::test]
    async fn a_line_torn_inside_a_multi_byte_character_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv.journal");
        let (journal, _) = Journal::open(&path, job(), false).unwrap();
        journal.record(&started(5, "zoë")).await.unwrap();
        drop(journal);
        let whole = line(&done(5, "zoë", "created", None));
        let cut = whole.iter().position(|b| *b == 0xC3).unwrap() + 1;
        let mut f = File::options().append(true).open(&path).unwrap();
        f.write_all(&whole[..cut]).unwrap();
        drop(f);
        assert!(
            std::fs::read_to_string(&path).is_err(),
            "not UTF-8 any more"
        );

        let (journal, replay) = Journal::open(&path, job(), true).unwrap();
        assert!(replay.torn);
        assert_eq!(replay.state(5, "zoë"), Some(&RowState::Started));
        journal.record(&started(5, "zoë")).await.unwrap();
        drop(journal);
        let replay = Replay::parse(&std::fs::read(&path).unwrap());
        assert_eq!(replay.state(5, "zoë"), Some(&RowState::Started));
    }

    proptest::proptest! {
        /// A journal cut at any byte replays to the states of the lines before the cut.
        #[test]
        fn a_journal_cut_at_any_byte_replays_its_whole_lines(
            keys in proptest::collection::vec(proptest::prelude::any::<String>(), 1..6),
            cut in proptest::prelude::any::<usize>(),
        ) {
            let mut bytes = line(&job());
            let mut ends = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                bytes.extend(line(&started(i as u64 + 2, key)));
                ends.push(bytes.len());
            }
            let cut = cut % (bytes.len() + 1);
            let replay = Replay::parse(&bytes[..cut]);
            for (i, key) in keys.iter().enumerate() {
                // Whole, or whole but for its newline.
                let expected = (cut + 1 >= ends[i]).then_some(&RowState::Started);
                proptest::prop_assert_eq!(replay.state(i as u64 + 2, key), expected);
            }
        }
    }

    /// Issue 17: `record` dropped at any point — alone, or among others in flight — still
    /// writes its entry whole: it is handed to the writer before the first await, so once a
    /// later `record` returns it is on disk before it, and the journal replays untorn.
    #[tokio::test]
    async fn a_record_dropped_anywhere_is_still_written_whole() {
        use shoal::core::test_util::drop_at_every_pending_point;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv.journal");
        let (journal, _) = Journal::open(&path, job(), false).unwrap();
        let (journal, next_row) = (&journal, &std::sync::atomic::AtomicU64::new(2));
        let row_entry = |row: u64| started(row, &format!("zoë-{row}"));
        for together in [1u64, 3] {
            let points = drop_at_every_pending_point(
                || {
                    let first = next_row.fetch_add(together, std::sync::atomic::Ordering::SeqCst);
                    futures_util::future::join_all(
                        (first..first + together)
                            .map(move |row| async move { journal.record(&row_entry(row)).await }),
                    )
                },
                |round| async move {
                    let what = round.to_string();
                    for done in round.into_output().unwrap_or_default() {
                        done.unwrap();
                    }
                    let upto = next_row.load(std::sync::atomic::Ordering::SeqCst);
                    // A later record returns once it is synced: everything sent before is too.
                    journal
                        .record(&done(1, "marker", "created", None))
                        .await
                        .unwrap();
                    let replay = Replay::parse(&std::fs::read(journal.path()).unwrap());
                    assert!(!replay.torn, "{what}");
                    for row in 2..upto {
                        let key = format!("zoë-{row}");
                        assert_eq!(
                            replay.state(row, &key),
                            Some(&RowState::Started),
                            "{what}: row {row} was recorded"
                        );
                    }
                },
            )
            .await;
            // Each record waits at most once for the writer's sync (not at all when the writer
            // thread is done before the first poll); the writer may batch several.
            assert!(
                points <= together as usize,
                "{points} pending points for {together} records"
            );
        }
    }

    #[tokio::test]
    async fn concurrent_records_are_all_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (journal, _) = Journal::open(&path, job(), false).unwrap();
        let journal = std::sync::Arc::new(journal);
        let mut tasks = Vec::new();
        for row in 0..64u64 {
            let j = journal.clone();
            tasks.push(tokio::spawn(async move {
                j.record(&started(row, &format!("k{row}"))).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        drop(journal);
        let replay = Replay::parse(&std::fs::read(&path).unwrap());
        assert_eq!(replay.rows.len(), 64);
        assert_eq!(replay.job, Some(job()));
    }
}
