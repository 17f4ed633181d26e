//! Pacing *before* sending: a sliding window per HTTP method plus a concurrency limit.
//!
//! [`RateLimiter`] is the front the pipeline calls: it waits for admission and turns response
//! headers into [`RateObservation`]s. Where the counts live is a [`RateLimitBackend`]:
//! [`LocalRateLimitBackend`] keeps them in memory for one process; a shared backend (Redis) keeps
//! one limit for many processes without changing any caller.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::error::Result;
use crate::retry::RetryAfter;

/// Limits as a service announces them (configuration or an endpoint such as PebblePad's
/// `GetRateLimits`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RateLimits {
    /// Calls allowed per window, by method.
    pub per_method: BTreeMap<String, u32>,
    /// Concurrent calls allowed across all methods.
    pub concurrency: Option<u32>,
    /// The window length, when the service says it.
    pub window: Option<Duration>,
}

/// What one response said about the limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateObservation {
    /// The method of the call answered.
    pub method: String,
    /// Whether the answer was 429.
    pub rejected: bool,
    /// The method's limit per window.
    pub limit: Option<u32>,
    /// Calls left in the window for this method.
    pub remaining: Option<u32>,
    /// Concurrent calls allowed.
    pub concurrency_limit: Option<u32>,
    /// Concurrent calls left.
    pub concurrency_remaining: Option<u32>,
    /// How long the server asked to wait.
    pub retry_after: Option<Duration>,
    /// How long the call took from admission to its answer, when the caller measured it.
    pub latency: Option<Duration>,
}

/// Names of the headers a service reports its limits in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// The per-method limit (`X-Rate-Limit`).
    pub limit: Option<String>,
    /// Calls left (`X-Rate-Remaining`).
    pub remaining: Option<String>,
    /// Concurrency limit (`X-Concurrency-Limit`).
    pub concurrency_limit: Option<String>,
    /// Concurrency left (`X-Concurrency-Remaining`).
    pub concurrency_remaining: Option<String>,
}

impl RateLimitHeaders {
    /// The `X-Rate-*` / `X-Concurrency-*` names.
    pub fn x_rate() -> Self {
        Self {
            limit: Some("x-rate-limit".into()),
            remaining: Some("x-rate-remaining".into()),
            concurrency_limit: Some("x-concurrency-limit".into()),
            concurrency_remaining: Some("x-concurrency-remaining".into()),
        }
    }

    /// Reads one response.
    pub fn observe(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        now: std::time::SystemTime,
    ) -> RateObservation {
        let num = |name: &Option<String>| -> Option<u32> {
            headers
                .get(name.as_deref()?)?
                .to_str()
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        RateObservation {
            method: method.as_str().to_string(),
            rejected: status == StatusCode::TOO_MANY_REQUESTS,
            limit: num(&self.limit),
            remaining: num(&self.remaining),
            concurrency_limit: num(&self.concurrency_limit),
            concurrency_remaining: num(&self.concurrency_remaining),
            retry_after: RetryAfter::from_headers(headers).map(|r| r.delay(now)),
            latency: None,
        }
    }
}

/// A grant to send one call; held by the backend until released.
#[derive(Debug, PartialEq, Eq)]
pub struct Lease {
    /// The method the lease is for.
    pub method: String,
    /// A backend-specific identity (a Redis lease key, say).
    pub id: String,
}

/// The backend's answer to a request for admission.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Send now.
    Granted(Lease),
    /// Try again after this long; `None` means when a local lease is released.
    Wait(Option<Duration>),
}

/// The state of one method's limit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MethodStatus {
    /// The limit per window, if known.
    pub limit: Option<u32>,
    /// Calls sent (or known to the server) in the current window.
    pub used: u32,
    /// What the server last reported as remaining.
    pub server_remaining: Option<u32>,
}

