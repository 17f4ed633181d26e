//! Scenario 4: rate-limit adherence — the PebblePad emulator with a short window: 64 tasks make
//! a fixed number of calls through one paced client. 429 responses (target 0) and the achieved
//! rate as a fraction of the allowed rate (target ≥ 0.95).

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

/// Runs the scenario.
pub async fn run(plan: Plan) -> BenchResult<Vec<Row>> {
    let (calls, limit) = if plan.quick {
        (1_000usize, 200u32)
    } else {
        (5_000, 500)
    };
    let runs = if plan.quick { 1 } else { 2 };
    let emu = Emulator::start(&[
        "pebblepad",
        "--window-ms",
        &WINDOW_MS.to_string(),
        "--get",
        &limit.to_string(),
        "--concurrency",
        "8",
    ])?;
    let (mut fractions, mut rejected) = (Vec::new(), 0u64);
    for run in 0..runs {
        if run > 0 {
            // Each run starts with a fresh client, so give it a fresh server window too.
            tokio::time::sleep(Duration::from_millis(WINDOW_MS + 200)).await;
        }
        let clock = SystemClock::shared();
        let limits = RateLimits {
            per_method: [("GET".to_string(), limit)].into_iter().collect(),
            concurrency: Some(8),
            window: Some(Duration::from_millis(WINDOW_MS)),
        };
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
                for _ in 0..n {
                    match p
                        .execute(Request::get("1.1/Grade/GetOnUserId/benchmark-user"))
                        .await
                    {
                        Ok(_) => {}
                        Err(Error::Status(s)) if s.status.as_u16() == 404 => {}
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Ok(())
            })
        });
        for r in try_join_all(tasks).await.map_err(|e| e.to_string())? {
            r?;
        }
        let elapsed = start.elapsed().as_secs_f64();
        rejected += pipeline.stats().rate_limited;
        // The first window's allowance is free at t = 0; count only what pacing had to earn.
        let allowed_rate = f64::from(limit) / (WINDOW_MS as f64 / 1000.0);
        let earned = (calls as f64 - f64::from(limit)).max(0.0);
        fractions.push(earned / elapsed / allowed_rate);
    }
    Ok(vec![
        Row::new(
            "rate limits: 429 responses",
            "responses",
            rejected as f64,
            f64::NAN,
            Goal::ValueAtMost(0.0),
            0.0,
        ),
        Row::new(
            "rate limits: achieved / allowed rate",
            "fraction",
            median(fractions.clone()),
            1.0,
            Goal::AtLeast(0.95),
            spread(&fractions),
        ),
    ])
}
