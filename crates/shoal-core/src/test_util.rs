//! Test doubles beside the seams they fake (feature `test-util`): a scripted transport that
//! records what it was sent, the mockall mocks of [`Transport`] and [`Authenticator`], a log
//! capture for canary tests, and [`drop_at_every_pending_point`] for cancellation safety.
//!
//! [`Authenticator`]: crate::Authenticator

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;

use crate::error::{TransportError, TransportErrorKind};
use crate::transport::Transport;

pub use crate::auth::MockAuthenticator;
pub use crate::transport::MockTransport;

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Scripted {
    /// A response with a status, headers and a body.
    Response(StatusCode, Vec<(String, String)>, Bytes),
    /// A transport failure.
    Fail(TransportErrorKind),
}

impl Scripted {
    /// A JSON response.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::Response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            vec![("content-type".into(), "application/json".into())],
            Bytes::from(body.to_string()),
        )
    }
    /// A bodiless response.
    pub fn status(status: u16) -> Self {
        Self::Response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            vec![],
            Bytes::new(),
        )
    }
    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Response(_, headers, _) = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// A transport that answers from a script, in order, and records every request.
/// When the script runs out it answers 200 with an empty JSON object.
#[derive(Clone, Debug, Default)]
pub struct CaptureTransport {
    script: Arc<Mutex<VecDeque<Scripted>>>,
    sent: Arc<Mutex<Vec<http::Request<Bytes>>>>,
}

impl CaptureTransport {
    /// A transport with this script.
    pub fn new(script: impl IntoIterator<Item = Scripted>) -> Self {
        Self {
            script: Arc::new(Mutex::new(script.into_iter().collect())),
            sent: Arc::default(),
        }
    }
    /// Appends answers to the script.
    pub fn push(&self, answer: Scripted) {
        self.script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(answer);
    }
    /// Every request received so far.
    pub fn requests(&self) -> Vec<http::Request<Bytes>> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Transport for CaptureTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
        let next = self
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        match next.unwrap_or_else(|| Scripted::json(200, serde_json::json!({}))) {
            Scripted::Fail(kind) => Err(TransportError::new(kind, "scripted failure")),
            Scripted::Response(status, headers, body) => {
                let mut r = http::Response::new(body);
                *r.status_mut() = status;
                for (k, v) in headers {
                    if let (Ok(k), Ok(v)) = (
                        http::HeaderName::try_from(k),
                        http::HeaderValue::try_from(v),
                    ) {
                        r.headers_mut().append(k, v);
                    }
                }
                Ok(r)
            }
        }
    }
}

/// Everything tracing emits at TRACE on this thread, kept in memory for canary tests (secrets
/// must not appear). Use a current-thread runtime so every task logs to the capture.
///
/// The subscriber is process-global and installed once; it records only events on threads with
/// a live capture. A per-thread default subscriber would miss events whose callsites other
/// tests' threads registered first (tracing caches each callsite's interest process-wide), so
/// canary tests passed alone and failed under `cargo test`.
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    previous: Option<Arc<Mutex<Vec<u8>>>>,
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture").finish_non_exhaustive()
    }
}

thread_local! {
    static ACTIVE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { std::cell::RefCell::new(None) };
}

fn capturing() -> bool {
    ACTIVE.with(|a| a.borrow().is_some())
}

/// Writes to this thread's capture, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        ACTIVE.with(|a| {
            if let Some(buffer) = a.borrow().as_ref() {
                buffer
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_global_subscriber() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| ThreadWriter)
            // Judged per event: a plain `filter_fn` caches each callsite as on or off for everyone.
            .with_filter(tracing_subscriber::filter::dynamic_filter_fn(|_, _| {
                capturing()
            }));
        let subscriber = tracing_subscriber::registry().with(layer);
        if tracing::subscriber::set_global_default(subscriber).is_err() {
            tracing::warn!(
                "LogCapture: another global subscriber is installed; captures may miss events"
            );
        }
    });
}

impl LogCapture {
    /// Starts capturing this thread's events at every level until the capture is dropped.
    pub fn start() -> Self {
        install_global_subscriber();
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let previous = ACTIVE.with(|a| a.borrow_mut().replace(buffer.clone()));
        Self { buffer, previous }
    }

