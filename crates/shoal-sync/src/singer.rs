//! Singer output (`shoal pearldiver export --format singer`): SCHEMA, RECORD and STATE messages
//! per the Singer specification, one JSON object a line, so any Singer or Meltano target can
//! load an export; and the reading of a previous STATE (`--state FILE`) into the next window.
//!
//! One stream per audience, [`stream_name`] (`pearldiver_audience_17`), keyed by `id`. Each
//! record is written as the server sent it (no decode and re-encode); records that the sync's
//! skip rule would refuse ([`crate::row`]) are skipped, since a target needs the key.
//!
//! The bookmark of a stream is a [`Bookmark`]: `window_start` is the start of the window the
//! export covered, `started_at` when the export began, and `cursor` the next page while the
//! export is unfinished. A STATE follows every page, so a target's last STATE lets an
//! interrupted export continue from its next page; once finished, the next export asks for
//! `since = started_at − lag` — or the full 90 days when that is past Pearl Diver's limit.
//!
//! ```
//! use shoal_sync::singer::{Bookmark, SingerState, SingerWriter};
//! use serde_json::value::RawValue;
//! use time::macros::datetime;
//!
//! let mut out = Vec::new();
//! let mut w = SingerWriter::new(&mut out, 17, datetime!(2026-01-01 00:00 UTC));
//! w.schema()?;
//! let page = vec![RawValue::from_string(r#"{"id":"a","email":"ada@example.test"}"#.into())?];
//! assert_eq!(w.page(&page)?.written, 1);
//! let mut state = SingerState::default();
//! state.set(17, Bookmark::finished(shoal_pearldiver::AudienceWindow::LastDays(90),
//!     datetime!(2026-01-01 00:00 UTC)));
//! w.state(&state)?;
//! let text = String::from_utf8(out)?;
//! let types: Vec<String> = text.lines()
//!     .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"].to_string())
//!     .collect();
//! assert_eq!(types, [r#""SCHEMA""#, r#""RECORD""#, r#""STATE""#]);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use shoal_core::{Cursor, SharedClock, SystemClock};
use shoal_pearldiver::{AudienceWindow, MAX_DAYS, PearlDiverClient};
use time::OffsetDateTime;

use crate::error::{SyncError, SyncResult};
use crate::plan::{AudienceState, OpenRun, Planned, WindowMode, plan};
use crate::row::check;
use crate::timefmt::ts;

/// The stream of audience `key`.
pub fn stream_name(key: u64) -> String {
    format!("pearldiver_audience_{key}")
}

/// The JSON Schema of a Pearl Diver record as sent in SCHEMA messages: the documented fields,
/// every one optional but `id`, unknown ones allowed.
pub fn record_schema() -> Value {
    let s = || json!({"type": ["null", "string"]});
    let obj = || json!({"type": ["null", "object"], "additionalProperties": true});
    let arr = || json!({"type": ["null", "array"], "items": {"type": "object", "additionalProperties": true}});
    json!({
        "type": "object",
        "additionalProperties": true,
        "required": ["id"],
        "properties": {
            "id": {"type": "string"},
            "firstName": s(), "lastName": s(), "email": s(),
            "phones": arr(), "addresses": arr(), "company": obj(), "sessions": arr(),
        }
    })
}

/// What [`SingerWriter::page`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageCount {
    /// RECORD messages written.
    pub written: u64,
    /// Records skipped (no usable `id`, not an object, too large).
    pub skipped: u64,
}

/// Writes the Singer messages of one audience's export to `out`.
#[derive(Debug)]
pub struct SingerWriter<W: Write> {
    out: W,
    stream: String,
    time_extracted: String,
    max_record_bytes: usize,
}

impl<W: Write> SingerWriter<W> {
    /// A writer for audience `key`'s stream; `extracted_at` is every RECORD's `time_extracted`.
    pub fn new(out: W, key: u64, extracted_at: OffsetDateTime) -> Self {
        Self {
            out,
            stream: stream_name(key),
            time_extracted: ts(extracted_at),
            max_record_bytes: 4 << 20,
        }
    }

    /// Records larger than this (bytes of JSON) are skipped (default 4 MiB).
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// The SCHEMA message (write it first).
    pub fn schema(&mut self) -> io::Result<()> {
        let msg = json!({
            "type": "SCHEMA",
            "stream": self.stream,
            "schema": record_schema(),
            "key_properties": ["id"],
        });
        serde_json::to_writer(&mut self.out, &msg)?;
        self.out.write_all(b"\n")
    }

