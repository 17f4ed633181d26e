//! The [`Pipeline`]: every request's one path — pace, authenticate, send, observe, retry.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::auth::{Authenticator, NoAuth};
use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, RequestSummary, Result, ServiceDetail, ServiceError};
use crate::interceptor::Interceptor;
use crate::ratelimit::RateLimiter;
use crate::redact::Redactor;
use crate::request::{Request, Response};
use crate::retry::{
    Classification, Decision, GiveUp, RetryBudget, RetryClassifier, RetryPolicy, StandardClassifier,
};
use crate::transport::Transport;

/// How a vendor's errors are read: its error body into a [`ServiceDetail`] (code, message,
/// field errors), and — once, when a call has failed for good — the error given its vendor
/// meaning.
pub trait ErrorDecoder: Send + Sync + 'static {
    /// Reads an error response.
    fn decode(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceDetail;

    /// Gives a call's final error its vendor meaning (Pearl Diver: a 401 that survived a
    /// refresh means "log in again"). Runs once per failed call, inside the pipeline, so a
    /// request sent through the pipeline directly is shaped as the typed calls are.
    fn refine(&self, error: Error) -> Error {
        error
    }
}

impl<F> ErrorDecoder for F
where
    F: Fn(StatusCode, &HeaderMap, &[u8]) -> ServiceDetail + Send + Sync + 'static,
{
    fn decode(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceDetail {
        (self)(status, headers, body)
    }
}

/// Reads the common JSON error shapes: OAuth's `error`/`error_description`, `message`,
/// `errormessage`, and `errors: {field: [messages]}`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CommonErrorDecoder;

impl ErrorDecoder for CommonErrorDecoder {
    fn decode(&self, _status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> ServiceDetail {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
        else {
            return ServiceDetail::default();
        };
        let text = |k: &str| {
            map.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string)
        };
        let code = text("error").or_else(|| text("code"));
        let message = text("error_description")
            .or_else(|| text("errormessage"))
            .or_else(|| text("message"));
        let mut fields = Vec::new();
        if let Some(serde_json::Value::Object(errors)) = map.get("errors") {
            for (field, msgs) in errors {
                let msgs = match msgs {
                    serde_json::Value::Array(a) => a
                        .iter()
                        .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
                        .collect(),
                    serde_json::Value::String(s) => vec![s.clone()],
                    other => vec![other.to_string()],
                };
                fields.push((field.clone(), msgs));
            }
        }
        ServiceDetail {
            code,
            message,
            fields,
        }
    }
}

/// Counters for one pipeline (shared by its clones).
#[derive(Debug, Default)]
struct Stats {
    calls: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    auth_replays: AtomicU64,
    rate_limited: AtomicU64,
    failures: AtomicU64,
    pacing: AtomicU64,
    authenticating: AtomicU64,
    awaiting_answer: AtomicU64,
    retry_wait: AtomicU64,
}

/// Counts one call in a gauge while it is alive; dropped at any await, it still counts down.
struct Gauge<'a>(&'a AtomicU64);