    /// What has been logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        let previous = self.previous.take();
        ACTIVE.with(|a| *a.borrow_mut() = previous);
    }
}

/// Where a round of [`drop_at_every_pending_point`] left its future, given to the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round<T> {
    /// Dropped at its pending point `point` (from 0): as soon as it was pending (`woken` false:
    /// what it waits for had no chance to happen yet), or once what it waits for had happened
    /// and it was woken, but before it was polled to see it (`woken` true).
    Dropped {
        /// Which pending point, from 0.
        point: usize,
        /// Whether it had been woken (its awaited event happened) when it was dropped.
        woken: bool,
    },
    /// Completed, after being pending `points` times.
    Completed {
        /// How many times it was pending.
        points: usize,
        /// What it returned.
        output: T,
    },
}

impl<T> Round<T> {
    /// What the future returned, if this round completed it.
    pub fn into_output(self) -> Option<T> {
        match self {
            Self::Completed { output, .. } => Some(output),
            Self::Dropped { .. } => None,
        }
    }

    /// Whether the future was dropped (not completed) in this round.
    pub fn dropped(&self) -> bool {
        matches!(self, Self::Dropped { .. })
    }
}

impl<T> std::fmt::Display for Round<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dropped {
                point,
                woken: false,
            } => write!(
                f,
                "dropped at pending point {point} as soon as it was pending"
            ),
            Self::Dropped { point, woken: true } => {
                write!(f, "dropped at pending point {point} once woken, unpolled")
            }
            Self::Completed { points, .. } => write!(f, "completed after {points} pending points"),
        }
    }
}

/// Drops a future at each of its pending points in turn, to test that it is cancellation-safe: a
/// caller may drop any future at any `.await` (a deadline, a `select!`, an aborted job), and
/// nothing a server has already done may be lost because of it.
///
/// Each round builds a fresh future with `make()`, drives it to a pending point, drops it there
/// and calls `check` with the [`Round`]; `check` is async, so it may settle whatever the dropped
/// future left running (an in-flight refresh) before asserting the invariant. For point `n` =
/// 0, 1, 2, … there are two rounds, at the two instants a deadline can strike a suspended
/// future:
///
/// 1. **as soon as it is pending** — nothing it started had a chance to run yet (a spawned
///    refresh, a request handed to a connection task);
/// 2. **once woken, before it is polled again** — what it waited for has happened (the server
///    answered, the spawned task finished) but the future has not seen it: the instant at which
///    a caller that does the work itself loses the server's answer.
///
/// The rounds end when a future completes before reaching point `n`: `check` then gets
/// [`Round::Completed`] with its output, and the number of pending points of that run is
/// returned.
///
/// **What a pending point is.** The future is polled with a waker of the utility's own. Each
/// `Poll::Pending` is one point; after it the future is not polled again until it has woken
/// that waker (what it waits for is ready: bytes on a socket, a timer, a spawned task's result),
/// and the runtime then gets one more turn before the next poll (or the drop). While it waits,
/// this task is idle, so everything else runs: spawned tasks (a refresh flight), the I/O driver,
/// servers on 127.0.0.1 in the same runtime, blocking threads — and with tokio's paused time the
/// clock auto-advances to the next timer once the runtime has nothing else to do. Each point is
/// therefore a real suspension, never a spurious re-poll, so even a future that waits on a
/// socket has a bounded number of points. Over real sockets that number may differ between
/// rounds (a read may find its bytes in one or two wake-ups): every round still drops the
/// future at a genuine suspension, and the rounds end at the first that completes.
///
/// Works on any tokio runtime (current-thread is the most deterministic); the future need not be
/// `Send`. A future still pending after 5,000 points makes this panic instead of running on.
///
/// ```
/// use shoal_core::test_util::{Round, drop_at_every_pending_point};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let log = std::sync::Mutex::new(Vec::new());
/// let points = drop_at_every_pending_point(
///     || async {
///         tokio::task::yield_now().await;
///         tokio::task::yield_now().await;
///         "done"
///     },
///     |round| {
///         log.lock().unwrap().push(round);
///         async {}
///     },
/// )
/// .await;
/// assert_eq!(points, 2);
/// let dropped = |point, woken| Round::Dropped { point, woken };
/// assert_eq!(
///     *log.lock().unwrap(),
///     [
///         dropped(0, false),
///         dropped(0, true),
///         dropped(1, false),
///         dropped(1, true),
///         Round::Completed { points: 2, output: "done" },
///     ]
/// );
/// # });
/// ```
pub async fn drop_at_every_pending_point<F, Fut, C, CheckFut>(mut make: F, mut check: C) -> usize
where
    F: FnMut() -> Fut,
    Fut: std::future::Future,
    C: FnMut(Round<Fut::Output>) -> CheckFut,
    CheckFut: std::future::Future<Output = ()>,
{
    const MAX_POINTS: usize = 5_000;
    for point in 0..MAX_POINTS {
        for woken in [false, true] {
            match run_to_pending_point(make(), point, woken).await {
                Some(output) => {
                    check(Round::Completed {
                        points: point,
                        output,
                    })
                    .await;
                    return point;
                }
                None => check(Round::Dropped { point, woken }).await,
            }
        }
    }
    panic!("drop_at_every_pending_point: still pending after {MAX_POINTS} points");
}

