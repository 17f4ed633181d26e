//! Which window a run asks for: resume the unfinished run, or `since = previous start − lag`,
//! or the full 90 days (first run, or a previous start too old for Pearl Diver's limit).

use std::time::Duration;

use serde::Serialize;
use shoal_pearldiver::{AudienceWindow, MAX_DAYS};
use time::OffsetDateTime;

/// A run that was started and not finished (interrupted, or failed mid-way).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OpenRun {
    pub run_id: i64,
    pub window: AudienceWindow,
    pub started_at: OffsetDateTime,
    pub cursor: Option<String>,
    pub pages: u64,
}

/// What the destination (or a Singer state) knows about one audience.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct AudienceState {
    /// The newest unfinished run.
    pub open: Option<OpenRun>,
    /// When the newest finished run started.
    pub last_done_start: Option<OffsetDateTime>,
}

/// Margin kept from Pearl Diver's 90-day limit, so that a `since` checked now is still inside
/// it when the request (or a later page of it) arrives.
pub const LIMIT_MARGIN: Duration = Duration::from_secs(3_600);

/// How a run's window was chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WindowMode {
    /// The full 90 days.
    Full {
        /// Why.
        reason: FullReason,
    },
    /// Records seen since the previous run's start, less the lag.
    Incremental {
        /// When the previous finished run started.
        #[serde(with = "time::serde::rfc3339")]
        previous_start: OffsetDateTime,
    },
    /// Continuing an interrupted run from its committed cursor.
    Resumed {
        /// Pages the run had committed before.
        pages_before: u64,
    },
}

/// Why a run takes the full window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FullReason {
    /// No finished run yet.
    FirstRun,
    /// `previous start − lag` is past Pearl Diver's 90-day limit.
    BeyondLimit {
        /// The `since` that would have been asked for.
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
}

impl FullReason {
    /// A sentence for people.
    pub fn describe(&self) -> String {
        match self {
            Self::FirstRun => "first run: the full 90-day window".into(),
            Self::BeyondLimit { since } => format!(
                "the previous run is too old for an incremental run (since {} is past Pearl \
                 Diver's {MAX_DAYS}-day limit): taking the full 90-day window",
                crate::timefmt::ts(*since)
            ),
        }
    }
}

/// What a run will do.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Planned {
    /// Continue this run.
    Resume(OpenRun),
    /// Start a new run with this window.
    New {
        window: AudienceWindow,
        mode: WindowMode,
        /// An unfinished run whose window is no longer valid, to mark abandoned.
        abandon: Option<i64>,
    },
}

/// The plan for one audience at `now`.
pub(crate) fn plan(state: &AudienceState, now: OffsetDateTime, lag: Duration) -> Planned {
    let earliest = now - Duration::from_secs(u64::from(MAX_DAYS) * 86_400) + LIMIT_MARGIN;
    let mut abandon = None;
    if let Some(open) = &state.open {
        let valid = match open.window {
            AudienceWindow::Since(since) => since >= earliest,
            _ => true,
        };
        if valid {
            return Planned::Resume(open.clone());
        }
        abandon = Some(open.run_id);
    }
    let (window, mode) = match state.last_done_start {
        None => (
            AudienceWindow::LastDays(MAX_DAYS),
            WindowMode::Full {
                reason: FullReason::FirstRun,
            },
        ),
        Some(previous_start) => {
            let since = previous_start - lag;
            if since < earliest {
                (
                    AudienceWindow::LastDays(MAX_DAYS),
                    WindowMode::Full {
                        reason: FullReason::BeyondLimit { since },
                    },
                )
            } else {
                (
                    AudienceWindow::Since(since),
                    WindowMode::Incremental { previous_start },
                )
            }
        }
    };
    Planned::New {
        window,
        mode,
        abandon,
    }
}

/// A sentence for people on how a window was chosen.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn describe(mode: &WindowMode, window: &AudienceWindow) -> String {
    match mode {
        WindowMode::Full { reason } => reason.describe(),
        WindowMode::Incremental { previous_start } => match window {
            AudienceWindow::Since(since) => format!(
                "incremental: since {} (the previous run's start {} less the lag)",
                crate::timefmt::ts(*since),
                crate::timefmt::ts(*previous_start)
            ),
            other => format!("incremental: {other}"),
        },
        WindowMode::Resumed { pages_before } => {
            format!("resuming an interrupted run after its {pages_before} committed page(s)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
    const HOUR: Duration = Duration::from_secs(3600);

    fn done_at(start: OffsetDateTime) -> AudienceState {
        AudienceState {
            open: None,
            last_done_start: Some(start),
        }
    }

    #[test]
    fn the_first_run_takes_the_full_window() {
        let p = plan(&AudienceState::default(), NOW, HOUR);
        assert_eq!(
            p,
            Planned::New {
                window: AudienceWindow::LastDays(90),
                mode: WindowMode::Full {
                    reason: FullReason::FirstRun
                },
                abandon: None
            }
        );
    }

    #[test]
    fn later_runs_ask_since_the_previous_start_less_the_lag() {
        let prev = datetime!(2025-12-31 12:00:00 UTC);
        let Planned::New { window, mode, .. } = plan(&done_at(prev), NOW, HOUR) else {
            panic!("expected a new run")
        };
        assert_eq!(
            window,
            AudienceWindow::Since(datetime!(2025-12-31 11:00:00 UTC))
        );
        assert_eq!(
            mode,
            WindowMode::Incremental {
                previous_start: prev
            }
        );
    }

    #[test]
    fn a_since_past_the_limit_takes_the_full_window_and_says_so() {
        let prev = datetime!(2025-10-03 00:30:00 UTC); // 90 days minus 30 min ago
        let Planned::New { window, mode, .. } = plan(&done_at(prev), NOW, HOUR) else {
            panic!("expected a new run")
        };
        assert_eq!(window, AudienceWindow::LastDays(90));
        let WindowMode::Full { reason } = mode else {
            panic!("expected a full window")
        };
        assert!(reason.describe().contains("90-day limit"), "{reason:?}");
    }

    #[test]
    fn an_unfinished_run_resumes_unless_its_window_expired() {
        let open = OpenRun {
            run_id: 7,
            window: AudienceWindow::Since(datetime!(2025-12-01 00:00:00 UTC)),
            started_at: datetime!(2025-12-01 01:00:00 UTC),
            cursor: Some("c".into()),
            pages: 3,
        };
        let state = AudienceState {
            open: Some(open.clone()),
            last_done_start: Some(datetime!(2025-12-01 00:00:00 UTC)),
        };
        assert_eq!(plan(&state, NOW, HOUR), Planned::Resume(open));
        let later = datetime!(2026-03-15 00:00:00 UTC);
        let Planned::New { abandon, .. } = plan(&state, later, HOUR) else {
            panic!("an expired window must not resume")
        };
        assert_eq!(abandon, Some(7));
    }
}
