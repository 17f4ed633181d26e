//! With credentials in the query string, no error `Display`/`Debug` and no TRACE log line shows
//! the API key or the session token.

use shoal_core::ManualClock;
use shoal_core::test_util::{CaptureTransport, LogCapture, Scripted};
use shoal_paya::{ApiKey, ConfigureClient as _, KeyPlacement, NewContact, Password, PayaErrorExt};

use crate::support::{API_KEY, CONTACT, LOCATION, create_err, sandbox};

const TOKEN: &str = "CANARY-TOKEN-3pPzNQst";
const PASSWORD: &str = "CANARY-PASSWORD-91x";

#[tokio::test(flavor = "current_thread")]
async fn query_placed_secrets_stay_out_of_errors_and_trace_logs() {
    let capture = LogCapture::start();

    // API key in the query: a GET failing 500 three times, a create refused 422, a create
    // answered 500 (maybe processed).
    let key_transport = CaptureTransport::new([
        Scripted::status(500),
        Scripted::status(500),
        Scripted::status(500),
        Scripted::json(
            422,
            serde_json::json!({"errors": {"zip": ["Zip is invalid."]}}),
        ),
        Scripted::status(500),
    ]);
    let key_client = sandbox(&ManualClock::new())
        .api_key("user-1", ApiKey::new(API_KEY), KeyPlacement::Query)
        .transport(key_transport.clone())
        .build()
        .unwrap();
    // Session token in the query: login, then a GET refused 403, then logout refused 500.
    let session_transport = CaptureTransport::new([
        Scripted::json(
            200,
            serde_json::json!({"token": {"token": TOKEN, "expire": 15}}),
        ),
        Scripted::json(
            403,
            serde_json::json!({"message": "not signed up for this service"}),
        ),
        Scripted::status(500),
        Scripted::status(500),
        Scripted::status(500),
    ]);
    let session_client = sandbox(&ManualClock::new())
        .session("clerk", Password::new(PASSWORD), "acme")
        .session_token_in_query()
        .transport(session_transport.clone())
        .build()
        .unwrap();
    let new = || NewContact::new(LOCATION, "Smith").zip("10001");
    let errors = vec![
        key_client.contacts().get(CONTACT).send().await.unwrap_err(),
        create_err(&key_client, new()).await,
        create_err(&key_client, new()).await,
        session_client
            .contacts()
            .get(CONTACT)
            .send()
            .await
            .unwrap_err(),
        session_client.logout().await.unwrap_err(),
    ];
    assert!(errors[2].may_have_been_processed() && errors[3].is_not_signed_up());
    let sent = key_transport.requests();
    assert!(
        sent.iter()
            .all(|r| r.uri().query().unwrap_or("").contains(API_KEY)),
        "the key really was in the query"
    );
    let sent = session_transport.requests();
    assert!(
        sent[1].uri().query().unwrap_or("").contains(TOKEN),
        "the token really was in the query"
    );

    let logs = capture.text();
    assert!(
        logs.contains("TRACE") && logs.contains("v2/contacts"),
        "trace logs were captured: {logs}"
    );
    for err in &errors {
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("/v2/"), "{shown}");
        for secret in [API_KEY, TOKEN, PASSWORD] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
    }
    for secret in [API_KEY, TOKEN, PASSWORD] {
        assert!(!logs.contains(secret), "{secret} leaked in the logs");
    }
    let clients = format!("{key_client:?} {session_client:?}");
    assert!(
        !clients.contains(API_KEY) && !clients.contains(TOKEN) && !clients.contains(PASSWORD),
        "{clients}"
    );
}
