//! [`ClientOptions`]: the pipeline plumbing every vendor client shares — transport, clock,
//! retry, budget, deadline, jitter seed, timeouts and body cap — with one set of setters
//! ([`ConfigureClient`]) that every vendor builder delegates to.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::clock::{SharedClock, SystemClock};
use crate::error::Result;
use crate::pipeline::{Pipeline, PipelineBuilder};
use crate::retry::{RetryBudget, RetryClassifier, RetryPolicy, StandardClassifier};
use crate::transport::Transport;

/// The largest response body read by default: 16 MiB, eight times a full 1000-record Pearl
/// Diver page, so a legitimate page always fits and a hostile one cannot exhaust memory.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How a client's calls travel: everything below the vendor's own settings.
///
/// Every vendor builder holds one and exposes the same setters through [`ConfigureClient`];
/// the options themselves implement it too, so a set can be prepared once and handed to
/// several clients with [`ConfigureClient::options`].
///
/// ```
/// use std::time::Duration;
/// use shoal_core::{ClientOptions, ConfigureClient as _, RetryPolicy};
/// let options = ClientOptions::default()
///     .retry_policy(RetryPolicy::default().max_attempts(6))
///     .deadline(Duration::from_secs(120))
///     .max_body_bytes(32 * 1024 * 1024);
/// assert_eq!(options.deadline_limit(), Some(Duration::from_secs(120)));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    transport: Option<Arc<dyn Transport>>,
    clock: SharedClock,
    retry: RetryPolicy,
    classifier: Arc<dyn RetryClassifier>,
    budget: Option<Arc<RetryBudget>>,
    deadline: Option<Duration>,
    jitter_seed: Option<u64>,
    connect_timeout: Duration,
    read_timeout: Duration,
    max_body_bytes: usize,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("own_transport", &self.transport.is_some())
            .field("retry", &self.retry)
            .field("classifier", &self.classifier)
            .field("deadline", &self.deadline)
            .field("jitter_seed", &self.jitter_seed)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl Default for ClientOptions {
    /// The reqwest transport (10 s connect, 60 s read timeouts), the system clock,
    /// [`RetryPolicy::default`], the [`StandardClassifier`], a fresh budget, no deadline, a
    /// 16 MiB body cap.
    fn default() -> Self {
        Self {
            transport: None,
            clock: SystemClock::shared(),
            retry: RetryPolicy::default(),
            classifier: Arc::new(StandardClassifier),
            budget: None,
            deadline: None,
            jitter_seed: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl ClientOptions {
    /// The clock calls, backoff and token expiry read.
    pub fn clock_source(&self) -> &SharedClock {
        &self.clock
    }

    /// The overall per-call deadline, if any.
    pub fn deadline_limit(&self) -> Option<Duration> {
        self.deadline
    }

    /// The body cap.
    pub fn body_limit(&self) -> usize {
        self.max_body_bytes
    }

    /// Fills in what pipelines of one client must share (one connection pool, one retry
    /// budget), building the default transport now if none was given.
    fn resolve(&mut self) -> Result<(Arc<dyn Transport>, Arc<RetryBudget>)> {
        let transport = match &self.transport {
            Some(t) => t.clone(),
            None => {
                let t = default_transport(self)?;
                self.transport = Some(t.clone());
                t
            }
        };
        let budget = self.budget.get_or_insert_with(Arc::default).clone();
        Ok((transport, budget))
    }

    /// A pipeline builder for `base_url` carrying every option. Pipelines built from the same
    /// options share one transport and one retry budget; the vendor crate adds its own facts
    /// (error decoder, limiter, statuses it documents as not processed) before building.
    pub fn pipeline(&mut self, base_url: Url) -> Result<PipelineBuilder> {
        let (transport, budget) = self.resolve()?;
        let mut builder = Pipeline::builder(base_url)
            .shared_transport(transport)
            .clock(self.clock.clone())
            .retry_policy(self.retry.clone())
            .retry_classifier(self.classifier.clone())
            .retry_budget(budget)
            .max_body_bytes(self.max_body_bytes);
        if let Some(deadline) = self.deadline {
            builder = builder.deadline(deadline);
        }
        if let Some(seed) = self.jitter_seed {
            builder = builder.jitter_seed(seed);
        }
        Ok(builder)
    }
}

#[cfg(feature = "reqwest")]
fn default_transport(options: &ClientOptions) -> Result<Arc<dyn Transport>> {
    Ok(Arc::new(
        crate::ReqwestTransport::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .max_body_bytes(options.max_body_bytes)
            .build()?,
    ))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport(_options: &ClientOptions) -> Result<Arc<dyn Transport>> {
    Err(crate::Error::Config(
        "no transport given and the `reqwest` feature is off".into(),
    ))
}

/// The setters of [`ClientOptions`], for every vendor builder (and the options themselves).
///
/// A vendor builder implements only [`client_options`](Self::client_options); every setter
/// here is shared, so the three clients are configured with the same words.
///
/// ```
/// use std::time::Duration;
/// use shoal_core::{ClientOptions, ConfigureClient, ManualClock};
///
/// struct MyBuilder { options: ClientOptions }
/// impl ConfigureClient for MyBuilder {
///     fn client_options(&mut self) -> &mut ClientOptions { &mut self.options }
/// }
/// let clock = ManualClock::new();
/// let mut b = MyBuilder { options: ClientOptions::default() }
///     .clock(clock.shared())
///     .deadline(Duration::from_secs(30));
/// assert_eq!(b.client_options().deadline_limit(), Some(Duration::from_secs(30)));
/// ```
pub trait ConfigureClient: Sized {
    /// The options this builder carries.
    fn client_options(&mut self) -> &mut ClientOptions;

    /// Replaces every option at once.
    fn options(mut self, options: ClientOptions) -> Self {
        *self.client_options() = options;
        self
    }
    /// The transport (default: the reqwest transport, rustls).
    fn transport(self, transport: impl Transport) -> Self {
        self.shared_transport(Arc::new(transport))
    }
    /// A transport shared with other clients (one connection pool).
    fn shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.client_options().transport = Some(transport);
        self
    }
    /// The clock (default: the system clock); tests pass a `ManualClock`.
    fn clock(mut self, clock: SharedClock) -> Self {
        self.client_options().clock = clock;
        self
    }
    /// How failed calls are retried (default: [`RetryPolicy::default`]).
    fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.client_options().retry = retry;
        self
    }
    /// What counts as a retryable failure (default: [`StandardClassifier`]).
    fn retry_classifier(mut self, classifier: Arc<dyn RetryClassifier>) -> Self {
        self.client_options().classifier = classifier;
        self
    }
    /// The retry budget, shared with other clients if the same one is passed (default: one per
    /// client).
    fn retry_budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.client_options().budget = Some(budget);
        self
    }
    /// The longest one call may take, pacing waits and retries included (default: none).
    fn deadline(mut self, deadline: Duration) -> Self {
        self.client_options().deadline = Some(deadline);
        self
    }
    /// Seeds the retry jitter so a test is repeatable.
    fn jitter_seed(mut self, seed: u64) -> Self {
        self.client_options().jitter_seed = Some(seed);
        self
    }
    /// How long the default transport waits for a connection (default 10 s).
    fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.client_options().connect_timeout = timeout;
        self
    }
    /// How long a read from the default transport may stall (default 60 s).
    fn read_timeout(mut self, timeout: Duration) -> Self {
        self.client_options().read_timeout = timeout;
        self
    }
    /// The largest response body accepted (default [`DEFAULT_MAX_BODY_BYTES`]); a larger one
    /// is an error, never read into memory.
    fn max_body_bytes(mut self, max: usize) -> Self {
        self.client_options().max_body_bytes = max;
        self
    }
}

impl ConfigureClient for ClientOptions {
    fn client_options(&mut self) -> &mut ClientOptions {
        self
    }
}
