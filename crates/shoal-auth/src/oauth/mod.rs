//! OAuth 2.0 authorization code with PKCE: configuration, the browser leg and the token endpoint.

mod authorize;
mod client;
mod config;

pub use authorize::{AuthorizationRequest, pkce_challenge};
pub(crate) use client::is_invalid_grant;
pub use client::{MAX_EXPIRES_IN, OAuthClient, TokenResponse};
pub use config::{BasicEncoding, ClientAuth, OAuthConfig};
