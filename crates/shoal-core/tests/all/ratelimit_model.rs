//! The constant-memory limiter against references: an exact sliding log (the limiter as it was,
//! a timestamp per call) fed the same hostile operations, and a truthful server that counts
//! every arrival in its rolling window.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use proptest::prelude::*;
use shoal_core::{
    Admission, Lease, LocalRateLimitBackend, ManualClock, RateLimitBackend, RateLimitHeaders,
    RateLimits, RateObservation, clamp,
};

const SLACK: Duration = Duration::from_millis(25);

/// The limiter's rules with a timestamp per call (as it once was), kept as the reference:
/// calls as (time, count) runs so a server's huge numbers cost nothing here either. A call is
/// pending until answered or abandoned, then dated. Numbers arrive clamped, as the limiter
/// clamps them.
#[derive(Debug)]
struct ExactLog {
    window: Duration,
    methods: Vec<(Method, LogWindow)>,
    concurrency: Option<u32>,
    in_flight: u32,
    rejections: u64,
}

#[derive(Debug, Default)]
struct LogWindow {
    limit: Option<u32>,
    sent: VecDeque<(u64, u64)>,
    len: u64,
    pending: u64,
    blocked_until: Option<u64>,
    server_remaining: Option<u32>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl LogWindow {
    fn purge(&mut self, now: u64, span: u64) {
        while let Some(&(t, n)) = self.sent.front() {
            if now.saturating_sub(t) < span {
                break;
            }
            self.sent.pop_front();
            self.len -= n;
        }
    }

    fn push(&mut self, now: u64, n: u64) {
        if n > 0 {
            // Answered calls are dated up to a slack back: keep the log in time order.
            let at = self.sent.partition_point(|&(t, _)| t <= now);
            self.sent.insert(at, (now, n));
            self.len += n;
        }
    }

    /// The time of the entry at `index` (oldest first).
    fn time_at(&self, mut index: u64) -> u64 {
        for &(t, n) in &self.sent {
            if index < n {
                return t;
            }
            index -= n;
        }
        u64::MAX
    }
}

enum LogAdmission {
    Granted,
    Wait(Option<u64>),
}

impl ExactLog {
    fn new(window: Duration) -> Self {
        Self {
            window: clamp::window(window),
            methods: Vec::new(),
            concurrency: None,
            in_flight: 0,
            rejections: 0,
        }
    }

    fn span(&self) -> u64 {
        nanos(self.window) + nanos(SLACK)
    }

    fn window_mut(&mut self, m: &Method) -> &mut LogWindow {
        let i = match self.methods.iter().position(|(k, _)| k == m) {
            Some(i) => i,
            None => {
                self.methods.push((m.clone(), LogWindow::default()));
                self.methods.len() - 1
            }
        };
        &mut self.methods[i].1
    }

    /// Decides as the old `try_acquire` did (purging as it did), without counting the call.
    fn decide(&mut self, m: &Method, now: u64) -> LogAdmission {
        let span = self.span();
        let full = self.concurrency.is_some_and(|c| self.in_flight >= c.max(1));
        let w = self.window_mut(m);
        if let Some(until) = w.blocked_until {
            if until > now {
                return LogAdmission::Wait(Some(until - now));
            }
            w.blocked_until = None;
        }
        w.purge(now, span);
        if let Some(limit) = w.limit {
            let limit = u64::from(limit.max(1));
            if w.len + w.pending >= limit {
                if w.pending >= limit {
                    return LogAdmission::Wait(None);
                }
                let oldest = w.time_at(w.len + w.pending - limit);
                return LogAdmission::Wait(Some((oldest + span).saturating_sub(now)));
            }
        }
        if full {
            LogAdmission::Wait(None)
        } else {
            LogAdmission::Granted
        }
    }

    fn admit(&mut self, m: &Method) {
        self.window_mut(m).pending += 1;
        self.in_flight += 1;
    }

