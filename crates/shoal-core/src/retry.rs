//! Retry in four parts: classify what happened, let a policy decide, back off, spend a budget.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use rand::Rng;

use crate::error::{TransportError, TransportErrorKind};

/// When the server asked to be retried (`Retry-After`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfter {
    /// `Retry-After: <delta-seconds>`
    Delay(Duration),
    /// `Retry-After: <HTTP-date>`
    At(SystemTime),
}

impl RetryAfter {
    /// Parses a `Retry-After` value; `None` for anything that is neither form.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return value
                .parse::<u64>()
                .ok()
                .map(|s| Self::Delay(Duration::from_secs(s)));
        }
        httpdate::parse_http_date(value).ok().map(Self::At)
    }

    /// Reads the `Retry-After` header.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(http::header::RETRY_AFTER)?
            .to_str()
            .ok()
            .and_then(Self::parse)
    }

    /// How long to wait from `now` (a date in the past means no wait).
    pub fn delay(&self, now: SystemTime) -> Duration {
        match self {
            Self::Delay(d) => *d,
            Self::At(t) => t.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }

    /// The header value (dates in IMF-fixdate form).
    pub fn to_header_value(&self) -> String {
        match self {
            Self::Delay(d) => d.as_secs().to_string(),
            Self::At(t) => httpdate::fmt_http_date(*t),
        }
    }
}

/// What an attempt's failure was, as the policy sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Classification {
    /// Whether this kind of failure is worth trying again at all.
    pub retryable: bool,
    /// Whether the request provably never reached the server.
    pub not_sent: bool,
    /// Whether the server answered with an error response (as opposed to no answer).
    pub answered: bool,
    /// Whether the vendor documents that a call answered this way was not processed (PebblePad's
    /// 429), so even a non-idempotent request may be sent again.
    pub not_processed: bool,
    /// Whether the server said "too many requests".
    pub rate_limited: bool,
    /// The server's `Retry-After`, if any.
    pub retry_after: Option<RetryAfter>,
}

/// Statuses retried by default: 429, 500, 502, 503, 504.
pub const RETRYABLE_STATUSES: &[u16] = &[429, 500, 502, 503, 504];

/// Whether a status is one the standard table retries ([`RETRYABLE_STATUSES`]); the one table
/// behind [`StandardClassifier`] and [`Error::is_retryable`](crate::Error::is_retryable).
pub fn is_retryable_status(status: StatusCode) -> bool {
    RETRYABLE_STATUSES.contains(&status.as_u16())
}

/// Decides what a failed attempt was: the first of retry's four parts.
///
/// The pipeline asks it about every error response and every transport failure; the
/// [`RetryPolicy`] then decides from the [`Classification`]. Plug in your own with
/// [`PipelineBuilder::retry_classifier`](crate::PipelineBuilder::retry_classifier) (or
/// [`ConfigureClient::retry_classifier`](crate::ConfigureClient::retry_classifier)), e.g. to retry a
/// vendor's 409; the vendor's "not processed" statuses are filled in by the pipeline.
pub trait RetryClassifier: Send + Sync + std::fmt::Debug + 'static {
    /// Classifies an error response.
    fn classify_status(&self, status: StatusCode, headers: &HeaderMap) -> Classification;
    /// Classifies a failure to get any response.
    fn classify_transport(&self, error: &TransportError) -> Classification;
}

/// Today's table: 429 and 500/502/503/504 are retryable, with the server's `Retry-After`;
/// transport failures are retryable unless they could not even be attempted, and "not sent"
/// only when the connection was refused.
#[derive(Clone, Copy, Debug, Default)]
pub struct StandardClassifier;

impl RetryClassifier for StandardClassifier {
    fn classify_status(&self, status: StatusCode, headers: &HeaderMap) -> Classification {
        Classification {
            retryable: is_retryable_status(status),
            not_sent: false,
            answered: true,
            not_processed: false,
            rate_limited: status == StatusCode::TOO_MANY_REQUESTS,
            retry_after: RetryAfter::from_headers(headers),
        }
    }

    fn classify_transport(&self, error: &TransportError) -> Classification {
        Classification {
            retryable: !matches!(
                error.kind,
                TransportErrorKind::Other | TransportErrorKind::TooLarge
            ),
            not_sent: error.not_sent(),
            answered: false,
            not_processed: false,
            rate_limited: false,
            retry_after: None,
        }
    }
}

/// Full-jitter exponential backoff: attempt *n* waits a uniform random time in
/// `[0, min(cap, base × 2ⁿ)]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Default for Backoff {
    /// 200 ms doubling up to 20 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(20))
    }
}

