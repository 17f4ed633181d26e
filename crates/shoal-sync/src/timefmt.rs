//! Timestamps as Shoal stores them: RFC 3339 in UTC with microseconds, so text order is time
//! order.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn ts(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let micros = utc.microsecond();
    let base = utc.replace_nanosecond(0).unwrap_or(utc);
    let text = base.format(&Rfc3339).unwrap_or_default();
    match text.strip_suffix('Z') {
        Some(head) => format!("{head}.{micros:06}Z"),
        None => text,
    }
}

/// A stored timestamp back.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn parse_ts(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_sort_as_text_and_round_trip() {
        let a = datetime!(2026-01-01 00:00:00.5 UTC);
        let b = datetime!(2026-01-01 00:00:01 +01:00);
        assert_eq!(ts(a), "2026-01-01T00:00:00.500000Z");
        assert_eq!(ts(b), "2025-12-31T23:00:01.000000Z");
        assert!(ts(b) < ts(a));
        assert_eq!(parse_ts(&ts(a)), Some(a));
    }
}