    /// One RECORD message per record of a page, each record's JSON as sent.
    pub fn page(&mut self, records: &[Box<RawValue>]) -> io::Result<PageCount> {
        let mut count = PageCount::default();
        let head = format!(
            r#"{{"type":"RECORD","stream":{},"record":"#,
            serde_json::to_string(&self.stream)?
        );
        let tail = format!(r#","time_extracted":"{}"}}"#, self.time_extracted);
        for record in records {
            if check(record, self.max_record_bytes).is_err() {
                count.skipped += 1;
                continue;
            }
            self.out.write_all(head.as_bytes())?;
            self.out.write_all(record.get().as_bytes())?;
            self.out.write_all(tail.as_bytes())?;
            self.out.write_all(b"\n")?;
            count.written += 1;
        }
        Ok(count)
    }

    /// A STATE message carrying `state`, then a flush (a target persists it once the records
    /// before it are loaded).
    pub fn state(&mut self, state: &SingerState) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &json!({"type": "STATE", "value": state}))?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// The output back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The value of a STATE message: a bookmark per stream; other keys (and other streams'
/// bookmarks) are kept as found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SingerState {
    /// Bookmarks by stream name.
    #[serde(default)]
    pub bookmarks: BTreeMap<String, Value>,
    /// Anything else the state held.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The bookmark of one audience's stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Bookmark {
    /// The start of the window the export covers.
    #[serde(with = "time::serde::rfc3339")]
    pub window_start: OffsetDateTime,
    /// The window as asked.
    pub window: AudienceWindow,
    /// When the export began: the next export asks for records since this less the lag.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The next page while the export is unfinished; `None` once it is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl Bookmark {
    /// The bookmark of an export of `window` begun at `started_at`, with `cursor` to go.
    pub fn new(window: AudienceWindow, started_at: OffsetDateTime, cursor: Option<String>) -> Self {
        let window_start = window.start(started_at);
        Self {
            window_start,
            window,
            started_at,
            cursor,
        }
    }

    /// The bookmark of a finished export.
    pub fn finished(window: AudienceWindow, started_at: OffsetDateTime) -> Self {
        Self::new(window, started_at, None)
    }
}

/// Where the next export of an audience starts, from a state.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExportPlan {
    /// The window to ask for.
    pub window: AudienceWindow,
    /// The page to start from (`None`: the first).
    pub cursor: Option<Cursor>,
    /// The export's start (kept from the state when continuing an unfinished export).
    pub started_at: OffsetDateTime,
    /// How the window was chosen.
    pub mode: WindowMode,
}

impl SingerState {
    /// Reads a state file: a STATE message (`{"type":"STATE","value":…}`), a bare state value
    /// (`{"bookmarks":…}`, as Meltano passes it), or a target's output of many lines (the
    /// last STATE wins). An empty file is an empty state.
    pub fn read(path: &Path) -> SyncResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| SyncError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| SyncError::InvalidState {
            path: path.to_owned(),
            reason,
        })
    }

    /// [`read`](Self::read) on text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::default());
        }
        let from_value = |v: Value| -> Result<Option<Self>, String> {
            match v.get("type").and_then(Value::as_str) {
                Some("STATE") => {
                    let value = v.get("value").cloned().unwrap_or(Value::Null);
                    serde_json::from_value(value)
                        .map(Some)
                        .map_err(|e| format!("the STATE message's value is not a state: {e}"))
                }
                Some(_) => Ok(None),
                None if v.is_object() => serde_json::from_value(v)
                    .map(Some)
                    .map_err(|e| format!("not a Singer state: {e}")),
                None => Err("expected a JSON object".into()),
            }
        };
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return from_value(v)?.ok_or_else(|| "no STATE message found".into());
        }
        let mut last = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let v: Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
            if let Some(state) = from_value(v).map_err(|e| format!("line {}: {e}", n + 1))? {
                last = Some(state);
            }
        }
        last.ok_or_else(|| "no STATE message found".into())
    }

    /// The bookmark of audience `key`, if the state has one.
    pub fn bookmark(&self, key: u64) -> Result<Option<Bookmark>, String> {
        match self.bookmarks.get(&stream_name(key)) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| format!("bookmark of {}: {e}", stream_name(key))),
        }
    }

    /// Sets audience `key`'s bookmark.
    pub fn set(&mut self, key: u64, bookmark: Bookmark) {
        let value = serde_json::to_value(bookmark).unwrap_or(Value::Null);
        self.bookmarks.insert(stream_name(key), value);
    }

    /// Where the next export of `key` starts at `now`: continue an unfinished export from its
    /// cursor; else `since = started_at − lag`; else (no bookmark, or past the 90-day limit)
    /// the full window.
    pub fn next_export(
        &self,
        key: u64,
        now: OffsetDateTime,
        lag: Duration,
    ) -> Result<ExportPlan, String> {
        let bookmark = self.bookmark(key)?;
        let state = match &bookmark {
            None => AudienceState::default(),
            Some(b) if b.cursor.is_some() => AudienceState {
                open: Some(OpenRun {
                    run_id: 0,
                    window: b.window,
                    started_at: b.started_at,
                    cursor: b.cursor.clone(),
                    pages: 0,
                }),
                last_done_start: None,
            },
            Some(b) => AudienceState {
                open: None,
                last_done_start: Some(b.started_at),
            },
        };
        Ok(match plan(&state, now, lag) {
            Planned::Resume(open) => ExportPlan {
                window: open.window,
                cursor: open.cursor.map(Cursor::new),
                started_at: open.started_at,
                mode: WindowMode::Resumed { pages_before: 0 },
            },
            Planned::New { window, mode, .. } => ExportPlan {
                window,
                cursor: None,
                started_at: now,
                mode,
            },
        })
    }
}

