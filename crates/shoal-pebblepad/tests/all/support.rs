//! Helpers shared by the test modules: clients over a capture transport, and a printable,
//! redacted form of a request for snapshots.

use shoal_auth::ConfigureTokens as _;
use std::sync::Arc;

use serde::Serialize;
use shoal_auth::{AccessToken, StaticToken};
use shoal_core::test_util::CaptureTransport;
use shoal_core::{Bytes, ManualClock, Redactor, RetryPolicy};
use shoal_pebblepad::{Call, ConfigureClient as _, Discovery, Installation, PebblePadClient};

/// The bearer token of captured clients; it must never appear in a snapshot.
pub const TOKEN: &str = "CANARY-access-token";

/// A UK client with a static bearer token over a capture transport, limits from headers only.
pub async fn captured(transport: &CaptureTransport) -> PebblePadClient {
    PebblePadClient::builder(Installation::UnitedKingdom)
        .authenticator(Arc::new(StaticToken::new(AccessToken::new(TOKEN))))
        .transport(transport.clone())
        .clock(ManualClock::new().shared())
        .retry_policy(RetryPolicy::never())
        .rate_limits(Discovery::HeadersOnly)
        .build()
        .unwrap()
}

/// Sends a call that must succeed; its output.
pub async fn send_ok<T: std::fmt::Debug>(call: Call<T>) -> T {
    call.send().await.unwrap()
}

/// Sends a call that must fail; its error.
pub async fn send_err<T: std::fmt::Debug>(call: Call<T>) -> shoal_core::Error {
    call.send().await.unwrap_err()
}

/// A request as a snapshot shows it: method, path, sorted query, redacted headers, body.
#[derive(Debug, Serialize)]
pub struct Shot {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

impl Shot {
    pub fn of(request: &http::Request<Bytes>) -> Self {
        let r = Redactor::standard();
        let mut query: Vec<(String, String)> = request
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        query.sort();
        let mut headers = r.headers(request.headers());
        headers.sort();
        let body = if request.body().is_empty() {
            serde_json::Value::Null
        } else {
            let redacted = r.body(request.body(), 100_000);
            serde_json::from_str(&redacted).unwrap_or(serde_json::Value::String(redacted))
        };
        Self {
            method: request.method().to_string(),
            path: request.uri().path().to_string(),
            query,
            headers,
            body,
        }
    }
}

/// Every request the transport received, as shots, checked free of the canary token.
pub fn shots(transport: &CaptureTransport) -> Vec<Shot> {
    let shots: Vec<Shot> = transport.requests().iter().map(Shot::of).collect();
    let printed = format!("{shots:?}");
    assert!(!printed.contains(TOKEN), "token leaked: {printed}");
    shots
}

/// A client of a running emulator with a service account from `pair` (or the emulator's own
/// start-up pair) and the given refresh settings; the system clock (tokio time, so paused tests
/// run virtually) and the reqwest transport over 127.0.0.1.
pub async fn emulator_client(
    emu: &shoal_testkit::pebblepad::PebblePad,
    pair: Option<(String, String)>,
    settings: shoal_auth::RefreshSettings,
) -> PebblePadClient {
    let ep = emu.endpoints();
    let (access, refresh) = pair.unwrap_or_else(|| {
        (
            ep.service_access_token.clone().unwrap(),
            ep.service_refresh_token.clone().unwrap(),
        )
    });
    let app = shoal_pebblepad::OAuthApp::new(
        ep.client_id.clone(),
        shoal_auth::ClientSecret::new(ep.client_secret.clone()),
        ep.redirect_uri.clone(),
    );
    let account = shoal_pebblepad::ServiceAccount::new(
        app,
        AccessToken::new(access),
        shoal_auth::RefreshToken::new(refresh),
    );
    PebblePadClient::builder(Installation::custom(&ep.host).unwrap())
        .service_account(account)
        .ephemeral_tokens()
        .refresh_settings(settings)
        .jitter_seed(7)
        .build()
        .unwrap()
}

/// An emulator on the system clock with these limits.
pub async fn emulator(
    limits: shoal_testkit::pebblepad::RateLimits,
) -> shoal_testkit::pebblepad::PebblePad {
    shoal_testkit::pebblepad::PebblePad::start(shoal_testkit::pebblepad::PebblePadConfig {
        limits,
        ..Default::default()
    })
    .await
    .unwrap()
}
