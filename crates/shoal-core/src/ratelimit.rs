//! Pacing *before* sending: a sliding window per HTTP method plus a concurrency limit.
//!
//! [`RateLimiter`] is the front the pipeline calls: it waits for admission, and a [`Permit`]
//! turns the answer's headers into a [`RateObservation`] and frees its slot in one backend call
//! ([`Permit::complete`]). Where the counts live is a [`RateLimitBackend`]:
//! [`LocalRateLimitBackend`] keeps them in memory for one process; a shared backend (Redis) keeps
//! one limit for many processes without changing any caller. Every number a server announces is
//! clamped by [`crate::clamp`] before it is used.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, Method, StatusCode};
use serde::Serialize;
use tokio::sync::Notify;

use crate::clamp;
use crate::clock::SharedClock;
use crate::error::Result;
use crate::retry::RetryAfter;

/// Limits as a service announces them (configuration or an endpoint such as PebblePad's
/// `GetRateLimits`). Backends clamp each number ([`crate::clamp`]) when they apply it.
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
    pub method: Method,
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
    /// How long the server asked to wait (read only from a 429).
    pub retry_after: Option<Duration>,
    /// How long the call took from admission to its answer, when the caller measured it.
    pub latency: Option<Duration>,
}

/// Names of the headers a service reports its limits in, parsed once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    /// The per-method limit (`X-Rate-Limit`).
    pub limit: Option<HeaderName>,
    /// Calls left (`X-Rate-Remaining`).
    pub remaining: Option<HeaderName>,
    /// Concurrency limit (`X-Concurrency-Limit`).
    pub concurrency_limit: Option<HeaderName>,
    /// Concurrency left (`X-Concurrency-Remaining`).
    pub concurrency_remaining: Option<HeaderName>,
}

impl RateLimitHeaders {
    /// The `X-Rate-*` / `X-Concurrency-*` names.
    pub fn x_rate() -> Self {
        Self {
            limit: Some(HeaderName::from_static("x-rate-limit")),
            remaining: Some(HeaderName::from_static("x-rate-remaining")),
            concurrency_limit: Some(HeaderName::from_static("x-concurrency-limit")),
            concurrency_remaining: Some(HeaderName::from_static("x-concurrency-remaining")),
        }
    }

    /// Reads one response. Values that are not decimal integers are ignored; the others are
    /// clamped to [`crate::clamp`]'s ranges. `now` dates a `Retry-After` given as an HTTP date.
    pub fn observe(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        now: SystemTime,
    ) -> RateObservation {
        self.read(method, status, headers, || now)
    }

    fn read(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        now: impl FnOnce() -> SystemTime,
    ) -> RateObservation {
        let num = |name: &Option<HeaderName>| -> Option<i128> {
            clamp::integer(headers.get(name.as_ref()?)?.to_str().ok()?)
        };
        let rejected = status == StatusCode::TOO_MANY_REQUESTS;
        let limit = num(&self.limit).map(clamp::rate_limit);
        let remaining = num(&self.remaining)
            .map(|n| clamp::rate_remaining(n, limit.unwrap_or(clamp::MAX_RATE_LIMIT)));
        let concurrency_limit = num(&self.concurrency_limit).map(clamp::concurrency_limit);
        let concurrency_remaining =
            num(&self.concurrency_remaining).map(clamp::concurrency_remaining);
        // Only a 429's Retry-After blocks the method, so only a 429 pays for reading it.
        let retry_after = if rejected {
            RetryAfter::from_headers(headers).map(|r| clamp::retry_after(r.delay(now())))
        } else {
            None
        };
        RateObservation {
            method: method.clone(),
            rejected,
            limit,
            remaining,
            concurrency_limit,
            concurrency_remaining,
            retry_after,
            latency: None,
        }
    }
}

