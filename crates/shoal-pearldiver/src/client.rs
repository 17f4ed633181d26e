//! [`PearlDiverClient`] and its builder: OAuth with Pearl Diver's defaults, a token store, and
//! core's transport, retry and deadline.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use shoal_auth::{
    ClientAuth, ClientSecret, MemoryTokenStore, OAuthClient, OAuthConfig, RefreshSettings,
    RefreshingCredential, TokenChangeHook, TokenStore,
};
use shoal_core::{
    Authenticator, Error, Pipeline, PipelineBuilder, Result, RetryBudget, RetryPolicy, SharedClock,
    SystemClock, Transport, Url,
};

use crate::audiences::Audiences;
use crate::errors::PearlDiverErrorDecoder;
use crate::login::Login;

/// Where the user's browser is sent to log in.
pub const AUTHORIZE_URL: &str = "https://auth.pearldiver.io/authorize";
/// The token endpoint, without its `audience` query parameter.
pub const TOKEN_URL: &str = "https://auth.pearldiver.io/oauth/token";
/// The `audience` parameter sent on the token URL and the authorize URL.
pub const AUDIENCE: &str = "pearldiverapi";
/// The API base URL.
pub const API_BASE: &str = "https://api.pearldiver.io/v1";
/// The scopes requested by default (`offline_access` is what yields a refresh token).
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// A Pearl Diver API client. Cheap to clone; clones share the connection pool, the credential
/// and the retry budget.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use shoal_pearldiver::{AudienceWindow, ClientSecret, PearlDiverClient};
///
/// # async fn run() -> shoal_core::Result<()> {
/// let client = PearlDiverClient::builder()
///     .oauth("my-client-id", ClientSecret::new("from-the-environment"), "http://127.0.0.1:8765/callback")
///     .build()?;
/// let login = client.login()?;
/// let pending = login.authorize();
/// println!("open {}", pending.url());
/// # let redirect = String::new();
/// login.complete(&pending, &redirect).await?;
/// for audience in client.audiences().list().send().await?.audiences {
///     let records: Vec<_> =
///         client.audiences().records(audience.key, AudienceWindow::last_days(30)?).by_item().try_collect().await?;
///     println!("{}: {} records", audience.key, records.len());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PearlDiverClient {
    inner: Arc<Inner>,
}

struct Inner {
    api: Pipeline,
    oauth: Option<(OAuthClient, RefreshingCredential)>,
}

impl fmt::Debug for PearlDiverClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PearlDiverClient")
            .field("api", &self.inner.api)
            .field(
                "oauth",
                &self.inner.oauth.as_ref().map(|(client, _)| client),
            )
            .finish()
    }
}

impl PearlDiverClient {
    /// Settings for a client, starting from Pearl Diver's documented defaults.
    pub fn builder() -> PearlDiverClientBuilder {
        PearlDiverClientBuilder::default()
    }

    /// The audience endpoints.
    pub fn audiences(&self) -> Audiences<'_> {
        Audiences::new(&self.inner.api)
    }

    /// The login helpers; an [`Error::Config`] when the client was built with its own
    /// authenticator instead of OAuth credentials.
    pub fn login(&self) -> Result<Login<'_>> {
        match &self.inner.oauth {
            Some((client, credential)) => Ok(Login::new(client, credential)),
            None => Err(Error::Config(
                "this client was built with an authenticator, not OAuth credentials".into(),
            )),
        }
    }

    /// The OAuth credential (refreshing, rotating), when the client was built with OAuth.
    pub fn credential(&self) -> Option<&RefreshingCredential> {
        self.inner.oauth.as_ref().map(|(_, credential)| credential)
    }

    /// The pipeline API calls go through (for its counters and clock).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.api
    }
}

/// Settings for a [`PearlDiverClient`]. Every URL defaults to Pearl Diver's and can be
/// overridden (an emulator, staging, a proxy).
pub struct PearlDiverClientBuilder {
    api_base: Result<Url>,
    authorize_url: Result<Url>,
    token_url: Result<Url>,
    audience: Option<String>,
    scopes: Vec<String>,
    credentials: Option<(String, ClientSecret, String)>,
    oauth_config: Option<OAuthConfig>,
    token_store: Option<Arc<dyn TokenStore>>,
    refresh: RefreshSettings,
    on_token_change: Option<TokenChangeHook>,
    authenticator: Option<Arc<dyn Authenticator>>,
    transport: Option<Arc<dyn Transport>>,
    clock: Option<SharedClock>,
    retry: RetryPolicy,
    budget: Option<Arc<RetryBudget>>,
    deadline: Option<Duration>,
    seed: Option<u64>,
}