/// A snapshot of the limiter for callers (dashboards, the CLI's `limits`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RateLimitStatus {
    /// By method.
    pub methods: BTreeMap<String, MethodStatus>,
    /// Concurrent calls allowed, if known.
    pub concurrency_limit: Option<u32>,
    /// Calls in flight.
    pub in_flight: u32,
    /// What the server last reported as concurrency remaining.
    pub server_concurrency_remaining: Option<u32>,
    /// 429s seen.
    pub rejections: u64,
    /// The window length.
    pub window: Duration,
}

/// Where rate-limit state lives. Implementations must be atomic per call: two callers never
/// both get the last slot.
#[async_trait]
pub trait RateLimitBackend: Send + Sync + fmt::Debug + 'static {
    /// Admits a call of `method` now, or says how long to wait.
    async fn try_acquire(&self, method: &str) -> Result<Admission>;
    /// Returns a lease when its call has finished.
    fn release(&self, lease: Lease);
    /// Learns from a response.
    async fn observe(&self, observation: &RateObservation) -> Result<()>;
    /// Replaces the known limits.
    async fn configure(&self, limits: &RateLimits) -> Result<()>;
    /// The current state.
    async fn status(&self) -> Result<RateLimitStatus>;
}

/// The pipeline's limiter: waits for admission, releases on completion, learns from headers.
pub struct RateLimiter {
    backend: Arc<dyn RateLimitBackend>,
    headers: RateLimitHeaders,
    clock: SharedClock,
    released: Arc<Released>,
}

/// Wakes tasks waiting for a concurrency slot; silent (and lock-free) when nobody waits.
#[derive(Default)]
struct Released {
    notify: Notify,
    waiting: std::sync::atomic::AtomicUsize,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("backend", &self.backend)
            .field("headers", &self.headers)
            .finish()
    }
}

struct WaitingGuard<'a>(&'a Released);

impl<'a> WaitingGuard<'a> {
    fn new(released: &'a Released) -> Self {
        released
            .waiting
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Self(released)
    }
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0
            .waiting
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Admission to send one call; dropping it frees the concurrency slot.
pub struct Permit {
    lease: Option<Lease>,
    backend: Arc<dyn RateLimitBackend>,
    released: Arc<Released>,
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("lease", &self.lease)
            .finish()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            self.backend.release(lease);
            if self
                .released
                .waiting
                .load(std::sync::atomic::Ordering::Acquire)
                > 0
            {
                self.released.notify.notify_waiters();
            }
        }
    }
}

impl RateLimiter {
    /// A limiter over a backend, reading limits from the named headers.
    pub fn new(
        backend: Arc<dyn RateLimitBackend>,
        headers: RateLimitHeaders,
        clock: SharedClock,
    ) -> Self {
        Self {
            backend,
            headers,
            clock,
            released: Arc::default(),
        }
    }

    /// An in-memory limiter with a window length and starting limits.
    pub fn local(
        clock: SharedClock,
        window: Duration,
        limits: &RateLimits,
        headers: RateLimitHeaders,
    ) -> Self {
        let backend = LocalRateLimitBackend::new(clock.clone(), window);
        backend.apply(limits);
        Self::new(Arc::new(backend), headers, clock)
    }

    /// Waits until a call of `method` may be sent.
    pub async fn acquire(&self, method: &Method) -> Result<Permit> {
        // The fast path registers no waiter: most calls are admitted at once.
        if let Admission::Granted(lease) = self.backend.try_acquire(method.as_str()).await? {
            return Ok(self.permit(lease));
        }
        loop {
            let notified = self.released.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let _waiting = WaitingGuard::new(&self.released);
            // Asked again once registered, so a release in between cannot be missed.
            match self.backend.try_acquire(method.as_str()).await? {
                Admission::Granted(lease) => return Ok(self.permit(lease)),
                Admission::Wait(Some(wait)) => {
                    tracing::trace!(method = %method, wait_ms = wait.as_millis() as u64, "pacing");
                    tokio::select! {
                        _ = self.clock.sleep(wait) => {}
                        _ = &mut notified => {}
                    }
                }
                Admission::Wait(None) => notified.await,
            }
        }
    }

