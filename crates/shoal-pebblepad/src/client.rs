//! [`PebblePadClient`] and its builder: one installation, one authenticated pipeline, one rate
//! limiter shared by every call and every clone, learned inside the pipeline.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use serde::de::DeserializeOwned;
use shoal_auth::{ConfigureTokens, Login, OAuthClient, RefreshingCredential, TokenSettings};
use shoal_core::{
    Authenticator, Call, ClientOptions, ConfigureClient, Error, LocalRateLimitBackend, NoAuth,
    Pipeline, PipelineStats, RateLimitBackend, RateLimitHeaders, RateLimitStatus, RateLimiter,
    Request, Result,
};

use crate::api::application_references::ApplicationReferences;
use crate::api::grades::Grades;
use crate::api::groups::Groups;
use crate::api::users::Users;
use crate::auth::{OAuthApp, ServiceAccount};
use crate::error::PebblePadErrorDecoder;
use crate::installation::Installation;
use crate::limits::{Discovery, LimitDiscovery};
use crate::models::rate_limits::RateLimitsInfo;
use crate::probe::ProbingBackend;

/// PebblePad's rolling window, unless `GetRateLimits` says otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// A PebblePad v1.1 client. Cheap to clone; clones share the connection pool, the credential,
/// the retry budget and — what matters most — the rate limiter, so many tasks sharing one client
/// stay under PebblePad's per-method and concurrency limits together.
///
/// ```
/// use std::sync::Arc;
/// use shoal_pebblepad::{BasicUserInfo, ConfigureClient as _, Impersonate as _, Installation, PebblePadClient, Target};
/// # use shoal_core::{Bytes, TransportError};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// # let transport = |req: http::Request<Bytes>| async move {
/// #     let body = if req.uri().path().ends_with("GetRateLimits") {
/// #         r#"{"RateLimits":[{"Method":"GET","Limit":600}],"ConcurrencyLimit":10,"WindowSeconds":60}"#
/// #     } else { r#"{"Id":"0b6a","Username":"jbloggs"}"# };
/// #     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
/// # };
/// let client = PebblePadClient::builder(Installation::UnitedKingdom)
///     .authenticator(Arc::new(shoal_core::NoAuth)) // or .oauth(…) / .service_account(…)
///     # .transport(transport)
///     .build()?;
/// let created = client.users().create(&BasicUserInfo::new("jbloggs")).send().await?;
/// assert_eq!(created.id.as_deref(), Some("0b6a"));
/// client.users().delete(Target::custom_id("S1234567")).impersonate("admin").send().await?;
/// let limits = client.rate_limits().await?;
/// assert_eq!(limits.methods["GET"].limit, Some(600));
/// # Ok::<_, shoal_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct PebblePadClient {
    inner: Arc<Inner>,
}

struct Inner {
    installation: Installation,
    /// Authenticated, paced, limits learned inside: every resource call.
    api: Pipeline,
    limits: Arc<LimitDiscovery>,
    credential: Option<RefreshingCredential>,
}

impl fmt::Debug for PebblePadClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PebblePadClient")
            .field("installation", &self.inner.installation)
            .field("api", &self.inner.api)
            .field("credential", &self.inner.credential)
            .finish()
    }
}

impl PebblePadClient {
    /// Settings for a client of `installation`.
    pub fn builder(installation: Installation) -> PebblePadClientBuilder {
        PebblePadClientBuilder::new(installation)
    }

    /// The installation.
    pub fn installation(&self) -> &Installation {
        &self.inner.installation
    }

