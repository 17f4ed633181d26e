//! [`ProbingBackend`]: a rate-limit backend wrapper that turns a server-side limit change into
//! at most one rejected call per method.
//!
//! When a response reports a method's limit different from what was known, PebblePad changed its
//! limits, and every *other* method's known limit is suspect too. Until a method has had one
//! answer after the change (which carries its new `X-Rate-Limit`), it may have only one call in
//! flight: a probe. So a lowered limit costs each method at most its probe, not a burst of
//! concurrent 429s. The wrapped backend does all the counting; this only gates admission.
//!
//! A fresh client probes too: `GetRateLimits` tells the limits but not how much of the window
//! is already spent (by another process, or one killed a moment ago), so each method's first
//! call goes alone and its answer's `X-Rate-Remaining` seeds the count before any burst.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use shoal_core::http::Method;
use shoal_core::{
    Admission, Lease, RateLimitBackend, RateLimitStatus, RateLimits, RateObservation, Result,
};

#[derive(Debug, Default)]
struct State {
    /// Limits last learned, by method.
    known: HashMap<Method, u32>,
    /// Bumped on every detected change.
    epoch: u64,
    /// The epoch in which each method last learned its limit.
    confirmed: HashMap<Method, u64>,
    /// Methods with a probe in flight.
    probing: HashSet<Method>,
    /// Methods whose count the server has told (an answer with `X-Rate-Remaining`).
    counted: HashSet<Method>,
}

impl State {
    fn unconfirmed(&self, method: &Method) -> bool {
        self.confirmed.get(method).copied().unwrap_or(0) < self.epoch
            || !self.counted.contains(method)
    }
}

/// Wraps a backend; see the module documentation.
#[derive(Debug)]
pub struct ProbingBackend {
    inner: Arc<dyn RateLimitBackend>,
    state: Mutex<State>,
}