impl<'a> Gauge<'a> {
    fn enter(g: &'a AtomicU64) -> Self {
        g.fetch_add(1, Ordering::Relaxed);
        Self(g)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A snapshot of a pipeline's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Calls made through [`Pipeline::execute`].
    pub calls: u64,
    /// Requests handed to the transport.
    pub attempts: u64,
    /// Retries after a failure.
    pub retries: u64,
    /// Replays after a 401 and a credential refresh.
    pub auth_replays: u64,
    /// 429 responses received.
    pub rate_limited: u64,
    /// Calls that ended in an error.
    pub failures: u64,
    /// Calls waiting now for the rate limiter to admit them.
    pub pacing: u64,
    /// Calls waiting now for credentials (a token refresh or session login).
    pub authenticating: u64,
    /// Calls sent and waiting now for their answer.
    pub awaiting_answer: u64,
    /// Calls waiting now to retry (backing off, or as a `Retry-After` asked).
    pub retry_wait: u64,
}

impl PipelineStats {
    /// What the calls in progress are waiting for, for a progress line: `"2 paced by the rate
    /// limit, 4 awaiting answers"`; `None` when nothing is in progress.
    pub fn waiting(&self) -> Option<String> {
        let parts: Vec<String> = [
            (self.pacing, "paced by the rate limit"),
            (self.authenticating, "waiting for a token"),
            (self.retry_wait, "waiting to retry"),
            (self.awaiting_answer, "awaiting answers"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

struct Inner {
    base_url: Url,
    /// `base_url` ending in `/`, which relative targets join.
    directory: Url,
    transport: Arc<dyn Transport>,
    auth: Arc<dyn Authenticator>,
    limiter: Option<Arc<RateLimiter>>,
    retry: RetryPolicy,
    classifier: Arc<dyn RetryClassifier>,
    unprocessed: Vec<StatusCode>,
    interceptors: Vec<Arc<dyn Interceptor>>,
    max_body_bytes: Option<usize>,
    budget: Arc<RetryBudget>,
    clock: SharedClock,
    redactor: Arc<Redactor>,
    decoder: Arc<dyn ErrorDecoder>,
    deadline: Option<Duration>,
    default_headers: HeaderMap,
    rng: Mutex<StdRng>,
    seed: Option<u64>,
    stats: Arc<Stats>,
}

/// Runs requests: rate limiter → authenticator → transport → observe, inside a retry loop, under
/// an overall deadline. Cheap to clone; clones share everything (limiter, budget, counters).
///
/// ```
/// # use bytes::Bytes;
/// use shoal_core::{Pipeline, Request, TransportError};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let transport = |_req: http::Request<Bytes>| async {
///     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(br#"{"ok":true}"#)))
/// };
/// let pipeline = Pipeline::builder("https://api.example.test/v1".parse()?)
///     .transport(transport)
///     .build()?;
/// let body: serde_json::Value = pipeline.json(Request::get("status")).await?;
/// assert_eq!(body["ok"], true);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("base_url", &self.inner.redactor.url(&self.inner.base_url))
            .field("retry", &self.inner.retry)
            .field("deadline", &self.inner.deadline)
            .field("rate_limited", &self.inner.limiter.is_some())
            .finish()
    }
}

/// Settings for a [`Pipeline`].
pub struct PipelineBuilder {
    base_url: Url,
    transport: Option<Arc<dyn Transport>>,
    auth: Arc<dyn Authenticator>,
    limiter: Option<Arc<RateLimiter>>,
    retry: RetryPolicy,
    classifier: Arc<dyn RetryClassifier>,
    unprocessed: Vec<StatusCode>,
    interceptors: Vec<Arc<dyn Interceptor>>,
    max_body_bytes: Option<usize>,
    budget: Option<Arc<RetryBudget>>,
    clock: SharedClock,
    redactor: Redactor,
    decoder: Arc<dyn ErrorDecoder>,
    deadline: Option<Duration>,
    default_headers: HeaderMap,
    seed: Option<u64>,
}

impl fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("base_url", &self.redactor.url(&self.base_url))
            .finish()
    }
}

impl PipelineBuilder {
    /// The transport (default: a [`ReqwestTransport`](crate::ReqwestTransport)).
    pub fn transport(self, transport: impl Transport) -> Self {
        self.shared_transport(Arc::new(transport))
    }
    crate::builder_setters! {
        /// A transport shared with other pipelines (one connection pool).
        shared_transport(transport: Arc<dyn Transport>) => transport = Some(transport);
        /// The credential strategy (default: [`NoAuth`]).
        authenticator(auth: Arc<dyn Authenticator>) => auth;
        /// Paces requests before sending (default: none).
        rate_limiter(limiter: Arc<RateLimiter>) => limiter = Some(limiter);
        /// How failures are retried.
        retry_policy(retry: RetryPolicy) => retry;
        /// What counts as a retryable failure (default: [`StandardClassifier`]).
        retry_classifier(classifier: Arc<dyn RetryClassifier>) => classifier;
        /// Declares statuses whose answers the vendor documents as *not processed* (PebblePad's
        /// 429): a non-idempotent request answered so may be sent again. Vendor crates declare
        /// this; nothing else makes a POST safe to resend after an answer.
        unprocessed_statuses(statuses: impl IntoIterator<Item = StatusCode>) => unprocessed = statuses.into_iter().collect();
    }
    /// Adds a stage around every call (see [`Interceptor`]).
    pub fn interceptor(mut self, interceptor: Arc<dyn Interceptor>) -> Self {
        self.interceptors.push(interceptor);
        self
    }
    crate::builder_setters! {
        /// Refuses a response body larger than this, whatever the transport delivered (the
        /// default transport refuses it before reading it).
        max_body_bytes(max: usize) => max_body_bytes = Some(max);
        /// The retry budget (default: a fresh [`RetryBudget::default`] for this pipeline).
        retry_budget(budget: Arc<RetryBudget>) => budget = Some(budget);
        /// The clock (default: [`SystemClock`]).
        clock(clock: SharedClock) => clock;
        /// The redaction rules (default: [`Redactor::standard`]).
        redactor(redactor: Redactor) => redactor;
        /// How the vendor's error bodies are read (default: [`CommonErrorDecoder`]).
        error_decoder(decoder: impl ErrorDecoder) => decoder = Arc::new(decoder);
        /// The longest one call may take, retries and waits included (default: none).
        deadline(deadline: Duration) => deadline = Some(deadline);
    }
    /// A header sent with every request (unless the request sets its own).
    pub fn default_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.default_headers.insert(name, value);
        self
    }
    /// Seeds the jitter so a test is repeatable.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builds the pipeline.
    pub fn build(self) -> Result<Pipeline> {
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport()?,
        };
        let rng = jitter_rng(self.seed);
        Ok(Pipeline {
            inner: Arc::new(Inner {
                directory: crate::request::directory(&self.base_url),
                base_url: self.base_url,
                transport,
                auth: self.auth,
                limiter: self.limiter,
                retry: self.retry,
                classifier: self.classifier,
                unprocessed: self.unprocessed,
                interceptors: self.interceptors,
                max_body_bytes: self.max_body_bytes,
                budget: self.budget.unwrap_or_default(),
                clock: self.clock,
                redactor: Arc::new(self.redactor),
                decoder: self.decoder,
                deadline: self.deadline,
                default_headers: self.default_headers,
                rng: Mutex::new(rng),
                seed: self.seed,
                stats: Arc::default(),
            }),
        })
    }
}

