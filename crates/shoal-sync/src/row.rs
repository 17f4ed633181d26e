//! [`RecordRow`]: the columns of one `records` row, taken from a record's raw JSON without
//! trusting it — and the skip rule for records that cannot be stored.
//!
//! The rule, in full:
//! - a record that is not a JSON object, has no `id`, an `id` that is not a string or an
//!   integer, an empty `id`, an `id` longer than [`MAX_ID_BYTES`] or containing U+0000, or raw
//!   JSON longer than the configured limit, is **skipped** and counted (never stored, never a
//!   panic, never an error that stops the sync);
//! - a column whose field has the wrong type (`"email": 5`) is `NULL`; the raw JSON keeps the
//!   value as sent;
//! - U+0000 in a text column becomes U+FFFD (Postgres text cannot hold it); a JSON column whose
//!   text holds `\u0000` is `NULL` (Postgres `jsonb` refuses it) — the raw JSON keeps it.
//!
//! Within one page, a later copy of an id replaces an earlier one.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The longest `id` stored, in bytes.
pub const MAX_ID_BYTES: usize = 1024;

/// One row of the `records` table, as the sync writes it.
///
/// A row owns the record's JSON and, where a column's text is a verbatim part of it (a string
/// without escapes, a nested array or object), points into it instead of copying: a page's
/// thousand rows cost no allocation beyond the records themselves.
#[derive(Clone, Debug)]
pub struct RecordRow {
    raw: Box<RawValue>,
    columns: Fields<Text>,
}

macro_rules! accessors {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> Option<&str> {
            self.column(&self.columns.$name)
        }
    )*};
}

/// A column's text: a byte range of the raw record, or its own (unescaped) string.
#[derive(Clone, Debug)]
enum Text {
    Span(Range<usize>),
    Owned(String),
}

impl RecordRow {
    fn column<'a>(&'a self, t: &'a Option<Text>) -> Option<&'a str> {
        t.as_ref().map(|t| match t {
            Text::Span(r) => &self.raw.get()[r.clone()],
            Text::Owned(s) => s.as_str(),
        })
    }

    /// The record's `id`.
    pub fn id(&self) -> &str {
        // Always present in a row: `extract` refuses a record without a usable id.
        self.column(&self.columns.id).unwrap_or_default()
    }

    accessors! {
        /// `firstName`.
        first_name,
        /// `lastName`.
        last_name,
        /// `email`.
        email,
        /// `company.name`.
        company_name,
        /// `phones`, as JSON text.
        phones,
        /// `addresses`, as JSON text.
        addresses,
        /// `company`, as JSON text.
        company,
        /// `sessions`, as JSON text.
        sessions,
    }

    /// The record exactly as the server sent it.
    pub fn raw(&self) -> &str {
        self.raw.get()
    }

    fn texts(&self) -> [Option<&str>; 10] {
        [
            Some(self.id()),
            self.first_name(),
            self.last_name(),
            self.email(),
            self.company_name(),
            self.phones(),
            self.addresses(),
            self.company(),
            self.sessions(),
            Some(self.raw()),
        ]
    }
}

impl PartialEq for RecordRow {
    fn eq(&self, other: &Self) -> bool {
        self.texts() == other.texts()
    }
}

impl Eq for RecordRow {}

/// Why a record was not stored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Not a JSON object, or an object that does not decode (duplicate keys).
    NotAnObject,
    /// No usable `id` (missing, null, empty, wrong type, too long, U+0000).
    BadId,
    /// Larger than the configured limit (bytes of raw JSON).
    TooLarge(usize),
}

/// The columns of a record: as parsed (`T = &RawValue`), then as stored (`T = Text`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
struct Fields<T> {
    #[serde(default)]
    id: Option<T>,
    #[serde(default)]
    first_name: Option<T>,
    #[serde(default)]
    last_name: Option<T>,
    #[serde(default)]
    email: Option<T>,
    /// Not a field of the record: taken from `company` below.
    #[serde(skip)]
    company_name: Option<T>,
    #[serde(default)]
    phones: Option<T>,
    #[serde(default)]
    addresses: Option<T>,
    #[serde(default)]
    company: Option<T>,
    #[serde(default)]
    sessions: Option<T>,
}

#[derive(Deserialize)]
struct CompanyName<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
}

/// Whether a record would be stored, without building its row (the Singer writer's check).
pub fn check(raw: &RawValue, max_bytes: usize) -> Result<(), SkipReason> {
    columns(raw, max_bytes).map(drop)
}

/// The row for one raw record, or why it is skipped.
pub fn extract(raw: Box<RawValue>, max_bytes: usize) -> Result<RecordRow, SkipReason> {
    let columns = columns(&raw, max_bytes)?;
    // Moving the box keeps its text where it is: the spans stay valid.
    Ok(RecordRow { raw, columns })
}

