//! How a command talks to the person running it: human text or one JSON object, and progress
//! bars only when stderr is a terminal.

use std::io::IsTerminal;

use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Settings for one run: how to print, and how long one call may take.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    /// Print one JSON object on stdout instead of human text.
    pub json: bool,
    /// Draw progress bars (stderr is a terminal and output is not JSON).
    pub progress: bool,
    /// `--timeout`: the longest one call may take, in seconds.
    pub timeout: u64,
}

impl Ui {
    /// Settings from the global flags and the terminal.
    pub fn new(json: bool, timeout: u64) -> Self {
        Self {
            json,
            progress: !json && std::io::stderr().is_terminal(),
            timeout,
        }
    }

    /// A spinner-style counter on stderr, or a hidden bar when progress is off.
    pub fn counter(&self, template: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    }

    /// A bar with a known length on stderr, or a hidden bar when progress is off.
    pub fn bar(&self, len: u64, template: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar
    }

    /// Prints a command's result: the JSON value when `--json`, else the human text.
    pub fn print(&self, human: &str, json: &serde_json::Value) {
        if self.json {
            println!("{json}");
        } else if !human.is_empty() {
            println!("{human}");
        }
    }
}

/// `1d 4h`, `5m 2s`, `800ms`: the two largest units of a duration.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, hours, mins, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else if mins > 0 {
        format!("{mins}m {s}s")
    } else if secs > 0 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// An instant as RFC 3339 in UTC, to the second.
pub fn rfc3339(t: SystemTime) -> String {
    let at = OffsetDateTime::from(t);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// A JSON summary object as `key: value` lines for people.
pub fn summary_lines(value: &serde_json::Value) -> String {
    match value.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(Duration::from_secs(90_000)), "1d 1h");
        assert_eq!(human_duration(Duration::from_secs(3_700)), "1h 1m");
        assert_eq!(human_duration(Duration::from_secs(62)), "1m 2s");
        assert_eq!(human_duration(Duration::from_millis(2_500)), "2.5s");
        assert_eq!(human_duration(Duration::from_millis(20)), "20ms");
    }

    #[test]
    fn summaries_and_instants() {
        let v = serde_json::json!({"records": 3, "out": "a.ndjson"});
        assert_eq!(summary_lines(&v), "out: a.ndjson\nrecords: 3");
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_millis(1_500)),
            "1970-01-01T00:00:01Z"
        );
    }
}
