//! With credentials in the query string, no error `Display`/`Debug` and no TRACE log line shows
//! the API key or the session token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_core::{AuthStamp, Authenticator, ManualClock, Request, Result};
use shoal_paya::{Environment, NewContact, PayaClient};

use crate::support::{API_KEY, CONTACT, LOCATION, quick_retries};

const TOKEN: &str = "CANARY-TOKEN-3pPzNQst";

/// Query placement of both kinds of secret (stands in for shoal-auth's strategies).
#[derive(Debug)]
struct QueryCredentials;

#[async_trait]
impl Authenticator for QueryCredentials {
    async fn authenticate(&self, request: &mut Request) -> Result<AuthStamp> {
        request.push_query("user-id", "user-1");
        request.push_query("user-api-key", API_KEY);
        request.push_query("access-token", TOKEN);
        Ok(AuthStamp(1))
    }
    async fn unauthorized(&self, _stamp: AuthStamp) -> Result<bool> {
        Ok(false)
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn query_placed_secrets_stay_out_of_errors_and_trace_logs() {
    let logs = Buffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let transport = CaptureTransport::new([
        Scripted::status(500),
        Scripted::status(500),
        Scripted::status(500),
        Scripted::json(
            422,
            serde_json::json!({"errors": {"zip": ["Zip is invalid."]}}),
        ),
        Scripted::status(500),
    ]);
    let client = PayaClient::builder(Environment::Sandbox)
        .developer_id("dev-shoal")
        .authenticator(Arc::new(QueryCredentials))
        .transport(transport.clone())
        .clock(ManualClock::new().shared())
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let new = || NewContact::new(LOCATION, "Smith").zip("10001");
    let errors = vec![
        client.contacts().get(CONTACT).send().await.unwrap_err(),
        client.contacts().create(new()).send().await.unwrap_err(),
        client.contacts().create(new()).send().await.unwrap_err(),
    ];
    let sent = transport.requests();
    assert!(
        sent[0].uri().to_string().contains(API_KEY),
        "the key really was in the query"
    );
    assert!(sent.iter().all(|r| r.uri().to_string().contains(TOKEN)));

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("TRACE") && logs.contains("v2/contacts"),
        "trace logs were captured: {logs}"
    );
    for err in &errors {
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("v2/contacts"), "{shown}");
        for secret in [API_KEY, TOKEN] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
    }
    for secret in [API_KEY, TOKEN] {
        assert!(!logs.contains(secret), "{secret} leaked in the logs");
    }
    assert!(!format!("{client:?}").contains(API_KEY));
}
