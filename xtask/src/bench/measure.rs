//! Measuring: wall time, this process's CPU time, a child's peak RSS, medians.

use std::process::Child;
use std::time::{Duration, Instant};

/// This process's CPU time: the sum over its threads of nanosecond `schedstat` run time
/// (`/proc/self/stat` only counts 10 ms ticks, too coarse for microsecond requests).
pub fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum();
    Duration::from_nanos(nanos)
}

/// Wall and CPU time of a piece of work.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Elapsed real time.
    pub wall: Duration,
    /// CPU time this process spent.
    pub cpu: Duration,
}

/// Runs `work` and measures it.
pub async fn sample<F: std::future::Future<Output = Result<(), String>>>(
    work: F,
) -> Result<Sample, String> {
    let cpu = cpu_time();
    let start = Instant::now();
    work.await?;
    Ok(Sample {
        wall: start.elapsed(),
        cpu: cpu_time().saturating_sub(cpu),
    })
}

/// Waits for a child while sampling its peak resident set (`VmHWM`, the kernel's own figure);
/// returns the elapsed time, the peak in KiB and whether it succeeded.
pub fn watch_child(mut child: Child) -> (Duration, u64, bool) {
    let start = Instant::now();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => return (start.elapsed(), peak, status.success()),
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return (start.elapsed(), peak, false),
        }
    }
}

/// The median of some values.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The spread (max − min) relative to the median, in percent.
pub fn spread(values: &[f64]) -> f64 {
    let m = median(values.to_vec());
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if m == 0.0 || values.is_empty() {
        0.0
    } else {
        (hi - lo) / m * 100.0
    }
}
