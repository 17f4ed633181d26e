//! [`AudienceWindow`]: the period an audience's data covers — last N days or since an instant,
//! never both, checked before anything is sent.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use shoal_core::{Error, Result};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The longest period Pearl Diver serves, in days (`range` 1..=90, `since` at most 90 days ago).
pub const MAX_DAYS: u32 = 90;

/// Which records of an audience to fetch: the vendor's `range` **or** `since` query parameter.
///
/// One type for the two forms makes the forbidden combination unrepresentable. The limits
/// (`LastDays` in 1..=90, `Since` no older than 90 days by the client's clock) are checked
/// before any request is sent, and a violation is an [`Error::InvalidInput`] naming the limit.
///
/// Serializable, so an export can save the window beside its cursor and resume with both.
///
/// ```
/// use shoal_pearldiver::AudienceWindow;
/// let window = AudienceWindow::last_days(30)?;
/// assert_eq!(window, AudienceWindow::LastDays(30));
/// let err = AudienceWindow::last_days(91).unwrap_err();
/// assert!(err.to_string().contains("1..=90"));
/// # Ok::<_, shoal_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum AudienceWindow {
    /// The last N days (sent as `range=N`); N must be in 1..=90.
    LastDays(u32),
    /// From this instant on (sent as `since=<RFC 3339, UTC>`); at most 90 days ago.
    Since(#[serde(with = "time::serde::rfc3339")] OffsetDateTime),
}

impl Default for AudienceWindow {
    /// The vendor's default: the last 90 days.
    fn default() -> Self {
        Self::LastDays(MAX_DAYS)
    }
}

impl AudienceWindow {
    /// The last `days` days, checked now (1..=90).
    pub fn last_days(days: u32) -> Result<Self> {
        let window = Self::LastDays(days);
        window.check_days()?;
        Ok(window)
    }

    /// The first instant the window covers, for a listing begun at `begun`.
    pub fn start(&self, begun: OffsetDateTime) -> OffsetDateTime {
        match self {
            Self::LastDays(days) => begun - time::Duration::days(i64::from(*days)),
            Self::Since(since) => *since,
        }
    }

    /// From `instant` on. Its age is checked against the client's clock when a request is made.
    pub fn since(instant: OffsetDateTime) -> Self {
        Self::Since(instant)
    }

    fn check_days(&self) -> Result<()> {
        match self {
            Self::LastDays(days) if !(1..=MAX_DAYS).contains(days) => Err(Error::invalid(
                "range",
                format!("the window must be 1..={MAX_DAYS} days; got {days}"),
            )),
            _ => Ok(()),
        }
    }

    /// Checks the window's limits at wall-clock time `now`.
    pub fn validate(&self, now: SystemTime) -> Result<()> {
        self.check_days()?;
        if let Self::Since(since) = self {
            let now = OffsetDateTime::from(now);
            let earliest = now - Duration::from_secs(u64::from(MAX_DAYS) * 86_400);
            if *since < earliest {
                return Err(Error::invalid(
                    "since",
                    format!(
                        "`since` may be at most {MAX_DAYS} days ago (no earlier than {}); got {}",
                        rfc3339(earliest),
                        rfc3339(*since)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The query parameters for this window (`range` or `since`), as sent.
    pub(crate) fn query(&self) -> (Option<u32>, Option<String>) {
        match self {
            Self::LastDays(days) => (Some(*days), None),
            Self::Since(since) => (None, Some(rfc3339(*since))),
        }
    }
}

impl std::fmt::Display for AudienceWindow {
    /// `last 30 days`, `since 2026-11-01T00:00:00Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LastDays(days) => write!(f, "last {days} days"),
            Self::Since(at) => write!(f, "since {}", rfc3339(*at)),
        }
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(&Rfc3339).unwrap_or_else(|_| utc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn now() -> SystemTime {
        SystemTime::from(datetime!(2026-01-01 00:00:00 UTC))
    }

    #[test]
    fn day_counts_outside_1_to_90_are_refused_naming_the_limit() {
        for days in [0, 91, 365] {
            let err = AudienceWindow::last_days(days).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { field, .. } if field == "range"),
                "{err}"
            );
            assert!(err.to_string().contains("1..=90"), "{err}");
            assert!(AudienceWindow::LastDays(days).validate(now()).is_err());
        }
        for days in [1, 45, 90] {
            assert_eq!(
                AudienceWindow::last_days(days).unwrap().query(),
                (Some(days), None)
            );
        }
    }

    #[test]
    fn since_is_limited_to_90_days_by_the_given_clock() {
        let ok = AudienceWindow::since(datetime!(2025-10-03 00:00:00 UTC));
        assert!(ok.validate(now()).is_ok());
        let too_old = AudienceWindow::since(datetime!(2025-10-02 23:59:59 UTC));
        let err = too_old.validate(now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid since: `since` may be at most 90 days ago (no earlier than 2025-10-03T00:00:00Z); \
             got 2025-10-02T23:59:59Z"
        );
    }

    #[test]
    fn since_is_sent_in_utc() {
        let w = AudienceWindow::since(datetime!(2025-12-01 09:30:00 +02:00));
        assert_eq!(w.query(), (None, Some("2025-12-01T07:30:00Z".into())));
    }

    #[test]
    fn windows_display_as_a_person_reads_them() {
        assert_eq!(AudienceWindow::LastDays(30).to_string(), "last 30 days");
        let at = time::macros::datetime!(2026-11-01 01:00 +01:00);
        assert_eq!(
            AudienceWindow::since(at).to_string(),
            "since 2026-11-01T00:00:00Z"
        );
    }

    #[test]
    fn windows_round_trip_through_json() {
        for w in [
            AudienceWindow::LastDays(7),
            AudienceWindow::Since(datetime!(2025-12-01 07:30:00 UTC)),
        ] {
            let json = serde_json::to_string(&w).unwrap();
            assert_eq!(serde_json::from_str::<AudienceWindow>(&json).unwrap(), w);
        }
        assert_eq!(
            serde_json::to_string(&AudienceWindow::LastDays(7)).unwrap(),
            r#"{"lastDays":7}"#
        );
    }
}
