//! PebblePad's rate limits: a rolling window per HTTP method plus one concurrency limit, the
//! `X-Rate-*`/`X-Concurrency-*` headers on every response, and 429 (call not processed) when over.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::PpState;
use crate::wire::json_response;

/// Limits per HTTP method in a rolling window, and concurrent calls across all methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    /// GET calls per window.
    pub get: u32,
    /// POST calls per window.
    pub post: u32,
    /// PUT calls per window.
    pub put: u32,
    /// DELETE calls per window.
    pub delete: u32,
    /// Calls in flight at once, any method.
    pub concurrency: u32,
    /// Window length (vendor: one minute; shorten it for real-time tests).
    pub window: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            get: 600,
            post: 120,
            put: 120,
            delete: 60,
            concurrency: 10,
            window: Duration::from_secs(60),
        }
    }
}

impl RateLimits {
    fn index(method: &Method) -> usize {
        match *method {
            Method::POST => 1,
            Method::PUT => 2,
            Method::DELETE => 3,
            _ => 0,
        }
    }

    fn limit(&self, i: usize) -> u32 {
        [self.get, self.post, self.put, self.delete][i]
    }

    /// The `GET Info/GetRateLimits` body.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "RateLimits": [
                {"Method": "GET", "Limit": self.get},
                {"Method": "POST", "Limit": self.post},
                {"Method": "PUT", "Limit": self.put},
                {"Method": "DELETE", "Limit": self.delete},
            ],
            "ConcurrencyLimit": self.concurrency,
            "WindowSeconds": self.window.as_secs(),
        })
    }
}

struct Inner {
    limits: RateLimits,
    windows: [VecDeque<Instant>; 4],
    in_flight: u32,
}

pub(crate) struct Limiter {
    inner: Arc<Mutex<Inner>>,
}

/// Header values computed at one moment.
struct Snapshot {
    limit: u32,
    remaining: u32,
    concurrency: u32,
    concurrency_remaining: u32,
}

impl Inner {
    fn prune(&mut self, i: usize, now: Instant) {
        let window = self.limits.window;
        while self.windows[i]
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.windows[i].pop_front();
        }
    }

    fn snapshot(&mut self, i: usize, now: Instant) -> Snapshot {
        self.prune(i, now);
        let limit = self.limits.limit(i);
        Snapshot {
            limit,
            remaining: limit.saturating_sub(self.windows[i].len() as u32),
            concurrency: self.limits.concurrency,
            concurrency_remaining: self.limits.concurrency.saturating_sub(self.in_flight),
        }
    }
}

impl Limiter {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                limits,
                windows: Default::default(),
                in_flight: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self) -> RateLimits {
        self.lock().limits
    }

    pub(crate) fn set(&self, limits: RateLimits) {
        self.lock().limits = limits;
    }
}

/// Releases a concurrency slot even when the call is dropped mid-way.
struct Slot(Arc<Mutex<Inner>>);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        g.in_flight = g.in_flight.saturating_sub(1);
    }
}

fn stamp(resp: &mut Response, s: &Snapshot) {
    let h = resp.headers_mut();
    for (name, value) in [
        ("x-rate-limit", s.limit),
        ("x-rate-remaining", s.remaining),
        ("x-concurrency-limit", s.concurrency),
        ("x-concurrency-remaining", s.concurrency_remaining),
    ] {
        h.insert(name, HeaderValue::from(value));
    }
}

/// Middleware: admit or answer 429, then stamp the headers computed at the end of the call.
pub(crate) async fn enforce(State(st): State<Arc<PpState>>, req: Request, next: Next) -> Response {
    let i = RateLimits::index(req.method());
    let clock = st.common.clock.clone();
    let admitted = {
        let mut g = st.limits.lock();
        let now = clock.now();
        g.prune(i, now);
        let over_rate = g.windows[i].len() as u32 >= g.limits.limit(i);
        let over_concurrency = g.in_flight >= g.limits.concurrency;
        if over_rate || over_concurrency {
            Err((g.snapshot(i, now), over_rate))
        } else {
            g.windows[i].push_back(now);
            g.in_flight += 1;
            Ok(())
        }
    };
    match admitted {
        Err((snap, over_rate)) => {
            let msg = if over_rate {
                "Rate limit exceeded"
            } else {
                "Concurrency limit exceeded"
            };
            let mut resp = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &serde_json::json!({ "errormessage": msg }),
            );
            stamp(&mut resp, &snap);
            resp
        }
        Ok(()) => {
            let slot = Slot(st.limits.inner.clone());
            let mut resp = next.run(req).await;
            drop(slot);
            let snap = st.limits.lock().snapshot(i, clock.now());
            stamp(&mut resp, &snap);
            resp
        }
    }
}
