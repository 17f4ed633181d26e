//! [`LenientDateTime`]: a date-time read leniently and written back exactly as it was sent.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::FormatItem;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Date-times without an offset: `T` or space separator, optional fractions.
const LOCAL_FORMATS: &[&[FormatItem<'static>]] = &[
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"),
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"),
    format_description!("[year]-[month]-[day]T[hour]:[minute]"),
];

/// A date-time as Pearl Diver sent it, parsed as far as possible.
///
/// The vendor does not document its date-time format, so parsing is lenient: RFC 3339 and
/// ISO 8601 with an offset (with or without fractions) become [`Offset`](Self::Offset); the same
/// without an offset becomes [`Local`](Self::Local); anything else is kept as
/// [`Unparsed`](Self::Unparsed) (or [`NotText`](Self::NotText) for a number or other non-string)
/// instead of failing the whole page. Every variant keeps what was sent, and serializing writes
/// it back unchanged, so a decode/encode round trip loses nothing.
///
/// ```
/// use shoal_pearldiver::LenientDateTime;
/// let t: LenientDateTime = serde_json::from_str(r#""2025-03-01T09:30:00.25+02:00""#)?;
/// assert_eq!(t.to_utc().map(|t| t.hour()), Some(7));
/// let odd: LenientDateTime = serde_json::from_str(r#""last Tuesday""#)?;
/// assert_eq!(odd.as_str(), Some("last Tuesday"));
/// assert_eq!(serde_json::to_string(&odd)?, r#""last Tuesday""#);
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum LenientDateTime {
    /// A date-time with an offset (`Z`, `+02:00`, `+0200`).
    Offset {
        /// The instant.
        at: OffsetDateTime,
        /// The text as sent.
        text: String,
    },
    /// A date-time without an offset: a wall-clock time in a zone the vendor did not state.
    Local {
        /// The wall-clock time.
        at: PrimitiveDateTime,
        /// The text as sent.
        text: String,
    },
    /// Text that is not a recognised date-time, kept as sent.
    Unparsed(String),
    /// A value that is not text at all (a number, say), kept as sent.
    NotText(serde_json::Value),
}

impl LenientDateTime {
    /// Parses text leniently; never fails (unrecognised text becomes [`Unparsed`](Self::Unparsed)).
    pub fn parse(text: &str) -> Self {
        let trimmed = text.trim();
        if let Ok(at) = OffsetDateTime::parse(trimmed, &Rfc3339) {
            return Self::Offset {
                at,
                text: text.to_owned(),
            };
        }
        if let Ok(at) = OffsetDateTime::parse(trimmed, &Iso8601::PARSING) {
            return Self::Offset {
                at,
                text: text.to_owned(),
            };
        }
        for format in LOCAL_FORMATS {
            if let Ok(at) = PrimitiveDateTime::parse(trimmed, format) {
                return Self::Local {
                    at,
                    text: text.to_owned(),
                };
            }
        }
        Self::Unparsed(text.to_owned())
    }

    /// The text as sent (`None` for a [`NotText`](Self::NotText) value).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Offset { text, .. } | Self::Local { text, .. } | Self::Unparsed(text) => {
                Some(text)
            }
            Self::NotText(_) => None,
        }
    }

    /// The instant, when the text carried an offset.
    pub fn offset_date_time(&self) -> Option<OffsetDateTime> {
        match self {
            Self::Offset { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// The instant in UTC, reading a time without an offset as UTC; `None` when unparsed.
    pub fn to_utc(&self) -> Option<OffsetDateTime> {
        match self {
            Self::Offset { at, .. } => Some(at.to_offset(UtcOffset::UTC)),
            Self::Local { at, .. } => Some(at.assume_utc()),
            Self::Unparsed(_) | Self::NotText(_) => None,
        }
    }

    /// Whether the text was recognised as a date-time.
    pub fn is_parsed(&self) -> bool {
        matches!(self, Self::Offset { .. } | Self::Local { .. })
    }
}

impl From<OffsetDateTime> for LenientDateTime {
    /// An instant, written as RFC 3339.
    fn from(at: OffsetDateTime) -> Self {
        match at.format(&Rfc3339) {
            Ok(text) => Self::Offset { at, text },
            // Years outside 0..=9999 have no RFC 3339 form; ISO 8601 has one.
            Err(_) => Self::Offset {
                at,
                text: at.format(&Iso8601::DEFAULT).unwrap_or_default(),
            },
        }
    }
}

impl fmt::Debug for LenientDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Offset { at, text } => {
                write!(f, "Offset({text:?} = {})", at.to_offset(UtcOffset::UTC))
            }
            Self::Local { at, text } => write!(f, "Local({text:?} = {at})"),
            Self::Unparsed(text) => write!(f, "Unparsed({text:?})"),
            Self::NotText(value) => write!(f, "NotText({value})"),
        }
    }
}

