//! Helpers shared by the test modules: clients over a capture transport, and a printable,
//! redacted form of a request for snapshots.

use shoal_auth::ConfigureTokens as _;
use std::sync::Arc;

use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_core::{Bytes, Clock, ManualClock, Redactor, RetryPolicy, Url};
use shoal_pearldiver::{ClientSecret, ConfigureClient as _, MemoryTokenStore, PearlDiverClient};

/// The client secret used in tests; it must never appear in a snapshot.
pub const SECRET: &str = "S3CRET-client-secret";

/// A client with Pearl Diver's default URLs over a capture transport and a manual clock.
pub fn captured_client(transport: &CaptureTransport, clock: &ManualClock) -> PearlDiverClient {
    PearlDiverClient::builder()
        .oauth(
            "pd-client",
            ClientSecret::new(SECRET),
            "http://127.0.0.1:8765/callback",
        )
        .token_store(Arc::new(MemoryTokenStore::new()))
        .transport(transport.clone())
        .clock(clock.shared())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

/// A token endpoint answer.
pub fn tokens(access: &str, refresh: &str, expires_in: u64) -> Scripted {
    Scripted::json(
        200,
        serde_json::json!({
            "access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": expires_in, "scope": "openid profile email offline_access"
        }),
    )
}

/// Logs the client in through a scripted token endpoint; returns nothing but leaves the
/// exchange request in the transport's record.
pub async fn log_in(client: &PearlDiverClient, transport: &CaptureTransport) {
    transport.push(tokens("AT-1-SECRET", "RT-1-SECRET", 3600));
    let login = client.login().unwrap();
    let pending = login.authorize();
    let state = pending
        .url()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    login
        .complete(
            &pending,
            &format!("http://127.0.0.1:8765/callback?code=CODE-SECRET&state={state}"),
        )
        .await
        .unwrap();
}

/// Method, URL with sorted query, sorted redacted headers, and the redacted body.
pub fn describe(request: &shoal_core::http::Request<Bytes>) -> String {
    let redactor = Redactor::standard();
    let mut url = Url::parse(&request.uri().to_string()).unwrap();
    let mut query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    query.sort();
    url.set_query(None);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let mut headers = redactor.headers(request.headers());
    headers.sort();
    let mut out = format!("{} {}\n", request.method(), redactor.url(&url));
    for (name, mut value) in headers {
        let raw = request
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if name == "authorization" && raw.starts_with("Bearer ") {
            value = "Bearer [redacted]".into();
        }
        out.push_str(&format!("{name}: {value}\n"));
    }
    if !request.body().is_empty() {
        out.push('\n');
        out.push_str(&redactor.body(request.body(), 4000));
        out.push('\n');
    }
    out
}

/// Asserts no secret of the test setup appears in a text.
pub fn assert_no_secret(text: &str) {
    for secret in [
        SECRET,
        "AT-1-SECRET",
        "RT-1-SECRET",
        "AT-2-SECRET",
        "RT-2-SECRET",
        "CODE-SECRET",
    ] {
        assert!(!text.contains(secret), "{secret} leaked in:\n{text}");
    }
}

/// The manual clock's wall time as an `OffsetDateTime`.
pub fn now(clock: &ManualClock) -> time::OffsetDateTime {
    time::OffsetDateTime::from(clock.system_now())
}

/// A clock for tests against an emulator: reads a [`ManualClock`] (shared with the emulator)
/// and, instead of waiting, *skips* the manual clock forward by every sleep asked of it and
/// records the sleep — so backoff and `Retry-After` cost no real time and can be asserted.
#[derive(Clone, Debug)]
pub struct SkippingClock {
    pub manual: ManualClock,
    slept: Arc<std::sync::Mutex<Vec<std::time::Duration>>>,
}

impl SkippingClock {
    pub fn new(manual: &ManualClock) -> Self {
        Self {
            manual: manual.clone(),
            slept: Arc::default(),
        }
    }

    /// Every sleep asked for so far.
    pub fn slept(&self) -> Vec<std::time::Duration> {
        self.slept.lock().unwrap().clone()
    }
}

impl Clock for SkippingClock {
    fn now(&self) -> std::time::Instant {
        self.manual.now()
    }
    fn system_now(&self) -> std::time::SystemTime {
        self.manual.system_now()
    }
    fn sleep(&self, duration: std::time::Duration) -> shoal_core::clock::Sleep {
        self.slept.lock().unwrap().push(duration);
        self.manual.advance(duration);
        Box::pin(std::future::ready(()))
    }
}
