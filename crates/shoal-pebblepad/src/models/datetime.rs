//! PebblePad date-times (`Expiry`): ISO 8601 written as RFC 3339 (`2014-09-28T08:00:00Z`), read
//! leniently (fractional seconds, a missing offset taken as UTC, `null` or `""` as none).

use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Parses an ISO 8601 date-time; one without an offset is taken as UTC.
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .ok()
        .or_else(|| {
            PrimitiveDateTime::parse(text, &Iso8601::DEFAULT)
                .ok()
                .map(|p| p.assume_offset(UtcOffset::UTC))
        })
}

/// Formats as RFC 3339 in UTC (`2014-09-28T08:00:00Z`).
pub fn format(value: &OffsetDateTime) -> String {
    value
        .to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// `#[serde(with = "datetime::option")]` for `Option<OffsetDateTime>` fields.
pub mod option {
    use super::*;

    /// Writes RFC 3339 in UTC, or `null`.
    pub fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&format(v)),
            None => s.serialize_none(),
        }
    }

    /// Reads ISO 8601 leniently; `null` and `""` are none, anything unparsable is an error that
    /// names the value.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse(&s).map(Some).ok_or_else(|| {
                serde::de::Error::custom(format!("`{s}` is not an ISO 8601 date-time"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn documented_and_lenient_forms() {
        let want = datetime!(2014-09-28 08:00:00 UTC);
        assert_eq!(parse("2014-09-28T08:00:00Z"), Some(want));
        assert_eq!(parse("2014-09-28T08:00:00"), Some(want));
        assert_eq!(parse("2014-09-28T09:00:00+01:00"), Some(want));
        assert_eq!(parse("2014-09-28T08:00:00.000Z"), Some(want));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(format(&want), "2014-09-28T08:00:00Z");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(secs in 0i64..4_000_000_000) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            prop_assert_eq!(parse(&format(&t)), Some(t));
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = parse(&s);
        }
    }
}