    fn permit(&self, lease: Lease) -> Permit {
        Permit {
            lease: Some(lease),
            backend: self.backend.clone(),
            released: self.released.clone(),
        }
    }

    /// Learns from a response's status and headers.
    pub async fn observe(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<()> {
        self.observe_timed(method, status, headers, None).await
    }

    /// [`observe`](Self::observe) with how long the call took from admission to its answer, so
    /// the limiter can allow for the gap between our clock and the server's receipt.
    pub async fn observe_timed(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        latency: Option<Duration>,
    ) -> Result<()> {
        let mut observation =
            self.headers
                .observe(method, status, headers, self.clock.system_now());
        observation.latency = latency;
        self.backend.observe(&observation).await
    }

    /// Replaces the known limits (e.g. from a limits endpoint).
    pub async fn configure(&self, limits: &RateLimits) -> Result<()> {
        self.backend.configure(limits).await
    }

    /// The current state.
    pub async fn status(&self) -> Result<RateLimitStatus> {
        self.backend.status().await
    }
}

#[derive(Debug, Default)]
struct Window {
    limit: Option<u32>,
    sent: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    server_remaining: Option<u32>,
}

#[derive(Debug)]
struct LocalState {
    window: Duration,
    methods: HashMap<String, Window>,
    concurrency: Option<u32>,
    in_flight: u32,
    server_concurrency_remaining: Option<u32>,
    rejections: u64,
    /// A decaying maximum of recent call latencies: how late the server may see a call we
    /// counted at admission.
    latency: Duration,
}

impl LocalState {
    /// How long a call stays counted: the window, plus a margin for the server seeing it later
    /// than we admitted it (the larger of the fixed slack and recent latency, at most a quarter
    /// of the window).
    fn span(&self, slack: Duration) -> Duration {
        self.window + slack.max(self.latency.min(self.window / 4))
    }
}

/// Rate-limit state in this process's memory.
#[derive(Debug)]
pub struct LocalRateLimitBackend {
    clock: SharedClock,
    slack: Duration,
    state: Mutex<LocalState>,
}

impl LocalRateLimitBackend {
    /// An empty backend (no limits until configured or observed).
    pub fn new(clock: SharedClock, window: Duration) -> Self {
        Self {
            clock,
            slack: Duration::from_millis(25),
            state: Mutex::new(LocalState {
                window,
                methods: HashMap::new(),
                concurrency: None,
                in_flight: 0,
                server_concurrency_remaining: None,
                rejections: 0,
                latency: Duration::ZERO,
            }),
        }
    }

    /// Extra time each call stays counted, covering the gap between our send and the server's
    /// receipt (default 25 ms).
    pub fn with_slack(mut self, slack: Duration) -> Self {
        self.slack = slack;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn apply(&self, limits: &RateLimits) {
        let mut st = self.lock();
        if let Some(w) = limits.window {
            st.window = w;
        }
        for (method, limit) in &limits.per_method {
            st.methods
                .entry(method.to_ascii_uppercase())
                .or_default()
                .limit = Some(*limit);
        }
        if limits.concurrency.is_some() {
            st.concurrency = limits.concurrency;
        }
    }
}

fn purge(w: &mut Window, now: Instant, span: Duration) {
    while w
        .sent
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= span)
    {
        w.sent.pop_front();
    }
}

#[async_trait]
impl RateLimitBackend for LocalRateLimitBackend {
    async fn try_acquire(&self, method: &str) -> Result<Admission> {
        let now = self.clock.now();
        let mut st = self.lock();
        let span = st.span(self.slack);
        let concurrency_full = st.concurrency.is_some_and(|c| st.in_flight >= c.max(1));
        if !st.methods.contains_key(method) {
            st.methods.insert(method.to_string(), Window::default());
        }
        let Some(w) = st.methods.get_mut(method) else {
            return Ok(Admission::Wait(None));
        };
        if let Some(until) = w.blocked_until {
            if until > now {
                return Ok(Admission::Wait(Some(until - now)));
            }
            w.blocked_until = None;
        }
        purge(w, now, span);
        if let Some(limit) = w.limit {
            let limit = limit.max(1) as usize;
            if w.sent.len() >= limit {
                let oldest = w.sent[w.sent.len() - limit];
                return Ok(Admission::Wait(Some(
                    (oldest + span).saturating_duration_since(now),
                )));
            }
        }
        if concurrency_full {
            return Ok(Admission::Wait(None));
        }
        w.sent.push_back(now);
        st.in_flight += 1;
        Ok(Admission::Granted(Lease {
            method: method.to_string(),
            id: String::new(),
        }))
    }