    /// A leased call admitted at `admitted` and answered at `now`: counted a window from now,
    /// and at least a span from its admission. An abandoned call (`answered` false): a span
    /// from now.
    fn answered(&mut self, m: &Method, admitted: u64, now: u64, answered: bool) {
        let w = self.window_mut(m);
        w.pending -= 1;
        let slack = if answered { nanos(SLACK) } else { 0 };
        w.push(now.saturating_sub(slack).max(admitted), 1);
        self.in_flight -= 1;
    }

    fn observe(&mut self, o: &RateObservation, now: u64) {
        let span = self.span();
        if o.rejected {
            self.rejections += 1;
        }
        if let Some(c) = o.concurrency_limit {
            self.concurrency = Some(c);
        }
        let w = self.window_mut(&o.method);
        if let Some(limit) = o.limit {
            w.limit = Some(limit);
        }
        w.purge(now, span);
        let remaining = if o.rejected && o.retry_after.is_none() {
            Some(0)
        } else {
            o.remaining
        };
        w.server_remaining = remaining;
        if let (Some(limit), Some(remaining)) = (w.limit, remaining) {
            let server_used = u64::from(limit.saturating_sub(remaining));
            let lacking = server_used.saturating_sub(w.len + w.pending);
            w.push(now, lacking);
        }
        if o.rejected {
            if let Some(wait) = o.retry_after {
                let until = now.saturating_add(nanos(wait));
                w.blocked_until = Some(w.blocked_until.map_or(until, |b| b.max(until)));
            }
        }
    }

    fn configure(&mut self, l: &RateLimits) {
        if let Some(w) = l.window {
            self.window = clamp::window(w);
        }
        for (m, limit) in &l.per_method {
            let m = Method::from_bytes(m.as_bytes()).unwrap();
            self.window_mut(&m).limit = Some(clamp::rate_limit((*limit).into()));
        }
        if let Some(c) = l.concurrency {
            self.concurrency = Some(clamp::concurrency_limit(c.into()));
        }
    }

