//! Unit tests of [`SessionTokenAuth`]: scripted transport, manual clock.

use shoal_core::ManualClock;
use shoal_core::test_util::{CaptureTransport, Scripted};

use super::*;

const MIN: Duration = Duration::from_secs(60);
const ENDPOINT: SessionEndpoint =
    SessionEndpoint::new("token", "access-token", Duration::from_secs(900));

fn setup(script: Vec<Scripted>) -> (SessionTokenAuth, CaptureTransport, ManualClock) {
    let clock = ManualClock::new();
    let t = CaptureTransport::new(script);
    let base = Pipeline::builder("https://api.example.test/v2".parse().unwrap())
        .transport(t.clone())
        .clock(clock.shared())
        .build()
        .unwrap();
    let config = SessionConfig::new(ENDPOINT, "ann", Password::new("PW"), "acme").param(
        PlacedParam::new("developer-id", "DEV", ParamPlacement::Header),
    );
    (SessionTokenAuth::new(config, &base), t, clock)
}

fn login_ok(token: &str) -> Scripted {
    Scripted::json(
        200,
        serde_json::json!({"token": {"id": "5f1", "token": token, "expire": 15, "username": "ann"}}),
    )
}

#[tokio::test]
async fn logs_in_with_a_flat_body_and_sends_the_token_header() {
    let (auth, t, _) = setup(vec![login_ok("T1")]);
    let mut req = Request::get("contacts");
    auth.authenticate(&mut req).await.unwrap();
    assert_eq!(req.headers()["access-token"], "T1");
    assert!(req.headers()["access-token"].is_sensitive());
    assert_eq!(req.headers()["developer-id"], "DEV");
    let sent = &t.requests()[0];
    assert_eq!(sent.method(), http::Method::POST);
    assert_eq!(sent.uri().to_string(), "https://api.example.test/v2/token");
    assert_eq!(sent.headers()["developer-id"], "DEV");
    let body: Value = serde_json::from_slice(sent.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"username": "ann", "password": "PW", "domain": "acme"})
    );
}

#[tokio::test]
async fn every_success_renews_the_idle_clock() {
    let (auth, t, clock) = setup(vec![login_ok("T1"), login_ok("T2")]);
    let stamp = auth.authenticate(&mut Request::get("x")).await.unwrap();
    clock.advance(10 * MIN);
    auth.succeeded(stamp);
    clock.advance(10 * MIN);
    assert_eq!(auth.token().await.unwrap().expose_secret(), "T1");
    assert_eq!(t.requests().len(), 1);
    // Idle 14 of 15 minutes: inside the margin, so log in again before using it.
    clock.advance(4 * MIN);
    assert_eq!(auth.token().await.unwrap().expose_secret(), "T2");
    assert_eq!(t.requests().len(), 2);
}

#[tokio::test]
async fn a_401_logs_in_again_once_and_only_for_the_current_token() {
    let (auth, t, _) = setup(vec![login_ok("T1"), login_ok("T2")]);
    let stamp = auth.authenticate(&mut Request::get("x")).await.unwrap();
    assert!(auth.unauthorized(stamp).await.unwrap());
    assert!(auth.unauthorized(stamp).await.unwrap());
    assert_eq!(t.requests().len(), 2);
    assert_eq!(auth.token().await.unwrap().expose_secret(), "T2");
}

#[tokio::test]
async fn a_refused_login_is_a_login_error() {
    let (auth, _, _) = setup(vec![Scripted::json(
        401,
        serde_json::json!({"message": "bad credentials"}),
    )]);
    let err = auth.token().await.unwrap_err();
    assert_eq!(err.auth_error().unwrap().kind, AuthErrorKind::Login);
    assert!(!format!("{err} {err:?}").contains("PW"));
}

#[tokio::test]
async fn logout_deletes_the_token_and_hides_it() {
    let (auth, t, _) = setup(vec![
        login_ok("T1"),
        Scripted::status(204),
        login_ok("T2"),
        Scripted::status(404),
    ]);
    auth.token().await.unwrap();
    auth.logout().await.unwrap();
    let del = &t.requests()[1];
    assert_eq!(del.method(), http::Method::DELETE);
    assert_eq!(
        del.uri().to_string(),
        "https://api.example.test/v2/token/T1"
    );
    assert_eq!(del.headers()["developer-id"], "DEV");
    // Gone already (404) is fine; logging out with no session sends nothing.
    auth.token().await.unwrap();
    auth.logout().await.unwrap();
    auth.logout().await.unwrap();
    assert_eq!(t.requests().len(), 4);
}

#[tokio::test]
async fn query_placement() {
    let (auth, _, _) = setup(vec![login_ok("T1")]);
    let auth = SessionTokenAuth {
        inner: Arc::new(Inner {
            config: auth.inner.config.clone().placement(ParamPlacement::Query),
            pipeline: auth.inner.pipeline.clone(),
            clock: auth.inner.clock.clone(),
            state: Mutex::new(State::default()),
            flight: SingleFlight::default(),
        }),
    };
    let mut req = Request::get("x");
    auth.authenticate(&mut req).await.unwrap();
    assert!(
        req.query_pairs()
            .contains(&("access-token".to_string(), "T1".to_string()))
    );
    assert!(req.headers().get("access-token").is_none());
}
