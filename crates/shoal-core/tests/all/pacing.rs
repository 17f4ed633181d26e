//! Pacing against a server that enforces 60 GET per sliding minute and reports `X-Rate-*`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use shoal_core::{
    Clock, Pipeline, RateLimitHeaders, RateLimiter, RateLimits, Request, SystemClock,
};

use crate::server::{reply, serve};

const LIMIT: usize = 60;

#[derive(Default)]
struct Window {
    arrivals: VecDeque<std::time::Instant>,
    served: u32,
    rejected: u32,
}

#[tokio::test(start_paused = true)]
async fn thirty_two_tasks_share_one_limit_with_no_429() {
    let window = Arc::new(Mutex::new(Window::default()));
    let w = window.clone();
    let base = serve(move |_| {
        let w = w.clone();
        async move {
            let now = SystemClock.now();
            let mut st = w.lock().unwrap();
            while st
                .arrivals
                .front()
                .is_some_and(|t| now - *t >= Duration::from_secs(60))
            {
                st.arrivals.pop_front();
            }
            if st.arrivals.len() >= LIMIT {
                st.rejected += 1;
                return reply(
                    429,
                    &[
                        ("x-rate-limit", LIMIT.to_string()),
                        ("x-rate-remaining", "0".into()),
                    ],
                    "",
                );
            }
            st.arrivals.push_back(now);
            st.served += 1;
            let remaining = (LIMIT - st.arrivals.len()).to_string();
            reply(
                200,
                &[
                    ("x-rate-limit", LIMIT.to_string()),
                    ("x-rate-remaining", remaining),
                ],
                "{}",
            )
        }
    })
    .await;

    let clock = SystemClock::shared();
    // The client starts knowing nothing: it learns the limit from the first answers.
    let limiter = Arc::new(RateLimiter::local(
        clock.clone(),
        Duration::from_secs(60),
        &RateLimits::default(),
        RateLimitHeaders::x_rate(),
    ));
    let pipeline = Pipeline::builder(base)
        .clock(clock.clone())
        .rate_limiter(limiter.clone())
        .build()
        .unwrap();
    let start = clock.now();
    let calls_per_task = [7usize; 32];
    let mut remaining_calls = 200usize;
    let tasks = calls_per_task.iter().map(|&n| {
        let n = n.min(remaining_calls);
        remaining_calls -= n;
        let p = pipeline.clone();
        tokio::spawn(async move {
            for _ in 0..n {
                p.execute(Request::get("items")).await.unwrap();
            }
        })
    });
    for t in join_all(tasks).await {
        t.unwrap();
    }
    let (rejected, served) = {
        let st = window.lock().unwrap();
        (st.rejected, st.served)
    };
    assert_eq!(rejected, 0, "the server saw 429s");
    assert_eq!(served, 200);
    // 200 calls at 60/min need just over three windows; pacing must not be much slower.
    let took = clock.now() - start;
    assert!(
        took >= Duration::from_secs(180) && took < Duration::from_secs(200),
        "{took:?}"
    );
    assert_eq!(pipeline.stats().rate_limited, 0);
    let status = limiter.status().await.unwrap();
    assert_eq!(status.methods["GET"].limit, Some(60));
}
