//! Unit tests of the pipeline's retry and authentication branches, with mocked seams.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::StatusCode;

use super::*;
use crate::auth::{AuthStamp, MockAuthenticator};
use crate::clock::{Clock, Sleep, SystemClock};
use crate::error::{TransportError, TransportErrorKind};
use crate::retry::Backoff;
use crate::transport::MockTransport;

/// Monotonic time and sleeps from paused tokio time; wall time moves with it from a fixed start.
#[derive(Debug)]
struct PausedClock {
    start: std::time::Instant,
}

impl PausedClock {
    const WALL: u64 = 1_767_225_600;
    fn shared() -> SharedClock {
        Arc::new(Self {
            start: SystemClock.now(),
        })
    }
    fn wall_start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(Self::WALL)
    }
}

impl Clock for PausedClock {
    fn now(&self) -> std::time::Instant {
        SystemClock.now()
    }
    fn system_now(&self) -> SystemTime {
        Self::wall_start() + (SystemClock.now() - self.start)
    }
    fn sleep(&self, d: Duration) -> Sleep {
        SystemClock.sleep(d)
    }
}

fn respond(status: u16, headers: &[(&str, &str)]) -> http::Response<Bytes> {
    let mut r = http::Response::new(Bytes::new());
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    r
}

/// A mock transport answering from a list, counting calls.
fn scripted(
    answers: Vec<Result<http::Response<Bytes>, TransportErrorKind>>,
) -> (MockTransport, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let answers = std::sync::Mutex::new(answers.into_iter());
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        match answers.lock().unwrap().next() {
            Some(Ok(r)) => Ok(r),
            Some(Err(kind)) => Err(TransportError::new(kind, "scripted")),
            None => Ok(respond(200, &[])),
        }
    });
    (mock, calls)
}

fn pipeline(transport: MockTransport) -> PipelineBuilder {
    Pipeline::builder("http://127.0.0.1:9/v1".parse().unwrap())
        .transport(transport)
        .clock(PausedClock::shared())
        .jitter_seed(1)
}