impl fmt::Debug for PearlDiverClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &Result<Url>| {
            u.as_ref()
                .map(|u| u.to_string())
                .unwrap_or_else(|e| e.to_string())
        };
        f.debug_struct("PearlDiverClientBuilder")
            .field("api_base", &url(&self.api_base))
            .field("authorize_url", &url(&self.authorize_url))
            .field("token_url", &url(&self.token_url))
            .field("audience", &self.audience)
            .field("scopes", &self.scopes)
            .field("client_id", &self.credentials.as_ref().map(|c| &c.0))
            .field("retry", &self.retry)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

fn parse(url: &str) -> Result<Url> {
    Url::parse(url).map_err(|e| Error::Config(format!("URL {url:?}: {e}")))
}

impl Default for PearlDiverClientBuilder {
    fn default() -> Self {
        Self {
            api_base: parse(API_BASE),
            authorize_url: parse(AUTHORIZE_URL),
            token_url: parse(TOKEN_URL),
            audience: Some(AUDIENCE.into()),
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            credentials: None,
            oauth_config: None,
            token_store: None,
            refresh: RefreshSettings::default(),
            on_token_change: None,
            authenticator: None,
            transport: None,
            clock: None,
            retry: RetryPolicy::default(),
            budget: None,
            deadline: None,
            seed: None,
        }
    }
}

