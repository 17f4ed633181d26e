//! [`PearlDiverClient`] and its builder: OAuth with Pearl Diver's defaults, a token store that
//! keeps every rotation, and core's [`ClientOptions`] for everything below.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use shoal_auth::{
    ClientAuth, ClientSecret, ConfigureTokens, LifetimeLimits, LifetimeWarning, Login, OAuthClient,
    OAuthConfig, RefreshingCredential, TokenSettings,
};
use shoal_core::{
    Authenticator, Call, ClientOptions, ConfigureClient, Error, Pipeline, Request, Result, Url,
};

use crate::api::audiences::Audiences;
use crate::error::PearlDiverErrorDecoder;

/// Where the user's browser is sent to log in *(assumed: Auth0's `/authorize` —
/// `shared/api/pearldiver.md` "Hosts")*; override it with
/// [`PearlDiverClientBuilder::authorize_url`].
pub const AUTHORIZE_URL: &str = "https://auth.pearldiver.io/authorize";
/// The token endpoint, without its `audience` query parameter.
pub const TOKEN_URL: &str = "https://auth.pearldiver.io/oauth/token";
/// The `audience` parameter sent on the token URL and *(assumed, Auth0's convention —
/// `shared/api/pearldiver.md` "Authentication", step 1)* the authorize URL; change or drop it
/// with [`PearlDiverClientBuilder::audience`].
pub const AUDIENCE: &str = "pearldiverapi";
/// The API base URL.
pub const API_BASE: &str = "https://api.pearldiver.io/v1";
/// The scopes requested by default (`offline_access` is what yields a refresh token *(assumed,
/// Auth0's convention — `shared/api/pearldiver.md` "Hosts")*); set others with
/// [`PearlDiverClientBuilder::scopes`].
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Pearl Diver's documented refresh-token lifetimes: a family lives 31,557,600 s (one year)
/// from its login, and a refresh token unused for 2,592,000 s (30 days) dies. Warnings start
/// 5 days before either.
pub const REFRESH_LIFETIMES: LifetimeLimits = LifetimeLimits::new(
    Some(Duration::from_secs(2_592_000)),
    Some(Duration::from_secs(31_557_600)),
    Duration::from_secs(5 * 86_400),
);

/// A Pearl Diver API client. Cheap to clone; clones share the connection pool, the credential
/// and the retry budget.
///
/// ```no_run
/// use std::sync::Arc;
/// use futures_util::TryStreamExt;
/// use shoal_pearldiver::{AudienceWindow, ClientSecret, ConfigureTokens as _, FileTokenStore, PearlDiverClient};
///
/// # async fn run() -> shoal_core::Result<()> {
/// let client = PearlDiverClient::builder()
///     .oauth("my-client-id", ClientSecret::new("from-the-environment"), "http://127.0.0.1:8765/callback")
///     .token_store(Arc::new(FileTokenStore::new("pearldiver-tokens.json")))
///     .build()?;
/// // Once: a loopback login on the registered redirect URI.
/// let pending = client.login()?.loopback(Default::default()).await?;
/// println!("open {}", pending.authorize_url());
/// pending.finish().await?;
/// for audience in client.audiences().list().send().await?.audiences {
///     let records: Vec<_> = client
///         .audiences()
///         .records(audience.key, AudienceWindow::last_days(30)?)
///         .by_item()
///         .try_collect()
///         .await?;
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
    credential: Option<RefreshingCredential>,
}

impl fmt::Debug for PearlDiverClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PearlDiverClient")
            .field("api", &self.inner.api)
            .field("credential", &self.inner.credential)
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
        Audiences::new(self)
    }

    /// Logging a user in (authorize URL and code exchange, or a loopback login); an
    /// [`Error::Config`] when the client was built with its own authenticator.
    pub fn login(&self) -> Result<Login> {
        self.credential().cloned().map(Login::new).ok_or_else(|| {
            Error::Config(
                "this client was built with an authenticator, not OAuth credentials".into(),
            )
        })
    }

    /// The OAuth credential (refreshing, rotating), when the client was built with OAuth.
    pub fn credential(&self) -> Option<&RefreshingCredential> {
        self.inner.credential.as_ref()
    }

    /// Warnings for the refresh-token family in the store, against Pearl Diver's documented
    /// lifetimes ([`REFRESH_LIFETIMES`]: 30 days unused, one year in all, warned 5 days before).
    /// Empty without OAuth or without a stored pair.
    pub async fn lifetime_warnings(&self) -> Result<Vec<LifetimeWarning>> {
        match self.credential() {
            Some(credential) => credential.lifetime_warnings(&REFRESH_LIFETIMES).await,
            None => Ok(Vec::new()),
        }
    }

    /// The pipeline API calls go through (authenticated; errors read the Pearl Diver way).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.api
    }

    /// Any API call, as the typed endpoints make theirs: `request` (relative to the API base),
    /// its answer decoded as JSON. How a new endpoint starts (see "Adding an endpoint" in
    /// DESIGN.md).
    pub fn call<T: DeserializeOwned>(&self, request: Result<Request>) -> Call<T> {
        Call::json(&self.inner.api, request.map(crate::api::with_json_headers))
    }
}