#[tokio::test(start_paused = true)]
async fn each_retryable_status_is_retried_then_succeeds() {
    for status in [429, 500, 502, 503, 504] {
        let (t, calls) = scripted(vec![Ok(respond(status, &[]))]);
        let p = pipeline(t).build().unwrap();
        let r = p.execute(Request::get("x")).await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "status {status}");
        assert_eq!(p.stats().retries, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_non_retryable_status_is_returned_at_once() {
    let (t, calls) = scripted(vec![Ok(respond(404, &[]))]);
    let err = pipeline(t)
        .build()
        .unwrap()
        .execute(Request::get("x"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_post_answered_503_is_not_resent_and_says_it_may_have_been_processed() {
    let (t, calls) = scripted(vec![Ok(respond(503, &[]))]);
    let err = pipeline(t)
        .build()
        .unwrap()
        .execute(Request::post("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MaybeProcessed { .. }), "{err:?}");
    assert!(err.to_string().contains("may have been processed"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_post_whose_connection_was_refused_is_resent() {
    let (t, calls) = scripted(vec![Err(TransportErrorKind::ConnectRefused)]);
    pipeline(t)
        .build()
        .unwrap()
        .execute(Request::post("x"))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_post_that_lost_its_connection_is_not_resent() {
    let (t, calls) = scripted(vec![Err(TransportErrorKind::Io)]);
    let err = pipeline(t)
        .build()
        .unwrap()
        .execute(Request::post("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MaybeProcessed { .. }));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_vendor_that_does_not_process_errors_gets_a_post_resent_after_429() {
    let (t, calls) = scripted(vec![Ok(respond(429, &[("retry-after", "1")]))]);
    pipeline(t)
        .unprocessed_statuses([StatusCode::TOO_MANY_REQUESTS])
        .build()
        .unwrap()
        .execute(Request::post("x"))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_post_answered_5xx_is_not_resent_even_when_429s_are_unprocessed() {
    for status in [500, 502, 503, 504] {
        let (t, calls) = scripted(vec![Ok(respond(status, &[]))]);
        let err = pipeline(t)
            .unprocessed_statuses([StatusCode::TOO_MANY_REQUESTS])
            .build()
            .unwrap()
            .execute(Request::post("x"))
            .await
            .unwrap_err();
        assert!(err.may_have_been_processed(), "{status}: {err}");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_is_waited_exactly() {
    let (t, _) = scripted(vec![Ok(respond(503, &[("retry-after", "7")]))]);
    let p = pipeline(t).build().unwrap();
    let start = p.clock().now();
    p.execute(Request::get("x")).await.unwrap();
    assert_eq!(p.clock().now() - start, Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_is_waited_until() {
    let at = httpdate::fmt_http_date(PausedClock::wall_start() + Duration::from_secs(12));
    let (t, _) = scripted(vec![Ok(respond(503, &[("retry-after", &at)]))]);
    let p = pipeline(t).build().unwrap();
    let start = p.clock().now();
    p.execute(Request::get("x")).await.unwrap();
    assert_eq!(p.clock().now() - start, Duration::from_secs(12));
}

#[tokio::test(start_paused = true)]
async fn retry_after_beyond_the_cap_is_an_error_not_a_sleep() {
    let (t, calls) = scripted(vec![Ok(respond(503, &[("retry-after", "3600")]))]);
    let p = pipeline(t).build().unwrap();
    let start = p.clock().now();
    let err = p.execute(Request::get("x")).await.unwrap_err();
    assert!(
        matches!(err, Error::RetryAfterTooLong { requested, .. } if requested == Duration::from_secs(3600))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(p.clock().now(), start);
}

#[tokio::test(start_paused = true)]
async fn attempts_are_bounded() {
    let (t, calls) = scripted((0..10).map(|_| Ok(respond(500, &[]))).collect());
    let policy = RetryPolicy::default().max_attempts(3);
    let err = pipeline(t)
        .retry_policy(policy)
        .build()
        .unwrap()
        .execute(Request::get("x"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_budget_stops_retrying() {
    let (t, calls) = scripted((0..10).map(|_| Ok(respond(503, &[]))).collect());
    let policy = RetryPolicy::default().max_attempts(10);
    let budget = Arc::new(RetryBudget::new(10, 5, 1));
    let err = pipeline(t)
        .retry_policy(policy)
        .retry_budget(budget.clone())
        .build()
        .unwrap()
        .execute(Request::get("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RetryBudgetExhausted { .. }), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(budget.available(), 0);
}

#[tokio::test(start_paused = true)]
async fn backoff_delays_lie_within_the_cap() {
    let (t, _) = scripted((0..5).map(|_| Ok(respond(502, &[]))).collect());
    let policy = RetryPolicy::default()
        .max_attempts(6)
        .backoff(Backoff::new(Duration::from_secs(1), Duration::from_secs(4)));
    let p = pipeline(t).retry_policy(policy).build().unwrap();
    let start = p.clock().now();
    p.execute(Request::get("x")).await.unwrap();
    // Five retries, each at most min(cap, 1s·2ⁿ): 1 + 2 + 4 + 4 + 4.
    assert!(p.clock().now() - start <= Duration::from_secs(15));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_ends_a_hanging_call() {
    let mut t = MockTransport::new();
    t.expect_send()
        .returning(|_| Err(TransportError::new(TransportErrorKind::Timeout, "read")));
    let p = pipeline(t)
        .retry_policy(RetryPolicy::default().max_attempts(1000))
        .retry_budget(Arc::new(RetryBudget::unlimited()))
        .deadline(Duration::from_secs(30))
        .build()
        .unwrap();
    let err = p.execute(Request::get("x")).await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { deadline, .. } if deadline == Duration::from_secs(30)),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_401_refreshes_and_replays_once_without_counting_a_retry() {
    let (t, calls) = scripted(vec![Ok(respond(401, &[]))]);
    let mut auth = MockAuthenticator::new();
    let stamps = Arc::new(AtomicU32::new(0));
    let s = stamps.clone();
    auth.expect_authenticate_now().times(2).returning(|_| None);
    auth.expect_authenticate()
        .times(2)
        .returning(move |_| Ok(AuthStamp(s.fetch_add(1, Ordering::SeqCst) as u64)));
    auth.expect_unauthorized()
        .withf(|stamp| *stamp == AuthStamp(0))
        .times(1)
        .returning(|_| Ok(true));
    auth.expect_succeeded()
        .withf(|stamp| *stamp == AuthStamp(1))
        .times(1)
        .return_const(());
    let p = pipeline(t)
        .retry_policy(RetryPolicy::default().max_attempts(1))
        .authenticator(Arc::new(auth))
        .build()
        .unwrap();
    p.execute(Request::get("x")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(p.stats().auth_replays, 1);
    assert_eq!(p.stats().retries, 0);
}

#[tokio::test(start_paused = true)]
async fn a_credential_at_hand_is_used_without_awaiting_one() {
    let mut t = MockTransport::new();
    t.expect_send()
        .withf(|req| req.headers().get("x-key").is_some_and(|v| v == "k"))
        .times(1)
        .returning(|_| Ok(respond(200, &[])));
    let mut auth = MockAuthenticator::new();
    // No `authenticate` expectation: awaiting it would fail the test.
    auth.expect_authenticate_now().times(1).returning(|req| {
        req.headers_mut()
            .insert("x-key", http::HeaderValue::from_static("k"));
        Some(Ok(AuthStamp(7)))
    });
    auth.expect_succeeded()
        .withf(|stamp| *stamp == AuthStamp(7))
        .times(1)
        .return_const(());
    let p = pipeline(t).authenticator(Arc::new(auth)).build().unwrap();
    p.execute(Request::get("x")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_second_401_is_returned_not_replayed_again() {
    let (t, calls) = scripted(vec![Ok(respond(401, &[])), Ok(respond(401, &[]))]);
    let mut auth = MockAuthenticator::new();
    auth.expect_authenticate_now().returning(|_| None);
    auth.expect_authenticate().returning(|_| Ok(AuthStamp(0)));
    auth.expect_unauthorized().times(1).returning(|_| Ok(true));
    let p = pipeline(t).authenticator(Arc::new(auth)).build().unwrap();
    let err = p.execute(Request::get("x")).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(err.is_auth());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_401_the_authenticator_cannot_fix_is_returned() {
    let (t, calls) = scripted(vec![Ok(respond(401, &[]))]);
    let mut auth = MockAuthenticator::new();
    auth.expect_authenticate_now().returning(|_| None);
    auth.expect_authenticate().returning(|_| Ok(AuthStamp(0)));
    auth.expect_unauthorized().returning(|_| {
        Err(Error::auth(
            crate::AuthErrorKind::ReauthenticationRequired,
            "refresh token revoked",
        ))
    });
    let err = pipeline(t)
        .authenticator(Arc::new(auth))
        .build()
        .unwrap()
        .execute(Request::get("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Auth(a) if a.kind == crate::AuthErrorKind::ReauthenticationRequired)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_429_that_survives_retries_is_a_rate_limited_error() {
    let (t, _) = scripted(
        (0..4)
            .map(|_| Ok(respond(429, &[("retry-after", "2")])))
            .collect(),
    );
    let err = pipeline(t)
        .build()
        .unwrap()
        .execute(Request::get("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(2)),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn default_headers_and_the_decoder_apply() {
    let mut t = MockTransport::new();
    t.expect_send()
        .withf(|r| r.headers().get("developer-id").is_some_and(|v| v == "dev1"))
        .returning(|_| {
            let mut r = respond(422, &[]);
            *r.body_mut() = Bytes::from_static(br#"{"errors":{"zip":["is invalid"]}}"#);
            Ok(r)
        });
    let err = pipeline(t)
        .default_header(
            http::HeaderName::from_static("developer-id"),
            http::HeaderValue::from_static("dev1"),
        )
        .build()
        .unwrap()
        .execute(Request::post("contacts"))
        .await
        .unwrap_err();
    let service = err.service().unwrap();
    assert_eq!(
        service.detail.fields,
        vec![("zip".to_string(), vec!["is invalid".to_string()])]
    );
}

/// A transport whose answer never comes (a stalled server).
fn stalled() -> impl Transport {
    |_req: http::Request<Bytes>| async {
        std::future::pending::<()>().await;
        Ok::<_, TransportError>(respond(200, &[]))
    }
}

#[tokio::test(start_paused = true)]
async fn a_post_cut_off_by_the_deadline_may_have_been_processed() {
    let p = Pipeline::builder("http://127.0.0.1:9/v1".parse().unwrap())
        .transport(stalled())
        .clock(PausedClock::shared())
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap();
    let post = p.execute(Request::post("contacts")).await.unwrap_err();
    assert!(post.may_have_been_processed(), "{post}");
    assert!(
        matches!(&post, Error::MaybeProcessed { last } if matches!(**last, Error::Timeout { .. }))
    );
    let get = p.execute(Request::get("contacts")).await.unwrap_err();
    assert!(matches!(get, Error::Timeout { .. }), "{get}");
    assert!(get.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn a_post_still_waiting_for_the_limiter_at_the_deadline_was_not_sent() {
    let clock = PausedClock::shared();
    let limits = crate::RateLimits::new([("POST".to_string(), 1)], None, None);
    let limiter = Arc::new(crate::RateLimiter::local(
        clock.clone(),
        Duration::from_secs(60),
        &limits,
        crate::RateLimitHeaders::x_rate(),
    ));
    let (t, calls) = scripted(vec![]);
    let p = pipeline(t)
        .clock(clock)
        .rate_limiter(limiter)
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap();
    p.execute(Request::post("x")).await.unwrap();
    let err = p.execute(Request::post("x")).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_body_over_the_cap_is_a_non_retryable_error() {
    let (t, calls) = scripted(vec![Ok(http::Response::new(Bytes::from(vec![b'x'; 2048])))]);
    let err = pipeline(t)
        .max_body_bytes(1024)
        .build()
        .unwrap()
        .execute(Request::get("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport { source, .. } if source.kind == TransportErrorKind::TooLarge),
        "{err}"
    );
    assert!(err.to_string().contains("1024-byte limit"), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[derive(Default)]
struct Recording {
    before: AtomicU32,
    after: std::sync::Mutex<Vec<u16>>,
}

#[async_trait::async_trait]
impl crate::Interceptor for Recording {
    async fn before_call(&self, request: &Request) -> Result<()> {
        if request.target() == "refuse" {
            return Err(Error::invalid("target", "refused by the interceptor"));
        }
        self.before.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn after_answer(&self, _m: &http::Method, status: StatusCode, _h: &HeaderMap) {
        self.after.lock().unwrap().push(status.as_u16());
    }
}

#[tokio::test(start_paused = true)]
async fn interceptors_run_once_before_a_call_and_after_every_answer() {
    let (t, calls) = scripted(vec![Ok(respond(503, &[]))]);
    let seen = Arc::new(Recording::default());
    let p = pipeline(t).interceptor(seen.clone()).build().unwrap();
    p.execute(Request::get("x")).await.unwrap();
    assert_eq!(seen.before.load(Ordering::SeqCst), 1);
    assert_eq!(*seen.after.lock().unwrap(), vec![503, 200]);
    let err = p.execute(Request::get("refuse")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a refused call is not sent"
    );
}

struct Renaming;

impl ErrorDecoder for Renaming {
    fn decode(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceDetail {
        CommonErrorDecoder.decode(status, headers, body)
    }
    fn refine(&self, error: Error) -> Error {
        match error.status() {
            Some(StatusCode::NOT_FOUND) => Error::invalid("thing", "no such thing"),
            _ => error,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_decoder_refines_a_final_error_once() {
    let (t, _) = scripted(vec![Ok(respond(404, &[]))]);
    let err = pipeline(t)
        .error_decoder(Renaming)
        .build()
        .unwrap()
        .execute(Request::get("x"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid thing: no such thing");
}

async fn until(p: &Pipeline, ready: impl Fn(&PipelineStats) -> bool) {
    for _ in 0..1000 {
        if ready(&p.stats()) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never reached: {:?}", p.stats());
}

/// Issue 17 #10: a progress line can say what calls wait for; a dropped call counts down.
#[tokio::test(start_paused = true)]
async fn stats_say_what_the_calls_in_progress_wait_for() {
    let p = Pipeline::builder("http://127.0.0.1:9/v1".parse().unwrap())
        .transport(|_req: http::Request<Bytes>| {
            std::future::pending::<std::result::Result<http::Response<Bytes>, TransportError>>()
        })
        .clock(PausedClock::shared())
        .build()
        .unwrap();
    assert_eq!(p.stats().waiting(), None);
    let call = tokio::spawn({
        let p = p.clone();
        async move { p.execute(Request::get("x")).await }
    });
    until(&p, |s| s.awaiting_answer == 1).await;
    assert_eq!(p.stats().waiting().as_deref(), Some("1 awaiting answers"));
    call.abort();
    let _ = call.await;
    assert_eq!(p.stats().awaiting_answer, 0);
    assert_eq!(p.stats().waiting(), None);

    let (t, _) = scripted(vec![Ok(respond(503, &[("retry-after", "10")]))]);
    let p = pipeline(t).build().unwrap();
    let call = tokio::spawn({
        let p = p.clone();
        async move { p.execute(Request::get("x")).await }
    });
    until(&p, |s| s.retry_wait == 1).await;
    assert_eq!(p.stats().waiting().as_deref(), Some("1 waiting to retry"));
    assert!(call.await.unwrap().is_ok());
    assert_eq!(p.stats().retry_wait, 0);
}

/// A limiter backend whose bookkeeping always fails (a shared limiter that went away).
#[derive(Debug)]
struct BrokenBookkeeping;

#[async_trait::async_trait]
impl crate::RateLimitBackend for BrokenBookkeeping {
    async fn try_acquire(&self, method: &http::Method) -> Result<crate::Admission> {
        Ok(crate::Admission::Granted(crate::Lease {
            method: method.clone(),
            id: String::new(),
            admitted: 0,
        }))
    }
    fn release(&self, _lease: crate::Lease) {}
    async fn observe(&self, _o: &crate::RateObservation) -> Result<()> {
        Err(Error::Config("the shared limiter is unreachable".into()))
    }
    async fn complete(&self, _lease: crate::Lease, _o: &crate::RateObservation) -> Result<()> {
        Err(Error::Config("the shared limiter is unreachable".into()))
    }
    async fn configure(&self, _limits: &crate::RateLimits) -> Result<()> {
        Ok(())
    }
    async fn status(&self) -> Result<crate::RateLimitStatus> {
        Ok(crate::RateLimitStatus::default())
    }
}

/// Regression (issue 17 #7): an answer that arrived is returned, even a processed POST's, when
/// the limiter cannot record it; the failure is logged.
#[tokio::test(start_paused = true)]
async fn a_limiter_bookkeeping_failure_after_the_answer_is_logged_not_returned() {
    let logs = crate::test_util::LogCapture::start();
    let (t, calls) = scripted(vec![Ok(respond(201, &[]))]);
    let limiter = Arc::new(crate::RateLimiter::new(
        Arc::new(BrokenBookkeeping),
        crate::RateLimitHeaders::x_rate(),
        PausedClock::shared(),
    ));
    let p = pipeline(t).rate_limiter(limiter).build().unwrap();
    let answer = p.execute(Request::post("contacts")).await.unwrap();
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "never resent");
    assert!(
        logs.text().contains("rate limiter could not learn"),
        "{}",
        logs.text()
    );
}

/// Regression (issue 17 #11): a vendor's field messages are shown redacted.
#[tokio::test(start_paused = true)]
async fn field_messages_are_redacted_like_every_vendor_message() {
    let mut t = MockTransport::new();
    t.expect_send().returning(|_| {
        let mut r = respond(422, &[]);
        *r.body_mut() =
            Bytes::from_static(br#"{"errors":{"token":["access_token=T0PSECRET is expired"]}}"#);
        Ok(r)
    });
    let err = pipeline(t)
        .build()
        .unwrap()
        .execute(Request::post("contacts"))
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("T0PSECRET"), "{shown}");
    assert!(
        err.service().unwrap().detail.fields[0].1[0].contains("is expired"),
        "{shown}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_success_answers_summary_is_redacted_when_it_is_first_asked_for() {
    let (t, _) = scripted(vec![Ok(respond(200, &[]))]);
    let p = pipeline(t).build().unwrap();
    let r = p
        .execute(Request::get("things").query("access_token", "hunter2"))
        .await
        .unwrap();
    let shown = r.request().url.clone();
    assert!(
        shown.starts_with("http://127.0.0.1:9/v1/things?"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!format!("{r:?}").contains("hunter2"));
    // A decode failure names the same request.
    let err = r.json::<Vec<u8>>().unwrap_err();
    assert!(err.to_string().contains("/v1/things"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    // A request shown under another target keeps it.
    let (t, _) = scripted(vec![Ok(respond(200, &[]))]);
    let r = pipeline(t)
        .build()
        .unwrap()
        .execute(Request::get("token/s3cret").display_as("token/{token}"))
        .await
        .unwrap();
    assert_eq!(r.request().url, "http://127.0.0.1:9/v1/token/%7Btoken%7D");
}
