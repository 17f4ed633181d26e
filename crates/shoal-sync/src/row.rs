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

use serde::Deserialize;
use serde_json::value::RawValue;

/// The longest `id` stored, in bytes.
pub const MAX_ID_BYTES: usize = 1024;

/// One row of the `records` table, as the sync writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    /// The record's `id`.
    pub id: String,
    /// `firstName`.
    pub first_name: Option<String>,
    /// `lastName`.
    pub last_name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `company.name`.
    pub company_name: Option<String>,
    /// `phones`, as JSON text.
    pub phones: Option<String>,
    /// `addresses`, as JSON text.
    pub addresses: Option<String>,
    /// `company`, as JSON text.
    pub company: Option<String>,
    /// `sessions`, as JSON text.
    pub sessions: Option<String>,
    /// The record exactly as the server sent it.
    pub raw: String,
}

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    first_name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    last_name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    email: Option<&'a RawValue>,
    #[serde(borrow, default)]
    phones: Option<&'a RawValue>,
    #[serde(borrow, default)]
    addresses: Option<&'a RawValue>,
    #[serde(borrow, default)]
    company: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sessions: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CompanyName<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
}

/// The row for one raw record, or why it is skipped.
pub fn extract(raw: &RawValue, max_bytes: usize) -> Result<RecordRow, SkipReason> {
    let text = raw.get();
    if text.len() > max_bytes {
        return Err(SkipReason::TooLarge(text.len()));
    }
    if !text.starts_with('{') {
        return Err(SkipReason::NotAnObject);
    }
    let f: Fields<'_> = serde_json::from_str(text).map_err(|_| SkipReason::NotAnObject)?;
    let id = f.id.and_then(id_text).ok_or(SkipReason::BadId)?;
    let company_name = f
        .company
        .filter(|c| c.get().starts_with('{'))
        .and_then(|c| serde_json::from_str::<CompanyName<'_>>(c.get()).ok())
        .and_then(|c| c.name.and_then(string));
    Ok(RecordRow {
        id,
        first_name: f.first_name.and_then(string),
        last_name: f.last_name.and_then(string),
        email: f.email.and_then(string),
        company_name,
        phones: f.phones.and_then(json),
        addresses: f.addresses.and_then(json),
        company: f.company.and_then(json),
        sessions: f.sessions.and_then(json),
        raw: text.to_owned(),
    })
}

fn id_text(v: &RawValue) -> Option<String> {
    let t = v.get();
    let id = if t.starts_with('"') {
        serde_json::from_str::<String>(t).ok()?
    } else if t.bytes().all(|b| b.is_ascii_digit() || b == b'-') && !t.is_empty() {
        t.parse::<i64>().ok()?.to_string()
    } else {
        return None;
    };
    (!id.is_empty() && id.len() <= MAX_ID_BYTES && !id.contains('\0')).then_some(id)
}

fn string(v: &RawValue) -> Option<String> {
    let t = v.get();
    if !t.starts_with('"') {
        return None;
    }
    let s = serde_json::from_str::<String>(t).ok()?;
    Some(if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    })
}

fn json(v: &RawValue) -> Option<String> {
    let t = v.get();
    (t != "null" && !t.contains("\\u0000")).then(|| t.to_owned())
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
pub fn page_rows(items: &[Box<RawValue>], max_bytes: usize) -> PageRows {
    let mut out = PageRows::default();
    let mut at: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for item in items {
        match extract(item, max_bytes) {
            Ok(row) => match at.get(&row.id) {
                Some(&i) => {
                    out.rows[i] = row;
                    out.duplicates += 1;
                }
                None => {
                    at.insert(row.id.clone(), out.rows.len());
                    out.rows.push(row);
                }
            },
            Err(reason) => {
                tracing::debug!(?reason, "record skipped");
                out.skipped += 1;
            }
        }
    }
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
        let row = extract(&r, 1 << 20).unwrap();
        assert_eq!(row.id, "r1");
        assert_eq!(row.first_name.as_deref(), Some("Ada"));
        assert_eq!(row.company_name.as_deref(), Some("Engines"));
        assert_eq!(row.phones.as_deref(), Some(r#"[{"number":"1"}]"#));
        assert_eq!(row.addresses.as_deref(), Some("[]"));
        assert_eq!(row.raw, r.get());
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
            assert!(extract(&raw(bad), 1 << 20).is_err(), "{bad}");
        }
        let long = format!(r#"{{"id":"{}"}}"#, "x".repeat(MAX_ID_BYTES + 1));
        assert_eq!(extract(&raw(&long), 1 << 20), Err(SkipReason::BadId));
        assert_eq!(
            extract(&raw(r#"{"id":"a","pad":"xxxxxxxx"}"#), 10),
            Err(SkipReason::TooLarge(27))
        );
        assert_eq!(extract(&raw(r#"{"id":42}"#), 100).unwrap().id, "42");
    }

    #[test]
    fn wrong_types_are_null_and_nul_is_replaced() {
        let row = extract(
            &raw(
                r#"{"id":"x","firstName":5,"email":"a\u0000b","company":"ACME","phones":null,
                   "sessions":[{"site":"\u0000"}]}"#,
            ),
            1 << 20,
        )
        .unwrap();
        assert_eq!(row.first_name, None);
        assert_eq!(row.email.as_deref(), Some("a\u{FFFD}b"));
        assert_eq!(row.company.as_deref(), Some(r#""ACME""#));
        assert_eq!(row.company_name, None);
        assert_eq!(row.phones, None);
        assert_eq!(row.sessions, None);
    }

    #[test]
    fn a_later_copy_in_the_same_page_wins() {
        let items = vec![
            raw(r#"{"id":"a","email":"old"}"#),
            raw(r#"{"nope":1}"#),
            raw(r#"{"id":"b"}"#),
            raw(r#"{"id":"a","email":"new"}"#),
        ];
        let page = page_rows(&items, 1 << 20);
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.rows[0].email.as_deref(), Some("new"));
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
            let row = extract(&r, 1 << 20);
            let fix = |s: &str| s.replace('\0', "\u{FFFD}");
            if id.contains('\0') {
                prop_assert_eq!(row, Err(SkipReason::BadId));
            } else {
                let row = row.unwrap();
                prop_assert_eq!(&row.id, &id);
                prop_assert_eq!(row.first_name, Some(fix(&first)));
                prop_assert_eq!(row.email, Some(fix(&email)));
                prop_assert_eq!(row.company_name, Some(fix(&name)));
                prop_assert_eq!(row.raw.as_str(), r.get());
            }
        }

        #[test]
        fn any_json_never_panics(v in arb_json()) {
            let r = raw(&v.to_string());
            let _ = extract(&r, 1 << 20);
            let _ = page_rows(&[r], 64);
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