#[cfg(feature = "reqwest")]
fn default_transport() -> Result<Arc<dyn Transport>> {
    Ok(Arc::new(crate::ReqwestTransport::new()?))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport() -> Result<Arc<dyn Transport>> {
    Err(Error::Config(
        "no transport given and the `reqwest` feature is off".into(),
    ))
}

/// Seeded jitter for repeatable tests, OS entropy otherwise.
fn jitter_rng(seed: Option<u64>) -> StdRng {
    match seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    }
}

/// Displays a summary's URL (for a span field, which is formatted only when recorded).
struct Shown(RequestSummary);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.url)
    }
}

enum Failure {
    Answered(Box<ServiceError>, Classification),
    Lost(Error, Classification),
}

impl Pipeline {
    /// Settings for a pipeline whose relative request paths resolve against `base_url`.
    pub fn builder(base_url: Url) -> PipelineBuilder {
        PipelineBuilder {
            base_url,
            transport: None,
            auth: Arc::new(NoAuth),
            limiter: None,
            retry: RetryPolicy::default(),
            classifier: Arc::new(StandardClassifier),
            unprocessed: Vec::new(),
            interceptors: Vec::new(),
            max_body_bytes: None,
            budget: None,
            clock: SystemClock::shared(),
            redactor: Redactor::standard().clone(),
            decoder: Arc::new(CommonErrorDecoder),
            deadline: None,
            default_headers: HeaderMap::new(),
            seed: None,
        }
    }

