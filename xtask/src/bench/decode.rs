//! Scenario 5: decoding a 1000-record Pearl Diver page from bytes into the typed models, against
//! decoding into `serde_json::Value`: MB/s.

use std::time::{Duration, Instant};

use shoal_pearldiver::{Audience, Record};

use super::emulate::Emulator;
use super::measure::{median, spread};
use super::overhead::{refresh_only, shoal_side};
use super::report::{Goal, Row};
use super::{BenchResult, Plan};

fn throughput(
    page: &[u8],
    budget: Duration,
    decode: impl Fn(&[u8]) -> Result<(), String>,
) -> BenchResult<f64> {
    let start = Instant::now();
    let mut bytes = 0usize;
    while start.elapsed() < budget {
        decode(page)?;
        bytes += page.len();
    }
    Ok(bytes as f64 / 1e6 / start.elapsed().as_secs_f64())
}

/// Runs the scenario.
pub async fn run(plan: Plan) -> BenchResult<Vec<Row>> {
    let emu = Emulator::start(&["pearldiver", "--records", "1000"])?;
    let side = shoal_side(&emu, refresh_only(&emu), false)?;
    let page = side
        .pipeline
        .execute(shoal_core::Request::get("audiences/1"))
        .await
        .map_err(|e| e.to_string())?
        .body;
    drop(emu);
    let budget = if plan.quick {
        Duration::from_millis(400)
    } else {
        Duration::from_secs(1)
    };
    let typed = |b: &[u8]| {
        let page: Audience<Record> = serde_json::from_slice(b).map_err(|e| e.to_string())?;
        if page.records.len() != 1000 {
            return Err(format!("expected 1000 records, got {}", page.records.len()));
        }
        std::hint::black_box(page);
        Ok(())
    };
    let value = |b: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(b).map_err(|e| e.to_string())?;
        std::hint::black_box(v);
        Ok(())
    };
    let (mut s, mut b) = (Vec::new(), Vec::new());
    for run in 0..plan.runs {
        if run % 2 == 0 {
            s.push(throughput(&page, budget, typed)?);
            b.push(throughput(&page, budget, value)?);
        } else {
            b.push(throughput(&page, budget, value)?);
            s.push(throughput(&page, budget, typed)?);
        }
    }
    Ok(vec![Row::new(
        "decode 1000-record page",
        "MB/s",
        median(s.clone()),
        median(b),
        Goal::AtLeast(1.0),
        spread(&s),
    )])
}
