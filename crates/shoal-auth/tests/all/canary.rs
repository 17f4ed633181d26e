//! Canary secrets through every flow with tracing at TRACE: none may appear in the logs, in any
//! error's `Display`/`Debug`, or in the `Debug` of any public auth type.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use shoal_auth::*;
use shoal_core::test_util::LogCapture;
use shoal_core::{Clock as _, ManualClock, Request, Transport as _};

use crate::server::{self, OAuthServer, SessionServer};
use crate::{any_port, api, oauth_client, pipeline, query_param, session_config};

// Current-thread runtime: the thread-local subscriber sees every task.
#[tokio::test]
async fn no_canary_in_logs_errors_or_debug() {
    let capture = LogCapture::start();
    let mut shown: Vec<String> = Vec::new();
    let mut canaries: Vec<String> = vec!["CANARY".into()];

    // OAuth: loopback login, a wrong state, refresh, 401 refresh, invalid_grant.
    let oauth = OAuthServer::start().await;
    let clock = ManualClock::new();
    let base = pipeline(&oauth.url("/api"), &clock);
    let client = oauth_client(&oauth, &base);
    let login = LoopbackLogin::start(&client, any_port()).await.unwrap();
    canaries.push(query_param(login.authorize_url(), "state").unwrap());
    shown.push(format!("{login:?} {client:?} {:?}", client.config()));
    let transport = shoal_core::ReqwestTransport::new().unwrap();
    let resp = transport
        .send(
            http::Request::get(login.authorize_url().as_str())
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    transport
        .send(
            http::Request::get(location.as_str())
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let tokens = login.finish().await.unwrap();
    shown.push(format!("{tokens:?}"));
    let pending = client.authorize();
    canaries.push(query_param(pending.url(), "state").unwrap());
    canaries.push(pending.verifier().unwrap().expose_secret().to_string());
    shown.push(format!("{pending:?}"));
    let mismatch = pending
        .parse_callback("code=CANARY-CODE-X&state=CANARY-STATE")
        .unwrap_err();
    shown.push(format!("{mismatch} {mismatch:?}"));

    let store = MemoryTokenStore::new();
    let cred = RefreshingCredential::new(client.clone(), Arc::new(store.clone()));
    cred.login(tokens).await.unwrap();
    let api_oauth = api(&base, Arc::new(cred.clone()));
    api_oauth.execute(Request::get("me")).await.unwrap();
    clock.advance(Duration::from_secs(3600));
    api_oauth.execute(Request::get("me")).await.unwrap();
    oauth.expire_access_tokens();
    api_oauth.execute(Request::get("me")).await.unwrap();
    shown.push(format!(
        "{cred:?} {store:?} {:?}",
        store.load().await.unwrap()
    ));
    let stale = RefreshingCredential::new(
        client.clone(),
        Arc::new(MemoryTokenStore::with_record(TokenRecord::unknown_age(
            "CANARY-AT-OLD".into(),
            "CANARY-RT-OLD".into(),
        ))),
    );
    let reauth = stale.access_token().await.unwrap_err();
    shown.push(format!("{reauth} {reauth:?}"));
    let file = FileTokenStore::new(std::env::temp_dir().join("shoal-canary-never-written.json"));
    shown.push(format!(
        "{file:?} {:?}",
        StaticToken::new(AccessToken::new("CANARY-STATIC"))
    ));

    // API keys in the query, and a refused one.
    let session_clock = ManualClock::new();
    let paya = SessionServer::start(session_clock.clone()).await;
    for key in [server::API_KEY, "CANARY-WRONG-KEY"] {
        let auth = ApiKeyAuth::new(
            ApiKeyConfig::new("user-id", "U-1", "user-api-key", ApiKey::new(key))
                .param(PlacedParam::new(
                    "developer-id",
                    "DEV-1",
                    ParamPlacement::Query,
                ))
                .key_placement(KeyPlacement::Query),
        );
        shown.push(format!("{auth:?}"));
        let base = shoal_core::Pipeline::builder(paya.base())
            .clock(session_clock.shared())
            .redactor(auth.redactor(shoal_core::Redactor::default()))
            .build()
            .unwrap();
        match api(&base, Arc::new(auth))
            .execute(Request::get("contacts"))
            .await
        {
            Ok(_) => {}
            Err(e) => shown.push(format!("{e} {e:?}")),
        }
    }

    // Session: login, idle renewal, 401 re-login, logout, a refused login.
    let base = pipeline(paya.base().as_str(), &session_clock);
    let config = session_config(server::PASSWORD);
    shown.push(format!("{config:?}"));
    let session = SessionTokenAuth::new(config, &base);
    let api_paya = api(&base, Arc::new(session.clone()));
    api_paya.execute(Request::get("contacts")).await.unwrap();
    session_clock.advance(server::IDLE);
    api_paya.execute(Request::get("contacts")).await.unwrap();
    paya.forget_sessions();
    api_paya.execute(Request::get("contacts")).await.unwrap();
    session.logout().await.unwrap();
    shown.push(format!("{session:?}"));
    let wrong = SessionTokenAuth::new(session_config("CANARY-WRONG-PASSWORD"), &base);
    let refused = wrong.token().await.unwrap_err();
    shown.push(format!("{refused} {refused:?}"));

    let logs = capture.text();
    assert!(
        logs.contains("TRACE") && logs.contains("sending") && logs.contains("/oauth/token"),
        "tracing captured nothing useful:\n{logs}"
    );
    assert!(logs.contains("session started") && logs.contains("access token refreshed"));
    assert!(
        logs.contains("[redacted]"),
        "secrets went through the logs redacted"
    );
    assert!(oauth.state.lock().unwrap().refresh_calls >= 2);
    for canary in &canaries {
        assert!(
            !logs.contains(canary.as_str()),
            "`{canary}` in logs:\n{logs}"
        );
        for s in &shown {
            assert!(!s.contains(canary.as_str()), "`{canary}` in {s}");
        }
    }
    let _ = clock.now();
}
