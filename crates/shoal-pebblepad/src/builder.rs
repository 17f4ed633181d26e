//! [`PebblePadBuilder`]: installation, credentials, transport, clock, retry and rate-limit
//! settings, and the assembly of the pipelines that share one limiter.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoal_auth::{OAuthClient, RefreshSettings, RefreshingCredential, TokenStore};
use shoal_core::{
    Authenticator, LocalRateLimitBackend, NoAuth, Pipeline, RateLimitBackend, RateLimitHeaders,
    RateLimiter, Result, RetryBudget, RetryPolicy, SharedClock, SystemClock, Transport,
};
use tokio::sync::OnceCell;
use url::Url;

use crate::auth::{Credentials, OAuthApp, ServiceAccount};
use crate::client::{Inner, PebblePad};
use crate::error::PebblePadErrorDecoder;
use crate::installation::Installation;
use crate::limits::Discovery;
use crate::probe::ProbingBackend;

/// PebblePad's rolling window, unless `GetRateLimits` says otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// Settings for a [`PebblePad`] client.
pub struct PebblePadBuilder {
    installation: Installation,
    credentials: Credentials,
    service_account: Option<ServiceAccount>,
    transport: Option<Arc<dyn Transport>>,
    clock: SharedClock,
    retry: RetryPolicy,
    deadline: Option<Duration>,
    jitter_seed: Option<u64>,
    discovery: Discovery,
    window: Duration,
    backend: Option<Arc<dyn RateLimitBackend>>,
}

impl fmt::Debug for PebblePadBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PebblePadBuilder")
            .field("installation", &self.installation)
            .field("discovery", &self.discovery)
            .finish()
    }
}

impl PebblePadBuilder {
    pub(crate) fn new(installation: Installation) -> Self {
        Self {
            installation,
            credentials: Credentials::None,
            service_account: None,
            transport: None,
            clock: SystemClock::shared(),
            retry: RetryPolicy::default(),
            deadline: None,
            jitter_seed: None,
            discovery: Discovery::default(),
            window: DEFAULT_WINDOW,
            backend: None,
        }
    }

    /// Any credential strategy (a static bearer token, a credential built elsewhere).
    pub fn authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.credentials = Credentials::Authenticator(authenticator);
        self.service_account = None;
        self
    }

    /// OAuth2 authorization code for `app`, tokens kept in `store`; log in with
    /// [`PebblePad::authorize`] and [`PebblePad::complete_login`] unless the store holds a pair.
    pub fn oauth(self, app: OAuthApp, store: Arc<dyn TokenStore>) -> Self {
        self.oauth_with(app, store, RefreshSettings::default())
    }

    /// [`oauth`](Self::oauth) with refresh settings (buffer, jitter, unknown-expiry policy).
    pub fn oauth_with(
        mut self,
        app: OAuthApp,
        store: Arc<dyn TokenStore>,
        settings: RefreshSettings,
    ) -> Self {
        self.credentials = Credentials::OAuth {
            app,
            store,
            settings,
        };
        self.service_account = None;
        self
    }

    /// A service account's issued access + refresh pair.
    pub fn service_account(mut self, account: ServiceAccount) -> Self {
        self.service_account = Some(account);
        self
    }

    /// The transport (default: shoal-core's reqwest transport).
    pub fn transport(self, transport: impl Transport) -> Self {
        self.shared_transport(Arc::new(transport))
    }

    /// A transport shared with other clients.
    pub fn shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The clock for pacing, backoff and token expiry (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The retry policy. Whatever is passed, `error_responses_unprocessed` is set: PebblePad
    /// documents that a call answered with an error was not processed, so a 429 is retried for
    /// any method.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The longest one call may take, pacing waits and retries included (default: none — a
    /// paced call may wait most of a window).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Seeds retry jitter, for repeatable tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Where the limits come from before the first response (default: `GetRateLimits`).
    pub fn rate_limits(mut self, discovery: Discovery) -> Self {
        self.discovery = discovery;
        self
    }

    /// The window length until `GetRateLimits` says (default 60 s).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Keeps rate-limit state in a shared backend (e.g. Redis for a fleet) instead of memory.
    /// The client wraps it in a [`ProbingBackend`].
    pub fn rate_limit_backend(mut self, backend: Arc<dyn RateLimitBackend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Builds the client. Nothing is sent yet: the limits are read before the first call.
    pub async fn build(self) -> Result<PebblePad> {
        let credentials = match self.service_account.clone() {
            Some(account) => account.into_credentials().await?,
            None => self.credentials.clone(),
        };
        let transport = match &self.transport {
            Some(t) => t.clone(),
            None => default_transport()?,
        };
        let budget = Arc::new(RetryBudget::default());
        let backend: Arc<dyn RateLimitBackend> = match &self.backend {
            Some(backend) => backend.clone(),
            None => Arc::new(LocalRateLimitBackend::new(self.clock.clone(), self.window)),
        };
        let probing = ProbingBackend::new(backend);
        if let Discovery::Fixed(limits) = &self.discovery {
            probing.configure(limits).await?;
        }
        let limiter = Arc::new(RateLimiter::new(
            Arc::new(probing),
            RateLimitHeaders::x_rate(),
            self.clock.clone(),
        ));
        let pipeline = |base: Url, auth: Arc<dyn Authenticator>, limited: bool| {
            let mut b = Pipeline::builder(base)
                .shared_transport(transport.clone())
                .clock(self.clock.clone())
                .retry_policy(self.retry.clone())
                .retry_budget(budget.clone())
                .error_decoder(PebblePadErrorDecoder)
                .authenticator(auth);
            if limited {
                b = b.rate_limiter(limiter.clone());
            }
            if let Some(d) = self.deadline {
                b = b.deadline(d);
            }
            if let Some(seed) = self.jitter_seed {
                b = b.jitter_seed(seed);
            }
            b.build()
        };
        let api_base = self.installation.api_base();
        let (auth, credential, oauth): (Arc<dyn Authenticator>, _, _) = match credentials {
            Credentials::None => (Arc::new(NoAuth), None, None),
            Credentials::Authenticator(a) => (a, None, None),
            Credentials::OAuth {
                app,
                store,
                settings,
            } => {
                let token_pipeline =
                    pipeline(self.installation.oauth_base(), Arc::new(NoAuth), false)?;
                let client = OAuthClient::new(app.config(&self.installation), &token_pipeline);
                let credential =
                    RefreshingCredential::with_settings(client.clone(), store, settings, None);
                (Arc::new(credential.clone()), Some(credential), Some(client))
            }
        };
        let api = pipeline(api_base.clone(), auth, true)?;
        let public = pipeline(api_base, Arc::new(NoAuth), true)?;
        Ok(PebblePad::from_inner(Inner {
            installation: self.installation,
            api,
            public,
            limiter,
            discovery: self.discovery,
            discovered: OnceCell::new(),
            latest: Mutex::new(None),
            announced: Mutex::default(),
            rediscovering: tokio::sync::Mutex::new(()),
            credential,
            oauth,
        }))
    }
}

fn default_transport() -> Result<Arc<dyn Transport>> {
    Ok(Arc::new(shoal_core::ReqwestTransport::new()?))
}
