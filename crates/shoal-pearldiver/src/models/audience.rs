//! Audiences: the list ([`AudienceList`], [`AudienceSummary`]) and one page of an audience
//! ([`Audience`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_with::{DisplayFromStr, PickFirst, serde_as};

use super::record::Record;

/// The answer of `GET /audiences` (documented; the path is *assumed*, `shared/api/pearldiver.md`
/// "List audiences"). The client requires `audiences`; decoded on its own, a missing one is an
/// empty list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AudienceList {
    /// The audiences the user can read.
    #[serde(default)]
    pub audiences: Vec<AudienceSummary>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One audience in the list: its key and name.
#[serde_as]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AudienceSummary {
    /// The audience key, used to fetch its records (a numeric string is accepted too).
    #[serde_as(as = "PickFirst<(_, DisplayFromStr)>")]
    pub key: u64,
    /// The audience name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of an audience: its key and name, up to 1000 records, and the token of the next
/// page (absent on the last page). The shape is *assumed* (`shared/api/pearldiver.md` "Get
/// audience"); the client refuses a page without `records` rather than read it as empty.
///
/// Generic over the record type so an export can take each record's JSON untouched
/// (`Audience<Box<serde_json::value::RawValue>>`) instead of decoding it.
///
/// ```
/// use shoal_pearldiver::Audience;
/// let page: Audience = serde_json::from_str(
///     r#"{"key": 17, "name": "Boston", "records": [{"id": "a"}], "pageToken": "eyJ9"}"#,
/// )?;
/// assert_eq!(page.records[0].id.as_deref(), Some("a"));
/// assert_eq!(page.page_token.as_deref(), Some("eyJ9"));
/// # Ok::<_, serde_json::Error>(())
/// ```
#[serde_as]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Audience<R = Record> {
    /// The audience key (a numeric string is accepted too).
    #[serde_as(as = "Option<PickFirst<(_, DisplayFromStr)>>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<u64>,
    /// The audience name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// This page's records, in server order.
    #[serde(default = "Vec::new")]
    pub records: Vec<R>,
    /// The opaque token of the next page; `None` on the last page. Never parse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<R> Default for Audience<R> {
    fn default() -> Self {
        Self {
            key: None,
            name: None,
            records: Vec::new(),
            page_token: None,
            extra: Map::new(),
        }
    }
}

/// One record of a page exactly as the server sent it: a handle into the page's text, which
/// every record of the page shares. Writing records out (an export) then costs no decode, copy
/// or allocation per record, where a `Box<RawValue>` costs one of each.
///
/// ```
/// use shoal_pearldiver::RawRecord;
/// let record = RawRecord::from_text(r#"{"id":"a","x":[1,2]}"#);
/// assert_eq!(record.get(), r#"{"id":"a","x":[1,2]}"#);
/// ```
#[derive(Clone)]
pub struct RawRecord {
    /// A slice of the page's text (or a text of its own).
    text: bytestring::ByteString,
}

impl RawRecord {
    /// A record of its own (not sharing a page): `text` as it is.
    pub fn from_text(text: &str) -> Self {
        Self { text: text.into() }
    }

    /// The records of one page's `text`: each given as the part of `text` it is (a value that
    /// serde_json borrowed from it), sharing `text`'s buffer — the response body itself. A part
    /// that does not lie in `text` is copied instead.
    #[cfg(feature = "client")]
    pub(crate) fn shared<'a>(
        text: &'a bytestring::ByteString,
        parts: &[&'a serde_json::value::RawValue],
    ) -> Vec<Self> {
        let page = text.as_bytes().as_ptr_range();
        parts
            .iter()
            .map(|part| {
                let part = part.get();
                let within = part.as_bytes().as_ptr_range();
                // `slice_ref` would panic on a part outside the page.
                if !part.is_empty() && page.start <= within.start && within.end <= page.end {
                    Self {
                        text: text.slice_ref(part),
                    }
                } else {
                    Self::from_text(part)
                }
            })
            .collect()
    }

    /// The record's JSON text, exactly as received.
    pub fn get(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A record is personal data: its size only.
        write!(f, "RawRecord({} bytes)", self.text.len())
    }
}

impl PartialEq for RawRecord {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use serde_json::value::RawValue;

    #[test]
    fn the_list_decodes_and_keeps_unknown_fields() {
        let list: AudienceList = serde_json::from_value(json!({
            "audiences": [{"key": 17, "name": "Website visitors — Boston"}, {"key": "18", "owner": "x"}],
            "total": 2
        }))
        .unwrap();
        assert_eq!(list.audiences[0].key, 17);
        assert_eq!(list.audiences[1].key, 18);
        assert_eq!(list.audiences[1].extra["owner"], "x");
        assert_eq!(list.extra["total"], 2);
    }

    #[test]
    fn the_last_page_has_no_token_whether_absent_or_null() {
        for json in [
            r#"{"key":1,"records":[]}"#,
            r#"{"key":1,"records":[],"pageToken":null}"#,
        ] {
            let page: Audience = serde_json::from_str(json).unwrap();
            assert_eq!(page.page_token, None, "{json}");
        }
    }

    #[test]
    fn raw_records_pass_through_untouched() {
        let body = r#"{"key":17,"records":[{"id":"a", "x" : [1,2]},{"id":"b"}],"pageToken":"t2"}"#;
        let page: Audience<Box<RawValue>> = serde_json::from_str(body).unwrap();
        assert_eq!(page.records[0].get(), r#"{"id":"a", "x" : [1,2]}"#);
        assert_eq!(page.page_token.as_deref(), Some("t2"));
    }
}
