//! shoal-auth integration tests: one binary, one module per flow, against hyper token servers on
//! 127.0.0.1 (no internet, no real sleeping: time is a `ManualClock`).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod canary;
mod cancellation;
mod oauth;
mod server;
mod session;

use std::sync::Arc;
use std::time::Duration;

use shoal_auth::{
    ClientSecret, OAuthClient, OAuthConfig, ParamPlacement, Password, PlacedParam, SessionConfig,
};
use shoal_core::{Backoff, ManualClock, Pipeline, RetryPolicy};

/// A pipeline on `base` with the manual clock and no waiting between retries.
pub fn pipeline(base: &str, clock: &ManualClock) -> Pipeline {
    let policy = RetryPolicy::default().backoff(Backoff::new(Duration::ZERO, Duration::ZERO));
    Pipeline::builder(base.parse().unwrap())
        .clock(clock.shared())
        .retry_policy(policy)
        .build()
        .unwrap()
}

/// An OAuth client for the test server (secret in the body, audience in the token URL).
pub fn oauth_client(server: &server::OAuthServer, base: &Pipeline) -> OAuthClient {
    let config = OAuthConfig::new(
        server.url("/authorize").parse().unwrap(),
        server.url("/oauth/token").parse().unwrap(),
        server::CLIENT_ID,
        "http://127.0.0.1:1/unused",
    )
    .client_secret(ClientSecret::new(server::CLIENT_SECRET))
    .scopes(["openid", "offline_access"])
    .authorize_param("audience", "testapi")
    .token_query_param("audience", "testapi");
    OAuthClient::new(config, base)
}

/// The API pipeline using `auth`.
pub fn api(base: &Pipeline, auth: Arc<dyn shoal_core::Authenticator>) -> Pipeline {
    base.derive(base.base_url().clone(), auth)
}

/// The value of the first `key` in `url`'s query.
pub fn query_param(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Loopback options on any free port (the test servers accept any loopback port).
pub fn any_port() -> shoal_auth::LoopbackOptions {
    shoal_auth::LoopbackOptions::default().redirect_uri("http://127.0.0.1:0/callback")
}

/// The session server's login for user "ann" of "acme" with `password`, the developer id in a
/// header.
pub fn session_config(password: &str) -> SessionConfig {
    SessionConfig::new(server::SESSION, "ann", Password::new(password), "acme").param(
        PlacedParam::new("developer-id", "DEV-1", ParamPlacement::Header),
    )
}