/// A grant to send one call; held by the backend until released or completed.
#[derive(Debug, PartialEq, Eq)]
pub struct Lease {
    /// The method the lease is for.
    pub method: Method,
    /// A backend-specific identity (a Redis lease key, say; empty for the local backend).
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
    async fn try_acquire(&self, method: &Method) -> Result<Admission>;
    /// Returns a lease whose call got no answer (or was abandoned).
    fn release(&self, lease: Lease);
    /// Learns from a response.
    async fn observe(&self, observation: &RateObservation) -> Result<()>;
    /// Learns from the answer to a leased call, then returns the lease: what the pipeline calls
    /// once per answered call. Backends override it to do both in one step (one lock, one round
    /// trip); the default observes, then releases — also when the observation fails or the
    /// future is dropped, so a lease is never lost.
    async fn complete(&self, lease: Lease, observation: &RateObservation) -> Result<()> {
        let guard = ReleaseOnDrop {
            backend: self,
            lease: Some(lease),
        };
        let learned = self.observe(observation).await;
        drop(guard);
        learned
    }
    /// Replaces the known limits.
    async fn configure(&self, limits: &RateLimits) -> Result<()>;
    /// The current state.
    async fn status(&self) -> Result<RateLimitStatus>;
}

/// Releases a lease when dropped (the default [`RateLimitBackend::complete`]).
struct ReleaseOnDrop<'a, B: RateLimitBackend + ?Sized> {
    backend: &'a B,
    lease: Option<Lease>,
}

impl<B: RateLimitBackend + ?Sized> Drop for ReleaseOnDrop<'_, B> {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            self.backend.release(lease);
        }
    }
}

/// The pipeline's limiter: waits for admission; its permits learn from the answer and free the
/// slot. Cheap to share (`Arc<RateLimiter>`); each permit holds one reference to its state.
pub struct RateLimiter {
    shared: Arc<Shared>,
}

struct Shared {
    backend: Arc<dyn RateLimitBackend>,
    headers: RateLimitHeaders,
    clock: SharedClock,
    released: Released,
}

/// Wakes tasks waiting for a concurrency slot; silent (and lock-free) when nobody waits.
#[derive(Default)]
struct Released {
    notify: Notify,
    waiting: AtomicUsize,
}

impl Released {
    fn wake(&self) {
        // SeqCst with the waiter's increment: either it sees our release, or we see it waiting.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("backend", &self.shared.backend)
            .field("headers", &self.shared.headers)
            .finish()
    }
}

struct WaitingGuard<'a>(&'a Released);

impl<'a> WaitingGuard<'a> {
    fn new(released: &'a Released) -> Self {
        released.waiting.fetch_add(1, Ordering::SeqCst);
        Self(released)
    }
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Admission to send one call. [`complete`](Self::complete) it with the answer; dropping it
/// instead (no answer, or the call was abandoned) frees the slot without learning anything.
pub struct Permit {
    lease: Option<Lease>,
    shared: Arc<Shared>,
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
            self.shared.backend.release(lease);
            self.shared.released.wake();
        }
    }
}

/// Wakes waiters when dropped, so a completion wakes them even if its future is dropped.
struct WakeOnDrop<'a>(&'a Released);

impl Drop for WakeOnDrop<'_> {
    fn drop(&mut self) {
        self.0.wake();
    }
}

impl Permit {
    /// The method this permit admits.
    pub fn method(&self) -> Option<&Method> {
        self.lease.as_ref().map(|l| &l.method)
    }

