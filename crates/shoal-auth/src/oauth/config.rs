//! [`OAuthConfig`]: everything that differs between authorization servers, as typed settings.

use url::Url;

use crate::secret::ClientSecret;

/// How the client proves its identity to the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`; Pearl Diver).
    #[default]
    SecretPost,
    /// HTTP Basic with the client id and secret (`client_secret_basic`; PebblePad). The body then
    /// carries no `client_id`.
    Basic {
        /// How id and secret are encoded before base64.
        encoding: BasicEncoding,
    },
}

/// How HTTP Basic client authentication encodes the id and secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BasicEncoding {
    /// RFC 6749 §2.3.1: each of id and secret form-urlencoded, then `id:secret`.
    #[default]
    FormEncoded,
    /// The raw `id:secret`, as PebblePad's documentation shows.
    Raw,
}

/// An OAuth 2.0 authorization-code client: endpoints, identity, scopes and the extra parameters
/// a given server wants.
///
/// ```
/// use shoal_auth::{ClientAuth, ClientSecret, OAuthConfig};
/// let config = OAuthConfig::new(
///     "https://auth.example.test/authorize".parse()?,
///     "https://auth.example.test/oauth/token".parse()?,
///     "my-client",
///     "http://127.0.0.1:8765/callback",
/// )
/// .client_secret(ClientSecret::new("s3cret"))
/// .client_auth(ClientAuth::SecretPost)
/// .scopes(["openid", "offline_access"])
/// .authorize_param("audience", "exampleapi")
/// .token_query_param("audience", "exampleapi");
/// assert!(format!("{config:?}").contains("ClientSecret([redacted])"));
/// # Ok::<_, url::ParseError>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OAuthConfig {
    /// The authorization endpoint the browser is sent to.
    pub authorize_url: Url,
    /// The token endpoint (exchange and refresh).
    pub token_url: Url,
    /// The client id.
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<ClientSecret>,
    /// How the secret is presented (ignored without a secret: then `client_id` goes in the body).
    pub client_auth: ClientAuth,
    /// The registered redirect URI (the loopback helper replaces it with its own).
    pub redirect_uri: String,
    /// Scopes requested, joined with spaces.
    pub scopes: Vec<String>,
    /// Extra query parameters on the authorize URL (Pearl Diver's `audience`).
    pub authorize_params: Vec<(String, String)>,
    /// Extra query parameters on the token URL (Pearl Diver's `?audience=pearldiverapi`).
    pub token_query_params: Vec<(String, String)>,
    /// Whether to use PKCE S256 (default on; turn off only for servers that reject it).
    pub pkce: bool,
}

impl OAuthConfig {
    /// A public client (no secret) with PKCE on, no scopes and no extra parameters.
    pub fn new(
        authorize_url: Url,
        token_url: Url,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            authorize_url,
            token_url,
            client_id: client_id.into(),
            client_secret: None,
            client_auth: ClientAuth::default(),
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            authorize_params: Vec::new(),
            token_query_params: Vec::new(),
            pkce: true,
        }
    }

    shoal_core::builder_setters! {
        /// Sets the client secret.
        client_secret(secret: ClientSecret) => client_secret = Some(secret);
        /// Sets how the secret is presented.
        client_auth(auth: ClientAuth) => client_auth;
    }

    /// Sets the scopes.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a query parameter to the authorize URL.
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((name.into(), value.into()));
        self
    }

    /// Adds a query parameter to the token URL.
    pub fn token_query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.token_query_params.push((name.into(), value.into()));
        self
    }

    shoal_core::builder_setters! {
        /// Turns PKCE on or off.
        pkce(on: bool) => pkce;
        /// Replaces the redirect URI.
        redirect_uri(uri: impl Into<String>) => redirect_uri = uri.into();
    }
}
