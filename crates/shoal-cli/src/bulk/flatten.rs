//! CSV export of Pearl Diver records: a fixed, documented column set flattened from the record
//! model, plus one `extra` column so that nothing a record carries is lost.
//!
//! # Columns (in this order)
//! Nested fields are named by their path, array items by their index from 0:
//!
//! - `id`, `firstName`, `lastName`, `email`
//! - `phones.N.` + `phoneType`, `number`, `validationStatus`, `lastSeen`, `extension`, `order`
//!   for N = 0, 1, 2
//! - `addresses.N.` + `addressType`, `address1`, `address2`, `city`, `state`, `zip`, `zip4` for
//!   N = 0, 1
//! - `company.` + `name`, `domain`, `industry`, `sic1`, `sic2`, `sic3`, `companyCount`,
//!   `linkedIn`, `revenue`, `employeeCount`
//! - for sessions N = 0, 1: `sessions.N.` + `site`, `device`, `referer`, `utm.medium`,
//!   `utm.campaign`, `utm.term`, `utm.content`, `utm.source`, then `sessions.N.visits.M.` +
//!   `time`, `pageUrl`, `path`, `host`, `queryString` for visits M = 0, 1, 2
//! - `extra`: a JSON object holding every other value of the record — fields the model does not
//!   name, and array items past the slots above — keyed by the same dotted path
//!   (`{"phones.3.number":"…","favoriteColor":"blue"}`), keys sorted; empty when there are none.
//!
//! 93 columns in all. Cells: strings as they are, numbers and booleans as their JSON text, a
//! missing or `null` value as an empty cell. The column set never depends on the data, so files
//! from different runs (and a resumed run) line up.
//!
//! # Formulas
//! Visitors write `utm.*`, `referer` and `queryString`; a spreadsheet runs a cell that starts
//! with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula. By default such a string
//! cell is written with a leading `'` (OWASP's CSV-injection advice), which spreadsheets show as
//! text; `--csv-raw` writes every string exactly as the record holds it.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Phone slots in the CSV.
const PHONES: usize = 3;
/// Address slots.
const ADDRESSES: usize = 2;
/// Session slots.
const SESSIONS: usize = 2;
/// Visit slots per session.
const VISITS: usize = 3;

const PHONE: &[&str] = &[
    "phoneType",
    "number",
    "validationStatus",
    "lastSeen",
    "extension",
    "order",
];
const ADDRESS: &[&str] = &[
    "addressType",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "zip4",
];
const COMPANY: &[&str] = &[
    "name",
    "domain",
    "industry",
    "sic1",
    "sic2",
    "sic3",
    "companyCount",
    "linkedIn",
    "revenue",
    "employeeCount",
];
const SESSION: &[&str] = &[
    "site",
    "device",
    "referer",
    "utm.medium",
    "utm.campaign",
    "utm.term",
    "utm.content",
    "utm.source",
];
const VISIT: &[&str] = &["time", "pageUrl", "path", "host", "queryString"];

/// The name of the last column, holding what no other column covers.
pub const EXTRA: &str = "extra";