    fn release(&self, _lease: Lease) {
        let mut st = self.lock();
        st.in_flight = st.in_flight.saturating_sub(1);
    }

    async fn observe(&self, o: &RateObservation) -> Result<()> {
        let now = self.clock.now();
        let mut st = self.lock();
        let span = st.span(self.slack);
        if o.rejected {
            st.rejections += 1;
        }
        if let Some(latency) = o.latency {
            // Decays by 1/32 per answer, so one slow call widens the margin only for a while.
            st.latency = latency.max(st.latency - st.latency / 32);
        }
        if let Some(c) = o.concurrency_limit {
            st.concurrency = Some(c);
        }
        if o.concurrency_remaining.is_some() {
            st.server_concurrency_remaining = o.concurrency_remaining;
        }
        if !st.methods.contains_key(&o.method) {
            st.methods.insert(o.method.clone(), Window::default());
        }
        let Some(w) = st.methods.get_mut(&o.method) else {
            return Ok(());
        };
        if let Some(limit) = o.limit {
            w.limit = Some(limit);
        }
        purge(w, now, span);
        let remaining = if o.rejected && o.retry_after.is_none() {
            Some(0)
        } else {
            o.remaining
        };
        w.server_remaining = remaining;
        if let (Some(limit), Some(remaining)) = (w.limit, remaining) {
            // The server knows of calls we did not count (other clients, an earlier run, a
            // window that started before us): count them from now, conservatively.
            let server_used = limit.saturating_sub(remaining) as usize;
            while w.sent.len() < server_used {
                w.sent.push_back(now);
            }
        }
        if o.rejected {
            if let Some(wait) = o.retry_after {
                let until = now + wait;
                w.blocked_until = Some(w.blocked_until.map_or(until, |b| b.max(until)));
            }
        }
        Ok(())
    }

    async fn configure(&self, limits: &RateLimits) -> Result<()> {
        self.apply(limits);
        Ok(())
    }

