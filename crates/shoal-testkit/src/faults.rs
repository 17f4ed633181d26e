//! Scriptable, deterministic fault injection shared by the three emulators.
//!
//! Rules are checked in the order they were pushed; the first that matches a call answers it and
//! uses up one of its `times`. Seeded rates add random resets and stalls that repeat run to run.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

/// What an injected fault does to a call.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer this status (vendor-shaped body, if the vendor sends one) without processing.
    Status {
        /// The HTTP status.
        status: u16,
        /// A `Retry-After` value (seconds or an HTTP date), if any.
        retry_after: Option<String>,
    },
    /// Process the call, then answer this status instead of the real answer (a gateway that
    /// lost it: the effect happened, the client sees a 5xx).
    LostAnswer {
        /// The HTTP status, e.g. 502.
        status: u16,
    },
    /// Drop the TCP connection with a reset, without answering.
    Reset,
    /// Hold the call (after rate accounting) until [`Faults::release_stalls`] or shutdown.
    Stall,
    /// Hold the call this long (emulator clock) before it is counted or processed: network
    /// latency on the way in.
    Delay(Duration),
    /// Process the call, then send the body in `chunk` bytes with `delay` (emulator clock) between.
    SlowBody {
        /// Bytes per chunk.
        chunk: usize,
        /// Pause before each chunk after the first.
        delay: Duration,
    },
}

/// One scripted fault: a kind, an optional path prefix and method, and how many calls it hits.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    kind: FaultKind,
    path_prefix: Option<String>,
    method: Option<String>,
    remaining: Option<u32>,
}