    fn used(&mut self, m: &Method, now: u64) -> u64 {
        let span = self.span();
        let w = self.window_mut(m);
        w.purge(now, span);
        w.len + w.pending
    }
}

/// A header value a server might send: any integer, a small one (so limits bind), or any
/// text at all.
fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0u64..12).prop_map(|n| n.to_string()),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "\\PC{0,12}",
        1 => Just(String::new()),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Acquire(bool),
    Answer {
        lease: usize,
        rejected: bool,
        headers: Vec<(&'static str, String)>,
        latency_ms: u64,
    },
    Abandon(usize),
    Advance(u64),
    Configure {
        post: bool,
        limit: Option<u32>,
        concurrency: Option<u32>,
        window_s: Option<u64>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let names = prop::sample::subsequence(
        vec![
            "x-rate-limit",
            "x-rate-remaining",
            "x-concurrency-limit",
            "x-concurrency-remaining",
            "retry-after",
        ],
        0..=5,
    );
    let headers = names.prop_flat_map(|names| {
        let n = names.len();
        (Just(names), prop::collection::vec(header_text(), n))
            .prop_map(|(names, values)| names.into_iter().zip(values).collect::<Vec<_>>())
    });
    prop_oneof![
        6 => any::<bool>().prop_map(Op::Acquire),
        4 => (any::<usize>(), prop::bool::weighted(0.2), headers, prop_oneof![0u64..500, 0u64..100_000])
            .prop_map(|(lease, rejected, headers, latency_ms)| Op::Answer { lease, rejected, headers, latency_ms }),
        1 => any::<usize>().prop_map(Op::Abandon),
        6 => prop_oneof![
            4 => 0u64..30,
            // Just short of or past a span (window + slack), so the frontier lands among calls.
            3 => (1u64..5, 0u64..40).prop_map(|(w, d)| w * 1_000 + d),
            2 => 0u64..2_000,
            1 => 0u64..200_000,
            1 => Just(60_025u64),
            1 => any::<u32>().prop_map(u64::from),
        ]
        .prop_map(Op::Advance),
        1 => (
            any::<bool>(),
            prop::option::of(prop_oneof![1u32..8, any::<u32>()]),
            prop::option::of(prop_oneof![1u32..4, any::<u32>()]),
            prop::option::of(prop_oneof![1u64..120, any::<u64>()]),
        )
            .prop_map(|(post, limit, concurrency, window_s)| Op::Configure { post, limit, concurrency, window_s }),
    ]
}

fn method(post: bool) -> Method {
    if post { Method::POST } else { Method::GET }
}

/// Runs `ops` through the ring and the exact log in lockstep, checking after every step that
/// the ring counts at least what the log counts (so it never admits a call the log refuses)
/// and that both agree on everything else the limiter reports.
fn lockstep(window_s: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let ring = LocalRateLimitBackend::new(clock.shared(), Duration::from_secs(window_s));
    let mut log = ExactLog::new(Duration::from_secs(window_s));
    let headers = RateLimitHeaders::x_rate();
    let mut leases: Vec<(Lease, u64)> = Vec::new();
    let now = |clock: &ManualClock| nanos(clock.elapsed());
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Acquire(post) => {
                let m = method(*post);
                let t = now(&clock);
                let got = ring.try_acquire(&m).now_or_never().unwrap().unwrap();
                let reference = log.decide(&m, t);
                match (got, reference) {
                    (Admission::Granted(lease), LogAdmission::Granted) => {
                        log.admit(&m);
                        leases.push((lease, t));
                    }
                    (Admission::Granted(_), LogAdmission::Wait(w)) => {
                        return Err(TestCaseError::fail(format!(
                            "step {step}: the ring admitted a {m} call the exact log refuses (wait {w:?})"
                        )));
                    }
                    (Admission::Wait(None), LogAdmission::Granted) => {
                        return Err(TestCaseError::fail(format!(
                            "step {step}: concurrency disagrees"
                        )));
                    }
                    (Admission::Wait(_), _) => {}
                }
            }
            Op::Answer {
                lease,
                rejected,
                headers: h,
                latency_ms,
            } => {
                if leases.is_empty() {
                    continue;
                }
                let (lease, admitted) = leases.swap_remove(lease % leases.len());
                let mut map = HeaderMap::new();
                for (name, value) in h {
                    if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
                        map.insert(*name, v);
                    }
                }
                let status = if *rejected {
                    StatusCode::TOO_MANY_REQUESTS
                } else {
                    StatusCode::OK
                };
                clock.advance(Duration::from_millis(*latency_ms));
                let o = headers.observe(&lease.method, status, &map, clock.shared().system_now());
                let t = now(&clock);
                log.answered(&lease.method, admitted, t, true);
                log.observe(&o, t);
                ring.complete(lease, &o).now_or_never().unwrap().unwrap();
            }
            Op::Abandon(i) => {
                if leases.is_empty() {
                    continue;
                }
                let (lease, admitted) = leases.swap_remove(i % leases.len());
                log.answered(&lease.method, admitted, now(&clock), false);
                ring.release(lease);
            }
            Op::Advance(ms) => clock.advance(Duration::from_millis(*ms)),
            Op::Configure {
                post,
                limit,
                concurrency,
                window_s,
            } => {
                let limits = RateLimits::new(
                    limit.map(|l| (method(*post).as_str().to_string(), l)),
                    *concurrency,
                    window_s.map(Duration::from_secs),
                );
                ring.configure(&limits).now_or_never().unwrap().unwrap();
                log.configure(&limits);
            }
        }
        let st = ring.status().now_or_never().unwrap().unwrap();
        let t = now(&clock);
        for m in [Method::GET, Method::POST] {
            let exact = log.used(&m, t);
            let counted = st.methods.get(m.as_str()).map_or(0, |s| u64::from(s.used));
            prop_assert!(
                counted >= exact.min(u64::from(u32::MAX)),
                "step {step} ({op:?}): the ring counts {counted} {m} calls, the exact log {exact}"
            );
        }
        prop_assert_eq!(st.in_flight, log.in_flight);
        prop_assert_eq!(st.rejections, log.rejections);
        prop_assert_eq!(st.concurrency_limit, log.concurrency);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn the_ring_never_admits_a_call_the_exact_log_refuses(
        window_s in prop_oneof![4 => 1u64..5, 1 => Just(60u64), 1 => any::<u64>()],
        ops in prop::collection::vec(op(), 1..80),
    ) {
        lockstep(window_s, &ops)?;
    }
}

