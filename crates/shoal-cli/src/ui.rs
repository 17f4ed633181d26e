//! How a command talks to the person running it: human text or one JSON object, and progress
//! bars only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Output settings for one run.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    /// Print one JSON object on stdout instead of human text.
    pub json: bool,
    /// Draw progress bars (stderr is a terminal and output is not JSON).
    pub progress: bool,
}

impl Ui {
    /// Settings from the global flags and the terminal.
    pub fn new(json: bool) -> Self {
        Self { json, progress: !json && std::io::stderr().is_terminal() }
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