impl PearlDiverClientBuilder {
    /// The OAuth client id, secret (sent in the token request's form body) and the redirect URI
    /// registered with Pearl Diver.
    pub fn oauth(
        mut self,
        client_id: impl Into<String>,
        secret: ClientSecret,
        redirect_uri: impl Into<String>,
    ) -> Self {
        self.credentials = Some((client_id.into(), secret, redirect_uri.into()));
        self
    }
    /// A complete OAuth configuration, replacing every OAuth default and setting here.
    pub fn oauth_config(mut self, config: OAuthConfig) -> Self {
        self.oauth_config = Some(config);
        self
    }
    /// The API base URL (default [`API_BASE`]).
    pub fn api_base(mut self, url: &str) -> Self {
        self.api_base = parse(url);
        self
    }
    /// The authorize URL (default [`AUTHORIZE_URL`]).
    pub fn authorize_url(mut self, url: &str) -> Self {
        self.authorize_url = parse(url);
        self
    }
    /// The token URL (default [`TOKEN_URL`]); the `audience` parameter is added unless the URL
    /// already carries one.
    pub fn token_url(mut self, url: &str) -> Self {
        self.token_url = parse(url);
        self
    }
    /// Both OAuth URLs from the authorization server's origin: `{base}/authorize` and
    /// `{base}/oauth/token`.
    pub fn auth_server(self, base: &str) -> Self {
        let base = base.trim_end_matches('/');
        self.authorize_url(&format!("{base}/authorize"))
            .token_url(&format!("{base}/oauth/token"))
    }
    /// The `audience` parameter (default [`AUDIENCE`]); `None` sends none.
    pub fn audience(mut self, audience: Option<&str>) -> Self {
        self.audience = audience.map(str::to_string);
        self
    }
    /// The scopes requested (default [`DEFAULT_SCOPES`]; newer vendor pages drop `email`).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// Where tokens are kept between runs (default: in memory only).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.token_store = Some(store);
        self
    }
    /// When tokens are refreshed.
    pub fn refresh_settings(mut self, settings: RefreshSettings) -> Self {
        self.refresh = settings;
        self
    }
    /// Called with each new token pair after the store has saved it.
    pub fn on_token_change(mut self, hook: TokenChangeHook) -> Self {
        self.on_token_change = Some(hook);
        self
    }
    /// A credential strategy of your own instead of OAuth (then [`PearlDiverClient::login`] is
    /// unavailable).
    pub fn authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticator = Some(authenticator);
        self
    }
    /// The transport (default: core's reqwest transport).
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }
    /// The clock (default: the system clock). Token expiry, backoff and the `since` limit read it.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }
    /// How failed calls are retried (default: core's [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    /// The retry budget shared by API and token calls (default: core's).
    pub fn retry_budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }
    /// The longest one call may take, retries included (default: none).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
    /// Seeds the retry jitter so a test is repeatable.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    fn oauth_settings(&mut self) -> Result<Option<OAuthConfig>> {
        if let Some(config) = self.oauth_config.take() {
            return Ok(Some(config));
        }
        let Some((client_id, secret, redirect_uri)) = self.credentials.take() else {
            return Ok(None);
        };
        let authorize_url =
            std::mem::replace(&mut self.authorize_url, Err(Error::Config("taken".into())))?;
        let token_url = std::mem::replace(&mut self.token_url, Err(Error::Config("taken".into())))?;
        let has_audience = token_url.query_pairs().any(|(k, _)| k == "audience");
        let mut config = OAuthConfig::new(authorize_url, token_url, client_id, redirect_uri)
            .client_secret(secret)
            .client_auth(ClientAuth::SecretPost)
            .scopes(self.scopes.clone());
        if let Some(audience) = &self.audience {
            config = config.authorize_param("audience", audience);
            if !has_audience {
                config = config.token_query_param("audience", audience);
            }
        }
        Ok(Some(config))
    }

    fn pipeline(
        &self,
        base: Url,
        transport: &Arc<dyn Transport>,
        budget: &Arc<RetryBudget>,
    ) -> PipelineBuilder {
        let mut builder = Pipeline::builder(base)
            .shared_transport(transport.clone())
            .clock(self.clock.clone().unwrap_or_else(SystemClock::shared))
            .retry_policy(self.retry.clone())
            .retry_budget(budget.clone())
            .error_decoder(PearlDiverErrorDecoder);
        if let Some(deadline) = self.deadline {
            builder = builder.deadline(deadline);
        }
        if let Some(seed) = self.seed {
            builder = builder.jitter_seed(seed);
        }
        builder
    }

    /// Builds the client. Fails with [`Error::Config`] for a bad URL, or when neither OAuth
    /// credentials nor an authenticator were given.
    pub fn build(mut self) -> Result<PearlDiverClient> {
        let transport: Arc<dyn Transport> = match self.transport.take() {
            Some(t) => t,
            None => Arc::new(shoal_core::ReqwestTransport::new()?),
        };
        let budget = self.budget.take().unwrap_or_default();
        let api_base = std::mem::replace(&mut self.api_base, Err(Error::Config("taken".into())))?;
        let (auth, oauth): (Arc<dyn Authenticator>, _) = match self.authenticator.take() {
            Some(auth) => (auth, None),
            None => {
                let config = self.oauth_settings()?.ok_or_else(|| {
                    Error::Config(
                        "Pearl Diver needs OAuth credentials (`oauth`) or an `authenticator`"
                            .into(),
                    )
                })?;
                let token_base = self
                    .pipeline(config.token_url.clone(), &transport, &budget)
                    .build()?;
                let client = OAuthClient::new(config, &token_base);
                let store = self
                    .token_store
                    .take()
                    .unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
                let credential = RefreshingCredential::with_settings(
                    client.clone(),
                    store,
                    self.refresh,
                    self.on_token_change.take(),
                );
                (
                    Arc::new(credential.clone()) as Arc<dyn Authenticator>,
                    Some((client, credential)),
                )
            }
        };
        let api = self
            .pipeline(api_base, &transport, &budget)
            .authenticator(auth)
            .build()?;
        Ok(PearlDiverClient {
            inner: Arc::new(Inner { api, oauth }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::test_util::CaptureTransport;

    fn with_secret() -> PearlDiverClientBuilder {
        PearlDiverClient::builder()
            .oauth(
                "cid",
                ClientSecret::new("TOPSECRET"),
                "http://127.0.0.1:1/cb",
            )
            .transport(CaptureTransport::default())
    }

    fn token_query(client: &PearlDiverClient) -> Vec<(String, String)> {
        let request = client
            .inner
            .oauth
            .as_ref()
            .unwrap()
            .0
            .token_request(vec![])
            .unwrap();
        request.query_pairs().to_vec()
    }

    #[test]
    fn neither_credentials_nor_authenticator_is_a_config_error() {
        let err = PearlDiverClient::builder()
            .transport(CaptureTransport::default())
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        let err = with_secret().api_base("not a url").build().unwrap_err();
        assert!(err.to_string().contains("not a url"), "{err}");
    }

    #[test]
    fn the_audience_rides_on_the_token_url_once() {
        let client = with_secret().build().unwrap();
        assert_eq!(
            token_query(&client),
            vec![("audience".to_string(), "pearldiverapi".to_string())]
        );
        let own = with_secret()
            .token_url("https://proxy.test/token?audience=pearldiverapi")
            .build()
            .unwrap();
        assert!(
            token_query(&own).is_empty(),
            "already in the URL: not added again"
        );
        let none = with_secret().audience(None).build().unwrap();
        assert!(token_query(&none).is_empty());
    }

    #[test]
    fn an_authenticator_replaces_oauth() {
        let client = PearlDiverClient::builder()
            .authenticator(Arc::new(shoal_core::NoAuth))
            .transport(CaptureTransport::default())
            .build()
            .unwrap();
        assert!(client.login().is_err());
        assert!(client.credential().is_none());
    }

    #[test]
    fn debug_shows_no_secret() {
        let builder = with_secret();
        let client = with_secret().build().unwrap();
        let shown = format!("{builder:?} {client:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(shown.contains("api.pearldiver.io"), "{shown}");
    }
}