impl Fault {
    fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            path_prefix: None,
            method: None,
            remaining: Some(1),
        }
    }

    /// The next matching call answers `status` (no `Retry-After`).
    pub fn status(status: u16) -> Self {
        Self::new(FaultKind::Status {
            status,
            retry_after: None,
        })
    }

    /// The next matching call is processed, then answered `status` (vendor-shaped body), so a
    /// test can prove a POST answered 5xx is not resent on its own.
    pub fn lost_answer(status: u16) -> Self {
        Self::new(FaultKind::LostAnswer { status })
    }

    /// The next matching call's connection is reset.
    pub fn reset() -> Self {
        Self::new(FaultKind::Reset)
    }

    /// The next matching call is held until released.
    pub fn stall() -> Self {
        Self::new(FaultKind::Stall)
    }

    /// The next matching call arrives `delay` late (before rate accounting).
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultKind::Delay(delay))
    }

    /// The next matching call's body is sent slowly.
    pub fn slow_body(chunk: usize, delay: Duration) -> Self {
        Self::new(FaultKind::SlowBody {
            chunk: chunk.max(1),
            delay,
        })
    }

    /// Adds a `Retry-After` header (a status fault only), e.g. `"2"` or an HTTP date.
    pub fn retry_after(mut self, value: impl Into<String>) -> Self {
        if let FaultKind::Status { retry_after, .. } = &mut self.kind {
            *retry_after = Some(value.into());
        }
        self
    }

    /// Hits the next `n` matching calls (default 1).
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }

    /// Hits every matching call until cleared.
    pub fn always(mut self) -> Self {
        self.remaining = None;
        self
    }

    shoal_core::builder_setters! {
        /// Only calls whose path starts with `prefix` (e.g. `/oauth/token`).
        on_path(prefix: impl Into<String>) => path_prefix = Some(prefix.into());
        /// Only calls with this method (case-insensitive).
        on_method(method: impl Into<String>) => method = Some(method.into().to_ascii_uppercase());
    }

    /// What the fault does.
    pub fn kind(&self) -> &FaultKind {
        &self.kind
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// The fault script of one emulator; clones share it, so tests change it while the server runs.
#[derive(Clone, Debug)]
pub struct Faults {
    inner: Arc<Mutex<Script>>,
    release: Arc<watch::Sender<u64>>,
    stalled: Arc<watch::Sender<usize>>,
}

#[derive(Debug)]
struct Script {
    rules: Vec<Fault>,
    rng: StdRng,
    reset_rate: f64,
    stall_rate: f64,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Script {
                rules: Vec::new(),
                rng: StdRng::seed_from_u64(seed ^ 0xFA17),
                reset_rate: 0.0,
                stall_rate: 0.0,
            })),
            release: Arc::new(watch::channel(0).0),
            stalled: Arc::new(watch::channel(0).0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a scripted fault.
    pub fn push(&self, fault: Fault) -> &Self {
        self.lock().rules.push(fault);
        self
    }

    /// Removes every rule and zeroes the random rates (stalled calls stay stalled).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.rules.clear();
        g.reset_rate = 0.0;
        g.stall_rate = 0.0;
    }

    /// Scripted faults not yet used up.
    pub fn pending(&self) -> Vec<Fault> {
        self.lock().rules.clone()
    }

    /// This fraction (0.0–1.0) of calls have their connection reset, chosen by the seeded RNG.
    pub fn set_reset_rate(&self, rate: f64) {
        self.lock().reset_rate = rate.clamp(0.0, 1.0);
    }

    /// This fraction (0.0–1.0) of calls stall until released, chosen by the seeded RNG.
    pub fn set_stall_rate(&self, rate: f64) {
        self.lock().stall_rate = rate.clamp(0.0, 1.0);
    }

    /// Lets every currently stalled call continue.
    pub fn release_stalls(&self) {
        self.release.send_modify(|g| *g += 1);
    }

    /// Calls currently held by a stall.
    pub fn stalled(&self) -> usize {
        *self.stalled.borrow()
    }

    /// Waits until at least `n` calls are stalled (no timer involved).
    pub async fn wait_stalled(&self, n: usize) {
        let mut rx = self.stalled.subscribe();
        let _ = rx.wait_for(|s| *s >= n).await;
    }

    /// Picks the fault for a call, using up one hit of a scripted rule.
    pub(crate) fn decide(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut g = self.lock();
        if let Some(pos) = g.rules.iter().position(|r| r.matches(method, path)) {
            let kind = g.rules[pos].kind.clone();
            match &mut g.rules[pos].remaining {
                Some(n) if *n <= 1 => {
                    g.rules.remove(pos);
                }
                Some(n) => *n -= 1,
                None => {}
            }
            return Some(kind);
        }
        let (reset, stall) = (g.reset_rate, g.stall_rate);
        if reset > 0.0 && g.rng.random_bool(reset) {
            return Some(FaultKind::Reset);
        }
        if stall > 0.0 && g.rng.random_bool(stall) {
            return Some(FaultKind::Stall);
        }
        None
    }

    /// Holds the caller until the next release.
    pub(crate) async fn stall(&self) {
        let mut rx = self.release.subscribe();
        rx.borrow_and_update();
        self.stalled.send_modify(|s| *s += 1);
        let _guard = StallGuard(self.stalled.clone());
        let _ = rx.changed().await;
    }
}

struct StallGuard(Arc<watch::Sender<usize>>);

impl Drop for StallGuard {
    fn drop(&mut self) {
        self.0.send_modify(|s| *s = s.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_holds_every_matching_call() {
        let f = Faults::new(1);
        f.push(Fault::delay(Duration::from_millis(20)).always());
        for _ in 0..3 {
            assert_eq!(
                f.decide("GET", "/api/1.1/x"),
                Some(FaultKind::Delay(Duration::from_millis(20)))
            );
        }
    }

    #[test]
    fn rules_apply_in_order_and_run_out() {
        let f = Faults::new(1);
        f.push(Fault::status(503).times(2).on_path("/a"));
        f.push(Fault::reset().on_method("post"));
        assert!(f.decide("GET", "/b").is_none());
        assert!(matches!(
            f.decide("GET", "/a/x"),
            Some(FaultKind::Status { status: 503, .. })
        ));
        assert!(matches!(
            f.decide("POST", "/a"),
            Some(FaultKind::Status { status: 503, .. })
        ));
        assert_eq!(f.decide("POST", "/a"), Some(FaultKind::Reset));
        assert!(f.decide("POST", "/a").is_none());
    }

    #[test]
    fn seeded_rates_repeat() {
        let run = || {
            let f = Faults::new(9);
            f.set_reset_rate(0.3);
            (0..100)
                .map(|_| f.decide("GET", "/").is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|h| **h).count();
        assert!((15..=45).contains(&hits), "{hits}");
    }
}