    /// The `User` actions.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// The `Group` actions.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(self)
    }

    /// The `Grade` actions.
    pub fn grades(&self) -> Grades<'_> {
        Grades::new(self)
    }

    /// The Data Island application-reference actions.
    pub fn application_references(&self) -> ApplicationReferences<'_> {
        ApplicationReferences::new(self)
    }

    /// The pipeline resource calls go through: authenticated, paced, limits learned — a request
    /// sent through it directly behaves as the typed calls do.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.api
    }

    /// Any API call, as the typed actions make theirs: `request` (relative to the API base, e.g.
    /// `1.1/User/Get/{id}`), its answer decoded as JSON. How a new endpoint starts (see "Adding
    /// an endpoint" in DESIGN.md).
    pub fn call<T: DeserializeOwned>(&self, request: Result<Request>) -> Call<T> {
        Call::json(&self.inner.api, request)
    }

    /// Counters of the calls so far (attempts, retries, 429s received, …).
    pub fn stats(&self) -> PipelineStats {
        self.inner.api.stats()
    }

    /// The OAuth credential, when the client was built with `.oauth(…)` or
    /// `.service_account(…)`.
    pub fn credential(&self) -> Option<&RefreshingCredential> {
        self.inner.credential.as_ref()
    }

    /// Logging a user in: `login()?.loopback(…)` for a command line, or `authorize()` then
    /// `complete(…)`. PebblePad gives the user **2 minutes**, and the code lives 2 minutes too.
    pub fn login(&self) -> Result<Login> {
        self.credential().cloned().map(Login::new).ok_or_else(|| {
            Error::Config("this PebblePad client was not built with `.oauth(…)`".into())
        })
    }

    /// The limiter's current state: per-method limit and use in the window, the server's last
    /// reported remaining counts, concurrency, 429s seen.
    pub async fn rate_limits(&self) -> Result<RateLimitStatus> {
        self.inner.limits.status().await
    }

    /// What `GetRateLimits` last reported, if it was read.
    pub fn announced_rate_limits(&self) -> Option<RateLimitsInfo> {
        self.inner.limits.announced()
    }

    /// Reads `GET 1.1/Info/GetRateLimits` (no authentication, paced like any GET) now and sizes
    /// the limiter from it. The answer's shape is *assumed* (see [`RateLimitsInfo`]).
    pub async fn refresh_rate_limits(&self) -> Result<RateLimitsInfo> {
        self.inner.limits.refresh().await
    }
}

/// How the client authenticates.
enum Credentials {
    None,
    Authenticator(Arc<dyn Authenticator>),
    OAuth(OAuthApp),
    ServiceAccount(ServiceAccount),
}

/// Where rotating tokens go.
/// Settings for a [`PebblePadClient`]: installation, credentials, token store, rate-limit
/// discovery, and core's [`ClientOptions`] through [`ConfigureClient`].
pub struct PebblePadClientBuilder {
    options: ClientOptions,
    installation: Installation,
    credentials: Credentials,
    tokens: TokenSettings,
    discovery: Discovery,
    window: Duration,
    backend: Option<Arc<dyn RateLimitBackend>>,
}

impl fmt::Debug for PebblePadClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PebblePadClientBuilder")
            .field("options", &self.options)
            .field("installation", &self.installation)
            .field("discovery", &self.discovery)
            .finish_non_exhaustive()
    }
}

impl ConfigureClient for PebblePadClientBuilder {
    fn client_options(&mut self) -> &mut ClientOptions {
        &mut self.options
    }
}

/// `token_store` (required with OAuth or a service account), `ephemeral_tokens`,
/// `refresh_settings`, `on_token_change`.
impl ConfigureTokens for PebblePadClientBuilder {
    fn token_settings(&mut self) -> &mut TokenSettings {
        &mut self.tokens
    }
}

impl PebblePadClientBuilder {
    fn new(installation: Installation) -> Self {
        Self {
            options: ClientOptions::default(),
            installation,
            credentials: Credentials::None,
            tokens: TokenSettings::default(),
            discovery: Discovery::default(),
            window: DEFAULT_WINDOW,
            backend: None,
        }
    }

