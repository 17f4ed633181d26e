//! Rate limits, learned inside the pipeline ([`LimitDiscovery`], an [`Interceptor`]): once,
//! lazily, from `GET 1.1/Info/GetRateLimits` before the first call; kept current from every
//! response's `X-Rate-*` / `X-Concurrency-*` headers (core's limiter observes them); after a
//! header shows a method's limit changed, every other method sends one probe before pacing on
//! (`ProbingBackend`), and `GetRateLimits` is re-read at once when a GET can go now, so the other
//! methods learn the change without even the probe. A request sent through
//! `client.pipeline()` goes through all of it, as the typed calls do.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::{HeaderMap, Method, StatusCode};
use shoal_core::{
    Interceptor, Pipeline, RateLimitStatus, RateLimiter, RateLimits, Request, Result,
};
use tokio::sync::OnceCell;

use crate::api::target;
use crate::models::rate_limits::RateLimitsInfo;

/// The path of the limits endpoint under the API base.
pub(crate) fn get_rate_limits_path() -> String {
    target::action("Info", "GetRateLimits")
}

/// Where the client's limits come from before the first response. The `GetRateLimits` answer's
/// shape is *assumed* (`shared/api/pebblepad.md` "Rate and concurrency limits";
/// [`RateLimitsInfo`](crate::RateLimitsInfo)); the `X-Rate-*` / `X-Concurrency-*` headers are
/// documented.
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

/// The interceptor that keeps the shared limiter sized from what PebblePad announces.
pub(crate) struct LimitDiscovery {
    /// Unauthenticated, paced by the same limiter, without this interceptor: `GetRateLimits`.
    public: Pipeline,
    limiter: Arc<RateLimiter>,
    discovery: Discovery,
    discovered: OnceCell<()>,
    latest: Mutex<Option<RateLimitsInfo>>,
    /// The per-method limits last learned (from `GetRateLimits` or headers), to notice changes.
    announced: Mutex<BTreeMap<String, u32>>,
    rediscovering: tokio::sync::Mutex<()>,
}

impl LimitDiscovery {
    pub(crate) fn new(public: Pipeline, limiter: Arc<RateLimiter>, discovery: Discovery) -> Self {
        Self {
            public,
            limiter,
            discovery,
            discovered: OnceCell::new(),
            latest: Mutex::new(None),
            announced: Mutex::default(),
            rediscovering: tokio::sync::Mutex::new(()),
        }
    }

    /// The limiter's current state.
    pub(crate) async fn status(&self) -> Result<RateLimitStatus> {
        self.limiter.status().await
    }

    /// What `GetRateLimits` last reported, if it was read.
    pub(crate) fn announced(&self) -> Option<RateLimitsInfo> {
        lock(&self.latest).clone()
    }

    /// Reads `GetRateLimits` now and sizes the limiter from it.
    pub(crate) async fn refresh(&self) -> Result<RateLimitsInfo> {
        let info: RateLimitsInfo = self
            .public
            .json(Request::get(get_rate_limits_path()))
            .await?;
        let core = info.to_core();
        self.limiter.configure(&core).await?;
        lock(&self.announced).extend(core.per_method.clone());
        tracing::debug!(limits = ?core, "PebblePad rate limits read");
        *lock(&self.latest) = Some(info.clone());
        Ok(info)
    }

    /// Makes sure the limits were learned once (single-flight: concurrent first calls wait for
    /// the one read).
    async fn ensure(&self) {
        self.discovered
            .get_or_init(|| async {
                let learned = match &self.discovery {
                    Discovery::GetRateLimits => self.refresh().await.map(|_| ()),
                    Discovery::Fixed(limits) => {
                        lock(&self.announced).extend(limits.per_method.clone());
                        self.limiter.configure(limits).await
                    }
                    Discovery::HeadersOnly => Ok(()),
                };
                if let Err(e) = learned {
                    tracing::warn!(error = %e, "PebblePad limits could not be learned up front; pacing from response headers only");
                }
            })
            .await;
    }

    /// Notes a response's `X-Rate-Limit`: if it differs from what was last learned for that
    /// method, the limits changed server-side, so `GetRateLimits` is read again (once, by this
    /// task; others carry on) to learn the other methods' new limits too.
    async fn note(&self, method: &Method, headers: &HeaderMap) {
        let Some(limit) = headers
            .get("x-rate-limit")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok())
        else {
            return;
        };
        let changed = {
            let mut announced = lock(&self.announced);
            let previous = announced.insert(method.as_str().to_string(), limit);
            previous.is_some_and(|p| p != limit)
        };
        if !changed || self.discovery != Discovery::GetRateLimits {
            return;
        }
        tracing::info!(method = %method, limit, "PebblePad rate limit changed; re-reading GetRateLimits");
        let Ok(_guard) = self.rediscovering.try_lock() else {
            return;
        };
        // Only if a GET can go now: waiting a window for it would help nobody (until then each
        // method learns from its own probe, see `ProbingBackend`).
        let get_free = self.status().await.is_ok_and(|s| {
            s.methods
                .get("GET")
                .is_none_or(|m| m.limit.is_none_or(|l| m.used < l))
        });
        if !get_free {
            return;
        }
        if let Err(e) = self.refresh().await {
            tracing::warn!(error = %e, "GetRateLimits failed after a limit change");
        }
        // Headers are the fresher source for the method that told us.
        lock(&self.announced).insert(method.as_str().to_string(), limit);
    }
}

#[async_trait]
impl Interceptor for LimitDiscovery {
    async fn before_call(&self, _request: &Request) -> Result<()> {
        self.ensure().await;
        Ok(())
    }

    async fn after_answer(&self, method: &Method, _status: StatusCode, headers: &HeaderMap) {
        self.note(method, headers).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