/// Where tokens go, when the client uses OAuth.
/// Settings for a [`PearlDiverClient`]. Every URL defaults to Pearl Diver's and can be
/// overridden (an emulator, staging, a proxy); transport, clock, retries and deadline come
/// from [`ConfigureClient`].
pub struct PearlDiverClientBuilder {
    options: ClientOptions,
    api_base: Result<Url>,
    authorize_url: Result<Url>,
    token_url: Result<Url>,
    audience: Option<String>,
    scopes: Vec<String>,
    credentials: Option<(String, ClientSecret, String)>,
    oauth_config: Option<OAuthConfig>,
    tokens: TokenSettings,
    authenticator: Option<Arc<dyn Authenticator>>,
}

impl fmt::Debug for PearlDiverClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &Result<Url>| {
            u.as_ref()
                .map(|u| u.to_string())
                .unwrap_or_else(|e| e.to_string())
        };
        f.debug_struct("PearlDiverClientBuilder")
            .field("options", &self.options)
            .field("api_base", &url(&self.api_base))
            .field("authorize_url", &url(&self.authorize_url))
            .field("token_url", &url(&self.token_url))
            .field("audience", &self.audience)
            .field("scopes", &self.scopes)
            .field("client_id", &self.credentials.as_ref().map(|c| &c.0))
            .finish_non_exhaustive()
    }
}

fn parse(url: &str) -> Result<Url> {
    Url::parse(url).map_err(|e| Error::Config(format!("URL {url:?}: {e}")))
}

impl Default for PearlDiverClientBuilder {
    fn default() -> Self {
        Self {
            options: ClientOptions::default(),
            api_base: parse(API_BASE),
            authorize_url: parse(AUTHORIZE_URL),
            token_url: parse(TOKEN_URL),
            audience: Some(AUDIENCE.into()),
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            credentials: None,
            oauth_config: None,
            tokens: TokenSettings::default(),
            authenticator: None,
        }
    }
}

/// `token_store` (required with OAuth), `ephemeral_tokens`, `refresh_settings`,
/// `on_token_change`.
impl ConfigureTokens for PearlDiverClientBuilder {
    fn token_settings(&mut self) -> &mut TokenSettings {
        &mut self.tokens
    }
}

impl ConfigureClient for PearlDiverClientBuilder {
    fn client_options(&mut self) -> &mut ClientOptions {
        &mut self.options
    }
}

impl PearlDiverClientBuilder {
    /// The OAuth client id, secret (sent in the token request's form body) and the redirect URI
    /// registered with Pearl Diver (port included: it is compared exactly *(assumed, Auth0's
    /// convention — `shared/api/pearldiver.md` "Authentication", step 2)*, so a loopback login
    /// listens on exactly this URI's port). The token response is read as RFC 6749 and Auth0
    /// give it *(assumed, same section)*.
    pub fn oauth(
        mut self,
        client_id: impl Into<String>,
        secret: ClientSecret,
        redirect_uri: impl Into<String>,
    ) -> Self {
        self.credentials = Some((client_id.into(), secret, redirect_uri.into()));
        self
    }
    shoal_core::builder_setters! {
        /// A complete OAuth configuration, replacing every OAuth default and setting here.
        oauth_config(config: OAuthConfig) => oauth_config = Some(config);
        /// The API base URL (default [`API_BASE`]).
        api_base(url: &str) => api_base = parse(url);
        /// The authorize URL (default [`AUTHORIZE_URL`]).
        authorize_url(url: &str) => authorize_url = parse(url);
        /// The token URL (default [`TOKEN_URL`]); the `audience` parameter is added unless the URL
        /// already carries one.
        token_url(url: &str) => token_url = parse(url);
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
    /// A credential strategy of your own instead of OAuth (then [`PearlDiverClient::login`] is
    /// unavailable).
    pub fn authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticator = Some(authenticator);
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

    /// Builds the client. Fails with [`Error::Config`] for a bad URL, when neither OAuth
    /// credentials nor an authenticator were given, or when OAuth has no token store.
    pub fn build(mut self) -> Result<PearlDiverClient> {
        let api_base = std::mem::replace(&mut self.api_base, Err(Error::Config("taken".into())))?;
        let (auth, credential): (Arc<dyn Authenticator>, _) = match self.authenticator.take() {
            Some(auth) => (auth, None),
            None => {
                let config = self.oauth_settings()?.ok_or_else(|| {
                    Error::Config(
                        "Pearl Diver needs OAuth credentials (`oauth`) or an `authenticator`"
                            .into(),
                    )
                })?;
                let token_base = self
                    .options
                    .pipeline(config.token_url.clone())?
                    .error_decoder(PearlDiverErrorDecoder::token_endpoint())
                    .build()?;
                let client = OAuthClient::new(config, &token_base);
                let credential = self.tokens.credential(
                    client,
                    None,
                    "Pearl Diver",
                    "the next run must log in again",
                )?;
                (Arc::new(credential.clone()), Some(credential))
            }
        };
        let api = self
            .options
            .pipeline(api_base)?
            .error_decoder(PearlDiverErrorDecoder::api())
            .authenticator(auth)
            .build()?;
        Ok(PearlDiverClient {
            inner: Arc::new(Inner { api, credential }),
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
            .ephemeral_tokens()
            .transport(CaptureTransport::default())
    }

    fn token_query(client: &PearlDiverClient) -> Vec<(String, String)> {
        let request = client
            .credential()
            .unwrap()
            .oauth_client()
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
    fn oauth_without_a_token_store_is_refused_not_forgotten() {
        let err = PearlDiverClient::builder()
            .oauth("cid", ClientSecret::new("s"), "http://127.0.0.1:1/cb")
            .transport(CaptureTransport::default())
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(err.to_string().contains("ephemeral_tokens"), "{err}");
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