impl Backoff {
    /// A backoff whose first step is `base` and whose delays never exceed `cap`.
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// No delay between attempts (for tests, or a server that says when to come back).
    pub const fn none() -> Self {
        Self::new(Duration::ZERO, Duration::ZERO)
    }

    /// The first step.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The largest delay.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The ceiling for retry number `retry` (0 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A jittered delay for retry number `retry`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        if ceiling.is_zero() {
            return Duration::ZERO;
        }
        let nanos = rng.random_range(0..=ceiling.as_nanos().min(u64::MAX as u128) as u64);
        Duration::from_nanos(nanos)
    }
}

/// Why the policy stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUp {
    /// The failure is not one that retrying fixes.
    NotRetryable,
    /// Attempts are used up.
    Exhausted,
    /// The request is not idempotent and may have been processed.
    NotIdempotent,
    /// The server asked to wait longer than allowed.
    RetryAfterTooLong(Duration),
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop and report the failure.
    GiveUp(GiveUp),
}

/// How many times, how long, and which requests may be retried.
///
/// ```
/// use std::time::Duration;
/// use shoal_core::{Backoff, RetryPolicy};
/// let policy = RetryPolicy::default()
///     .max_attempts(6)
///     .backoff(Backoff::new(Duration::from_millis(100), Duration::from_secs(5)))
///     .max_retry_after(Duration::from_secs(30));
/// assert_eq!(policy.attempts(), 6);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    max_attempts: u32,
    backoff: Backoff,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, [`Backoff::default`], `Retry-After` honoured up to 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            backoff: Backoff::default(),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self::default().max_attempts(1)
    }

    crate::builder_setters! {
        /// Total attempts, the first included (at least 1).
        max_attempts(attempts: u32) => max_attempts = attempts.max(1);
        /// The delay between attempts when the server does not say.
        backoff(backoff: Backoff) => backoff;
        /// The longest `Retry-After` honoured; a longer one is an error, not a sleep.
        max_retry_after(max: Duration) => max_retry_after;
    }

    /// Total attempts, the first included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff.
    pub fn backoff_schedule(&self) -> Backoff {
        self.backoff
    }

    /// The longest `Retry-After` honoured.
    pub fn retry_after_cap(&self) -> Duration {
        self.max_retry_after
    }

    /// Decides after attempt number `attempt` (1 for the first) failed as `class`.
    pub fn decide(
        &self,
        attempt: u32,
        idempotent: bool,
        class: &Classification,
        now: SystemTime,
        rng: &mut impl Rng,
    ) -> Decision {
        if !class.retryable {
            return Decision::GiveUp(GiveUp::NotRetryable);
        }
        if !(idempotent || class.not_sent || class.not_processed) {
            return Decision::GiveUp(GiveUp::NotIdempotent);
        }
        if attempt >= self.max_attempts {
            return Decision::GiveUp(GiveUp::Exhausted);
        }
        match class.retry_after.map(|r| r.delay(now)) {
            Some(wait) if wait > self.max_retry_after => {
                Decision::GiveUp(GiveUp::RetryAfterTooLong(wait))
            }
            Some(wait) => Decision::Retry(wait),
            None => Decision::Retry(self.backoff.delay(attempt.saturating_sub(1), rng)),
        }
    }
}

