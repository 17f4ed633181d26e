//! Audience records, written straight into a JSON buffer from `(seed, audience, index)`.
//!
//! Nothing is stored: a page is `offset..offset+len` of a pure function, so a million-record
//! audience costs one page of memory. Optional parts vary by index so clients meet missing fields.

use std::fmt::Write as _;

use super::AudienceSpec;
use crate::synth::{Synth, write_rfc3339};

/// Seconds in the 90-day window an audience spans.
pub const WINDOW_SECS: i64 = 90 * 86_400;

const SITES: &[(&str, &str)] = &[
    ("www.example.test", "/pricing"),
    ("shop.example.test", "/cart"),
    ("www.example.test", "/blog/launch"),
];
const SOURCES: &[(&str, &str, &str)] = &[
    ("newsletter", "email", "spring"),
    ("search", "cpc", "brand"),
    ("partner", "referral", "launch"),
];

/// When record `index` of an audience of `size` was last seen, given the window's end `asof`.
pub fn seen_at(size: u64, index: u64, asof: i64) -> i64 {
    let spacing = WINDOW_SECS as f64 / size.max(1) as f64;
    asof - ((index as f64 + 0.5) * spacing) as i64
}

/// Appends record `index` of audience `key` as one JSON object.
pub fn write_record(out: &mut String, synth: &Synth, key: u64, index: u64, seen: i64) {
    let p = synth.person(index);
    let w = synth.word(key, index);
    let _ = write!(
        out,
        r#"{{"id":"pd-{key}-{index:09}","firstName":"{}","lastName":"{}","email":"{}","phones":["#,
        p.first_name, p.last_name, p.email
    );
    if w % 5 != 0 {
        let _ = write!(
            out,
            r#"{{"phoneType":"mobile","number":"{}","validationStatus":"valid","lastSeen":""#,
            p.phone
        );
        write_rfc3339(out, seen);
        out.push_str(r#"","order":1}"#);
        if w % 4 == 1 {
            let _ = write!(
                out,
                r#",{{"phoneType":"office","number":"{}","extension":"{}","order":2}}"#,
                p.phone,
                w % 900 + 100
            );
        }
    }
    let _ = write!(
        out,
        r#"],"addresses":[{{"addressType":"home","address1":"{}","city":"{}","state":"{}","zip":"{}""#,
        p.street, p.city, p.state, p.zip
    );
    if w % 11 == 2 {
        let _ = write!(
            out,
            r#","address2":"Unit {}","zip4":"{:04}""#,
            w % 90 + 1,
            w % 10_000
        );
    }
    out.push_str("}]");
    if w % 7 != 3 {
        let _ = write!(
            out,
            r#","company":{{"name":"{}","domain":"{}","industry":"{}","sic1":"{}","companyCount":{},"employeeCount":"{}","revenue":"$1M-$10M"}}"#,
            p.company,
            p.company_domain,
            p.industry,
            p.sic,
            1 + w % 3,
            ["1-10", "11-50", "51-200", "201-1000"][(w % 4) as usize]
        );
    }
    let (host, path) = SITES[(w >> 8) as usize % SITES.len()];
    let (source, medium, campaign) = SOURCES[(w >> 12) as usize % SOURCES.len()];
    let _ = write!(
        out,
        r#","sessions":[{{"site":"{host}","device":"{}","referer":"https://search.example.test/","utm":{{"source":"{source}","medium":"{medium}","campaign":"{campaign}"}},"visits":["#,
        if w % 2 == 0 { "desktop" } else { "mobile" }
    );
    let visits = 1 + (w >> 16) % 2;
    for v in 0..visits {
        if v > 0 {
            out.push(',');
        }
        out.push_str(r#"{"time":""#);
        write_rfc3339(out, seen - (v as i64) * 600);
        let _ = write!(
            out,
            r#"","pageUrl":"https://{host}{path}","path":"{path}","host":"{host}""#
        );
        if v == 0 && w % 3 == 0 {
            let _ = write!(out, r#","queryString":"utm_source={source}""#);
        }
        out.push('}');
    }
    out.push_str("]}]}");
}

/// Appends one audience page: `len` records from `offset`, window ending at `asof`, and the next
/// page's token (omitted on the last page).
pub fn write_page(
    out: &mut String,
    seed: u64,
    audience: &AudienceSpec,
    offset: u64,
    len: u64,
    asof: i64,
    next_token: Option<&str>,
) {
    let records = (offset..offset + len).map(|i| (i, seen_at(audience.size, i, asof)));
    write_page_of(out, seed, audience, records, next_token);
}

/// Appends one audience page holding the records `(index, seen)` given, in order.
pub(crate) fn write_page_of(
    out: &mut String,
    seed: u64,
    audience: &AudienceSpec,
    records: impl Iterator<Item = (u64, i64)>,
    next_token: Option<&str>,
) {
    let synth = Synth::new(seed ^ audience.key);
    let name = serde_json::to_string(&audience.name).unwrap_or_else(|_| "\"\"".into());
    let _ = write!(out, r#"{{"key":{},"name":{name},"records":["#, audience.key);
    for (n, (i, seen)) in records.enumerate() {
        if n > 0 {
            out.push(',');
        }
        write_record(out, &synth, audience.key, i, seen);
    }
    out.push(']');
    if let Some(t) = next_token {
        let _ = write!(out, r#","pageToken":"{t}""#);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_valid_json_and_deterministic() {
        let a = AudienceSpec::new(17, "Boston \"quoted\"", 50);
        let mut s = String::new();
        write_page(&mut s, 1, &a, 0, 50, 1_767_225_600, Some("tok"));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["records"].as_array().unwrap().len(), 50);
        assert_eq!(v["pageToken"], "tok");
        let mut again = String::new();
        write_page(&mut again, 1, &a, 0, 50, 1_767_225_600, Some("tok"));
        assert_eq!(s, again);
        assert!(
            v["records"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r.get("company").is_none())
        );
    }
}
