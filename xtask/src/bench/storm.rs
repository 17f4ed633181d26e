//! Scenario 3: refresh storm — 1,000 tasks start with an expired access token: token-endpoint
//! calls (target exactly 1) and time until all 1,000 requests completed, against the same with a
//! valid token.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use shoal_auth::TokenStore;
use shoal_core::{Clock, Request, SystemClock};

use super::emulate::Emulator;
use super::measure::{median, spread};
use super::overhead::{ShoalSide, refresh_only, shoal_side};
use super::report::{Goal, Row};
use super::{BenchResult, Plan};

const TASKS: usize = 1_000;

async fn storm(side: &ShoalSide) -> BenchResult<Duration> {
    let start = Instant::now();
    let tasks = (0..TASKS).map(|_| {
        let p = side.pipeline.clone();
        tokio::spawn(async move {
            p.execute(Request::get("audiences"))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    for r in try_join_all(tasks).await.map_err(|e| e.to_string())? {
        r?;
    }
    Ok(start.elapsed())
}

/// Runs the scenario.
pub async fn run(plan: Plan) -> BenchResult<Vec<Row>> {
    let emu = Emulator::start(&["pearldiver", "--records", "1000"])?;
    // One rotation up front gives a live refresh token to carry from run to run.
    let mut record = refresh_only(&emu);
    {
        let warm = shoal_side(&emu, record.clone(), false)?;
        warm.pipeline
            .execute(Request::get("audiences"))
            .await
            .map_err(|e| e.to_string())?;
        record = warm_record(&warm).await?;
    }
    let (mut expired_times, mut valid_times, mut calls) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..plan.runs {
        // Expired: same refresh token, access token already past its expiry.
        let mut expired = record.clone();
        expired.expires_at = Some(SystemClock.system_now() - Duration::from_secs(60));
        let side = shoal_side(&emu, expired, false)?;
        expired_times.push(storm(&side).await?.as_secs_f64());
        calls.push(side.token_calls.load(Ordering::Relaxed) as f64);
        record = warm_record(&side).await?;
        // Valid: the fresh pair the storm just rotated to.
        let side = shoal_side(&emu, record.clone(), false)?;
        valid_times.push(storm(&side).await?.as_secs_f64());
    }
    let worst_calls = calls.iter().copied().fold(0.0, f64::max);
    Ok(vec![
        Row::new(
            "refresh storm: token-endpoint calls (worst run)",
            "calls",
            worst_calls,
            f64::NAN,
            Goal::Exactly(1.0),
            0.0,
        ),
        Row::new(
            "refresh storm: time, expired vs valid token",
            "s",
            median(expired_times.clone()),
            median(valid_times),
            Goal::AtMost(1.5),
            spread(&expired_times),
        ),
    ])
}

async fn warm_record(side: &ShoalSide) -> BenchResult<shoal_auth::TokenRecord> {
    side.store
        .load()
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "empty token store".to_string())
}