/// A server that counts each call when it arrives, `delay` after admission, in a rolling
/// window, and answers (`delay` later again) with what remains.
struct Server {
    window: u64,
    limit: u64,
    arrivals: VecDeque<u64>,
    over: u32,
}

impl Server {
    fn arrive(&mut self, t: u64) {
        while self.arrivals.front().is_some_and(|a| t - a >= self.window) {
            self.arrivals.pop_front();
        }
        if self.arrivals.len() as u64 >= self.limit {
            self.over += 1;
        } else {
            self.arrivals.push_back(t);
        }
    }

    fn remaining(&mut self, t: u64) -> u64 {
        while self.arrivals.front().is_some_and(|a| t - a >= self.window) {
            self.arrivals.pop_front();
        }
        self.limit.saturating_sub(self.arrivals.len() as u64)
    }
}

/// One client calling as fast as the limiter lets it, for `windows` windows: the server never
/// sees a call too many, and throughput stays within the stated cost. The first call takes
/// `first_ms` each way (a connection being set up), the others `delay_ms`.
fn paced(
    window_ms: u64,
    limit: u32,
    (first_ms, delay_ms): (u64, u64),
    burst: bool,
    windows: u64,
) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let window = Duration::from_millis(window_ms);
    let ring = LocalRateLimitBackend::new(clock.shared(), window);
    ring.configure(&RateLimits::new([("GET".to_string(), limit)], None, None))
        .now_or_never()
        .unwrap()
        .unwrap();
    let fine = nanos(ring.granularity());
    let mut server = Server {
        window: nanos(window),
        limit: u64::from(limit),
        arrivals: VecDeque::new(),
        over: 0,
    };
    let delay = Duration::from_millis(delay_ms);
    let pause = if burst {
        Duration::ZERO
    } else {
        window / (4 * limit)
    };
    let end = nanos(window) * windows;
    let mut admitted = 0u64;
    while nanos(clock.elapsed()) < end {
        match ring
            .try_acquire(&Method::GET)
            .now_or_never()
            .unwrap()
            .unwrap()
        {
            Admission::Granted(lease) => {
                admitted += 1;
                let delay = if admitted == 1 {
                    Duration::from_millis(first_ms)
                } else {
                    delay
                };
                clock.advance(delay);
                server.arrive(nanos(clock.elapsed()));
                clock.advance(delay);
                let remaining = server.remaining(nanos(clock.elapsed()));
                let o = RateObservation {
                    method: Method::GET,
                    limit: Some(limit),
                    remaining: Some(u32::try_from(remaining).unwrap()),
                    ..RateObservation::default()
                };
                ring.complete(lease, &o).now_or_never().unwrap().unwrap();
                // Spread out (or not): a pause between calls, so they fill many buckets.
                clock.advance(pause);
            }
            Admission::Wait(Some(w)) => clock.advance(w),
            Admission::Wait(None) => unreachable!("no concurrency limit"),
        }
    }
    prop_assert_eq!(server.over, 0, "the server saw calls over its limit");
    // Each call stays counted from its answer for the span (window + slack) plus at most two
    // bucket widths, and the calls of one bucket may be counted twice for a span.
    let margin = nanos(SLACK);
    let span = nanos(window) + margin;
    let cost = 2 * fine.max(2 * (span + margin) / 255);
    // A generation of `limit` calls takes `limit` steps; it cannot come round faster than the
    // span (plus the cost) allows, nor faster than its own steps.
    let step = 2 * nanos(delay) + nanos(pause);
    let per = (span + cost + step).max(u64::from(limit) * step).max(1);
    let late = 2 * first_ms * 1_000_000;
    let floor = (end.saturating_sub(late) / per).saturating_sub(1) * u64::from(limit) * 98 / 100;
    prop_assert!(
        admitted >= floor,
        "admitted {admitted} in {windows} windows of {window_ms} ms at {limit}; expected at least {floor}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_truthful_server_sees_no_call_too_many_and_throughput_stays_within_the_cost(
        window_ms in prop_oneof![Just(2_000u64), Just(60_000u64), 100u64..100_000],
        limit in 1u32..200,
        delay_ms in 0u64..20,
        first_ms in prop_oneof![Just(0u64), 0u64..500],
        burst in any::<bool>(),
    ) {
        paced(window_ms, limit, (first_ms.max(delay_ms), delay_ms), burst, 12)?;
    }
}

