//! The results table on stdout and `target/bench/results.json`.

use std::path::PathBuf;

use serde::Serialize;

use super::Plan;

/// Which way a ratio must go to meet its target.
#[derive(Clone, Copy, Debug, Serialize)]
pub enum Goal {
    /// Ratio (Shoal / baseline) at least this.
    AtLeast(f64),
    /// Ratio at most this.
    AtMost(f64),
    /// The Shoal figure exactly this.
    Exactly(f64),
    /// The Shoal figure at most this (an absolute bound).
    ValueAtMost(f64),
    /// Shoal's figure equal to the baseline's (ratio exactly 1).
    Equal,
}

/// One line of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Scenario and metric.
    pub scenario: String,
    /// Unit of the two figures.
    pub unit: String,
    /// Shoal's median.
    pub shoal: f64,
    /// The baseline's median (NaN where there is none).
    pub baseline: f64,
    /// Shoal / baseline.
    pub ratio: f64,
    /// The target.
    pub target: Goal,
    /// Whether the target is met.
    pub met: bool,
    /// Spread of Shoal's runs, percent of the median.
    pub spread_pct: f64,
}

impl Row {
    /// A row comparing Shoal with a baseline.
    pub fn new(
        scenario: &str,
        unit: &str,
        shoal: f64,
        baseline: f64,
        target: Goal,
        spread_pct: f64,
    ) -> Self {
        let ratio = if baseline.is_finite() && baseline != 0.0 {
            shoal / baseline
        } else {
            f64::NAN
        };
        let met = match target {
            Goal::AtLeast(t) => ratio >= t,
            Goal::AtMost(t) => ratio <= t,
            Goal::Exactly(t) => (shoal - t).abs() < f64::EPSILON,
            Goal::ValueAtMost(t) => shoal <= t,
            Goal::Equal => shoal == baseline,
        };
        Self {
            scenario: scenario.into(),
            unit: unit.into(),
            shoal,
            baseline,
            ratio,
            target,
            met,
            spread_pct,
        }
    }
}

fn target_text(goal: Goal) -> String {
    match goal {
        Goal::AtLeast(t) => format!("≥ {t:.2}×"),
        Goal::AtMost(t) => format!("≤ {t:.2}×"),
        Goal::Exactly(t) => format!("= {t}"),
        Goal::ValueAtMost(t) => format!("≤ {t}"),
        Goal::Equal => "= 1×".into(),
    }
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Prints the table.
pub fn print(rows: &[Row], plan: Plan) {
    println!(
        "Shoal benchmarks ({}, {} runs per figure, medians)",
        if plan.quick { "quick" } else { "full" },
        plan.runs
    );
    println!(
        "{:<44} {:>12} {:>12} {:>8} {:>9} {:>5} {:>7}  unit",
        "scenario", "shoal", "baseline", "ratio", "target", "met", "spread"
    );
    for r in rows {
        println!(
            "{:<44} {:>12} {:>12} {:>8} {:>9} {:>5} {:>6.1}%  {}",
            r.scenario,
            num(r.shoal),
            num(r.baseline),
            num(r.ratio),
            target_text(r.target),
            if r.met { "yes" } else { "NO" },
            r.spread_pct,
            r.unit
        );
    }
}

/// Writes `target/bench/results.json`.
pub fn write_json(rows: &[Row], plan: Plan) -> std::io::Result<PathBuf> {
    let dir = super::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("results.json");
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let body = serde_json::json!({
        "quick": plan.quick,
        "runs": plan.runs,
        "machine": {"cpu": machine, "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)},
        "rows": rows,
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&body).unwrap_or_default())?;
    Ok(path)
}
