//! [`PayaClient`] and its builder: environment, credentials, `developer-id`, and the shoal-core
//! pipeline every call goes through.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use shoal_auth::{
    ApiKey, ApiKeyAuth, ApiKeyConfig, KeyPlacement, Password, PlacedParam, Placement,
    SessionConfig, SessionTokenAuth,
};
use shoal_core::{
    Authenticator, Error, Pipeline, PipelineBuilder, Redactor, Result, RetryPolicy, SharedClock,
    Transport,
};

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
    session: Option<SessionTokenAuth>,
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
            developer_id_placement: Placement::Header,
            credentials: None,
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

    /// Ends the session at once (`DELETE /v2/token/{token}`) when the client logs in with a
    /// session token; a no-op for API keys. A later call logs in again.
    pub async fn logout(&self) -> Result<()> {
        match &self.session {
            Some(session) => session.logout().await,
            None => Ok(()),
        }
    }
}

/// How the client authenticates.
enum Credentials {
    Custom(Arc<dyn Authenticator>),
    ApiKey {
        user_id: String,
        api_key: ApiKey,
        placement: KeyPlacement,
    },
    Session {
        username: String,
        password: Password,
        domain: String,
        placement: Placement,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Custom(_) => f.write_str("Custom"),
            Credentials::ApiKey {
                user_id, placement, ..
            } => f
                .debug_struct("ApiKey")
                .field("user_id", user_id)
                .field("placement", placement)
                .finish(),
            Credentials::Session {
                username,
                domain,
                placement,
                ..
            } => f
                .debug_struct("Session")
                .field("username", username)
                .field("domain", domain)
                .field("placement", placement)
                .finish(),
        }
    }
}

/// Settings for a [`PayaClient`]; finish with [`build`](Self::build).
pub struct PayaClientBuilder {
    environment: Environment,
    developer_id: Option<String>,
    developer_id_placement: Placement,
    credentials: Option<Credentials>,
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
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl PayaClientBuilder {
    /// The id of the integrating solution, sent as the `developer-id` header on every request.
    pub fn developer_id(mut self, developer_id: impl Into<String>) -> Self {
        self.developer_id = Some(developer_id.into());
        self
    }

    /// Whether `developer-id` goes in a header (default) or the query string.
    pub fn developer_id_placement(mut self, placement: Placement) -> Self {
        self.developer_id_placement = placement;
        self
    }

    /// The key method: `user-id` and `user-api-key` on every request, as headers (the
    /// default and the safest), query parameters (redacted wherever a URL is printed) or HTTP
    /// Basic.
    pub fn api_key(
        mut self,
        user_id: impl Into<String>,
        api_key: ApiKey,
        placement: KeyPlacement,
    ) -> Self {
        self.credentials = Some(Credentials::ApiKey {
            user_id: user_id.into(),
            api_key,
            placement,
        });
        self
    }

    /// The token method: log in with `POST /v2/token`, send the token as the `access-token`
    /// header, renew the 15-minute idle clock on every success, log in again before it runs out
    /// or once after a 401; [`PayaClient::logout`] ends the session.
    pub fn session(
        mut self,
        username: impl Into<String>,
        password: Password,
        domain: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::Session {
            username: username.into(),
            password,
            domain: domain.into(),
            placement: Placement::Header,
        });
        self
    }

    /// Sends the session token as the `access-token` query parameter instead of a header
    /// (redacted wherever a URL is printed). Only meaningful after [`session`](Self::session).
    pub fn session_token_in_query(mut self) -> Self {
        if let Some(Credentials::Session { placement, .. }) = &mut self.credentials {
            *placement = Placement::Query;
        }
        self
    }

    /// Any other credential strategy (the pipeline adds `developer-id` as a header).
    pub fn authenticator(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.credentials = Some(Credentials::Custom(auth));
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
        let developer_id = self.developer_id.clone().ok_or_else(|| {
            Error::Config("Paya needs a developer id on every request: call .developer_id()".into())
        })?;
        HeaderValue::from_str(&developer_id)
            .map_err(|_| Error::invalid("developer_id", "must be printable ASCII"))?;
        let developer = PlacedParam::new(
            DEVELOPER_ID_HEADER,
            developer_id.clone(),
            self.developer_id_placement,
        );
        let credentials = self.credentials.ok_or_else(|| {
            Error::Config(
                "Paya needs credentials: call .api_key(), .session() or .authenticator()".into(),
            )
        })?;
        let base = Pipeline::builder(self.environment.base_url()?);
        let mut retry = self.retry;
        retry.error_responses_unprocessed = false;
        let settings = Settings {
            retry,
            transport: self.transport,
            clock: self.clock,
            deadline: self.deadline,
            jitter_seed: self.jitter_seed,
        };
        match credentials {
            Credentials::Custom(auth) => {
                let value = HeaderValue::from_str(&developer_id)
                    .map_err(|_| Error::invalid("developer_id", "must be printable ASCII"))?;
                let builder = settings
                    .apply(base)
                    .default_header(HeaderName::from_static(DEVELOPER_ID_HEADER), value);
                Ok(PayaClient {
                    pipeline: builder.authenticator(auth).build()?,
                    session: None,
                })
            }
            Credentials::ApiKey {
                user_id,
                api_key,
                placement,
            } => {
                let mut config =
                    ApiKeyConfig::new(developer_id, user_id, api_key).key_placement(placement);
                config.developer_id = developer;
                let auth = ApiKeyAuth::new(config);
                let redactor = auth.redactor(Redactor::standard().clone());
                let builder = settings.apply(base).redactor(redactor);
                Ok(PayaClient {
                    pipeline: builder.authenticator(Arc::new(auth)).build()?,
                    session: None,
                })
            }
            Credentials::Session {
                username,
                password,
                domain,
                placement,
            } => {
                let mut config = SessionConfig::new(username, password, domain)
                    .placement(placement)
                    .param(developer);
                config.login_path = "v2/token".into();
                // Login and logout go through a sibling of this pipeline without credentials.
                let unauthenticated = settings.apply(base).build()?;
                let session = SessionTokenAuth::new(config, &unauthenticated);
                let pipeline = unauthenticated.derive(
                    unauthenticated.base_url().clone(),
                    Arc::new(session.clone()),
                );
                Ok(PayaClient {
                    pipeline,
                    session: Some(session),
                })
            }
        }
    }
}

/// Pipeline settings shared by every kind of credentials.
struct Settings {
    retry: RetryPolicy,
    transport: Option<Arc<dyn Transport>>,
    clock: Option<SharedClock>,
    deadline: Option<Duration>,
    jitter_seed: Option<u64>,
}

impl Settings {
    fn apply(self, mut builder: PipelineBuilder) -> PipelineBuilder {
        builder = builder
            .retry_policy(self.retry)
            .error_decoder(PayaErrorDecoder);
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
        builder
    }
}
