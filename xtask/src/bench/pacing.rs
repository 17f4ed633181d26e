//! Scenario 4: rate-limit adherence — the PebblePad emulator with a short window: 64 tasks make
//! a fixed number of calls through one paced client. 429 responses (target 0) and the achieved
//! rate as a fraction of the allowed rate (target ≥ 0.95); then the same with 20 ms of latency
//! added by the emulator to every call (target ≥ 0.97 and no 429).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use shoal_auth::{AccessToken, StaticToken};
use shoal_core::{
    Error, Pipeline, RateLimitHeaders, RateLimiter, RateLimits, Request, SystemClock,
};

use super::emulate::Emulator;
use super::measure::{median, spread};
use super::report::{Goal, Row};
use super::{BenchResult, Plan};

const TASKS: usize = 64;
const WINDOW_MS: u64 = 2_000;

/// Runs the scenario: the plain emulator, then one that adds 20 ms of latency on the way in
/// (the server counts each call that much after the client admitted it).
pub async fn run(plan: Plan) -> BenchResult<Vec<Row>> {
    let (calls, limit) = if plan.quick {
        (1_000usize, 200u32)
    } else {
        (5_000, 500)
    };
    let mut rows = Vec::new();
    for (name, latency_ms, target) in [("rate limits", 0u64, 0.95), ("latency 20 ms", 20, 0.97)] {
        let emu = Emulator::start(&[
            "pebblepad",
            "--window-ms",
            &WINDOW_MS.to_string(),
            "--get",
            &limit.to_string(),
            "--concurrency",
            "8",
            "--latency-ms",
            &latency_ms.to_string(),
        ])?;
        let (mut fractions, mut rejected) = (Vec::new(), 0u64);
        for run in 0..plan.runs {
            if run > 0 {
                // Each run starts with a fresh client, so give it a fresh server window too.
                tokio::time::sleep(Duration::from_millis(WINDOW_MS + 200)).await;
            }
            let (fraction, steady, rejections) = paced_run(&emu, calls, limit).await?;
            // With latency the first window's burst itself takes time (8 calls at a time, 20 ms
            // each), which is the concurrency limit's doing, not pacing's: that row measures
            // the rate once the first allowance is spent.
            fractions.push(if latency_ms > 0 { steady } else { fraction });
            rejected += rejections;
        }
        rows.push(Row::new(
            &format!("{name}: 429 responses"),
            "responses",
            rejected as f64,
            f64::NAN,
            Goal::ValueAtMost(0.0),
            0.0,
        ));
        rows.push(Row::new(
            &format!("{name}: achieved / allowed rate"),
            "fraction",
            median(fractions.clone()),
            1.0,
            Goal::AtLeast(target),
            spread(&fractions),
        ));
    }
    Ok(rows)
}

/// One run: `TASKS` tasks make `calls` calls through one fresh paced client. Returns the
/// achieved fraction of the allowed rate over the whole run (the first window's allowance
/// left out), the same from the moment that allowance was used up to the last answer, and the
/// 429s seen.
async fn paced_run(emu: &Emulator, calls: usize, limit: u32) -> BenchResult<(f64, f64, u64)> {
    let clock = SystemClock::shared();
    let limits = RateLimits::new(
        [("GET".to_string(), limit)],
        Some(8),
        Some(Duration::from_millis(WINDOW_MS)),
    );
    let limiter = Arc::new(RateLimiter::local(
        clock.clone(),
        Duration::from_millis(WINDOW_MS),
        &limits,
        RateLimitHeaders::x_rate(),
    ));
    let api: shoal_core::Url = emu.field("api_base").parse().map_err(|e| format!("{e}"))?;
    let pipeline = Pipeline::builder(api)
        .clock(clock)
        .rate_limiter(limiter)
        .unprocessed_statuses([http::StatusCode::TOO_MANY_REQUESTS])
        .authenticator(Arc::new(StaticToken::new(AccessToken::new(
            emu.field("access_token"),
        ))))
        .build()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let per = calls / TASKS;
    let extra = calls % TASKS;
    let tasks = (0..TASKS).map(|i| {
        let p = pipeline.clone();
        let n = per + usize::from(i < extra);
        tokio::spawn(async move {
            let mut answered = Vec::with_capacity(n);
            for _ in 0..n {
                match p
                    .execute(Request::get("1.1/Grade/GetOnUserId/benchmark-user"))
                    .await
                {
                    Ok(_) => {}
                    Err(Error::Status(s)) if s.status.as_u16() == 404 => {}
                    Err(e) => return Err(e.to_string()),
                }
                answered.push(Instant::now());
            }
            Ok(answered)
        })
    });
    let mut answered = Vec::with_capacity(calls);
    for r in try_join_all(tasks).await.map_err(|e| e.to_string())? {
        answered.extend(r?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    answered.sort();
    // The first window's allowance is free at t = 0; count only what pacing had to earn.
    let allowed_rate = f64::from(limit) / (WINDOW_MS as f64 / 1000.0);
    let earned = (calls as f64 - f64::from(limit)).max(0.0);
    let steady = match (answered.get(limit as usize - 1), answered.last()) {
        (Some(spent), Some(last)) if last > spent => {
            earned / last.duration_since(*spent).as_secs_f64() / allowed_rate
        }
        _ => f64::NAN,
    };
    Ok((
        earned / elapsed / allowed_rate,
        steady,
        pipeline.stats().rate_limited,
    ))
}
