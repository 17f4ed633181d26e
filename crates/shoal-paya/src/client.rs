//! [`PayaClient`] and its builder: environment, credentials, `developer-id`, and the shoal-core
//! pipeline every call goes through.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use shoal_core::{Authenticator, Error, Pipeline, Result, RetryPolicy, SharedClock, Transport};

use crate::contact::Contacts;
use crate::environment::Environment;
use crate::error::PayaErrorDecoder;
use crate::location_info::LocationInfos;

/// The header naming the integrating solution, required on every request.
pub const DEVELOPER_ID_HEADER: &str = "developer-id";

/// A Paya Connect client. Cheap to clone; clones share the connection pool, credentials and
/// retry budget.
///
/// Retries: GET, PUT and DELETE follow core's policy (5xx, 429, timeouts, broken connections).
/// A POST (a create) is **never** resent once it may have reached the server: after a 5xx or a
/// timeout the error is [`Error::MaybeProcessed`]; only a refused connection (nothing was sent)
/// is retried.
#[derive(Clone)]
pub struct PayaClient {
    pipeline: Pipeline,
}

impl fmt::Debug for PayaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayaClient")
            .field("pipeline", &self.pipeline)
            .finish()
    }
}

impl PayaClient {
    /// Settings for a client of `environment`.
    pub fn builder(environment: Environment) -> PayaClientBuilder {
        PayaClientBuilder {
            environment,
            developer_id: None,
            auth: None,
            transport: None,
            clock: None,
            retry: RetryPolicy::default(),
            deadline: None,
            jitter_seed: None,
        }
    }

    /// Contact operations (`/v2/contacts`).
    pub fn contacts(&self) -> Contacts {
        Contacts::new(self.pipeline.clone())
    }

    /// Location-info operations (`/v2/locationinfos`).
    pub fn location_infos(&self) -> LocationInfos {
        LocationInfos::new(self.pipeline.clone())
    }

    /// The pipeline calls go through (for stats, or requests this crate does not wrap yet).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}

/// Settings for a [`PayaClient`]; finish with [`build`](Self::build).
pub struct PayaClientBuilder {
    environment: Environment,
    developer_id: Option<String>,
    auth: Option<Arc<dyn Authenticator>>,
    transport: Option<Arc<dyn Transport>>,
    clock: Option<SharedClock>,
    retry: RetryPolicy,
    deadline: Option<Duration>,
    jitter_seed: Option<u64>,
}

impl fmt::Debug for PayaClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayaClientBuilder")
            .field("environment", &self.environment)
            .field("developer_id", &self.developer_id)
            .field("auth", &self.auth.is_some())
            .finish()
    }
}

impl PayaClientBuilder {
    /// The id of the integrating solution, sent as the `developer-id` header on every request.
    pub fn developer_id(mut self, developer_id: impl Into<String>) -> Self {
        self.developer_id = Some(developer_id.into());
        self
    }

    /// The credential strategy: normally shoal-auth's API-key or session-token strategy.
    pub fn authenticator(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The transport (default: core's reqwest transport).
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// A transport shared with other clients.
    pub fn shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The clock (default: the system clock); tests pass a `ManualClock`.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How failed calls are retried. `error_responses_unprocessed` is always forced off: Paya
    /// does not promise that an errored call was not processed.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The longest one call may take, retries included.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Seeds retry jitter, for repeatable tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Builds the client. Fails when the developer id or the credentials are missing.
    pub fn build(self) -> Result<PayaClient> {
        let developer_id = self.developer_id.ok_or_else(|| {
            Error::Config("Paya needs a developer id on every request: call .developer_id()".into())
        })?;
        let developer_id = HeaderValue::from_str(&developer_id)
            .map_err(|_| Error::invalid("developer_id", "must be printable ASCII"))?;
        let auth = self
            .auth
            .ok_or_else(|| Error::Config("Paya needs credentials: call .authenticator()".into()))?;
        let mut retry = self.retry;
        retry.error_responses_unprocessed = false;
        let mut builder = Pipeline::builder(self.environment.base_url()?)
            .authenticator(auth)
            .retry_policy(retry)
            .error_decoder(PayaErrorDecoder)
            .default_header(HeaderName::from_static(DEVELOPER_ID_HEADER), developer_id);
        if let Some(t) = self.transport {
            builder = builder.shared_transport(t);
        }
        if let Some(c) = self.clock {
            builder = builder.clock(c);
        }
        if let Some(d) = self.deadline {
            builder = builder.deadline(d);
        }
        if let Some(s) = self.jitter_seed {
            builder = builder.jitter_seed(s);
        }
        Ok(PayaClient {
            pipeline: builder.build()?,
        })
    }
}