/// A token bucket shared by one client's calls: each retry spends tokens, each success returns
/// some, so an outage costs a bounded number of extra requests.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    retry_cost: u32,
    success_refund: u32,
    tokens: AtomicU32,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(100, 5, 1)
    }
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens; a retry costs `retry_cost`, a success refunds
    /// `success_refund`.
    pub fn new(capacity: u32, retry_cost: u32, success_refund: u32) -> Self {
        Self {
            capacity,
            retry_cost,
            success_refund,
            tokens: AtomicU32::new(capacity),
        }
    }

    /// A budget that never runs out.
    pub fn unlimited() -> Self {
        Self::new(u32::MAX, 0, 0)
    }

    /// Takes the cost of one retry; `false` when the bucket cannot pay it.
    pub fn try_spend(&self) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                t.checked_sub(self.retry_cost)
            })
            .is_ok()
    }

    /// Returns tokens after a success.
    pub fn refund(&self) {
        // A full bucket (the common case) costs one load, no write.
        if self.success_refund == 0 || self.available() >= self.capacity {
            return;
        }
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(self.success_refund).min(self.capacity))
            });
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        self.tokens.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn class(status: u16) -> Classification {
        StandardClassifier.classify_status(StatusCode::from_u16(status).unwrap(), &HeaderMap::new())
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn retryable_statuses_are_the_documented_five() {
        for s in [429, 500, 502, 503, 504] {
            assert!(class(s).retryable, "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!class(s).retryable, "{s}");
        }
    }

    #[test]
    fn idempotency_gate() {
        let p = RetryPolicy::default();
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(
            p.decide(1, false, &class(503), now, &mut rng()),
            Decision::GiveUp(GiveUp::NotIdempotent)
        );
        let refused = StandardClassifier.classify_transport(&TransportError::new(
            TransportErrorKind::ConnectRefused,
            "x",
        ));
        assert!(matches!(
            p.decide(1, false, &refused, now, &mut rng()),
            Decision::Retry(_)
        ));
        let reset = StandardClassifier
            .classify_transport(&TransportError::new(TransportErrorKind::Io, "x"));
        assert_eq!(
            p.decide(1, false, &reset, now, &mut rng()),
            Decision::GiveUp(GiveUp::NotIdempotent)
        );
        // A status the vendor documents as not processed may be resent; others may not.
        let mut unprocessed = class(429);
        unprocessed.not_processed = true;
        assert!(matches!(
            p.decide(1, false, &unprocessed, now, &mut rng()),
            Decision::Retry(_)
        ));
        assert_eq!(
            p.decide(1, false, &class(502), now, &mut rng()),
            Decision::GiveUp(GiveUp::NotIdempotent)
        );
    }

    #[test]
    fn attempts_run_out() {
        let p = RetryPolicy::default().max_attempts(3);
        let now = SystemTime::UNIX_EPOCH;
        assert!(matches!(
            p.decide(2, true, &class(500), now, &mut rng()),
            Decision::Retry(_)
        ));
        assert_eq!(
            p.decide(3, true, &class(500), now, &mut rng()),
            Decision::GiveUp(GiveUp::Exhausted)
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default().max_retry_after(Duration::from_secs(30));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut c = class(503);
        c.retry_after = Some(RetryAfter::Delay(Duration::from_secs(2)));
        assert_eq!(
            p.decide(1, true, &c, now, &mut rng()),
            Decision::Retry(Duration::from_secs(2))
        );
        c.retry_after = Some(RetryAfter::At(now + Duration::from_secs(10)));
        assert_eq!(
            p.decide(1, true, &c, now, &mut rng()),
            Decision::Retry(Duration::from_secs(10))
        );
        c.retry_after = Some(RetryAfter::Delay(Duration::from_secs(3600)));
        assert_eq!(
            p.decide(1, true, &c, now, &mut rng()),
            Decision::GiveUp(GiveUp::RetryAfterTooLong(Duration::from_secs(3600)))
        );
    }

    #[test]
    fn budget_runs_dry_and_refills() {
        let b = RetryBudget::new(10, 5, 5);
        assert!(b.try_spend() && b.try_spend());
        assert!(!b.try_spend());
        b.refund();
        assert!(b.try_spend());
    }

    #[test]
    fn retry_after_parses_both_forms() {
        assert_eq!(
            RetryAfter::parse("120"),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        let t = RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            t,
            RetryAfter::At(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(RetryAfter::parse("-1"), None);
        assert_eq!(RetryAfter::parse("soon"), None);
    }

    proptest! {
        #[test]
        fn retry_after_parse_never_panics(s in ".{0,64}") {
            let _ = RetryAfter::parse(&s);
        }

        #[test]
        fn retry_after_round_trips(secs in 0u64..10_000_000, date in 0u64..4_000_000_000) {
            let d = RetryAfter::Delay(Duration::from_secs(secs));
            prop_assert_eq!(RetryAfter::parse(&d.to_header_value()), Some(d));
            let t = RetryAfter::At(SystemTime::UNIX_EPOCH + Duration::from_secs(date));
            prop_assert_eq!(RetryAfter::parse(&t.to_header_value()), Some(t));
        }

        #[test]
        fn backoff_stays_within_zero_and_cap(
            base_ms in 0u64..5_000, cap_ms in 0u64..120_000, retry in 0u32..100, seed in any::<u64>()
        ) {
            let b = Backoff::new(Duration::from_millis(base_ms), Duration::from_millis(cap_ms));
            let d = b.delay(retry, &mut StdRng::seed_from_u64(seed));
            prop_assert!(d <= b.cap());
            prop_assert!(d <= b.ceiling(retry));
        }
    }
}
