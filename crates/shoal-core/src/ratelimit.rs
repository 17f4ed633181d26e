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
#[non_exhaustive]
pub struct RateLimits {
    /// Calls allowed per window, by method.
    pub per_method: BTreeMap<String, u32>,
    /// Concurrent calls allowed across all methods.
    pub concurrency: Option<u32>,
    /// The window length, when the service says it.
    pub window: Option<Duration>,
}

impl RateLimits {
    /// Limits of `per_method` calls per window (method names as the server writes them), at most
    /// `concurrency` at once, over `window` (each `None` when the service does not say).
    pub fn new(
        per_method: impl IntoIterator<Item = (String, u32)>,
        concurrency: Option<u32>,
        window: Option<Duration>,
    ) -> Self {
        Self {
            per_method: per_method.into_iter().collect(),
            concurrency,
            window,
        }
    }
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
    /// When the backend admitted the call, on its own clock (0 where a backend keeps none).
    pub admitted: u64,
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
    /// [`try_acquire`](Self::try_acquire) without awaiting, for a backend whose state is in
    /// this process; `None` (the default) when it must be awaited. The limiter asks this first,
    /// so a call admitted at once costs no boxed future.
    fn try_acquire_now(&self, method: &Method) -> Option<Result<Admission>> {
        let _ = method;
        None
    }
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
    /// [`complete`](Self::complete) without awaiting, where the backend can; otherwise (the
    /// default) the lease comes back in `Err`, untouched, to be completed by awaiting.
    fn complete_now(
        &self,
        lease: Lease,
        observation: &RateObservation,
    ) -> std::result::Result<Result<()>, Lease> {
        let _ = observation;
        Err(lease)
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

    /// Learns from the answer and frees the slot, in one backend call. The learning happens
    /// before the slot is free.
    pub async fn complete(mut self, status: StatusCode, headers: &HeaderMap) -> Result<()> {
        let Some(lease) = self.lease.take() else {
            return Ok(());
        };
        let shared = &*self.shared;
        let observation = shared
            .headers
            .read(&lease.method, status, headers, || shared.clock.system_now());
        let _wake = WakeOnDrop(&shared.released);
        match shared.backend.complete_now(lease, &observation) {
            Ok(done) => done,
            Err(lease) => shared.backend.complete(lease, &observation).await,
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

    /// A permit at once, if the backend can admit without awaiting and does; `None` when the
    /// call must wait for it ([`acquire`](Self::acquire)).
    pub fn admit_now(&self, method: &Method) -> Option<Result<Permit>> {
        match self.shared.backend.try_acquire_now(method)? {
            Ok(Admission::Granted(lease)) => Some(Ok(self.permit(lease))),
            Ok(Admission::Wait(_)) => None,
            Err(e) => Some(Err(e)),
        }
    }

    async fn try_acquire(&self, method: &Method) -> Result<Admission> {
        let backend = &self.shared.backend;
        match backend.try_acquire_now(method) {
            Some(admission) => admission,
            None => backend.try_acquire(method).await,
        }
    }

    /// Waits until a call of `method` may be sent.
    pub async fn acquire(&self, method: &Method) -> Result<Permit> {
        let shared = &*self.shared;
        // The fast path registers no waiter: most calls are admitted at once.
        if let Admission::Granted(lease) = self.try_acquire(method).await? {
            return Ok(self.permit(lease));
        }
        loop {
            let notified = shared.released.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let _waiting = WaitingGuard::new(&shared.released);
            // Asked again once registered, so a release in between cannot be missed.
            match self.try_acquire(method).await? {
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
        let shared = &*self.shared;
        let observation = shared
            .headers
            .read(method, status, headers, || shared.clock.system_now());
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

/// Buckets in each method's ring: memory per method is fixed (`BUCKETS` × 40 bytes, 10 KiB)
/// whatever the limit.
const BUCKETS: usize = 256;

/// What one stretch of time holds: our calls, calls the server counted that we did not
/// ("phantoms", counted from when we learned of them), and the earliest and latest moment
/// among them (nanoseconds since the backend's epoch, plus one so that 0 is "before all").
///
/// A *sure* phantom stands for one the exact log would have added at the same moment; an
/// *unsure* one may have none (it covers our own calls whose exact time we no longer know), so
/// it is only ever used again by moving it to the present.
#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    calls: u64,
    sure: u64,
    unsure: u64,
    first: u64,
    last: u64,
}

impl Bucket {
    fn count(&self) -> u64 {
        self.calls + self.sure + self.unsure
    }

    fn absorb(&mut self, other: &Bucket) {
        self.calls += other.calls;
        self.sure += other.sure;
        self.unsure += other.unsure;
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }
}

/// One method's calls in a fixed ring of buckets, oldest first.
///
/// A bucket stays counted until its *latest* entry has left the span (the frontier below
/// passed it), so every call stays counted at least as long as an exact log would keep it, and
/// at most one bucket width longer. The frontier moves exactly as an exact log's purge would:
/// at each check, to `now - span` with that moment's span. A new bucket starts when the newest
/// is `fine` wide; when all are in use, the two neighbours spanning the least time merge.
/// Buckets are disjoint stretches in time order, so only the oldest can straddle the frontier.
#[derive(Debug)]
struct Ring {
    buckets: Box<[Bucket]>,
    /// Position of the oldest bucket, and how many are in use.
    head: usize,
    len: usize,
    calls: u64,
    sure: u64,
    unsure: u64,
    /// Entries at times before this have left the span.
    gone_before: u64,
}

impl Ring {
    fn new() -> Self {
        Self {
            buckets: vec![Bucket::default(); BUCKETS].into_boxed_slice(),
            head: 0,
            len: 0,
            calls: 0,
            sure: 0,
            unsure: 0,
            gone_before: 0,
        }
    }

    fn total(&self) -> u64 {
        self.calls
            .saturating_add(self.sure)
            .saturating_add(self.unsure)
    }

    /// The newest bucket's latest entry (0 if none).
    fn latest(&self) -> u64 {
        if self.len == 0 {
            0
        } else {
            self.get(self.len - 1).last
        }
    }

    /// The `i`-th bucket from the oldest.
    fn get(&self, i: usize) -> &Bucket {
        &self.buckets[(self.head + i) % BUCKETS]
    }

    fn get_mut(&mut self, i: usize) -> &mut Bucket {
        &mut self.buckets[(self.head + i) % BUCKETS]
    }

    /// Moves the frontier to `now - span` (never back) and drops buckets wholly behind it.
    fn purge(&mut self, now: u64, span: u64) {
        self.gone_before = self.gone_before.max((now + 1).saturating_sub(span));
        while self.len > 0 {
            let b = *self.get(0);
            if b.count() > 0 && b.last >= self.gone_before {
                return;
            }
            self.calls -= b.calls;
            self.sure -= b.sure;
            self.unsure -= b.unsure;
            self.head = (self.head + 1) % BUCKETS;
            self.len -= 1;
        }
    }

    /// Counts entries at `now`.
    fn add(&mut self, now: u64, fine: u64, entry: Bucket) {
        if entry.count() == 0 {
            return;
        }
        let entry = Bucket {
            first: now,
            last: now,
            ..entry
        };
        self.calls = self.calls.saturating_add(entry.calls);
        self.sure = self.sure.saturating_add(entry.sure);
        self.unsure = self.unsure.saturating_add(entry.unsure);
        if self.len > 0 {
            let newest = self.get_mut(self.len - 1);
            if newest.count() == 0 || now.saturating_sub(newest.first) < fine {
                if newest.count() == 0 {
                    newest.first = now;
                }
                newest.absorb(&entry);
                return;
            }
        }
        if self.len == BUCKETS {
            self.merge_narrowest();
        }
        self.len += 1;
        *self.get_mut(self.len - 1) = entry;
    }

    /// Frees a bucket by merging the two neighbours that together span the least time (so the
    /// widest merged bucket stays within about two spans / `BUCKETS`).
    fn merge_narrowest(&mut self) {
        let mut best = 0;
        let mut best_width = u64::MAX;
        for i in 0..self.len - 1 {
            let width = self.get(i + 1).last - self.get(i).first;
            if width < best_width {
                best = i;
                best_width = width;
            }
        }
        let next = *self.get(best + 1);
        self.get_mut(best).absorb(&next);
        for i in best + 1..self.len - 1 {
            let moved = *self.get(i + 1);
            *self.get_mut(i) = moved;
        }
        self.len -= 1;
    }

    /// The oldest bucket, if it straddles the frontier (some of its entries may have left an
    /// exact log's span).
    fn straddling(&self) -> Option<Bucket> {
        let oldest = *self.get(0);
        (self.len > 0 && oldest.first < self.gone_before).then_some(oldest)
    }

    /// The server counts `server_used` calls in its window: make sure we count at least as
    /// many from now on as an exact log would (its rule: add what it lacks, dated now), in
    /// constant time and space. Returns how many entries were new.
    ///
    /// An exact log certainly holds our `pending` calls, and our calls and sure phantoms wholly
    /// inside the span; those are matched as they are. What else is needed is covered by our other phantoms, moved to
    /// now, and then by new phantoms: sure as far as even our whole count falls short (the
    /// log, which counts no more than we do, lacks at least that much), unsure beyond.
    fn match_server(&mut self, now: u64, fine: u64, server_used: u64, pending: u64) -> u64 {
        let straddling = self.straddling().unwrap_or_default();
        let held = (self.calls - straddling.calls) + (self.sure - straddling.sure) + pending;
        let need = server_used.saturating_sub(held);
        if need == 0 {
            return 0;
        }
        let movable = self.unsure + straddling.sure;
        let moved = need.min(movable);
        let fresh = need - moved;
        let sure = server_used
            .saturating_sub(self.total().saturating_add(pending))
            .min(fresh);
        self.take_movable(moved, straddling.count() > 0);
        self.add(
            now,
            fine,
            Bucket {
                sure,
                unsure: moved + fresh - sure,
                ..Bucket::default()
            },
        );
        fresh
    }

    /// Removes `n` movable phantoms (unsure ones, and sure ones of a straddling bucket), newest
    /// first: in a steady state they sit in the newest bucket, so this is a step or two.
    fn take_movable(&mut self, mut n: u64, straddling: bool) {
        for i in (0..self.len).rev() {
            if n == 0 {
                return;
            }
            let b = self.get_mut(i);
            let unsure = n.min(b.unsure);
            b.unsure -= unsure;
            n -= unsure;
            let sure = if straddling && i == 0 {
                n.min(b.sure)
            } else {
                0
            };
            b.sure -= sure;
            n -= sure;
            self.unsure -= unsure;
            self.sure -= sure;
        }
    }

    /// How long until at most `limit - 1` entries are counted, with the current span.
    fn wait(&self, now: u64, span: u64, limit: u64) -> u64 {
        let excess = self.total().saturating_sub(limit.saturating_sub(1));
        let mut dropped = 0u64;
        for i in 0..self.len {
            let b = self.get(i);
            dropped += b.count();
            if dropped >= excess && b.count() > 0 {
                // The bucket leaves when the frontier (now - span) passes its latest entry.
                return b.last.saturating_add(span).saturating_sub(now).max(1);
            }
        }
        1
    }
}

#[derive(Debug)]
struct Window {
    limit: Option<u32>,
    ring: Ring,
    /// Calls admitted and not yet answered: the server may count any of them from any moment
    /// up to its answer, so each enters the ring only then.
    pending: u64,
    /// Blocked by a 429 until this time (same clock as the ring).
    blocked_until: Option<u64>,
    server_remaining: Option<u32>,
}

impl Window {
    fn new() -> Self {
        Self {
            limit: None,
            ring: Ring::new(),
            pending: 0,
            blocked_until: None,
            server_remaining: None,
        }
    }
}

#[derive(Debug)]
struct LocalState {
    window: Duration,
    slack: Duration,
    /// Few methods (one per HTTP method used), so a scan beats hashing.
    methods: Vec<(Method, Window)>,
    concurrency: Option<u32>,
    in_flight: u32,
    server_concurrency_remaining: Option<u32>,
    rejections: u64,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl LocalState {
    /// How long a dated call stays counted: the window, plus the slack (see
    /// [`LocalRateLimitBackend::with_slack`]).
    fn span(&self) -> u64 {
        nanos(self.window).saturating_add(nanos(self.slack))
    }

    /// The width at which a new bucket starts: half the slack, so that the bucket at the
    /// span's edge holds no call the server still counts; and narrow enough that the buckets
    /// cover the span before any must merge.
    fn fine(&self) -> u64 {
        let span = self.span();
        (nanos(self.slack) / 2)
            .min(span.div_ceil(BUCKETS as u64 - 1))
            .max(1)
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
}

/// Rate-limit state in this process's memory, in constant space per method.
///
/// A call is counted from its admission. While it waits for its answer the server may count it
/// from any moment, so it is counted as pending. Its answer proves the server has counted it
/// by then, so once answered (or abandoned) it stays counted for a window from then, and at
/// least for the window plus a slack (25 ms) from its admission. Dating a call at its
/// admission, with a margin for latency, let a slow first call (a connection being set up)
/// leave our window while the server, which saw it late, still counted it.
///
/// Each method's sliding window is a ring of 256 buckets (answered calls per stretch of time,
/// with the earliest and latest of them). A bucket stays counted until its latest call has left
/// the span, and a count the server reports is matched only against calls wholly inside the
/// span, so the limiter never counts fewer calls than an exact timestamp log of the same dates
/// would: the server never sees one call too many in any window it measures. Memory and time
/// per call are O(1), however large a limit a server announces.
///
/// **Worst-case cost** against an exact log: a call stays counted at most one bucket width
/// longer. Buckets are [`granularity`](Self::granularity) wide (half the slack, or 1.25 ×
/// window / 255 if narrower) until more than 256 stretches hold calls; then neighbours merge,
/// and a bucket spans at most about 2 × span / 255 (under 1 % of the window). While the server
/// reports counts, the calls of the bucket straddling the span's edge may be counted a second
/// time (as the server's) for a span — never while buckets are at most half the slack wide,
/// as they are unless calls are spread over more than 256 buckets' worth of the span, where a
/// bucket holds about 1/128 of them. So at the limit: at most about 1.5 % of throughput,
/// usually a fraction of that, besides each call's own round trip.
///
/// Each call takes one lock at admission ([`RateLimitBackend::try_acquire`]) and one at
/// completion ([`RateLimitBackend::complete`], learning and freeing the slot together).
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
                methods: Vec::new(),
                concurrency: None,
                in_flight: 0,
                server_concurrency_remaining: None,
                rejections: 0,
            }),
        }
    }

    /// Extra time each call stays counted past a window from its admission, and an abandoned
    /// call past a window from when it was abandoned (it may reach the server late); default
    /// 25 ms.
    pub fn with_slack(self, slack: Duration) -> Self {
        {
            let mut st = self.lock();
            st.slack = slack.min(clamp::MAX_WINDOW);
        }
        self
    }

    /// How wide a new bucket is now (half the slack, or 1.25 × window / 255 if narrower):
    /// while fewer than 256 stretches hold calls, how much longer than an exact log a call may
    /// stay counted.
    pub fn granularity(&self) -> Duration {
        Duration::from_nanos(self.lock().fine())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Now on the ring's clock: nanoseconds since the epoch, plus one (0 is "before all").
    fn now(&self) -> u64 {
        nanos(self.clock.now().saturating_duration_since(self.epoch)).saturating_add(1)
    }

    fn apply(&self, limits: &RateLimits) {
        let mut st = self.lock();
        if let Some(w) = limits.window {
            st.window = clamp::window(w);
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

    /// A leased call was answered (or abandoned): it is dated, and its slot is free. An answered
    /// call is dated a slack before now, so it stays counted a window from its answer (by which
    /// the server has counted it), but never before its admission (so at least a span from
    /// there) nor before the newest bucket's latest call (the ring stays in time order). An
    /// abandoned one may still reach the server: it is dated now.
    fn answered(&self, st: &mut LocalState, now: u64, lease: &Lease, answered: bool) {
        let fine = st.fine();
        let slack = if answered { nanos(st.slack) } else { 0 };
        st.in_flight = st.in_flight.saturating_sub(1);
        let w = st.window_mut(&lease.method);
        if w.pending > 0 {
            w.pending -= 1;
            let at = now
                .saturating_sub(slack)
                .max(lease.admitted)
                .max(w.ring.latest())
                .min(now);
            w.ring.add(
                at,
                fine,
                Bucket {
                    calls: 1,
                    ..Bucket::default()
                },
            );
        }
    }

    fn learn(&self, st: &mut LocalState, now: u64, o: &RateObservation) {
        let span = st.span();
        if o.rejected {
            st.rejections += 1;
        }
        if let Some(c) = o.concurrency_limit {
            st.concurrency = Some(clamp::concurrency_limit(c.into()));
        }
        if let Some(c) = o.concurrency_remaining {
            st.server_concurrency_remaining = Some(clamp::concurrency_remaining(c.into()));
        }
        let fine = st.fine();
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
            // window that started before us): count them from now, conservatively, never
            // fewer than an exact log would (see `Ring::match_server`).
            let server_used = u64::from(limit.saturating_sub(remaining));
            w.ring.match_server(now, fine, server_used, w.pending);
        }
        if o.rejected {
            if let Some(wait) = o.retry_after {
                let until = now.saturating_add(nanos(clamp::retry_after(wait)));
                w.blocked_until = Some(w.blocked_until.map_or(until, |b| b.max(until)));
            }
        }
    }
}

impl LocalRateLimitBackend {
    fn admit(&self, method: &Method) -> Admission {
        let now = self.now();
        let mut guard = self.lock();
        let st = &mut *guard;
        let span = st.span();
        let concurrency_full = st.concurrency.is_some_and(|c| st.in_flight >= c.max(1));
        let w = st.window_mut(method);
        if let Some(until) = w.blocked_until {
            if until > now {
                return Admission::Wait(Some(Duration::from_nanos(until - now)));
            }
            w.blocked_until = None;
        }
        w.ring.purge(now, span);
        if let Some(limit) = w.limit {
            let limit = u64::from(limit.max(1));
            if w.ring.total().saturating_add(w.pending) >= limit {
                // Only answered calls leave by time; pending ones leave a span after their answer.
                return Admission::Wait(match limit.checked_sub(w.pending) {
                    Some(free) if free > 0 => {
                        Some(Duration::from_nanos(w.ring.wait(now, span, free)))
                    }
                    _ => None,
                });
            }
        }
        if concurrency_full {
            return Admission::Wait(None);
        }
        w.pending += 1;
        st.in_flight += 1;
        Admission::Granted(Lease {
            method: method.clone(),
            id: String::new(),
            admitted: now,
        })
    }

    /// Dates an answered call and learns from its answer, under one lock.
    fn finish(&self, lease: &Lease, o: &RateObservation) {
        let mut st = self.lock();
        // Read under the lock, once for both steps: entries are added in time order.
        let now = self.now();
        self.answered(&mut st, now, lease, true);
        self.learn(&mut st, now, o);
    }
}

#[async_trait]
impl RateLimitBackend for LocalRateLimitBackend {
    async fn try_acquire(&self, method: &Method) -> Result<Admission> {
        Ok(self.admit(method))
    }

    fn try_acquire_now(&self, method: &Method) -> Option<Result<Admission>> {
        Some(Ok(self.admit(method)))
    }

    fn complete_now(
        &self,
        lease: Lease,
        o: &RateObservation,
    ) -> std::result::Result<Result<()>, Lease> {
        self.finish(&lease, o);
        Ok(Ok(()))
    }

    fn release(&self, lease: Lease) {
        let mut st = self.lock();
        let now = self.now();
        self.answered(&mut st, now, &lease, false);
    }

    async fn observe(&self, o: &RateObservation) -> Result<()> {
        let mut st = self.lock();
        let now = self.now();
        self.learn(&mut st, now, o);
        Ok(())
    }

    async fn complete(&self, lease: Lease, o: &RateObservation) -> Result<()> {
        self.finish(&lease, o);
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
            let used = w.ring.total().saturating_add(w.pending);
            methods.insert(
                m.as_str().to_string(),
                MethodStatus {
                    limit: w.limit,
                    used: u32::try_from(used).unwrap_or(u32::MAX),
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
        let limits = RateLimits::new([("GET".to_string(), get)], concurrency, None);
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

    /// A backend that answers only when awaited (as a shared one does).
    #[derive(Debug)]
    struct AwaitedOnly(LocalRateLimitBackend);

    #[async_trait]
    impl RateLimitBackend for AwaitedOnly {
        async fn try_acquire(&self, method: &Method) -> Result<Admission> {
            self.0.try_acquire(method).await
        }
        fn release(&self, lease: Lease) {
            self.0.release(lease);
        }
        async fn observe(&self, o: &RateObservation) -> Result<()> {
            self.0.observe(o).await
        }
        async fn complete(&self, lease: Lease, o: &RateObservation) -> Result<()> {
            self.0.complete(lease, o).await
        }
        async fn configure(&self, limits: &RateLimits) -> Result<()> {
            self.0.configure(limits).await
        }
        async fn status(&self) -> Result<RateLimitStatus> {
            self.0.status().await
        }
    }

    #[tokio::test]
    async fn an_in_memory_limiter_admits_at_once_and_an_awaited_one_through_acquire() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 1, None);
        let permit = l.admit_now(&Method::GET).expect("in memory").unwrap();
        assert!(l.admit_now(&Method::GET).is_none(), "the window is full");
        permit
            .complete(StatusCode::OK, &HeaderMap::new())
            .await
            .unwrap();
        assert_eq!(l.status().await.unwrap().methods["GET"].used, 1);

        let backend = LocalRateLimitBackend::new(clock.shared(), Duration::from_secs(60));
        backend.apply(&RateLimits::new([("GET".to_string(), 1)], None, None));
        let awaited = RateLimiter::new(
            Arc::new(AwaitedOnly(backend)),
            RateLimitHeaders::x_rate(),
            clock.shared(),
        );
        assert!(awaited.admit_now(&Method::GET).is_none(), "must be awaited");
        let permit = awaited.acquire(&Method::GET).await.unwrap();
        permit
            .complete(StatusCode::OK, &HeaderMap::new())
            .await
            .unwrap();
        assert_eq!(awaited.status().await.unwrap().methods["GET"].used, 1);
        assert!(admitted_now(&awaited, &Method::GET).await.is_none());
    }

    /// One GET admitted now and answered `latency` later.
    async fn answered_after(l: &RateLimiter, clock: &ManualClock, latency: Duration) {
        let permit = l.acquire(&Method::GET).await.unwrap();
        clock.advance(latency);
        permit
            .complete(StatusCode::OK, &HeaderMap::new())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn slow_answers_keep_calls_counted_longer() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 1, None);
        // The answer took 400 ms: the server may have counted the call that much later.
        answered_after(&l, &clock, Duration::from_millis(400)).await;
        clock.advance(Duration::from_millis(59_999));
        assert!(
            admitted_now(&l, &Method::GET).await.is_none(),
            "counted a window from its answer"
        );
        clock.advance(Duration::from_millis(1));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
    }

    /// The paced import's one 429 in CI: a slow first answer, then a window's worth of fast
    /// ones. A margin for latency that decayed per answer had forgotten the slow call by the
    /// time the server, which saw it late, still counted it.
    #[tokio::test]
    async fn a_slow_answer_is_counted_from_its_answer_after_many_fast_ones() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 200, None);
        answered_after(&l, &clock, Duration::from_millis(400)).await;
        clock.advance(Duration::from_secs(10));
        for _ in 0..199 {
            answered_after(&l, &clock, Duration::from_micros(10)).await;
        }
        clock.advance(Duration::from_millis(50_000 - 2));
        assert!(
            admitted_now(&l, &Method::GET).await.is_none(),
            "the server may count the first call until 60.4 s"
        );
        clock.advance(Duration::from_millis(30));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
    }

    #[tokio::test]
    async fn a_call_still_waiting_for_its_answer_stays_counted() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 1, None);
        let permit = l.acquire(&Method::GET).await.unwrap();
        clock.advance(Duration::from_secs(300));
        let st = l.status().await.unwrap();
        assert_eq!(st.methods["GET"].used, 1, "pending, however long");
        use futures_util::FutureExt;
        let waiting = l.acquire(&Method::GET);
        tokio::pin!(waiting);
        assert!(waiting.as_mut().now_or_never().is_none());
        // Abandoned now: the server may still see it, so it is counted a span from here.
        drop(permit);
        assert!(waiting.as_mut().now_or_never().is_none());
        clock.advance(Duration::from_millis(60_024));
        assert!(waiting.as_mut().now_or_never().is_none());
        clock.advance(Duration::from_millis(1));
        assert!(waiting.as_mut().now_or_never().is_some());
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

    fn hostile(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        h
    }

    #[tokio::test]
    async fn a_hostile_limit_is_clamped_and_costs_no_memory() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 100, None);
        // One answer claiming four billion calls used: the old log pushed that many entries.
        let h = hostile(&[("x-rate-limit", b"4294967295"), ("x-rate-remaining", b"0")]);
        l.observe(&Method::GET, StatusCode::OK, &h).await.unwrap();
        let st = l.status().await.unwrap();
        assert_eq!(st.methods["GET"].limit, Some(clamp::MAX_RATE_LIMIT));
        assert_eq!(st.methods["GET"].used, clamp::MAX_RATE_LIMIT);
        assert!(admitted_now(&l, &Method::GET).await.is_none());
        clock.advance(Duration::from_secs(61));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
    }