fn columns(raw: &RawValue, max_bytes: usize) -> Result<Fields<Text>, SkipReason> {
    let text = raw.get();
    if text.len() > max_bytes {
        return Err(SkipReason::TooLarge(text.len()));
    }
    if !text.starts_with('{') {
        return Err(SkipReason::NotAnObject);
    }
    let f: Fields<&RawValue> = serde_json::from_str(text).map_err(|_| SkipReason::NotAnObject)?;
    let at = Spans(text);
    let id = Some(f.id.and_then(|v| at.id(v)).ok_or(SkipReason::BadId)?);
    let company_name = f
        .company
        .filter(|c| c.get().starts_with('{'))
        .and_then(|c| serde_json::from_str::<CompanyName<'_>>(c.get()).ok())
        .and_then(|c| c.name.and_then(|v| at.string(v)));
    Ok(Fields {
        id,
        first_name: f.first_name.and_then(|v| at.string(v)),
        last_name: f.last_name.and_then(|v| at.string(v)),
        email: f.email.and_then(|v| at.string(v)),
        company_name,
        phones: f.phones.and_then(|v| at.json(v)),
        addresses: f.addresses.and_then(|v| at.json(v)),
        company: f.company.and_then(|v| at.json(v)),
        sessions: f.sessions.and_then(|v| at.json(v)),
    })
}

/// Spans of a record's text, from values borrowed out of it.
struct Spans<'a>(&'a str);

impl Spans<'_> {
    /// Where `part` lies in the record; a copy should it not lie inside (never expected: every
    /// value is borrowed from the record's text), rather than a wrong range or a panic.
    fn text(&self, part: &str) -> Text {
        let start = (part.as_ptr() as usize).checked_sub(self.0.as_ptr() as usize);
        match start {
            Some(start) if self.0.get(start..start + part.len()).is_some() => {
                Text::Span(start..start + part.len())
            }
            _ => Text::Owned(part.to_owned()),
        }
    }

    fn id(&self, v: &RawValue) -> Option<Text> {
        let t = v.get();
        let id = if t.starts_with('"') {
            match self.string(v)? {
                // An id that held U+0000 is refused, not repaired.
                Text::Owned(_) => Text::Owned(serde_json::from_str::<String>(t).ok()?),
                span => span,
            }
        } else if t.bytes().all(|b| b.is_ascii_digit() || b == b'-') && !t.is_empty() {
            Text::Owned(t.parse::<i64>().ok()?.to_string())
        } else {
            return None;
        };
        let s = match &id {
            Text::Span(r) => &self.0[r.clone()],
            Text::Owned(s) => s.as_str(),
        };
        (!s.is_empty() && s.len() <= MAX_ID_BYTES && !s.contains('\0')).then_some(id)
    }

    fn string(&self, v: &RawValue) -> Option<Text> {
        let t = v.get();
        if !t.starts_with('"') {
            return None;
        }
        let inner = &t[1..t.len() - 1];
        if !inner.bytes().any(|b| b == b'\\' || b < 0x20) {
            return Some(self.text(inner));
        }
        let s = serde_json::from_str::<String>(t).ok()?;
        Some(Text::Owned(if s.contains('\0') {
            s.replace('\0', "\u{FFFD}")
        } else {
            s
        }))
    }

    fn json(&self, v: &RawValue) -> Option<Text> {
        let t = v.get();
        (t != "null" && !t.contains("\\u0000")).then(|| self.text(t))
    }
}

/// What a page turned into: the rows to write (one per id, the later copy kept) and the count
/// of records skipped.
#[derive(Debug, Default)]
pub struct PageRows {
    /// One row per distinct id, in first-seen order.
    pub rows: Vec<RecordRow>,
    /// Records skipped by the rule above.
    pub skipped: u64,
    /// Earlier copies replaced by a later copy of the same id in this page.
    pub duplicates: u64,
}