/// Wakes the driver of [`run_to_pending_point`].
struct Wakeup(tokio::sync::Notify);

impl std::task::Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.0.notify_one();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify_one();
    }
}

/// Drives `fut` to its pending point `n` (from 0) and drops it there, at once or once woken
/// (`None`), or gives back its output if it completes first.
async fn run_to_pending_point<Fut: std::future::Future>(
    fut: Fut,
    n: usize,
    woken: bool,
) -> Option<Fut::Output> {
    let wakeup = Arc::new(Wakeup(tokio::sync::Notify::new()));
    let waker = std::task::Waker::from(wakeup.clone());
    let mut fut = std::pin::pin!(fut);
    let mut points = 0;
    loop {
        let mut cx = std::task::Context::from_waker(&waker);
        if let std::task::Poll::Ready(output) = fut.as_mut().poll(&mut cx) {
            return Some(output);
        }
        if points == n && !woken {
            return None; // `fut` is dropped here, suspended at point n
        }
        // Not polled again until it asks to be (a permit is kept if it already did), and the
        // runtime gets a turn either way.
        wakeup.0.notified().await;
        tokio::task::yield_now().await;
        if points == n {
            return None; // dropped at point n, woken but not polled
        }
        points += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::clock::{Clock as _, SystemClock};

    /// Counts the awaits a future got past, and whether it was dropped.
    #[derive(Default)]
    struct Probe {
        passed: AtomicUsize,
        dropped: AtomicUsize,
    }

    struct OnDrop<'a>(&'a Probe);

    impl Drop for OnDrop<'_> {
        fn drop(&mut self) {
            self.0.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_future_with_k_awaits_is_dropped_at_each_and_completes_after_the_last() {
        for k in 0..5 {
            let probe = Probe::default();
            let seen = Mutex::new(Vec::new());
            let points = drop_at_every_pending_point(
                || {
                    probe.passed.store(0, Ordering::SeqCst);
                    let probe = &probe;
                    async move {
                        let _guard = OnDrop(probe);
                        for _ in 0..k {
                            tokio::task::yield_now().await;
                            probe.passed.fetch_add(1, Ordering::SeqCst);
                        }
                        k * 10
                    }
                },
                |round| {
                    let passed = probe.passed.load(Ordering::SeqCst);
                    let dropped = probe.dropped.load(Ordering::SeqCst);
                    seen.lock().unwrap().push((round, passed, dropped));
                    async {}
                },
            )
            .await;
            assert_eq!(points, k, "a future with {k} awaits has {k} pending points");
            let mut expected = Vec::new();
            for point in 0..k {
                for woken in [false, true] {
                    let rounds = expected.len();
                    expected.push((Round::Dropped { point, woken }, point, rounds + 1));
                }
            }
            expected.push((
                Round::Completed {
                    points: k,
                    output: k * 10,
                },
                k,
                2 * k + 1,
            ));
            assert_eq!(
                *seen.lock().unwrap(),
                expected,
                "each point is dropped at twice (before the check, after `point` awaits), and \
                 the last round completes"
            );
        }
    }

    #[tokio::test]
    async fn spawned_work_runs_on_after_a_drop_and_before_a_woken_drop() {
        // The future hands its work to a task and waits for it, as a refresh flight does.
        let finished = Arc::new(AtomicUsize::new(0));
        let rounds = AtomicUsize::new(0);
        let at_drop = Mutex::new(Vec::new());
        let points = drop_at_every_pending_point(
            || {
                let finished = finished.clone();
                async move {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    tokio::spawn(async move {
                        for _ in 0..3 {
                            tokio::task::yield_now().await;
                        }
                        finished.fetch_add(1, Ordering::SeqCst);
                        let _ = tx.send(());
                    });
                    rx.await.is_ok()
                }
            },
            |round| {
                let started = rounds.fetch_add(1, Ordering::SeqCst) + 1;
                at_drop
                    .lock()
                    .unwrap()
                    .push((round, started - finished.load(Ordering::SeqCst)));
                let finished = finished.clone();
                async move {
                    // The dropped caller's task still finishes; the check can wait for it.
                    while finished.load(Ordering::SeqCst) < started {
                        tokio::task::yield_now().await;
                    }
                }
            },
        )
        .await;
        assert_eq!(
            points, 1,
            "one wait for the task's answer, however long it works"
        );
        assert_eq!(
            *at_drop.lock().unwrap(),
            [
                (
                    Round::Dropped {
                        point: 0,
                        woken: false
                    },
                    1
                ),
                (
                    Round::Dropped {
                        point: 0,
                        woken: true
                    },
                    0
                ),
                (
                    Round::Completed {
                        points: 1,
                        output: true
                    },
                    0
                ),
            ],
            "dropped at once, the task had not run; dropped once woken, it had finished"
        );
        assert_eq!(finished.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn with_paused_time_each_timer_is_one_point_and_the_clock_advances_by_itself() {
        let clock = SystemClock;
        let start = clock.now();
        let elapsed = Mutex::new(Vec::new());
        let points = drop_at_every_pending_point(
            || async {
                clock.sleep(Duration::from_secs(60)).await;
                clock.sleep(Duration::from_secs(60)).await;
            },
            |_| {
                elapsed
                    .lock()
                    .unwrap()
                    .push(clock.now().saturating_duration_since(start).as_secs());
                async {}
            },
        )
        .await;
        assert_eq!(points, 2);
        // Point 0 at once (0 s) and once its timer fired (+60 s); point 1 at once (+60 s) and
        // once fired (+120 s); then a whole run (+120 s).
        assert_eq!(*elapsed.lock().unwrap(), [0, 60, 120, 240, 360]);
    }

    #[tokio::test]
    async fn a_future_waiting_on_a_real_socket_has_a_bounded_number_of_points() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            // Answers each connection's first bytes with "pong" once they arrive.
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 16];
                    loop {
                        if stream.readable().await.is_err() {
                            return;
                        }
                        match stream.try_read(&mut buf) {
                            Ok(0) => return,
                            Ok(_) => break,
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                            Err(_) => return,
                        }
                    }
                    let _ = stream.writable().await;
                    let _ = stream.try_write(b"pong");
                });
            }
        });
        let points = drop_at_every_pending_point(
            || async move {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream.writable().await.unwrap();
                stream.try_write(b"ping").unwrap();
                let mut buf = [0u8; 16];
                loop {
                    stream.readable().await.unwrap();
                    match stream.try_read(&mut buf) {
                        Ok(n) => return buf[..n].to_vec(),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            },
            |round| {
                if let Some(reply) = round.into_output() {
                    assert_eq!(reply, b"pong");
                }
                async {}
            },
        )
        .await;
        assert!(
            (1..100).contains(&points),
            "connect and read are real suspensions, not spins: {points}"
        );
    }

    #[test]
    fn rounds_say_where_the_future_was_dropped() {
        let round = |point, woken| Round::<()>::Dropped { point, woken }.to_string();
        assert_eq!(
            round(2, false),
            "dropped at pending point 2 as soon as it was pending"
        );
        assert_eq!(
            round(2, true),
            "dropped at pending point 2 once woken, unpolled"
        );
        let done = Round::Completed {
            points: 3,
            output: 7,
        };
        assert!(!done.dropped());
        assert_eq!(done.to_string(), "completed after 3 pending points");
        assert_eq!(done.into_output(), Some(7));
    }
}