impl ProbingBackend {
    /// Gates `inner`'s admissions after limit changes.
    pub fn new(inner: Arc<dyn RateLimitBackend>) -> Self {
        Self {
            inner,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a method must still probe (for tests and status).
    pub fn is_probing(&self, method: &Method) -> bool {
        self.lock().unconfirmed(method)
    }

    /// Notes what an answer taught before the wrapped backend learns it.
    fn learn(&self, o: &RateObservation) {
        if o.remaining.is_some() {
            self.lock().counted.insert(o.method.clone());
        }
        if let Some(limit) = o.limit {
            let mut st = self.lock();
            let previous = st.known.insert(o.method.clone(), limit);
            if previous.is_some_and(|p| p != limit) {
                st.epoch += 1;
                tracing::info!(method = %o.method, from = ?previous, to = limit, "server changed its rate limits; other methods probe until they learn theirs");
            }
            let epoch = st.epoch;
            st.confirmed.insert(o.method.clone(), epoch);
        }
    }

    /// Whether a call of `method` would be the probe (`Ok(true)`), may go as any other
    /// (`Ok(false)`), or must wait for the probe's answer.
    fn gate(&self, method: &Method) -> std::result::Result<bool, Admission> {
        let st = self.lock();
        if st.unconfirmed(method) && st.probing.contains(method) {
            // Woken when any lease is released, including the probe's.
            return Err(Admission::Wait(None));
        }
        Ok(st.unconfirmed(method))
    }

    /// Notes a granted probe.
    fn admitted(&self, method: &Method, probe: bool, admission: &Admission) {
        if probe && matches!(admission, Admission::Granted(_)) {
            self.lock().probing.insert(method.clone());
        }
    }

    /// What an answer teaches, before the wrapped backend frees the slot (twice is harmless).
    fn answered(&self, lease: &Lease, o: &RateObservation) {
        // The answer confirms the limit before the probe's slot frees.
        self.learn(o);
        self.lock().probing.remove(&lease.method);
    }
}

#[async_trait]
impl RateLimitBackend for ProbingBackend {
    async fn try_acquire(&self, method: &Method) -> Result<Admission> {
        let probe = match self.gate(method) {
            Ok(probe) => probe,
            Err(wait) => return Ok(wait),
        };
        let admission = self.inner.try_acquire(method).await?;
        self.admitted(method, probe, &admission);
        Ok(admission)
    }

    fn try_acquire_now(&self, method: &Method) -> Option<Result<Admission>> {
        let probe = match self.gate(method) {
            Ok(probe) => probe,
            Err(wait) => return Some(Ok(wait)),
        };
        let admission = self.inner.try_acquire_now(method)?;
        if let Ok(admission) = &admission {
            self.admitted(method, probe, admission);
        }
        Some(admission)
    }

    fn release(&self, lease: Lease) {
        self.lock().probing.remove(&lease.method);
        self.inner.release(lease);
    }

    async fn observe(&self, o: &RateObservation) -> Result<()> {
        self.learn(o);
        self.inner.observe(o).await
    }

    async fn complete(&self, lease: Lease, o: &RateObservation) -> Result<()> {
        self.answered(&lease, o);
        self.inner.complete(lease, o).await
    }

    fn complete_now(
        &self,
        lease: Lease,
        o: &RateObservation,
    ) -> std::result::Result<Result<()>, Lease> {
        self.answered(&lease, o);
        self.inner.complete_now(lease, o)
    }

    async fn configure(&self, limits: &RateLimits) -> Result<()> {
        {
            let mut st = self.lock();
            let epoch = st.epoch;
            for (method, limit) in &limits.per_method {
                let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                    continue;
                };
                st.known.insert(m.clone(), *limit);
                st.confirmed.insert(m, epoch);
            }
        }
        self.inner.configure(limits).await
    }

    async fn status(&self) -> Result<RateLimitStatus> {
        self.inner.status().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use shoal_core::{LocalRateLimitBackend, ManualClock};

    fn backend() -> ProbingBackend {
        let clock = ManualClock::new();
        let local = LocalRateLimitBackend::new(clock.shared(), Duration::from_secs(60));
        ProbingBackend::new(Arc::new(local))
    }

    fn seen(method: &str, limit: u32) -> RateObservation {
        RateObservation {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            limit: Some(limit),
            remaining: Some(0),
            ..RateObservation::default()
        }
    }

    /// An answer with `remaining` calls left of `limit`.
    fn counted(method: &str, limit: u32, remaining: u32) -> RateObservation {
        RateObservation {
            remaining: Some(remaining),
            ..seen(method, limit)
        }
    }

    async fn grant(b: &ProbingBackend, method: &str) -> Option<Lease> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        match b.try_acquire(&method).await.unwrap() {
            Admission::Granted(l) => Some(l),
            Admission::Wait(_) => None,
        }
    }

    #[tokio::test]
    async fn a_change_on_one_method_makes_the_others_probe_one_at_a_time() {
        let b = backend();
        let limits = RateLimits::new([("GET".into(), 100), ("POST".into(), 100)], None, None);
        b.configure(&limits).await.unwrap();
        for method in ["GET", "POST"] {
            b.observe(&counted(method, 100, 99)).await.unwrap();
        }
        let _a = grant(&b, "POST").await.unwrap();
        let _b = grant(&b, "POST").await.unwrap();
        b.observe(&counted("GET", 50, 40)).await.unwrap();
        assert!(b.is_probing(&Method::POST) && !b.is_probing(&Method::GET));
        let probe = grant(&b, "POST").await.expect("one probe");
        assert!(grant(&b, "POST").await.is_none(), "a second must wait");
        assert!(grant(&b, "GET").await.is_some(), "GET already knows");
        // The probe's answer confirms POST's limit and frees its slot in one step.
        b.complete(probe, &counted("POST", 100, 90)).await.unwrap();
        assert!(!b.is_probing(&Method::POST));
        assert!(grant(&b, "POST").await.is_some());
        assert!(grant(&b, "POST").await.is_some(), "no longer one at a time");
    }

    #[tokio::test]
    async fn a_probe_without_an_answer_frees_the_method_for_another_probe() {
        let b = backend();
        b.observe(&seen("GET", 10)).await.unwrap();
        b.observe(&seen("GET", 5)).await.unwrap();
        let probe = grant(&b, "PUT").await.expect("one probe");
        assert!(grant(&b, "PUT").await.is_none());
        b.release(probe);
        assert!(b.is_probing(&Method::PUT), "still unconfirmed");
        assert!(grant(&b, "PUT").await.is_some(), "the next probe");
    }

    /// A fresh client cannot know what a killed one spent of the window: one call per method
    /// until an answer tells the count (the `bulk_import` kill-and-resume test's 429).
    #[tokio::test]
    async fn a_fresh_client_sends_one_call_per_method_until_the_server_counts() {
        let b = backend();
        b.configure(&RateLimits::new(
            [("PUT".into(), 3), ("POST".into(), 120)],
            None,
            None,
        ))
        .await
        .unwrap();
        assert!(b.is_probing(&Method::POST), "limits known, count not");
        let probe = grant(&b, "POST").await.expect("one probe");
        assert!(
            grant(&b, "POST").await.is_none(),
            "no burst before the count"
        );
        b.complete(probe, &counted("POST", 120, 7)).await.unwrap();
        assert!(!b.is_probing(&Method::POST));
        assert!(b.is_probing(&Method::PUT), "each method learns its own");
    }
}