/// Every column name, in order (the header row).
pub fn columns() -> Vec<String> {
    let mut cols: Vec<String> = ["id", "firstName", "lastName", "email"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for i in 0..PHONES {
        cols.extend(PHONE.iter().map(|f| format!("phones.{i}.{f}")));
    }
    for i in 0..ADDRESSES {
        cols.extend(ADDRESS.iter().map(|f| format!("addresses.{i}.{f}")));
    }
    cols.extend(COMPANY.iter().map(|f| format!("company.{f}")));
    for s in 0..SESSIONS {
        cols.extend(SESSION.iter().map(|f| format!("sessions.{s}.{f}")));
        for v in 0..VISITS {
            cols.extend(VISIT.iter().map(|f| format!("sessions.{s}.visits.{v}.{f}")));
        }
    }
    cols.push(EXTRA.to_string());
    cols
}

/// Turns records into rows of the fixed column set, reusing its buffers from record to record.
#[derive(Debug)]
pub struct Flattener {
    header: Vec<String>,
    index: HashMap<String, usize>,
    row: Vec<String>,
    path: String,
    extra: serde_json::Map<String, Value>,
    raw: bool,
}

impl Default for Flattener {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a spreadsheet would read a cell starting this way as a formula.
fn formula_like(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

impl Flattener {
    /// A flattener for [`columns`] that neutralises formula-like strings (see the module docs).
    pub fn new() -> Self {
        Self::with_raw(false)
    }

    /// With `raw`, strings are written exactly as they are, formulas included.
    pub fn with_raw(raw: bool) -> Self {
        let header = columns();
        let index = header
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_str() != EXTRA)
            .map(|(i, c)| (c.clone(), i))
            .collect();
        let row = vec![String::new(); header.len()];
        Self {
            header,
            index,
            row,
            path: String::new(),
            extra: serde_json::Map::new(),
            raw,
        }
    }

    /// The header row.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// One record's row (valid until the next call). A record that is not a JSON object goes
    /// whole into `extra` under the key `""`.
    pub fn row(&mut self, record: &str) -> Result<&[String], serde_json::Error> {
        let value: Value = serde_json::from_str(record)?;
        for cell in &mut self.row {
            cell.clear();
        }
        self.extra.clear();
        self.path.clear();
        match value {
            Value::Object(_) => self.walk(value),
            other => {
                self.extra.insert(String::new(), other);
            }
        }
        if !self.extra.is_empty() {
            let extra = std::mem::take(&mut self.extra);
            let text = Value::Object(extra).to_string();
            if let Some(last) = self.row.last_mut() {
                last.push_str(&text);
            }
        }
        Ok(&self.row)
    }

    fn walk(&mut self, value: Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let len = self.path.len();
                    if len > 0 {
                        self.path.push('.');
                    }
                    self.path.push_str(&k);
                    self.walk(v);
                    self.path.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.into_iter().enumerate() {
                    let len = self.path.len();
                    if len > 0 {
                        self.path.push('.');
                    }
                    let _ = write!(self.path, "{i}");
                    self.walk(v);
                    self.path.truncate(len);
                }
            }
            Value::Null => {}
            leaf => match self.index.get(self.path.as_str()) {
                Some(&i) => {
                    let cell = &mut self.row[i];
                    match leaf {
                        Value::String(s) => {
                            if !self.raw && formula_like(&s) {
                                cell.push('\'');
                            }
                            cell.push_str(&s);
                        }
                        other => {
                            let _ = write!(cell, "{other}");
                        }
                    }
                }
                None => {
                    self.extra.insert(self.path.clone(), leaf);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 17 #12): visitor-written cells are never formulas by default.
    #[test]
    fn formula_like_strings_get_a_leading_quote_unless_raw() {
        let record = r#"{"id":"1","sessions":[{"referer":"=HYPERLINK(\"http://x\")","utm":{"source":"+1","medium":"-2","campaign":"@SUM(A1)","term":"\tx","content":"plain"}}],"company":{"revenue":-5}}"#;
        let header = columns();
        let cell = |row: &[String], name: &str| {
            row[header.iter().position(|c| c == name).unwrap()].clone()
        };
        let mut safe = Flattener::new();
        let row = safe.row(record).unwrap().to_vec();
        assert_eq!(
            cell(&row, "sessions.0.referer"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(cell(&row, "sessions.0.utm.source"), "'+1");
        assert_eq!(cell(&row, "sessions.0.utm.medium"), "'-2");
        assert_eq!(cell(&row, "sessions.0.utm.campaign"), "'@SUM(A1)");
        assert_eq!(cell(&row, "sessions.0.utm.term"), "'\tx");
        assert_eq!(cell(&row, "sessions.0.utm.content"), "plain");
        assert_eq!(
            cell(&row, "company.revenue"),
            "-5",
            "numbers are not formulas"
        );
        let mut raw = Flattener::with_raw(true);
        let row = raw.row(record).unwrap().to_vec();
        assert_eq!(cell(&row, "sessions.0.referer"), "=HYPERLINK(\"http://x\")");
        assert_eq!(cell(&row, "sessions.0.utm.source"), "+1");
    }

    #[test]
    fn the_column_set_is_fixed_and_documented() {
        let cols = columns();
        assert_eq!(cols.len(), 93);
        assert_eq!(
            &cols[..5],
            ["id", "firstName", "lastName", "email", "phones.0.phoneType"]
        );
        assert!(cols.contains(&"phones.0.number".to_string()));
        assert!(cols.contains(&"sessions.1.visits.2.queryString".to_string()));
        assert!(cols.contains(&"sessions.0.utm.source".to_string()));
        assert_eq!(cols.last().map(String::as_str), Some(EXTRA));
        let unique: std::collections::HashSet<_> = cols.iter().collect();
        assert_eq!(unique.len(), cols.len());
    }

    #[test]
    fn nested_fields_flatten_and_the_rest_goes_to_extra() {
        let mut f = Flattener::new();
        let col = |name: &str| columns().iter().position(|c| c == name).unwrap();
        let record = r#"{"id":"a1","firstName":"Ann","email":null,
            "phones":[{"number":"5551234567","order":1},{},{},{"number":"overflow"}],
            "company":{"name":"Acme, \"Inc\"","companyCount":3,"employeeCount":"11-50"},
            "sessions":[{"utm":{"source":"news"},"visits":[{"time":"2026-01-01T00:00:00Z"}]}],
            "favorite":{"color":"blue"},"vip":true}"#;
        let row = f.row(record).unwrap().to_vec();
        assert_eq!(row[col("id")], "a1");
        assert_eq!(row[col("firstName")], "Ann");
        assert_eq!(row[col("email")], "");
        assert_eq!(row[col("phones.0.number")], "5551234567");
        assert_eq!(row[col("phones.0.order")], "1");
        assert_eq!(row[col("company.name")], "Acme, \"Inc\"");
        assert_eq!(row[col("company.companyCount")], "3");
        assert_eq!(row[col("sessions.0.utm.source")], "news");
        assert_eq!(row[col("sessions.0.visits.0.time")], "2026-01-01T00:00:00Z");
        let extra: Value = serde_json::from_str(&row[col(EXTRA)]).unwrap();
        assert_eq!(
            extra,
            serde_json::json!({"phones.3.number": "overflow", "favorite.color": "blue", "vip": true})
        );
        // Buffers are reused: a second, smaller record leaves nothing of the first behind.
        let row = f.row(r#"{"id":"b2"}"#).unwrap().to_vec();
        assert_eq!(row[col("id")], "b2");
        assert!(
            row.iter()
                .enumerate()
                .all(|(i, c)| i == col("id") || c.is_empty())
        );
    }

    #[test]
    fn odd_shapes_are_kept_not_dropped() {
        let mut f = Flattener::new();
        let row = f
            .row(r#"{"company":"just a string","phones":[{"number":{"e164":"+1"}}]}"#)
            .unwrap();
        let extra: Value = serde_json::from_str(row.last().unwrap()).unwrap();
        assert_eq!(
            extra,
            serde_json::json!({"company": "just a string", "phones.0.number.e164": "+1"})
        );
        let row = f.row("[1,2]").unwrap();
        assert_eq!(row.last().unwrap(), r#"{"":[1,2]}"#);
        assert!(f.row("{not json").is_err());
    }
}
