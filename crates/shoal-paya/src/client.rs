//! [`PayaClient`] and its builder: environment, credentials (Paya's key and session facts are
//! declared here), `developer-id`, and core's [`ClientOptions`] for everything below.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use shoal_auth::{
    ApiKey, ApiKeyAuth, ApiKeyConfig, KeyPlacement, ParamPlacement, Password, PlacedParam,
    SessionConfig, SessionEndpoint, SessionTokenAuth,
};
use shoal_core::{
    Authenticator, Call, ClientOptions, ConfigureClient, Error, Pipeline, Redactor, Request, Result,
};

use crate::api::contacts::Contacts;
use crate::api::location_infos::LocationInfos;
use crate::environment::Environment;
use crate::error::PayaErrorDecoder;

/// The header naming the integrating solution, required on every request.
pub const DEVELOPER_ID_HEADER: &str = "developer-id";
/// The key method's names: `user-id` and `user-api-key` (headers or query parameters).
pub const USER_ID_NAME: &str = "user-id";
/// See [`USER_ID_NAME`].
pub const API_KEY_NAME: &str = "user-api-key";
/// The token method: `POST /v2/token`, the token sent as `access-token`, a 15-minute sliding
/// idle limit (the login answer's `expire`, in minutes, wins when it says otherwise).
pub const SESSION: SessionEndpoint =
    SessionEndpoint::new("v2/token", "access-token", Duration::from_secs(15 * 60));

/// A Paya Connect client. Cheap to clone; clones share the connection pool, credentials and
/// retry budget.
///
/// Retries: GET, PUT and DELETE follow core's policy (5xx, 429, timeouts, broken connections).
/// A POST (a create) is **never** resent once it may have reached the server: after a 5xx or a
/// timeout the error is [`Error::MaybeProcessed`]; only a refused connection (nothing was sent)
/// is retried.
#[derive(Clone, Debug)]
pub struct PayaClient {
    pipeline: Pipeline,
    session: Option<SessionTokenAuth>,
    input_checks: bool,
}

impl PayaClient {
    /// Settings for a client of `environment`.
    pub fn builder(environment: Environment) -> PayaClientBuilder {
        PayaClientBuilder {
            options: ClientOptions::default(),
            environment,
            developer_id: None,
            developer_id_placement: ParamPlacement::Header,
            credentials: None,
            input_checks: true,
        }
    }

