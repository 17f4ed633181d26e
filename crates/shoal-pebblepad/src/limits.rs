//! Rate limits: learned once, lazily, from `GET 1.1/Info/GetRateLimits` before the first call;
//! kept current from every response's `X-Rate-*` / `X-Concurrency-*` headers (core's limiter
//! observes them); after a header shows a method's limit changed, every other method sends one
//! probe before pacing on (`ProbingBackend`), and `GetRateLimits` is re-read at once when a GET
//! can go now, so the other methods learn the change without even the probe.

use http::{HeaderMap, Method};
use shoal_core::{RateLimitStatus, RateLimits, Request, Result};

use crate::client::PebblePad;
use crate::models::rate_limits::RateLimitsInfo;
use crate::target;

/// The path of the limits endpoint under the API base.
pub(crate) fn get_rate_limits_path() -> String {
    target::action("Info", "GetRateLimits")
}

/// Where the client's limits come from before the first response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discovery {
    /// Read `GetRateLimits` once before the first call, and again when a response's headers show
    /// a limit changed (default). If the endpoint fails, the client goes on with what the
    /// headers teach and logs a warning.
    #[default]
    GetRateLimits,
    /// Start from these limits; headers keep them current. No `GetRateLimits` call.
    Fixed(RateLimits),
    /// Learn only from response headers.
    HeadersOnly,
}

impl PebblePad {
    /// The limiter's current state: per-method limit and use in the window, the server's last
    /// reported remaining counts, concurrency, 429s seen.
    pub async fn rate_limits(&self) -> Result<RateLimitStatus> {
        self.inner().limiter.status().await
    }

    /// What `GetRateLimits` last reported, if it was read.
    pub fn announced_rate_limits(&self) -> Option<RateLimitsInfo> {
        lock(&self.inner().latest).clone()
    }

    /// Reads `GET 1.1/Info/GetRateLimits` (no authentication, paced like any GET) now and sizes
    /// the limiter from it.
    pub async fn refresh_rate_limits(&self) -> Result<RateLimitsInfo> {
        let inner = self.inner();
        let info: RateLimitsInfo = inner
            .public
            .json(Request::get(get_rate_limits_path()))
            .await?;
        let core = info.to_core();
        inner.limiter.configure(&core).await?;
        lock(&inner.announced).extend(core.per_method.clone());
        tracing::debug!(limits = ?core, "PebblePad rate limits read");
        *lock(&inner.latest) = Some(info.clone());
        Ok(info)
    }

    /// Makes sure the limits were learned once (single-flight: concurrent first calls wait for
    /// the one read).
    pub(crate) async fn ensure_rate_limits(&self) {
        let inner = self.inner();
        if inner.discovery != Discovery::GetRateLimits {
            return;
        }
        inner
            .discovered
            .get_or_init(|| async {
                if let Err(e) = self.refresh_rate_limits().await {
                    tracing::warn!(error = %e, "GetRateLimits failed; pacing from response headers only");
                }
            })
            .await;
    }

    /// Notes a response's `X-Rate-Limit`: if it differs from what was last learned for that
    /// method, the limits changed server-side, so `GetRateLimits` is read again (once, by this
    /// task; others carry on) to learn the other methods' new limits too.
    pub(crate) async fn note_limit_headers(&self, method: &Method, headers: &HeaderMap) {
        let Some(limit) = headers
            .get("x-rate-limit")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok())
        else {
            return;
        };
        let changed = {
            let mut announced = lock(&self.inner().announced);
            let previous = announced.insert(method.as_str().to_string(), limit);
            previous.is_some_and(|p| p != limit)
        };
        if !changed || self.inner().discovery != Discovery::GetRateLimits {
            return;
        }
        tracing::info!(method = %method, limit, "PebblePad rate limit changed; re-reading GetRateLimits");
        let Ok(_guard) = self.inner().rediscovering.try_lock() else {
            return;
        };
        // Only if a GET can go now: waiting a window for it would help nobody (until then each
        // method learns from its own probe, see `ProbingBackend`).
        let get_free = self.rate_limits().await.is_ok_and(|s| {
            s.methods
                .get("GET")
                .is_none_or(|m| m.limit.is_none_or(|l| m.used < l))
        });
        if !get_free {
            return;
        }
        if let Err(e) = self.refresh_rate_limits().await {
            tracing::warn!(error = %e, "GetRateLimits failed after a limit change");
        }
        // Headers are the fresher source for the method that told us.
        lock(&self.inner().announced).insert(method.as_str().to_string(), limit);
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