    /// Learns from the answer (`latency`: from admission to the answer, so the limiter can
    /// allow for the server receiving the call later than we admitted it) and frees the slot,
    /// in one backend call. The learning happens before the slot is free.
    pub async fn complete(
        mut self,
        status: StatusCode,
        headers: &HeaderMap,
        latency: Option<Duration>,
    ) -> Result<()> {
        let Some(lease) = self.lease.take() else {
            return Ok(());
        };
        let shared = &*self.shared;
        let mut observation = shared
            .headers
            .read(&lease.method, status, headers, || shared.clock.system_now());
        observation.latency = latency;
        let _wake = WakeOnDrop(&shared.released);
        shared.backend.complete(lease, &observation).await
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
            shared: Arc::new(Shared {
                backend,
                headers,
                clock,
                released: Released::default(),
            }),
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
        let shared = &*self.shared;
        // The fast path registers no waiter: most calls are admitted at once.
        if let Admission::Granted(lease) = shared.backend.try_acquire(method).await? {
            return Ok(self.permit(lease));
        }
        loop {
            let notified = shared.released.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let _waiting = WaitingGuard::new(&shared.released);
            // Asked again once registered, so a release in between cannot be missed.
            match shared.backend.try_acquire(method).await? {
                Admission::Granted(lease) => return Ok(self.permit(lease)),
                Admission::Wait(Some(wait)) => {
                    tracing::trace!(method = %method, wait_ms = wait.as_millis() as u64, "pacing");
                    tokio::select! {
                        _ = shared.clock.sleep(wait) => {}
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
            shared: self.shared.clone(),
        }
    }

    /// Learns from a response's status and headers (outside a permit; the pipeline uses
    /// [`Permit::complete`]).
    pub async fn observe(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<()> {
        self.observe_timed(method, status, headers, None).await
    }

    /// [`observe`](Self::observe) with how long the call took from admission to its answer.
    pub async fn observe_timed(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        latency: Option<Duration>,
    ) -> Result<()> {
        let shared = &*self.shared;
        let mut observation = shared
            .headers
            .read(method, status, headers, || shared.clock.system_now());
        observation.latency = latency;
        shared.backend.observe(&observation).await
    }

    /// Replaces the known limits (e.g. from a limits endpoint).
    pub async fn configure(&self, limits: &RateLimits) -> Result<()> {
        self.shared.backend.configure(limits).await
    }

    /// The current state.
    pub async fn status(&self) -> Result<RateLimitStatus> {
        self.shared.backend.status().await
    }
}

/// Slots in each method's ring. Memory per method is fixed (`SLOTS` × 24 bytes, 6 KiB)
/// whatever the limit; the slot width is the longest span divided by `SLOTS - 1`.
const SLOTS: usize = 256;

/// Calls admitted in one slot of time: how many, and the earliest and latest of them
/// (nanoseconds since the backend's epoch, plus one so that 0 means "before everything").
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    count: u64,
    first: u64,
    last: u64,
}

/// One method's calls in a fixed ring of per-slot counters.
///
/// A slot stays counted until its *latest* call has left the span (the frontier below passed
/// it), so every call stays counted at least as long as an exact log would keep it, and at
/// most one slot width longer. The frontier moves exactly as an exact log's purge would: at
/// each check, to `now - span` with that moment's span.
#[derive(Debug)]
struct Ring {
    slots: Box<[Slot]>,
    /// Absolute slot numbers (time / width) of the oldest and newest slots that may hold calls.
    oldest: u64,
    newest: u64,
    /// Calls in the ring.
    total: u64,
    /// Calls at times before this have left the span.
    gone_before: u64,
}

impl Ring {
    fn new() -> Self {
        Self {
            slots: vec![Slot::default(); SLOTS].into_boxed_slice(),
            oldest: 0,
            newest: 0,
            total: 0,
            gone_before: 0,
        }
    }

    fn at(&mut self, index: u64) -> &mut Slot {
        &mut self.slots[(index % SLOTS as u64) as usize]
    }

    /// Moves the frontier to `now - span` (never back) and drops slots wholly behind it.
    fn purge(&mut self, now: u64, span: u64) {
        self.gone_before = self.gone_before.max((now + 1).saturating_sub(span));
        while self.total > 0 && self.oldest <= self.newest {
            let gone = self.gone_before;
            let slot = self.at(self.oldest);
            if slot.count > 0 && slot.last >= gone {
                return;
            }
            let count = std::mem::take(slot).count;
            self.total -= count;
            self.oldest += 1;
        }
        self.total = 0;
    }

    /// Counts `n` calls at `now` (after a purge with the current span, which keeps every live
    /// slot within `SLOTS` of the newest).
    fn add(&mut self, now: u64, n: u64, width: u64) {
        if n == 0 {
            return;
        }
        let index = now / width;
        if self.total == 0 {
            self.oldest = index;
            self.newest = index;
        } else if index > self.newest {
            self.newest = index;
        }
        let slot = self.at(self.newest);
        if slot.count == 0 {
            slot.first = now;
        }
        slot.count = slot.count.saturating_add(n);
        slot.first = slot.first.min(now);
        slot.last = slot.last.max(now);
        self.total = self.total.saturating_add(n);
    }

    /// Calls wholly inside the span: those an exact log certainly still holds. Slots are in
    /// time order, so after a purge only the oldest can straddle the frontier.
    fn certain(&self) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let oldest = &self.slots[(self.oldest % SLOTS as u64) as usize];
        if oldest.first < self.gone_before {
            self.total - oldest.count
        } else {
            self.total
        }
    }

    fn live(&self) -> impl Iterator<Item = &Slot> + '_ {
        let n = if self.total == 0 {
            0
        } else {
            self.newest - self.oldest + 1
        };
        (self.oldest..self.oldest + n)
            .map(|i| &self.slots[(i % SLOTS as u64) as usize])
            .filter(|s| s.count > 0)
    }

    /// How long until at most `limit - 1` calls are counted, with the current span.
    fn wait(&self, now: u64, span: u64, limit: u64) -> u64 {
        let excess = self.total.saturating_sub(limit.saturating_sub(1));
        let mut dropped = 0u64;
        for slot in self.live() {
            dropped += slot.count;
            if dropped >= excess {
                // The slot leaves when the frontier (now - span) passes its latest call.
                return (slot.last.saturating_add(span)).saturating_sub(now).max(1);
            }
        }
        1
    }

    /// Re-files the live slots on a grid of another width (window or slack changed), each by
    /// its latest call, so no call leaves sooner. Call after a purge with the new span.
    fn regrid(&mut self, width: u64) {
        let live: Vec<Slot> = self.live().copied().collect();
        let gone_before = self.gone_before;
        *self = Self::new();
        self.gone_before = gone_before;
        for s in live {
            let index = s.last / width;
            if self.total == 0 {
                self.oldest = index;
            }
            self.newest = index;
            let slot = self.at(index);
            if slot.count == 0 {
                *slot = s;
            } else {
                slot.count = slot.count.saturating_add(s.count);
                slot.first = slot.first.min(s.first);
                slot.last = slot.last.max(s.last);
            }
            self.total = self.total.saturating_add(s.count);
        }
    }
}

#[derive(Debug)]
struct Window {
    limit: Option<u32>,
    ring: Ring,
    /// Blocked by a 429 until this time (same clock as the ring).
    blocked_until: Option<u64>,
    server_remaining: Option<u32>,
}

impl Window {
    fn new() -> Self {
        Self {
            limit: None,
            ring: Ring::new(),
            blocked_until: None,
            server_remaining: None,
        }
    }
}

#[derive(Debug)]
struct LocalState {
    window: Duration,
    slack: Duration,
    /// Slot width in nanoseconds: the longest span / (`SLOTS` - 1).
    width: u64,
    /// Few methods (one per HTTP method used), so a scan beats hashing.
    methods: Vec<(Method, Window)>,
    concurrency: Option<u32>,
    in_flight: u32,
    server_concurrency_remaining: Option<u32>,
    rejections: u64,
    /// A decaying maximum of recent call latencies: how late the server may see a call we
    /// counted at admission.
    latency: Duration,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The slot width for a window and slack: the longest span a call can stay counted (window
/// plus the largest margin) over `SLOTS - 1` slots, so all live slots fit in the ring.
fn slot_width(window: Duration, slack: Duration) -> u64 {
    let horizon = nanos(window).saturating_add(nanos(slack.max(window / 4)));
    horizon.div_ceil(SLOTS as u64 - 1).max(1)
}

impl LocalState {
    /// How long a call stays counted: the window, plus a margin for the server seeing it later
    /// than we admitted it (the larger of the fixed slack and recent latency, at most a quarter
    /// of the window).
    fn span(&self) -> u64 {
        nanos(self.window).saturating_add(nanos(self.slack.max(self.latency.min(self.window / 4))))
    }

    fn window_mut(&mut self, method: &Method) -> &mut Window {
        let i = match self.methods.iter().position(|(m, _)| m == method) {
            Some(i) => i,
            None => {
                self.methods.push((method.clone(), Window::new()));
                self.methods.len() - 1
            }
        };
        &mut self.methods[i].1
    }

    /// A new window or slack: a new slot width, every ring re-filed on it.
    fn regrid(&mut self, now: u64) {
        let width = slot_width(self.window, self.slack);
        if width == self.width {
            return;
        }
        self.width = width;
        let span = self.span();
        for (_, w) in &mut self.methods {
            w.ring.purge(now, span);
            w.ring.regrid(width);
        }
    }
}

/// Rate-limit state in this process's memory, in constant space per method.
///
/// Each method's sliding window is a ring of 256 per-slot counters spanning the longest time a
/// call can stay counted (window + the largest margin). A call stays counted until the latest
/// call of its slot has left the span, so the server never sees one call too many in any
/// window it measures — no call is forgotten sooner than an exact timestamp log would forget
/// it. **Worst-case cost:** a call can stay counted one slot width (1.25 × window / 255, under
/// 0.5 % of the window) longer than in an exact log, costing at most that fraction of
/// throughput at the limit; and while a slot straddles the span's edge, a count reported by the
/// server is matched only against calls wholly inside the span, so up to that one slot's calls
/// may be counted twice for a span (never when the margin is at least a slot width, as for
/// windows up to 5 s with the default 25 ms slack). Memory and time per call are O(1), however
/// large a limit a server announces.
///
/// Every call takes one lock: admission ([`RateLimitBackend::try_acquire`]) and completion
/// ([`RateLimitBackend::complete`], learning and freeing the slot together).
#[derive(Debug)]
pub struct LocalRateLimitBackend {
    clock: SharedClock,
    epoch: Instant,
    state: Mutex<LocalState>,
}

impl LocalRateLimitBackend {
    /// An empty backend (no limits until configured or observed).
    pub fn new(clock: SharedClock, window: Duration) -> Self {
        let window = clamp::window(window);
        let slack = Duration::from_millis(25);
        Self {
            epoch: clock.now(),
            clock,
            state: Mutex::new(LocalState {
                window,
                slack,
                width: slot_width(window, slack),
                methods: Vec::new(),
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
    pub fn with_slack(self, slack: Duration) -> Self {
        let now = self.now();
        {
            let mut st = self.lock();
            st.slack = slack.min(clamp::MAX_WINDOW);
            st.regrid(now);
        }
        self
    }

    /// How much longer than an exact log a call may stay counted: the slot width.
    pub fn granularity(&self) -> Duration {
        Duration::from_nanos(self.lock().width)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Now on the ring's clock: nanoseconds since the epoch, plus one (0 is "before all").
    fn now(&self) -> u64 {
        nanos(self.clock.now().saturating_duration_since(self.epoch)).saturating_add(1)
    }

    fn apply(&self, limits: &RateLimits) {
        let now = self.now();
        let mut st = self.lock();
        if let Some(w) = limits.window {
            st.window = clamp::window(w);
            st.regrid(now);
        }
        for (method, limit) in &limits.per_method {
            // A name that is no HTTP method names no call we make.
            if let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) {
                st.window_mut(&m).limit = Some(clamp::rate_limit((*limit).into()));
            }
        }
        if let Some(c) = limits.concurrency {
            st.concurrency = Some(clamp::concurrency_limit(c.into()));
        }
    }

    fn learn(&self, st: &mut LocalState, o: &RateObservation) {
        let now = self.now();
        let span = st.span();
        if o.rejected {
            st.rejections += 1;
        }
        if let Some(latency) = o.latency {
            // Decays by 1/32 per answer, so one slow call widens the margin only for a while.
            st.latency = latency
                .min(clamp::MAX_WINDOW)
                .max(st.latency - st.latency / 32);
        }
        if let Some(c) = o.concurrency_limit {
            st.concurrency = Some(clamp::concurrency_limit(c.into()));
        }
        if let Some(c) = o.concurrency_remaining {
            st.server_concurrency_remaining = Some(clamp::concurrency_remaining(c.into()));
        }
        let width = st.width;
        let w = st.window_mut(&o.method);
        if let Some(limit) = o.limit {
            w.limit = Some(clamp::rate_limit(limit.into()));
        }
        w.ring.purge(now, span);
        let remaining = if o.rejected && o.retry_after.is_none() {
            Some(0)
        } else {
            o.remaining
                .map(|r| clamp::rate_remaining(r.into(), clamp::MAX_RATE_LIMIT))
        };
        w.server_remaining = remaining;
        if let (Some(limit), Some(remaining)) = (w.limit, remaining) {
            // The server knows of calls we did not count (other clients, an earlier run, a
            // window that started before us): count them from now, conservatively. Matched
            // against calls an exact log would certainly still hold, so we never count fewer.
            let server_used = u64::from(limit.saturating_sub(remaining));
            let phantoms = server_used.saturating_sub(w.ring.certain());
            w.ring.add(now, phantoms, width);
        }
        if o.rejected {
            if let Some(wait) = o.retry_after {
                let until = now.saturating_add(nanos(clamp::retry_after(wait)));
                w.blocked_until = Some(w.blocked_until.map_or(until, |b| b.max(until)));
            }
        }
    }
}

#[async_trait]
impl RateLimitBackend for LocalRateLimitBackend {
    async fn try_acquire(&self, method: &Method) -> Result<Admission> {
        let now = self.now();
        let mut guard = self.lock();
        let st = &mut *guard;
        let span = st.span();
        let width = st.width;
        let concurrency_full = st.concurrency.is_some_and(|c| st.in_flight >= c.max(1));
        let w = st.window_mut(method);
        if let Some(until) = w.blocked_until {
            if until > now {
                return Ok(Admission::Wait(Some(Duration::from_nanos(until - now))));
            }
            w.blocked_until = None;
        }
        w.ring.purge(now, span);
        if let Some(limit) = w.limit {
            let limit = u64::from(limit.max(1));
            if w.ring.total >= limit {
                let wait = w.ring.wait(now, span, limit);
                return Ok(Admission::Wait(Some(Duration::from_nanos(wait))));
            }
        }
        if concurrency_full {
            return Ok(Admission::Wait(None));
        }
        w.ring.add(now, 1, width);
        st.in_flight += 1;
        Ok(Admission::Granted(Lease {
            method: method.clone(),
            id: String::new(),
        }))
    }

    fn release(&self, _lease: Lease) {
        let mut st = self.lock();
        st.in_flight = st.in_flight.saturating_sub(1);
    }

    async fn observe(&self, o: &RateObservation) -> Result<()> {
        let mut st = self.lock();
        self.learn(&mut st, o);
        Ok(())
    }

    async fn complete(&self, _lease: Lease, o: &RateObservation) -> Result<()> {
        let mut st = self.lock();
        self.learn(&mut st, o);
        st.in_flight = st.in_flight.saturating_sub(1);
        Ok(())
    }

    async fn configure(&self, limits: &RateLimits) -> Result<()> {
        self.apply(limits);
        Ok(())
    }

    async fn status(&self) -> Result<RateLimitStatus> {
        let now = self.now();
        let mut st = self.lock();
        let span = st.span();
        let mut methods = BTreeMap::new();
        for (m, w) in st.methods.iter_mut() {
            w.ring.purge(now, span);
            methods.insert(
                m.as_str().to_string(),
                MethodStatus {
                    limit: w.limit,
                    used: u32::try_from(w.ring.total).unwrap_or(u32::MAX),
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
