//! The exact requests each operation sends (snapshots), over a capture transport.

use std::time::Duration;

use shoal_core::ManualClock;
use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_pearldiver::{AudienceWindow, PearlDiverClient};

use crate::support::{assert_no_secret, captured_client, describe, log_in, now, tokens};

/// A client over a fresh capture transport and manual clock, logged in: the token exchange is
/// the transport's first request.
async fn logged_in() -> (CaptureTransport, ManualClock, PearlDiverClient) {
    let (transport, clock) = (CaptureTransport::default(), ManualClock::new());
    let client = captured_client(&transport, &clock);
    log_in(&client, &transport).await;
    (transport, clock, client)
}

/// Asserts the described request(s) leak no secret and match the snapshot `name`.
fn assert_secret_free_snapshot(name: &str, sent: &str) {
    assert_no_secret(sent);
    insta::assert_snapshot!(name, sent);
}

fn page() -> Scripted {
    Scripted::json(
        200,
        serde_json::json!({"key": 17, "name": "Boston", "records": [], "pageToken": null}),
    )
}

#[tokio::test]
async fn list_sends_a_bearer_get() {
    let (transport, _clock, client) = logged_in().await;
    transport.push(Scripted::json(
        200,
        serde_json::json!({"audiences": [{"key": 17, "name": "Boston"}]}),
    ));
    let list = client.audiences().list().send().await.unwrap();
    assert_eq!(list.audiences[0].key, 17);
    let sent = describe(&transport.requests()[1]);
    assert_secret_free_snapshot("list", &sent);
}

#[tokio::test]
async fn get_sends_each_window_form_and_the_page_token() {
    let (transport, clock, client) = logged_in().await;
    let audiences = client.audiences();
    let since = now(&clock) - Duration::from_secs(30 * 86_400);
    for _ in 0..4 {
        transport.push(page());
    }
    audiences
        .get(17, AudienceWindow::last_days(30).unwrap())
        .send()
        .await
        .unwrap();
    audiences
        .get(17, AudienceWindow::since(since))
        .send()
        .await
        .unwrap();
    audiences
        .get(17, AudienceWindow::LastDays(7))
        .page_token("eyJvZmZzZXQiOjEwMDB9")
        .send()
        .await
        .unwrap();
    audiences
        .get(17, AudienceWindow::since(since))
        .page_token("tok/with+odd=chars")
        .send()
        .await
        .unwrap();
    let sent: Vec<String> = transport.requests()[1..].iter().map(describe).collect();
    assert_eq!(sent.len(), 4);
    let all = sent.join("\n---\n");
    assert_secret_free_snapshot("get_windows", &all);
}

#[tokio::test]
async fn token_exchange_puts_the_secret_in_the_form_and_the_audience_in_the_url() {
    let (transport, _clock, _client) = logged_in().await;
    let exchange = &transport.requests()[0];
    let body = String::from_utf8(exchange.body().to_vec()).unwrap();
    assert!(
        body.contains("client_secret=S3CRET-client-secret"),
        "secret goes in the body: {body}"
    );
    assert!(exchange.headers().get("authorization").is_none());
    let sent = describe(exchange);
    assert_secret_free_snapshot("token_exchange", &sent);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_before_the_call() {
    let (transport, clock, client) = logged_in().await;
    clock.advance(Duration::from_secs(3600));
    transport.push(tokens("AT-2-SECRET", "RT-2-SECRET", 3600));
    transport.push(Scripted::json(200, serde_json::json!({"audiences": []})));
    client.audiences().list().send().await.unwrap();
    let requests = transport.requests();
    assert_eq!(requests.len(), 3);
    let refresh = String::from_utf8(requests[1].body().to_vec()).unwrap();
    assert!(refresh.contains("refresh_token=RT-1-SECRET"), "{refresh}");
    assert_eq!(requests[2].headers()["authorization"], "Bearer AT-2-SECRET");
    let sent = format!(
        "{}\n---\n{}",
        describe(&requests[1]),
        describe(&requests[2])
    );
    assert_secret_free_snapshot("token_refresh", &sent);
}

#[tokio::test]
async fn authorize_url_has_the_documented_defaults() {
    let (transport, clock) = (CaptureTransport::default(), ManualClock::new());
    let client = captured_client(&transport, &clock);
    let pending = client.login().unwrap().authorize();
    let url = pending.url();
    assert_eq!(
        url.as_str().split('?').next(),
        Some("https://auth.pearldiver.io/authorize")
    );
    let q = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        q("scope").as_deref(),
        Some("openid profile email offline_access")
    );
    assert_eq!(q("audience").as_deref(), Some("pearldiverapi"));
    assert_eq!(q("response_type").as_deref(), Some("code"));
    assert_eq!(q("client_id").as_deref(), Some("pd-client"));
    assert_eq!(
        q("redirect_uri").as_deref(),
        Some("http://127.0.0.1:8765/callback")
    );
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    assert!(transport.requests().is_empty());
}

#[tokio::test]
async fn invalid_windows_send_nothing() {
    let (transport, clock, client) = logged_in().await;
    let before = transport.requests().len();
    let too_old = AudienceWindow::since(now(&clock) - Duration::from_secs(91 * 86_400));
    for window in [
        AudienceWindow::LastDays(0),
        AudienceWindow::LastDays(91),
        too_old,
    ] {
        let err = client.audiences().get(17, window).send().await.unwrap_err();
        assert!(err.to_string().contains("90"), "{err}");
        assert!(
            matches!(err, shoal_core::Error::InvalidInput { .. }),
            "{err}"
        );
    }
    assert_eq!(transport.requests().len(), before);
}

/// DESIGN.md's "Adding an endpoint", followed from outside the crate: (1) a model that keeps
/// what it does not name, (2) the operation as a `Call` through `client.call`, (3) the exact
/// request asserted.
#[tokio::test]
async fn an_endpoint_added_by_following_the_three_steps() {
    // 1. The model.
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct AudienceStats {
        visitors: Option<u64>,
        #[serde(flatten)]
        extra: serde_json::Map<String, serde_json::Value>,
    }
    let (transport, _clock, client) = logged_in().await;
    transport.push(Scripted::json(
        200,
        serde_json::json!({"visitors": 1234, "since": "2026-01-01"}),
    ));
    // 2. The operation.
    let stats: AudienceStats = client
        .call(Ok(shoal_core::Request::get("audiences/17/stats")))
        .send()
        .await
        .unwrap();
    assert_eq!(stats.visitors, Some(1234));
    assert_eq!(stats.extra["since"], "2026-01-01");
    // 3. The exact request: the API base, Pearl Diver's headers, the bearer token.
    let sent = describe(&transport.requests()[1]);
    assert_no_secret(&sent);
    assert_eq!(
        sent,
        "GET https://api.pearldiver.io/v1/audiences/17/stats\naccept: application/json\nauthorization: Bearer [redacted]\ncontent-type: application/json\n"
    );
}