    /// Contact operations (`/v2/contacts`).
    pub fn contacts(&self) -> Contacts<'_> {
        Contacts::new(self)
    }

    /// Location-info operations (`/v2/locationinfos`).
    pub fn location_infos(&self) -> LocationInfos<'_> {
        LocationInfos::new(self)
    }

    /// The pipeline calls go through (for stats, or requests this crate does not wrap yet).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Any API call, as the typed operations make theirs: `request` (relative to the host, e.g.
    /// `v2/users/me`), its answer decoded as JSON. How a new endpoint starts (see "Adding an
    /// endpoint" in DESIGN.md).
    pub fn call<T: DeserializeOwned>(&self, request: Result<Request>) -> Call<T> {
        Call::json(&self.pipeline, request)
    }

    /// Whether inputs are checked against the documented limits before sending.
    pub fn input_checks(&self) -> bool {
        self.input_checks
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
        placement: ParamPlacement,
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

/// Settings for a [`PayaClient`]; finish with [`build`](Self::build). Transport, clock,
/// retries and deadline come from [`ConfigureClient`].
pub struct PayaClientBuilder {
    options: ClientOptions,
    environment: Environment,
    developer_id: Option<String>,
    developer_id_placement: ParamPlacement,
    credentials: Option<Credentials>,
    input_checks: bool,
}

impl fmt::Debug for PayaClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayaClientBuilder")
            .field("options", &self.options)
            .field("environment", &self.environment)
            .field("developer_id", &self.developer_id)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl ConfigureClient for PayaClientBuilder {
    fn client_options(&mut self) -> &mut ClientOptions {
        &mut self.options
    }
}

impl PayaClientBuilder {
    shoal_core::builder_setters! {
        /// The id of the integrating solution, sent as the `developer-id` header on every request.
        developer_id(developer_id: impl Into<String>) => developer_id = Some(developer_id.into());
        /// Whether `developer-id` goes in a header (default) or the query string.
        developer_id_placement(placement: ParamPlacement) => developer_id_placement;
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
            placement: ParamPlacement::Header,
        });
        self
    }

    /// Sends the session token as the `access-token` query parameter instead of a header
    /// (redacted wherever a URL is printed). Only meaningful after [`session`](Self::session).
    pub fn session_token_in_query(mut self) -> Self {
        if let Some(Credentials::Session { placement, .. }) = &mut self.credentials {
            *placement = ParamPlacement::Query;
        }
        self
    }

    shoal_core::builder_setters! {
        /// Any other credential strategy (the pipeline adds `developer-id` as a header).
        authenticator(auth: Arc<dyn Authenticator>) => credentials = Some(Credentials::Custom(auth));
        /// Whether inputs are checked against the documented field limits and the *assumed* ones
        /// (the `page_size` maximum of 100; digits in a phone number, letters in a state, an `@` in
        /// an e-mail address — see the crate's "What is assumed") before anything is sent (default:
        /// on). Turn it off if Paya accepts what a limit here refuses: the server then judges, and
        /// answers 422 for what it refuses. Checks that keep a request well-formed (an id that
        /// could change the path, an empty update) stay on.
        input_checks(on: bool) => input_checks;
    }

    /// Builds the client. Fails when the developer id or the credentials are missing.
    pub fn build(mut self) -> Result<PayaClient> {
        let developer_id = self.developer_id.clone().ok_or_else(|| {
            Error::Config("Paya needs a developer id on every request: call .developer_id()".into())
        })?;
        let developer_header = HeaderValue::from_str(&developer_id)
            .map_err(|_| Error::invalid("developer_id", "must be printable ASCII"))?;
        let developer = PlacedParam::new(
            DEVELOPER_ID_HEADER,
            developer_id.clone(),
            self.developer_id_placement,
        );
        let credentials = self.credentials.take().ok_or_else(|| {
            Error::Config(
                "Paya needs credentials: call .api_key(), .session() or .authenticator()".into(),
            )
        })?;
        let base = self
            .options
            .pipeline(self.environment.base_url()?)?
            .error_decoder(PayaErrorDecoder);
        let (pipeline, session) = match credentials {
            Credentials::Custom(auth) => {
                let pipeline = base
                    .default_header(
                        HeaderName::from_static(DEVELOPER_ID_HEADER),
                        developer_header,
                    )
                    .authenticator(auth)
                    .build()?;
                (pipeline, None)
            }
            Credentials::ApiKey {
                user_id,
                api_key,
                placement,
            } => {
                let config = ApiKeyConfig::new(USER_ID_NAME, user_id, API_KEY_NAME, api_key)
                    .key_placement(placement)
                    .param(developer);
                let auth = ApiKeyAuth::new(config);
                let redactor = auth.redactor(Redactor::standard().clone());
                let pipeline = base
                    .redactor(redactor)
                    .authenticator(Arc::new(auth))
                    .build()?;
                (pipeline, None)
            }
            Credentials::Session {
                username,
                password,
                domain,
                placement,
            } => {
                let config = SessionConfig::new(SESSION, username, password, domain)
                    .placement(placement)
                    .param(developer);
                // Login and logout go through a sibling of this pipeline without credentials.
                let unauthenticated = base.build()?;
                let session = SessionTokenAuth::new(config, &unauthenticated);
                let pipeline = unauthenticated.derive(
                    unauthenticated.base_url().clone(),
                    Arc::new(session.clone()),
                );
                (pipeline, Some(session))
            }
        };
        Ok(PayaClient {
            pipeline,
            session,
            input_checks: self.input_checks,
        })
    }
}