    /// A pipeline sharing this one's transport, clock, redaction, retry policy, budget and error
    /// reading, with another base URL and credential strategy and no rate limiter or
    /// interceptors — e.g. for a token endpoint.
    pub fn derive(&self, base_url: Url, auth: Arc<dyn Authenticator>) -> Pipeline {
        let i = &self.inner;
        Pipeline {
            inner: Arc::new(Inner {
                directory: crate::request::directory(&base_url),
                base_url,
                transport: i.transport.clone(),
                auth,
                limiter: None,
                retry: i.retry.clone(),
                classifier: i.classifier.clone(),
                unprocessed: i.unprocessed.clone(),
                interceptors: Vec::new(),
                max_body_bytes: i.max_body_bytes,
                budget: i.budget.clone(),
                clock: i.clock.clone(),
                redactor: i.redactor.clone(),
                decoder: i.decoder.clone(),
                deadline: i.deadline,
                default_headers: i.default_headers.clone(),
                // A seeded pipeline's siblings stay repeatable, each on its own stream.
                rng: Mutex::new(jitter_rng(i.seed.map(|s| s.wrapping_add(1)))),
                seed: i.seed.map(|s| s.wrapping_add(1)),
                stats: i.stats.clone(),
            }),
        }
    }

    /// The base URL relative targets resolve against.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }
    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }
    /// The redaction rules.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }
    /// The rate limiter, if any.
    pub fn rate_limiter(&self) -> Option<&Arc<RateLimiter>> {
        self.inner.limiter.as_ref()
    }
    /// The counters so far.
    pub fn stats(&self) -> PipelineStats {
        let s = &self.inner.stats;
        PipelineStats {
            calls: s.calls.load(Ordering::Relaxed),
            attempts: s.attempts.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            auth_replays: s.auth_replays.load(Ordering::Relaxed),
            rate_limited: s.rate_limited.load(Ordering::Relaxed),
            failures: s.failures.load(Ordering::Relaxed),
            pacing: s.pacing.load(Ordering::Relaxed),
            authenticating: s.authenticating.load(Ordering::Relaxed),
            awaiting_answer: s.awaiting_answer.load(Ordering::Relaxed),
            retry_wait: s.retry_wait.load(Ordering::Relaxed),
        }
    }

    /// The method and redacted URL of a request, as errors and logs show it.
    pub fn summary(&self, request: &Request) -> RequestSummary {
        request.summary(&self.inner.base_url, &self.inner.redactor)
    }

    /// Sends a request and decodes a JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        self.execute(request).await?.json()
    }

    /// Sends a request through the whole path and returns a success response, or the error.
    pub async fn execute(&self, request: Request) -> Result<Response> {
        let mut request = request;
        // Defaults once per call, not per attempt; a request's own header wins.
        for (name, value) in &self.inner.default_headers {
            if !request.headers().contains_key(name) {
                request.headers_mut().insert(name.clone(), value.clone());
            }
        }
        let url = request.url(&self.inner.directory)?;
        // Formatted only if a subscriber records the span.
        let span = tracing::debug_span!(
            "shoal.request",
            method = %request.method(),
            url = %Shown(self.summary_at(&request, &url)),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        self.inner.stats.calls.fetch_add(1, Ordering::Relaxed);
        // The clock is read for the span's `elapsed_ms` only when a subscriber records it.
        let started = (!span.is_disabled()).then(|| self.inner.clock.now());
        let idempotent = request.is_idempotent();
        // Set once an attempt is handed to the transport: after that, a non-idempotent call cut
        // off by the deadline may have been processed.
        let sent = std::sync::atomic::AtomicBool::new(false);
        let run = self.run(&request, url, &sent).instrument(span.clone());
        let result = match self.inner.deadline {
            None => run.await,
            Some(deadline) => {
                tokio::select! {
                    r = run => r,
                    _ = self.inner.clock.sleep(deadline) => {
                        let timeout = Error::Timeout { request: self.summary(&request), deadline };
                        if idempotent || !sent.load(Ordering::Acquire) {
                            Err(timeout)
                        } else {
                            Err(Error::MaybeProcessed { last: Box::new(timeout) })
                        }
                    }
                }
            }
        };
        let result = result.map_err(|e| self.inner.decoder.refine(e));
        if let Some(started) = started {
            let elapsed = self.inner.clock.now().saturating_duration_since(started);
            span.record("elapsed_ms", elapsed.as_millis() as u64);
        }
        match &result {
            Ok(r) => {
                span.record("status", r.status.as_u16());
            }
            Err(e) => {
                self.inner.stats.failures.fetch_add(1, Ordering::Relaxed);
                if let Some(s) = e.status() {
                    span.record("status", s.as_u16());
                }
                span.in_scope(|| tracing::debug!(error = %e, "request failed"));
            }
        }
        result
    }

    /// The summary errors carry: built on the paths that need it, not for every call.
    fn summary_at(&self, request: &Request, url: &Url) -> RequestSummary {
        request.summary_at(url, &self.inner.base_url, &self.inner.redactor)
    }

    async fn run(
        &self,
        request: &Request,
        url: Url,
        sent: &std::sync::atomic::AtomicBool,
    ) -> Result<Response> {
        let inner = &self.inner;
        for interceptor in &inner.interceptors {
            interceptor.before_call(request).await?;
        }
        let mut attempt = 0u32;
        let mut replayed = false;
        loop {
            attempt += 1;
            tracing::Span::current().record("attempts", attempt);
            let (failure, stamp) = match self.attempt(request, &url, sent).await? {
                Ok(answer) => {
                    return Ok(Response::answering(
                        request,
                        url,
                        &inner.base_url,
                        &inner.redactor,
                        answer,
                    ));
                }
                Err(f) => f,
            };
            // A 401 gets one refresh-and-replay (not a retry); let-chains would need Rust 1.88.
            let unauthorized = matches!(&failure, Failure::Answered(service, _)
                if service.status == StatusCode::UNAUTHORIZED);
            if unauthorized && !replayed && inner.auth.unauthorized(stamp).await? {
                replayed = true;
                attempt -= 1;
                inner.stats.auth_replays.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("credential refreshed after 401; replaying once");
                continue;
            }
            let (last, class) = match failure {
                Failure::Answered(service, class) => {
                    (answered_error(service, &class, inner), class)
                }
                Failure::Lost(err, class) => (err, class),
            };
            let decision = {
                let mut rng = inner.rng.lock().unwrap_or_else(|e| e.into_inner());
                inner.retry.decide(
                    attempt,
                    request.is_idempotent(),
                    &class,
                    inner.clock.system_now(),
                    &mut *rng,
                )
            };
            match decision {
                Decision::Retry(delay) => {
                    if !inner.budget.try_spend() {
                        return Err(Error::RetryBudgetExhausted {
                            last: Box::new(last),
                        });
                    }
                    inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, error = %last, "retrying");
                    let _waiting = Gauge::enter(&inner.stats.retry_wait);
                    inner.clock.sleep(delay).await;
                }
                Decision::GiveUp(GiveUp::NotIdempotent) if !class.rate_limited => {
                    return Err(Error::MaybeProcessed {
                        last: Box::new(last),
                    });
                }
                Decision::GiveUp(GiveUp::RetryAfterTooLong(requested)) => {
                    return Err(Error::RetryAfterTooLong {
                        request: self.summary_at(request, &url),
                        requested,
                        cap: inner.retry.retry_after_cap(),
                    });
                }
                Decision::GiveUp(_) => return Err(last),
            }
        }
    }

    /// One attempt: `Err` for errors that end the call at once, `Ok(Err)` for a failure the
    /// retry loop judges, `Ok(Ok)` for a success answer's status, headers and body.
    async fn attempt(
        &self,
        request: &Request,
        url: &Url,
        sent: &std::sync::atomic::AtomicBool,
    ) -> Result<
        std::result::Result<(StatusCode, HeaderMap, Bytes), (Failure, crate::auth::AuthStamp)>,
    > {
        let inner = &self.inner;
        // The common cases (admitted at once, a credential at hand) await nothing.
        let permit = match &inner.limiter {
            Some(l) => Some(match l.admit_now(request.method()) {
                Some(permit) => permit?,
                None => {
                    let _waiting = Gauge::enter(&inner.stats.pacing);
                    // Boxed: a call that waits anyway pays for the room, not every call.
                    Box::pin(l.acquire(request.method())).await?
                }
            }),
            None => None,
        };
        let mut req = request.clone();
        let stamp = match inner.auth.authenticate_now(&mut req) {
            Some(stamp) => stamp?,
            None => {
                let _waiting = Gauge::enter(&inner.stats.authenticating);
                inner.auth.authenticate(&mut req).await?
            }
        };
        // The URL was resolved once per call; only query pairs the authenticator added are new.
        // (Request offers authenticators `push_query` only, so the original pairs are a prefix.)
        let added = req
            .query_pairs()
            .get(request.query_pairs().len()..)
            .unwrap_or_default();
        let mut target = url.clone();
        if !added.is_empty() {
            target.query_pairs_mut().extend_pairs(added.iter());
        }
        let http_req = req.into_unaddressed();
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(
                headers = ?inner.redactor.headers(http_req.headers()),
                body = %inner.redactor.body(http_req.body(), 4000),
                "sending"
            );
        }
        inner.stats.attempts.fetch_add(1, Ordering::Relaxed);
        sent.store(true, Ordering::Release);
        let answer = {
            let _waiting = Gauge::enter(&inner.stats.awaiting_answer);
            inner.transport.send_to(target, http_req).await
        };
        let response = match answer {
            Ok(r) => r,
            Err(e) => {
                drop(permit);
                tracing::debug!(error = %e, "transport failure");
                let class = inner.classifier.classify_transport(&e);
                let err = Error::Transport {
                    request: self.summary_at(request, url),
                    source: e,
                };
                return Ok(Err((Failure::Lost(err, class), stamp)));
            }
        };
        let (parts, body): (http::response::Parts, Bytes) = response.into_parts();
        if let Some(permit) = permit {
            // Learns from the answer and frees the slot in one step, before the interceptors
            // run: one may send a call of its own through the same limiter (PebblePad re-reads
            // its limits), which must not wait for this call's slot. The answer arrived: a
            // bookkeeping failure (a shared limiter unreachable) must not turn it into an error.
            if let Err(e) = permit.complete(parts.status, &parts.headers).await {
                tracing::warn!(error = %e, "rate limiter could not learn from an answer");
            }
        }
        for interceptor in &inner.interceptors {
            interceptor
                .after_answer(request.method(), parts.status, &parts.headers)
                .await;
        }
        if let Some(max) = inner.max_body_bytes {
            if body.len() > max {
                let source = crate::error::TransportError::too_large(max);
                let class = inner.classifier.classify_transport(&source);
                let err = Error::Transport {
                    request: self.summary_at(request, url),
                    source,
                };
                return Ok(Err((Failure::Lost(err, class), stamp)));
            }
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(
                status = parts.status.as_u16(),
                headers = ?inner.redactor.headers(&parts.headers),
                body = %inner.redactor.body(&body, 4000),
                "received"
            );
        }
        if parts.status == StatusCode::TOO_MANY_REQUESTS {
            inner.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        if parts.status.is_success() {
            inner.auth.succeeded(stamp);
            inner.budget.refund();
            return Ok(Ok((parts.status, parts.headers, body)));
        }
        let mut class = inner
            .classifier
            .classify_status(parts.status, &parts.headers);
        class.not_processed |= inner.unprocessed.contains(&parts.status);
        let mut detail = inner.decoder.decode(parts.status, &parts.headers, &body);
        // Redacted here, with this pipeline's rules, so no decoder has to remember to.
        detail.message = detail.message.map(|m| inner.redactor.text(&m));
        for (_, messages) in &mut detail.fields {
            for m in messages.iter_mut() {
                *m = inner.redactor.text(m);
            }
        }
        let service = Box::new(ServiceError {
            request: self.summary_at(request, url),
            status: parts.status,
            headers: parts.headers,
            body,
            detail,
        });
        Ok(Err((Failure::Answered(service, class), stamp)))
    }
}

fn answered_error(service: Box<ServiceError>, class: &Classification, inner: &Inner) -> Error {
    if class.rate_limited {
        let retry_after = class.retry_after.map(|r| r.delay(inner.clock.system_now()));
        Error::RateLimited {
            service,
            retry_after,
        }
    } else {
        Error::Status(service)
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