impl fmt::Display for LenientDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotText(value) => write!(f, "{value}"),
            other => f.write_str(other.as_str().unwrap_or_default()),
        }
    }
}

impl Serialize for LenientDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::NotText(value) => value.serialize(serializer),
            other => serializer.serialize_str(other.as_str().unwrap_or_default()),
        }
    }
}

impl<'de> Deserialize<'de> for LenientDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor;
        impl<'de> Visitor<'de> for LenientVisitor {
            type Value = LenientDateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LenientDateTime::parse(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(LenientDateTime::NotText(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(LenientDateTime::NotText(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(LenientDateTime::NotText(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(LenientDateTime::NotText(v.into()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                let value =
                    serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(LenientDateTime::NotText(value))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let value =
                    serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(LenientDateTime::NotText(value))
            }
        }
        deserializer.deserialize_any(LenientVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn offsets_and_fractions_are_all_read() {
        for (text, want) in [
            ("2025-03-01T09:30:00Z", datetime!(2025-03-01 09:30:00 UTC)),
            (
                "2025-03-01T09:30:00.123456Z",
                datetime!(2025-03-01 09:30:00.123456 UTC),
            ),
            (
                "2025-03-01T11:30:00+02:00",
                datetime!(2025-03-01 09:30:00 UTC),
            ),
            ("2025-03-01t09:30:00z", datetime!(2025-03-01 09:30:00 UTC)),
            (
                "2025-03-01T04:30:00.5-05:00",
                datetime!(2025-03-01 09:30:00.5 UTC),
            ),
            (
                "2025-03-01T11:30:00+0200",
                datetime!(2025-03-01 09:30:00 UTC),
            ),
        ] {
            let t = LenientDateTime::parse(text);
            assert_eq!(t.offset_date_time(), Some(want), "{text}");
            assert_eq!(t.as_str(), Some(text));
        }
    }

    #[test]
    fn times_without_offset_are_local() {
        for (text, want) in [
            ("2025-03-01T09:30:00", datetime!(2025-03-01 09:30:00)),
            ("2025-03-01T09:30:00.75", datetime!(2025-03-01 09:30:00.75)),
            ("2025-03-01 09:30:00", datetime!(2025-03-01 09:30:00)),
            ("2025-03-01T09:30", datetime!(2025-03-01 09:30:00)),
        ] {
            let t = LenientDateTime::parse(text);
            assert_eq!(
                t,
                LenientDateTime::Local {
                    at: want,
                    text: text.into()
                },
                "{text}"
            );
            assert_eq!(t.to_utc(), Some(want.assume_utc()));
            assert_eq!(t.offset_date_time(), None);
        }
    }

    #[test]
    fn unparseable_text_is_kept_and_written_back() {
        for text in ["", "yesterday", "2025-13-45T99:00:00Z", "1700000000"] {
            let t: LenientDateTime = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(t, LenientDateTime::Unparsed(text.into()));
            assert!(!t.is_parsed());
            assert_eq!(serde_json::to_value(&t).unwrap(), serde_json::json!(text));
        }
    }

    #[test]
    fn serializing_writes_the_original_text() {
        let text = "2025-03-01T09:30:00.100+00:00";
        let t: LenientDateTime = serde_json::from_str(&format!("\"{text}\"")).unwrap();
        assert!(t.is_parsed());
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{text}\""));
    }

    #[test]
    fn from_an_instant_writes_rfc3339() {
        let t = LenientDateTime::from(datetime!(2025-03-01 09:30:00 UTC));
        assert_eq!(t.as_str(), Some("2025-03-01T09:30:00Z"));
        assert_eq!(
            format!("{t:?}"),
            "Offset(\"2025-03-01T09:30:00Z\" = 2025-03-01 9:30:00.0 +00:00:00)"
        );
    }

    #[test]
    fn a_number_or_object_is_kept_as_sent() {
        for json in [
            "1700000000",
            "-3",
            "1.5",
            "true",
            r#"{"epoch":17}"#,
            "[1,2]",
        ] {
            let t: LenientDateTime = serde_json::from_str(json).unwrap();
            assert!(matches!(t, LenientDateTime::NotText(_)), "{json}");
            assert_eq!(t.as_str(), None);
            assert_eq!(serde_json::to_string(&t).unwrap(), json);
        }
    }
}