    shoal_core::builder_setters! {
        /// Any credential strategy (a static bearer token, a credential built elsewhere).
        authenticator(authenticator: Arc<dyn Authenticator>) => credentials = Credentials::Authenticator(authenticator);
        /// OAuth2 authorization code for `app`; log in with [`PebblePadClient::login`] unless the
        /// token store already holds a pair.
        oauth(app: OAuthApp) => credentials = Credentials::OAuth(app);
        /// A service account's issued access + refresh pair (used while the token store is empty).
        service_account(account: ServiceAccount) => credentials = Credentials::ServiceAccount(account);
        /// Where the limits come from before the first response (default: `GetRateLimits`).
        rate_limits(discovery: Discovery) => discovery;
        /// The window length until `GetRateLimits` says (default 60 s).
        window(window: Duration) => window;
        /// Keeps rate-limit state in a shared backend (e.g. Redis for a fleet) instead of memory.
        /// The client wraps it in a [`ProbingBackend`].
        rate_limit_backend(backend: Arc<dyn RateLimitBackend>) => backend = Some(backend);
    }

    /// Builds the client. Nothing is sent yet: the limits are learned before the first call.
    ///
    /// Its pipeline resends a call answered 429 whatever the method — a POST included — once the
    /// limiter has backed off, and no other error answer of a POST or PUT: that a 429'd call was
    /// not processed is *assumed*, the safe reading of the vendor's *Usage Limits*
    /// (`shared/api/pebblepad.md` "Errors"; see [`RATE_LIMITED_EXPLANATION`](crate::RATE_LIMITED_EXPLANATION)).
    pub fn build(mut self) -> Result<PebblePadClient> {
        let clock = self.options.clock_source().clone();
        let backend: Arc<dyn RateLimitBackend> = match self.backend.take() {
            Some(backend) => backend,
            None => Arc::new(LocalRateLimitBackend::new(clock.clone(), self.window)),
        };
        let limiter = Arc::new(RateLimiter::new(
            Arc::new(ProbingBackend::new(backend)),
            RateLimitHeaders::x_rate(),
            clock,
        ));
        let api_base = self.installation.api_base();
        // Only 429s are documented as not processed: a 5xx may come from a gateway after the
        // call reached PebblePad, so a POST or PUT answered 5xx is never resent on its own.
        let unprocessed = [StatusCode::TOO_MANY_REQUESTS];
        let public = self
            .options
            .pipeline(api_base.clone())?
            .error_decoder(PebblePadErrorDecoder)
            .unprocessed_statuses(unprocessed)
            .rate_limiter(limiter.clone())
            .build()?;
        let limits = Arc::new(LimitDiscovery::new(
            public,
            limiter.clone(),
            self.discovery.clone(),
        ));
        let (app, seed) = match std::mem::replace(&mut self.credentials, Credentials::None) {
            Credentials::None => (None, None),
            Credentials::Authenticator(auth) => return self.finish(auth, None, limits, limiter),
            Credentials::OAuth(app) => (Some(app), None),
            Credentials::ServiceAccount(account) => (Some(account.app), Some(account.record)),
        };
        let Some(app) = app else {
            return self.finish(Arc::new(NoAuth), None, limits, limiter);
        };
        let token_pipeline = self
            .options
            .pipeline(self.installation.oauth_base())?
            .error_decoder(PebblePadErrorDecoder)
            .build()?;
        let client = OAuthClient::new(app.config(&self.installation), &token_pipeline);
        let credential = self.tokens.credential(
            client,
            seed,
            "PebblePad",
            "a service account's next run would then present a spent refresh token",
        )?;
        self.finish(
            Arc::new(credential.clone()),
            Some(credential),
            limits,
            limiter,
        )
    }

    fn finish(
        mut self,
        auth: Arc<dyn Authenticator>,
        credential: Option<RefreshingCredential>,
        limits: Arc<LimitDiscovery>,
        limiter: Arc<RateLimiter>,
    ) -> Result<PebblePadClient> {
        let api = self
            .options
            .pipeline(self.installation.api_base())?
            .error_decoder(PebblePadErrorDecoder)
            .unprocessed_statuses([StatusCode::TOO_MANY_REQUESTS])
            .rate_limiter(limiter)
            .interceptor(limits.clone())
            .authenticator(auth)
            .build()?;
        Ok(PebblePadClient {
            inner: Arc::new(Inner {
                installation: self.installation,
                api,
                limits,
                credential,
            }),
        })
    }
}
