//! Scenario 6: limiter memory — the bytes a rate limiter holds after 1,000,000 calls at a limit
//! of 100 per minute and at 10,000,000 per minute (its own binary, `bench-limiter-memory`,
//! counts allocations with an instrumented global allocator). The two must be equal: memory
//! must not grow with a limit a server announces.

use std::process::Command;

use super::measure::{median, spread};
use super::report::{Goal, Row};
use super::{BenchResult, Plan, target_dir};

/// Runs the scenario.
pub async fn run(plan: Plan) -> BenchResult<Vec<Row>> {
    let exe = target_dir().join("release").join("bench-limiter-memory");
    let (mut low, mut high) = (Vec::new(), Vec::new());
    for run in 0..plan.runs.max(5) {
        let mut cmd = Command::new(&exe);
        if run % 2 == 1 {
            cmd.arg("reverse");
        }
        let out = cmd
            .output()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("bench-limiter-memory: {e}"))?;
        let field = |name: &str| v[name].as_f64().ok_or(format!("no {name} in {v}"));
        low.push(field("held_100")?);
        high.push(field("held_10m")?);
    }
    Ok(vec![Row::new(
        "limiter memory: 10,000,000/min vs 100/min",
        "bytes",
        median(high.clone()),
        median(low),
        Goal::Equal,
        spread(&high),
    )])
}