#[test]
fn a_bucket_stays_counted_until_its_latest_call_leaves() {
    // Two calls 3 ms apart share a bucket; a span (1,025 ms) after the first, only it has left.
    lockstep(
        1,
        &[
            Op::Acquire(false),
            Op::Advance(3),
            Op::Acquire(false),
            Op::Advance(1_024),
        ],
    )
    .unwrap();
}

#[test]
fn phantoms_matched_against_a_straddling_bucket_are_moved_not_trusted() {
    let answer = |remaining: &str| Op::Answer {
        lease: 0,
        rejected: false,
        headers: vec![
            ("x-rate-limit", "100".into()),
            ("x-rate-remaining", remaining.into()),
        ],
        latency_ms: 0,
    };
    // Two calls share a bucket that straddles the span's edge when the server counts one
    // call: the ring cannot tell whether the exact log still holds it, so it counts one
    // unsure phantom. When the server later counts five, that phantom must be moved to the
    // present, not trusted where it is: it would leave a span after it was counted, while the
    // log's five stay a span from now.
    lockstep(
        1,
        &[
            Op::Configure {
                post: false,
                limit: Some(100),
                concurrency: None,
                window_s: None,
            },
            Op::Acquire(false),
            Op::Advance(3),
            Op::Acquire(false),
            Op::Advance(1_023),
            answer("99"),
            Op::Advance(5),
            answer("95"),
            Op::Advance(1_020),
        ],
    )
    .unwrap();
}

#[test]
fn regression_calls_answered_slowly_then_a_span_later() {
    // Found by the lockstep property (against a ring that dropped a bucket by its earliest
    // call): a slow answer (then widening the margin), the frontier then lands inside a bucket.
    let answer = Op::Answer {
        lease: 0,
        rejected: false,
        headers: vec![],
        latency_ms: 69,
    };
    lockstep(
        4,
        &[
            Op::Acquire(true),
            answer,
            Op::Advance(1),
            Op::Acquire(true),
            Op::Advance(3030),
            Op::Advance(27),
            Op::Advance(1011),
        ],
    )
    .unwrap();
}

#[test]
fn regression_bursts_in_a_minute_window_keep_their_throughput() {
    // Found by the pacing property: with buckets as wide as the slack, the bucket at the
    // span's edge held a call the server still counted, so every answer counted it twice and
    // each minute lost a call of four. Buckets are now half the margin wide.
    paced(60_000, 4, (9, 9), true, 12).unwrap();
}

#[test]
fn regression_a_slow_first_call_is_not_forgotten_after_a_window_of_fast_ones() {
    // The paced import's one 429 in CI, as a truthful server sees it: the first call reaches
    // the server 300 ms late, the next 199 at once. A margin that decayed per answer had
    // forgotten the first call when the 201st was sent.
    paced(2_000, 200, (300, 0), true, 4).unwrap();
}