    async fn status(&self) -> Result<RateLimitStatus> {
        let now = self.clock.now();
        let mut st = self.lock();
        let span = st.span(self.slack);
        let mut methods = BTreeMap::new();
        for (m, w) in st.methods.iter_mut() {
            purge(w, now, span);
            methods.insert(
                m.clone(),
                MethodStatus {
                    limit: w.limit,
                    used: w.sent.len() as u32,
                    server_remaining: w.server_remaining,
                },
            );
        }
        Ok(RateLimitStatus {
            methods,
            concurrency_limit: st.concurrency,
            in_flight: st.in_flight,
            server_concurrency_remaining: st.server_concurrency_remaining,
            rejections: st.rejections,
            window: st.window,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limiter(clock: &ManualClock, get: u32, concurrency: Option<u32>) -> RateLimiter {
        let limits = RateLimits {
            per_method: [("GET".to_string(), get)].into_iter().collect(),
            concurrency,
            window: None,
        };
        RateLimiter::local(
            clock.shared(),
            Duration::from_secs(60),
            &limits,
            RateLimitHeaders::x_rate(),
        )
    }

    async fn admitted_now(l: &RateLimiter, m: &Method) -> Option<Permit> {
        use futures_util::FutureExt;
        l.acquire(m).now_or_never().map(|r| r.unwrap())
    }

    #[tokio::test]
    async fn window_full_waits_until_the_oldest_call_slides_out() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 2, None);
        drop(l.acquire(&Method::GET).await.unwrap());
        clock.advance(Duration::from_secs(10));
        drop(l.acquire(&Method::GET).await.unwrap());
        assert!(
            admitted_now(&l, &Method::GET).await.is_none(),
            "third call in the window must wait"
        );
        clock.advance(Duration::from_secs(50) + Duration::from_millis(25));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
        // Other methods have their own (unknown, so unpaced) window.
        assert!(admitted_now(&l, &Method::POST).await.is_some());
    }

    #[tokio::test]
    async fn concurrency_waits_for_a_release() {
        let clock = ManualClock::new();
        let l = Arc::new(limiter(&clock, 100, Some(1)));
        let first = l.acquire(&Method::GET).await.unwrap();
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.acquire(&Method::GET).await.map(|_| ()) });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        waiter.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn headers_teach_limits_and_remaining() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 100, None);
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit", "5".parse().unwrap());
        h.insert("x-rate-remaining", "0".parse().unwrap());
        h.insert("x-concurrency-limit", "3".parse().unwrap());
        l.observe(&Method::GET, StatusCode::OK, &h).await.unwrap();
        let st = l.status().await.unwrap();
        assert_eq!(st.methods["GET"].limit, Some(5));
        assert_eq!(st.methods["GET"].used, 5);
        assert_eq!(st.concurrency_limit, Some(3));
        assert!(
            admitted_now(&l, &Method::GET).await.is_none(),
            "remaining 0 means wait"
        );
        clock.advance(Duration::from_secs(61));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
    }

    #[tokio::test]
    async fn a_429_with_retry_after_blocks_the_method() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 100, None);
        let mut h = HeaderMap::new();
        h.insert("retry-after", "5".parse().unwrap());
        l.observe(&Method::GET, StatusCode::TOO_MANY_REQUESTS, &h)
            .await
            .unwrap();
        assert!(admitted_now(&l, &Method::GET).await.is_none());
        clock.advance(Duration::from_secs(5));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
        assert_eq!(l.status().await.unwrap().rejections, 1);
    }

    #[tokio::test]
    async fn a_429_without_retry_after_fills_the_window() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 3, None);
        l.observe(
            &Method::GET,
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
        )
        .await
        .unwrap();
        assert!(admitted_now(&l, &Method::GET).await.is_none());
        clock.advance(Duration::from_secs(61));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
    }

    #[tokio::test]
    async fn slow_answers_keep_calls_counted_longer() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 1, None);
        drop(l.acquire(&Method::GET).await.unwrap());
        // The answer took 400 ms: the server may have counted the call that much later.
        l.observe_timed(
            &Method::GET,
            StatusCode::OK,
            &HeaderMap::new(),
            Some(Duration::from_millis(400)),
        )
        .await
        .unwrap();
        clock.advance(Duration::from_secs(60) + Duration::from_millis(25));
        assert!(
            admitted_now(&l, &Method::GET).await.is_none(),
            "the fixed slack is not enough"
        );
        clock.advance(Duration::from_millis(375));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
    }

    #[tokio::test]
    async fn a_lowered_limit_applies_at_once() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 10, None);
        for _ in 0..4 {
            drop(l.acquire(&Method::GET).await.unwrap());
        }
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit", "4".parse().unwrap());
        l.observe(&Method::GET, StatusCode::OK, &h).await.unwrap();
        assert!(admitted_now(&l, &Method::GET).await.is_none());
    }
}
