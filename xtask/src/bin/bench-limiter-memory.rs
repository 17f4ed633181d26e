//! `bench-limiter-memory`: the bytes a rate limiter holds after 1,000,000 paced calls, at a
//! limit of 100 per minute and of 10,000,000 per minute, counted by an instrumented global
//! allocator (its own binary, so the allocator's counting slows no other benchmark).
//!
//! `bench-limiter-memory [reverse]` prints one JSON object: `{"calls": N, "held_100": B, "held_10m": B}`. Time is a
//! `ManualClock` moved to each wait, so a million calls at 100 per minute take no real time.

use std::alloc::System;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use shoal_core::http::Method;
use shoal_core::{
    Admission, LocalRateLimitBackend, ManualClock, RateLimitBackend, RateLimitHeaders, RateLimiter,
    RateLimits, RateObservation,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CALLS: u64 = 1_000_000;

/// Net bytes allocated (and not freed) by building a limiter and making `CALLS` calls through
/// it, answered the way PebblePad answers (limit and remaining on every response), measured
/// while the limiter is still alive.
fn held(limit: u32) -> Result<i128, String> {
    let clock = ManualClock::new();
    let region = Region::new(GLOBAL);
    let backend = Arc::new(LocalRateLimitBackend::new(
        clock.shared(),
        Duration::from_secs(60),
    ));
    let limiter = RateLimiter::new(backend.clone(), RateLimitHeaders::x_rate(), clock.shared());
    let limits = RateLimits::new([("GET".to_string(), limit)], Some(64), None);
    let configured = limiter.configure(&limits).now_or_never();
    configured
        .ok_or("configure waited")?
        .map_err(|e| e.to_string())?;
    // 10,000,000 per minute is one call per 6 µs: calls arrive at that pace in both runs.
    let step = Duration::from_micros(6);
    let mut made = 0u64;
    while made < CALLS {
        let admission = backend.try_acquire(&Method::GET).now_or_never();
        match admission
            .ok_or("acquire waited")?
            .map_err(|e| e.to_string())?
        {
            Admission::Granted(lease) => {
                made += 1;
                let used = u32::try_from(made.min(u64::from(limit))).unwrap_or(limit);
                let answer = RateObservation {
                    method: Method::GET,
                    limit: Some(limit),
                    remaining: Some(limit - used),
                    ..RateObservation::default()
                };
                let done = backend.complete(lease, &answer).now_or_never();
                done.ok_or("complete waited")?.map_err(|e| e.to_string())?;
                clock.advance(step);
            }
            Admission::Wait(Some(wait)) => clock.advance(wait),
            Admission::Wait(None) => return Err("no concurrency slot with none in flight".into()),
        }
    }
    let status = limiter.status().now_or_never();
    let status = status.ok_or("status waited")?.map_err(|e| e.to_string())?;
    std::hint::black_box(&status);
    drop(status);
    let change = region.change();
    drop(limiter);
    drop(backend);
    Ok(change.bytes_allocated as i128 - change.bytes_deallocated as i128)
}

fn main() -> std::process::ExitCode {
    // `reverse` measures the larger limit first (the bench alternates the order).
    let (low, high) = if std::env::args().any(|a| a == "reverse") {
        let high = held(10_000_000);
        (held(100), high)
    } else {
        let low = held(100);
        (low, held(10_000_000))
    };
    match (low, high) {
        (Ok(low), Ok(high)) => {
            println!(r#"{{"calls": {CALLS}, "held_100": {low}, "held_10m": {high}}}"#);
            std::process::ExitCode::SUCCESS
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("bench-limiter-memory: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
