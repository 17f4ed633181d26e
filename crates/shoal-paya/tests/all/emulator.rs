//! End to end against shoal-testkit's Paya emulator (127.0.0.1, a `ManualClock` shared by client
//! and emulator): the contact lifecycle with every credential method, session expiry and
//! re-login, paging over the 57 seeded contacts, a create answered 500, validation before
//! sending, secrets kept out of errors and TRACE logs, upserts and location infos. Each test
//! checks the emulator's traffic record, not just what the client returns.

mod contacts;
mod listing;
mod safety;
mod secrets;
mod session;

use shoal_core::ManualClock;
use shoal_paya::{
    ApiKey, ConfigureClient as _, Environment, KeyPlacement, Password, PayaClient,
    PayaClientBuilder,
};
use shoal_testkit::RecordedRequest;
use shoal_testkit::paya::{Paya, PayaConfig};

use crate::support::quick_retries;

pub(crate) const API_KEY: &str = "CANARY-EMU-KEY-5e2b71";
pub(crate) const PASSWORD: &str = "CANARY-EMU-PASSWORD-8c4d";
pub(crate) const SEEDED: usize = 57;

/// How a test client authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    Headers,
    Query,
    Basic,
    Session,
    SessionInQuery,
}

pub(crate) async fn emulator(clock: &ManualClock) -> Paya {
    Paya::start(PayaConfig {
        clock: clock.shared(),
        user_api_key: API_KEY.into(),
        password: PASSWORD.into(),
        ..PayaConfig::default()
    })
    .await
    .expect("emulator")
}

pub(crate) fn builder(emu: &Paya, clock: &ManualClock, auth: Auth) -> PayaClientBuilder {
    let ep = emu.endpoints();
    let b = PayaClient::builder(Environment::custom(&ep.base_url).expect("url"))
        .developer_id(ep.developer_id.clone())
        .clock(clock.shared())
        .retry_policy(quick_retries())
        .jitter_seed(11);
    let key = |b: PayaClientBuilder, p| {
        b.api_key(ep.user_id.clone(), ApiKey::new(ep.user_api_key.clone()), p)
    };
    let session = |b: PayaClientBuilder| {
        b.session(
            ep.username.clone(),
            Password::new(ep.password.clone()),
            ep.domain.clone(),
        )
    };
    match auth {
        Auth::Headers => key(b, KeyPlacement::Headers),
        Auth::Query => key(b, KeyPlacement::Query),
        Auth::Basic => key(b, KeyPlacement::Basic),
        Auth::Session => session(b),
        Auth::SessionInQuery => session(b).session_token_in_query(),
    }
}

pub(crate) fn client(emu: &Paya, clock: &ManualClock, auth: Auth) -> PayaClient {
    builder(emu, clock, auth).build().expect("client")
}

/// A fresh clock, an emulator on it and a client authenticating with `auth`.
pub(crate) async fn start(auth: Auth) -> (ManualClock, Paya, PayaClient) {
    let clock = ManualClock::new();
    let emu = emulator(&clock).await;
    let client = client(&emu, &clock, auth);
    (clock, emu, client)
}

pub(crate) fn logins(emu: &Paya) -> usize {
    emu.traffic().count("POST", "/v2/token")
}

pub(crate) fn body(r: &RecordedRequest) -> serde_json::Value {
    serde_json::from_str(&r.body).expect("recorded JSON body")
}

pub(crate) fn query_has(r: &RecordedRequest, name: &str) -> bool {
    r.query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with(&format!("{name}="))))
}

/// Where the credentials of `auth` travelled on a recorded request.
pub(crate) fn assert_credentials(r: &RecordedRequest, auth: Auth) {
    let what = format!("{auth:?}: {} {} {:?}", r.method, r.path, r.query);
    assert!(
        r.header("developer-id").is_some() || query_has(r, "developer-id"),
        "developer-id missing: {what}"
    );
    let key_header = r.header("user-api-key").is_some();
    let key_query = query_has(r, "user-api-key");
    let basic = r
        .header("authorization")
        .is_some_and(|v| v.starts_with("Basic") || v == "[redacted]");
    let token_header = r.header("access-token").is_some();
    let token_query = query_has(r, "access-token");
    let seen = [key_header, key_query, basic, token_header, token_query];
    let expected = match auth {
        Auth::Headers => [true, false, false, false, false],
        Auth::Query => [false, true, false, false, false],
        Auth::Basic => [false, false, true, false, false],
        Auth::Session => [false, false, false, true, false],
        Auth::SessionInQuery => [false, false, false, false, true],
    };
    assert_eq!(seen, expected, "{what}");
}