    #[tokio::test]
    async fn header_values_that_are_not_decimal_integers_are_ignored() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 7, None);
        for bad in [
            &b""[..],
            b"1e9",
            b"0x10",
            b"\xe5\x85\xad",
            "\u{0663}".as_bytes(),
            b"6.5",
        ] {
            let h = hostile(&[("x-rate-limit", bad), ("x-concurrency-limit", bad)]);
            l.observe(&Method::GET, StatusCode::OK, &h).await.unwrap();
        }
        let st = l.status().await.unwrap();
        assert_eq!(st.methods["GET"].limit, Some(7), "nothing learned");
        assert_eq!(st.concurrency_limit, None);
        // Integers out of range clamp to the nearest end.
        let h = hostile(&[
            ("x-rate-limit", b"-1"),
            ("x-concurrency-limit", b"18446744073709551616000"),
        ]);
        l.observe(&Method::GET, StatusCode::OK, &h).await.unwrap();
        let st = l.status().await.unwrap();
        assert_eq!(st.methods["GET"].limit, Some(1));
        assert_eq!(st.concurrency_limit, Some(clamp::MAX_CONCURRENCY_LIMIT));
    }

    #[tokio::test]
    async fn a_retry_after_of_any_size_blocks_for_at_most_a_day() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 100, None);
        for value in [
            &b"18446744073709551615"[..],
            b"Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let h = hostile(&[("retry-after", value)]);
            l.observe(&Method::PUT, StatusCode::TOO_MANY_REQUESTS, &h)
                .await
                .unwrap();
        }
        assert!(admitted_now(&l, &Method::PUT).await.is_none());
        clock.advance(clamp::MAX_RETRY_AFTER);
        assert!(admitted_now(&l, &Method::PUT).await.is_some());
    }

    #[tokio::test]
    async fn complete_learns_then_frees_the_slot() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 100, Some(1));
        let permit = l.acquire(&Method::GET).await.unwrap();
        assert_eq!(permit.method(), Some(&Method::GET));
        let h = hostile(&[("x-rate-limit", b"2"), ("x-rate-remaining", b"0")]);
        permit.complete(StatusCode::OK, &h).await.unwrap();
        let st = l.status().await.unwrap();
        assert_eq!(st.in_flight, 0, "the slot is free");
        assert_eq!(
            st.methods["GET"].limit,
            Some(2),
            "and the answer was learned"
        );
        assert!(
            admitted_now(&l, &Method::GET).await.is_none(),
            "window full"
        );
    }

    #[tokio::test]
    async fn a_new_window_applies_to_calls_already_counted() {
        let clock = ManualClock::new();
        let l = limiter(&clock, 1, None);
        drop(l.acquire(&Method::GET).await.unwrap());
        l.configure(&RateLimits {
            window: Some(Duration::from_secs(2)),
            ..RateLimits::default()
        })
        .await
        .unwrap();
        clock.advance(Duration::from_millis(2_024));
        assert!(admitted_now(&l, &Method::GET).await.is_none());
        clock.advance(Duration::from_millis(1));
        assert!(admitted_now(&l, &Method::GET).await.is_some());
    }

    #[tokio::test]
    async fn spread_calls_merge_buckets_and_stay_counted() {
        // Far more stretches of calls than buckets: neighbours merge, nothing leaves early.
        let clock = ManualClock::new();
        let l = limiter(&clock, 2_000, None);
        for _ in 0..1_000 {
            drop(l.acquire(&Method::GET).await.unwrap());
            clock.advance(Duration::from_millis(40));
        }
        assert_eq!(l.status().await.unwrap().methods["GET"].used, 1_000);
    }

    proptest::proptest! {
        #[test]
        fn any_header_bytes_read_without_panic_into_the_stated_ranges(
            values in proptest::collection::vec(
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
                5,
            ),
            text in "\\PC{0,16}",
            rejected in proptest::prelude::any::<bool>(),
        ) {
            let names = [
                "x-rate-limit",
                "x-rate-remaining",
                "x-concurrency-limit",
                "x-concurrency-remaining",
                "retry-after",
            ];
            let mut h = HeaderMap::new();
            for (name, v) in names.iter().zip(values.iter()) {
                if let Ok(v) = http::HeaderValue::from_bytes(v) {
                    h.append(*name, v);
                }
            }
            if let Ok(v) = http::HeaderValue::from_bytes(text.as_bytes()) {
                h.insert("x-rate-limit", v);
            }
            let status = if rejected { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::OK };
            let o = RateLimitHeaders::x_rate().observe(
                &Method::GET,
                status,
                &h,
                std::time::SystemTime::UNIX_EPOCH,
            );
            let limit = o.limit.unwrap_or(clamp::MAX_RATE_LIMIT);
            proptest::prop_assert!((clamp::MIN_RATE_LIMIT..=clamp::MAX_RATE_LIMIT).contains(&limit));
            proptest::prop_assert!(o.remaining.unwrap_or(0) <= limit);
            proptest::prop_assert!(o.concurrency_limit.unwrap_or(1) <= clamp::MAX_CONCURRENCY_LIMIT);
            proptest::prop_assert!(o.retry_after.unwrap_or_default() <= clamp::MAX_RETRY_AFTER);
        }
    }
}