/// The longest window, for callers that need to say it.
pub const FULL_WINDOW: AudienceWindow = AudienceWindow::LastDays(MAX_DAYS);

/// How [`export`] runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SingerOptions {
    /// Subtracted from the previous export's start to get `since` (default 1 hour).
    pub lag: Duration,
    /// Records larger than this (bytes of JSON) are skipped (default 4 MiB).
    pub max_record_bytes: usize,
    /// Time: the export's start and `time_extracted` (default: the system clock).
    pub clock: SharedClock,
}

impl Default for SingerOptions {
    fn default() -> Self {
        Self {
            lag: Duration::from_secs(3_600),
            max_record_bytes: 4 << 20,
            clock: SystemClock::shared(),
        }
    }
}

impl SingerOptions {
    shoal_core::builder_setters! {
        /// Sets the lag.
        lag(lag: Duration) => lag;
        /// Sets the clock.
        clock(clock: SharedClock) => clock;
    }
}

/// What [`export`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ExportSummary {
    /// The window asked for.
    pub window: AudienceWindow,
    /// How it was chosen.
    pub mode: WindowMode,
    /// Pages exported.
    pub pages: u64,
    /// Records received.
    pub records: u64,
    /// RECORD messages written.
    pub written: u64,
    /// Records skipped.
    pub skipped: u64,
}

