//! 8 worker processes share one PebblePad rate limit through a `RedisRateLimiter`.
// Real processes share no fake clock: this test runs on wall time, bounded to seconds.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::Duration;

use shoal_core::{NoAuth, Pipeline, RateLimitHeaders, RateLimits, Request};
use shoal_redis::{RedisRateLimiter, RedisServer};
use shoal_testkit::pebblepad::{PebblePad, PebblePadConfig};

use crate::fleet;

const WINDOW: Duration = Duration::from_secs(2);
const GET_LIMIT: u32 = 40;
const SLACK_MS: u64 = 150;

/// PebblePad's `GetRateLimits` body as core's limits.
fn limits_from(body: &serde_json::Value) -> RateLimits {
    let per_method = body["RateLimits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Method"].as_str().unwrap().to_ascii_uppercase(),
                m["Limit"].as_u64().unwrap() as u32,
            )
        })
        .collect::<Vec<_>>();
    RateLimits::new(
        per_method,
        body["ConcurrencyLimit"].as_u64().map(|c| c as u32),
        body["WindowSeconds"].as_u64().map(Duration::from_secs),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_workers_share_one_rate_limit_without_a_429() {
    let redis = RedisServer::start();
    let pp = PebblePad::start(PebblePadConfig {
        limits: shoal_testkit::pebblepad::RateLimits {
            get: GET_LIMIT,
            concurrency: 4,
            window: WINDOW,
            ..Default::default()
        },
        ..PebblePadConfig::default()
    })
    .await
    .unwrap();
    let api_base = pp.endpoints().api_base.clone();
    let token = pp.endpoints().service_access_token.clone().unwrap();

    // One client learns the limits (GetRateLimits, itself paced) and shares them through Redis.
    let backend = RedisRateLimiter::builder()
        .prefix("pp:")
        .slack(Duration::from_millis(SLACK_MS))
        .connect(&redis.url())
        .await
        .unwrap();
    let limiter = Arc::new(backend.rate_limiter(RateLimitHeaders::x_rate()));
    let public = Pipeline::builder(api_base.parse().unwrap())
        .authenticator(Arc::new(NoAuth))
        .rate_limiter(limiter.clone())
        .build()
        .unwrap();
    let body: serde_json::Value = public
        .json(Request::get("1.1/Info/GetRateLimits"))
        .await
        .unwrap();
    limiter.configure(&limits_from(&body)).await.unwrap();
    let shared = limiter.status().await.unwrap();
    assert_eq!(shared.methods["GET"].limit, Some(GET_LIMIT));
    assert_eq!(shared.concurrency_limit, Some(4));
    assert_eq!(shared.window, WINDOW);

    let start = fleet::unix_ms() + 2000;
    let run_ms = 6000;
    let until = start + run_ms;
    let args = vec![
        ("mode", "pebblepad".to_string()),
        ("redis", redis.url()),
        ("prefix", "pp:".into()),
        ("api-base", api_base),
        ("token", token),
        ("path", "1.1/Grade/GetOnUserId/someone".into()),
        ("slack-ms", SLACK_MS.to_string()),
        ("tasks", "3".into()),
        ("start-ms", start.to_string()),
        ("until-ms", until.to_string()),
    ];
    let children = (0..8).map(|_| fleet::spawn(&args, &[])).collect();
    let summaries = fleet::finish(children).await;

    assert_eq!(pp.traffic().rate_limited(), 0, "the emulator answered 429");
    for (i, s) in summaries.iter().enumerate() {
        assert_eq!(s.failed, 0, "worker {i}: {:?}", s.errors);
    }
    let calls: u64 = summaries.iter().map(|s| s.ok).sum();
    let allowed = GET_LIMIT as f64 * run_ms as f64 / WINDOW.as_millis() as f64;
    eprintln!("fleet: {calls} GETs in {run_ms} ms; the limit allows {allowed}");
    assert!(
        calls as f64 >= 0.9 * allowed,
        "{calls} calls is under 90% of the {allowed} allowed"
    );
    let windows = run_ms.div_ceil(WINDOW.as_millis() as u64) + 1;
    assert!(
        calls <= u64::from(GET_LIMIT) * windows,
        "{calls} calls cannot fit under the limit"
    );
    let busy = summaries.iter().filter(|s| s.ok > 0).count();
    assert!(busy >= 4, "calls came from many processes, not one: {busy}");
}
