//! # shoal-auth
//!
//! The credential strategies Shoal's vendor clients plug into `shoal-core`'s
//! [`Authenticator`](shoal_core::Authenticator) seam:
//!
//! - **OAuth 2.0 authorization code + PKCE** ([`OAuthConfig`], [`OAuthClient`],
//!   [`AuthorizationRequest`]) with a [`RefreshingCredential`] that refreshes single-flight,
//!   ahead of expiry, and rotates refresh tokens transactionally through a [`TokenStore`]
//!   ([`MemoryTokenStore`], [`FileTokenStore`]);
//! - a [`Login`] for every OAuth vendor client (`client.login()`): the authorize URL and code
//!   exchange, or a **loopback login** (RFC 8252) on the registered redirect URI for
//!   command-line tools ([`LoopbackLogin`]);
//! - **API keys** placed in headers, query or Basic ([`ApiKeyAuth`]) and **session tokens** with a
//!   sliding idle limit ([`SessionTokenAuth`]);
//! - a [`StaticToken`] bearer and core's [`NoAuth`].
//!
//! Token-endpoint and login calls go through a pipeline derived from the caller's, so they share
//! its transport, retry policy, redaction and tracing. Refreshes and logins run single-flight
//! ([`SingleFlight`]) in a task of their own: a caller dropped at any `.await` cannot lose a
//! rotated refresh token between the server's answer and the save. Every secret is a `secrecy` newtype
//! ([`ClientSecret`], [`AccessToken`], [`RefreshToken`], [`ApiKey`], [`Password`],
//! [`SessionToken`], …) whose `Debug` prints `Kind([redacted])`; nothing here logs a secret.
//!
//! Nothing here names a vendor: a vendor crate declares its names and limits
//! ([`ApiKeyConfig::new`], [`SessionEndpoint`], [`LifetimeLimits`]).
//!
//! **Who depends on it directly:** the vendor crates (`shoal-pearldiver`, `shoal-pebblepad`,
//! `shoal-paya`), `shoal-redis` (to implement [`TokenStore`]), and applications that manage
//! their own login flow. Integrators usually reach it through a vendor crate or `shoal`.
//!
//! **Cargo features:** none.
//!
//! ```
//! use std::sync::Arc;
//! use shoal_auth::{ClientAuth, ClientSecret, MemoryTokenStore, OAuthClient, OAuthConfig, RefreshingCredential};
//! use shoal_core::Pipeline;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let base = Pipeline::builder("https://api.example.test/v1".parse()?).build()?;
//! let config = OAuthConfig::new(
//!     "https://auth.example.test/authorize".parse()?,
//!     "https://auth.example.test/oauth/token".parse()?,
//!     "my-client",
//!     "http://127.0.0.1:8765/callback",
//! )
//! .client_secret(ClientSecret::new("from-the-environment"))
//! .client_auth(ClientAuth::SecretPost)
//! .token_query_param("audience", "exampleapi");
//! let client = OAuthClient::new(config, &base);
//! // Send the user to this URL; `parse_callback` then `exchange` the redirect's code.
//! let pending = client.authorize();
//! assert!(pending.url().as_str().contains("code_challenge_method=S256"));
//! // The credential refreshes itself; the API pipeline uses it as its authenticator.
//! let credential = RefreshingCredential::new(client, Arc::new(MemoryTokenStore::new()));
//! let api = base.derive(base.base_url().clone(), Arc::new(credential));
//! # let _ = api;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod apikey;
mod flight;
mod login;
pub mod loopback;
pub mod oauth;
pub mod record;
pub mod refreshing;
pub mod secret;
pub mod session;
mod static_token;
pub mod store;
mod tokens;

pub use apikey::{ApiKeyAuth, ApiKeyConfig, KeyPlacement, ParamPlacement, PlacedParam};
pub use flight::SingleFlight;
pub use login::{Login, LoopbackPending};
pub use loopback::{DEFAULT_REDIRECT_URI, LoopbackLogin, LoopbackOptions};
pub use oauth::{
    AuthorizationRequest, BasicEncoding, ClientAuth, MAX_EXPIRES_IN, OAuthClient, OAuthConfig,
    TokenResponse,
};
pub use record::{LifetimeLimits, LifetimeWarning, TokenRecord};
pub use refreshing::{
    RefreshSettings, RefreshingCredential, RefreshingCredentialBuilder, TokenChangeHook,
    UnknownExpiry,
};
pub use secret::{
    AccessToken, ApiKey, AuthorizationCode, ClientSecret, CsrfState, ExposeSecret, Password,
    PkceVerifier, RefreshToken, SessionToken,
};
pub use session::{SessionConfig, SessionEndpoint, SessionTokenAuth};
pub use shoal_core::NoAuth;
pub use static_token::StaticToken;
pub use store::{FileTokenStore, MemoryTokenStore, SaveOutcome, TokenLockGuard, TokenStore};
pub use tokens::{ConfigureTokens, TokenSettings};