/// Exports audience `key` as Singer messages to `out`: SCHEMA, then each page's RECORDs
/// followed by a STATE, continuing from `state` (see [`SingerState::next_export`]); `state`
/// ends as the last STATE written. Another stream's bookmarks are kept.
pub async fn export<W: Write>(
    client: &PearlDiverClient,
    key: u64,
    state: &mut SingerState,
    options: &SingerOptions,
    out: W,
) -> SyncResult<ExportSummary> {
    use futures_util::TryStreamExt as _;

    let io = |source: io::Error| SyncError::Io {
        path: "Singer output".into(),
        source,
    };
    let now = OffsetDateTime::from(options.clock.system_now());
    let plan = state
        .next_export(key, now, options.lag)
        .map_err(|e| SyncError::InvalidInput(format!("Singer state: {e}")))?;
    let mut writer = SingerWriter::new(out, key, now).max_record_bytes(options.max_record_bytes);
    writer.schema().map_err(io)?;
    let mut summary = ExportSummary {
        window: plan.window,
        mode: plan.mode.clone(),
        pages: 0,
        records: 0,
        written: 0,
        skipped: 0,
    };
    let pages = client
        .audiences()
        .records(key, plan.window)
        .raw()
        .resume_from(plan.cursor.clone())
        .by_page();
    let mut pages = std::pin::pin!(pages);
    while let Some(page) = pages.try_next().await? {
        let count = writer.page(&page.items).map_err(io)?;
        summary.pages += 1;
        summary.records += page.items.len() as u64;
        summary.written += count.written;
        summary.skipped += count.skipped;
        let next = page.next.map(|c| c.as_str().to_owned());
        state.set(key, Bookmark::new(plan.window, plan.started_at, next));
        writer.state(state).map_err(io)?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
    const HOUR: Duration = Duration::from_secs(3600);

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.into()).unwrap()
    }

    #[test]
    fn messages_follow_the_spec_and_records_pass_through() {
        let mut w = SingerWriter::new(Vec::new(), 17, NOW);
        w.schema().unwrap();
        let c = w
            .page(&[
                raw(r#"{"id":"a","x":{"deep":[1,2]},"email":"é"}"#),
                raw(r#"{"noid":1}"#),
            ])
            .unwrap();
        assert_eq!(
            c,
            PageCount {
                written: 1,
                skipped: 1
            }
        );
        let text = String::from_utf8(w.into_inner()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["type"], "SCHEMA");
        assert_eq!(lines[0]["stream"], "pearldiver_audience_17");
        assert_eq!(lines[0]["key_properties"], json!(["id"]));
        assert_eq!(lines[0]["schema"]["properties"]["id"]["type"], "string");
        assert_eq!(lines[1]["type"], "RECORD");
        assert_eq!(
            lines[1]["record"],
            json!({"id":"a","x":{"deep":[1,2]},"email":"é"})
        );
        assert_eq!(lines[1]["time_extracted"], "2026-01-01T00:00:00.000000Z");
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .contains(r#""record":{"id":"a","x":{"deep":[1,2]},"email":"é"}"#)
        );
    }

    #[test]
    fn states_round_trip_in_every_accepted_form() {
        let mut state = SingerState::default();
        state
            .bookmarks
            .insert("other_stream".into(), json!({"replication_key_value": 5}));
        state.set(
            17,
            Bookmark::new(AudienceWindow::LastDays(90), NOW, Some("tok".into())),
        );
        let mut w = SingerWriter::new(Vec::new(), 17, NOW);
        w.state(&state).unwrap();
        let msg = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(SingerState::parse(&msg).unwrap(), state);
        let bare = serde_json::to_string(&state).unwrap();
        assert_eq!(SingerState::parse(&bare).unwrap(), state);
        let many = format!("{{\"type\":\"STATE\",\"value\":{{}}}}\n{msg}\n");
        assert_eq!(SingerState::parse(&many).unwrap(), state);
        assert_eq!(SingerState::parse("").unwrap(), SingerState::default());
        assert!(SingerState::parse("[1]").is_err());
        assert!(SingerState::parse("not json\n{}").is_err());
        let b = state.bookmark(17).unwrap().unwrap();
        assert_eq!(b.window_start, datetime!(2025-10-03 00:00 UTC));
    }

    #[test]
    fn the_next_export_continues_or_goes_incremental_or_full() {
        let mut state = SingerState::default();
        let fresh = state.next_export(17, NOW, HOUR).unwrap();
        assert_eq!(fresh.window, AudienceWindow::LastDays(90));
        assert!(fresh.cursor.is_none());

        let begun = datetime!(2025-12-31 00:00 UTC);
        state.set(
            17,
            Bookmark::new(AudienceWindow::LastDays(90), begun, Some("p2".into())),
        );
        let cont = state.next_export(17, NOW, HOUR).unwrap();
        assert_eq!(cont.cursor, Some(Cursor::new("p2")));
        assert_eq!(cont.started_at, begun);

        state.set(17, Bookmark::finished(AudienceWindow::LastDays(90), begun));
        let inc = state.next_export(17, NOW, HOUR).unwrap();
        assert_eq!(
            inc.window,
            AudienceWindow::Since(datetime!(2025-12-30 23:00 UTC))
        );

        let old = datetime!(2025-09-01 00:00 UTC);
        state.set(17, Bookmark::finished(AudienceWindow::LastDays(90), old));
        let full = state.next_export(17, NOW, HOUR).unwrap();
        assert_eq!(full.window, AudienceWindow::LastDays(90));
        assert!(matches!(full.mode, WindowMode::Full { .. }));

        state.bookmarks.insert(stream_name(17), json!("garbage"));
        assert!(state.next_export(17, NOW, HOUR).is_err());
    }
}