/// The rows of one page of raw records.
pub fn page_rows(items: Vec<Box<RawValue>>, max_bytes: usize) -> PageRows {
    let mut out = PageRows::default();
    out.rows.reserve(items.len());
    for item in items {
        match extract(item, max_bytes) {
            Ok(row) => out.rows.push(row),
            Err(reason) => {
                tracing::debug!(?reason, "record skipped");
                out.skipped += 1;
            }
        }
    }
    // Each id's first and last position; a page almost never repeats one.
    let mut seen: HashMap<&str, (usize, usize)> = HashMap::with_capacity(out.rows.len());
    for (i, row) in out.rows.iter().enumerate() {
        seen.entry(row.id()).or_insert((i, i)).1 = i;
    }
    if seen.len() == out.rows.len() {
        return out;
    }
    let keep: Vec<Option<usize>> = out
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (first, last) = seen[row.id()];
            (first == i).then_some(last)
        })
        .collect();
    drop(seen);
    out.duplicates = (out.rows.len() - keep.iter().flatten().count()) as u64;
    let mut rows: Vec<Option<RecordRow>> = std::mem::take(&mut out.rows)
        .into_iter()
        .map(Some)
        .collect();
    out.rows = keep
        .into_iter()
        .flatten()
        .filter_map(|last| rows[last].take())
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn columns_come_from_the_documented_fields() {
        let r = raw(
            r#"{"id":"r1","firstName":"Ada","lastName":"Lovelace","email":"ada@example.test",
               "phones":[{"number":"1"}],"addresses":[],"company":{"name":"Engines","x":1},
               "sessions":[{"site":"s"}],"loyalty":{"tier":"gold"}}"#,
        );
        let row = extract(r.clone(), 1 << 20).unwrap();
        assert_eq!(row.id(), "r1");
        assert_eq!(row.first_name(), Some("Ada"));
        assert_eq!(row.company_name(), Some("Engines"));
        assert_eq!(row.phones(), Some(r#"[{"number":"1"}]"#));
        assert_eq!(row.addresses(), Some("[]"));
        assert_eq!(row.raw(), r.get());
    }

    #[test]
    fn hostile_records_follow_the_skip_rule() {
        for bad in [
            "5",
            "[]",
            "null",
            r#""str""#,
            r#"{}"#,
            r#"{"id":null}"#,
            r#"{"id":""}"#,
            r#"{"id":{"a":1}}"#,
            r#"{"id":1.5}"#,
            r#"{"id":"a\u0000b"}"#,
            r#"{"id":"a","id":"b"}"#,
        ] {
            assert!(extract(raw(bad), 1 << 20).is_err(), "{bad}");
        }
        let long = format!(r#"{{"id":"{}"}}"#, "x".repeat(MAX_ID_BYTES + 1));
        assert_eq!(extract(raw(&long), 1 << 20), Err(SkipReason::BadId));
        assert_eq!(
            extract(raw(r#"{"id":"a","pad":"xxxxxxxx"}"#), 10),
            Err(SkipReason::TooLarge(27))
        );
        assert_eq!(extract(raw(r#"{"id":42}"#), 100).unwrap().id(), "42");
    }

    #[test]
    fn wrong_types_are_null_and_nul_is_replaced() {
        let row = extract(
            raw(
                r#"{"id":"x","firstName":5,"email":"a\u0000b","company":"ACME","phones":null,
                   "sessions":[{"site":"\u0000"}]}"#,
            ),
            1 << 20,
        )
        .unwrap();
        assert_eq!(row.first_name(), None);
        assert_eq!(row.email(), Some("a\u{FFFD}b"));
        assert_eq!(row.company(), Some(r#""ACME""#));
        assert_eq!(row.company_name(), None);
        assert_eq!(row.phones(), None);
        assert_eq!(row.sessions(), None);
    }

    #[test]
    fn escaped_text_is_unescaped_and_plain_text_points_into_the_record() {
        let row = extract(
            raw(r#"{"id":"a\"b","firstName":"Zo\u00eb","lastName":"Brontë","email":"x\\y"}"#),
            1 << 20,
        )
        .unwrap();
        assert_eq!(row.id(), "a\"b");
        assert_eq!(row.first_name(), Some("Zoë"));
        assert_eq!(row.last_name(), Some("Brontë"));
        assert_eq!(row.email(), Some("x\\y"));
        assert!(matches!(row.columns.last_name, Some(Text::Span(_))));
        assert!(matches!(row.columns.first_name, Some(Text::Owned(_))));
        // An escaped U+0000 in an id is refused, not repaired.
        assert_eq!(
            extract(raw(r#"{"id":"\u0000"}"#), 1 << 20),
            Err(SkipReason::BadId)
        );
    }

    #[test]
    fn a_later_copy_in_the_same_page_wins() {
        let items = vec![
            raw(r#"{"id":"a","email":"old"}"#),
            raw(r#"{"nope":1}"#),
            raw(r#"{"id":"b"}"#),
            raw(r#"{"id":"a","email":"new"}"#),
        ];
        let page = page_rows(items, 1 << 20);
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.rows[0].email(), Some("new"));
        assert_eq!((page.skipped, page.duplicates), (1, 1));
    }

    proptest! {
        #[test]
        fn any_unicode_round_trips_into_the_columns(
            id in "\\PC{1,40}",
            first in "\\PC{0,40}",
            email in any::<String>(),
            name in any::<String>(),
        ) {
            let v = serde_json::json!({
                "id": id, "firstName": first, "email": email,
                "company": {"name": name}, "extra": [first, 1, null],
            });
            let r = raw(&v.to_string());
            let row = extract(r.clone(), 1 << 20);
            let fix = |s: &str| s.replace('\0', "\u{FFFD}");
            if id.contains('\0') {
                prop_assert_eq!(row, Err(SkipReason::BadId));
            } else {
                let row = row.unwrap();
                prop_assert_eq!(row.id(), id.as_str());
                prop_assert_eq!(row.first_name().map(str::to_owned), Some(fix(&first)));
                prop_assert_eq!(row.email().map(str::to_owned), Some(fix(&email)));
                prop_assert_eq!(row.company_name().map(str::to_owned), Some(fix(&name)));
                prop_assert_eq!(row.raw(), r.get());
            }
        }

        #[test]
        fn any_json_never_panics(v in arb_json()) {
            let r = raw(&v.to_string());
            let _ = check(&r, 1 << 20);
            let _ = extract(r.clone(), 1 << 20);
            let _ = page_rows(vec![r], 64);
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("id".to_string()),
                        Just("company".to_string()),
                        Just("phones".to_string()),
                        any::<String>()
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
