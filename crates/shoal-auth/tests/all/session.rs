//! Session tokens and API keys against the test session server (Paya-like).

use std::sync::Arc;
use std::time::Duration;

use shoal_auth::{
    ApiKey, ApiKeyAuth, ApiKeyConfig, KeyPlacement, ParamPlacement, PlacedParam, SessionTokenAuth,
};
use shoal_core::{ManualClock, Pipeline, Request};

use crate::server::{self, SessionServer};
use crate::{api, pipeline, session_config};

/// The session server on a manual clock, a session credential for it, and the API using it.
async fn start() -> (ManualClock, SessionServer, SessionTokenAuth, Pipeline) {
    let clock = ManualClock::new();
    let server = SessionServer::start(clock.clone()).await;
    let base = pipeline(server.base().as_str(), &clock);
    let auth = SessionTokenAuth::new(session_config(server::PASSWORD), &base);
    let api = api(&base, Arc::new(auth.clone()));
    (clock, server, auth, api)
}

#[tokio::test]
async fn successes_keep_the_session_and_an_idle_one_is_renewed_before_use() {
    let (clock, server, _, api) = start().await;
    api.execute(Request::get("contacts")).await.unwrap();
    for _ in 0..3 {
        clock.advance(Duration::from_secs(10 * 60));
        api.execute(Request::get("contacts")).await.unwrap();
    }
    assert_eq!(
        server.state.lock().unwrap().logins,
        1,
        "each success renewed the idle clock"
    );
    clock.advance(server::IDLE);
    api.execute(Request::get("contacts")).await.unwrap();
    let st = server.state.lock().unwrap();
    assert_eq!(st.logins, 2);
    assert_eq!(st.unauthorized, 0, "renewed before use, not after a 401");
}

#[tokio::test]
async fn a_401_logs_in_again_once() {
    let (_clock, server, _, api) = start().await;
    api.execute(Request::get("contacts")).await.unwrap();
    server.forget_sessions();
    api.execute(Request::get("contacts")).await.unwrap();
    let st = server.state.lock().unwrap();
    assert_eq!((st.logins, st.unauthorized, st.api_calls), (2, 1, 3));
}

#[tokio::test]
async fn logout_sends_the_delete_and_treats_404_as_gone() {
    let (_clock, server, auth, api) = start().await;
    api.execute(Request::get("contacts")).await.unwrap();
    auth.logout().await.unwrap();
    assert_eq!(
        server.state.lock().unwrap().deletes,
        vec![("CANARY-SESSION-1".to_string(), 204)]
    );
    api.execute(Request::get("contacts")).await.unwrap();
    server.forget_sessions();
    auth.logout().await.unwrap();
    assert_eq!(
        server.state.lock().unwrap().deletes[1],
        ("CANARY-SESSION-2".to_string(), 404)
    );
}

#[tokio::test]
async fn api_keys_in_headers_or_query() {
    let clock = ManualClock::new();
    let server = SessionServer::start(clock.clone()).await;
    for (keys, dev) in [
        (KeyPlacement::Headers, ParamPlacement::Header),
        (KeyPlacement::Query, ParamPlacement::Query),
    ] {
        let auth = ApiKeyAuth::new(
            ApiKeyConfig::new(
                "user-id",
                "U-1",
                "user-api-key",
                ApiKey::new(server::API_KEY),
            )
            .param(PlacedParam::new("developer-id", "DEV-1", dev))
            .key_placement(keys),
        );
        let base = Pipeline::builder(server.base())
            .clock(clock.shared())
            .redactor(auth.redactor(shoal_core::Redactor::default()))
            .build()
            .unwrap();
        api(&base, Arc::new(auth))
            .execute(Request::get("contacts"))
            .await
            .unwrap();
    }
    assert_eq!(server.state.lock().unwrap().api_calls, 2);
}
