//! Shared helpers: a client over core's capturing transport (with shoal-auth's API-key strategy,
//! headers placement), and a stable, redacted text form of a request for snapshots.

use std::time::Duration;

use futures_util::TryStreamExt;
use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_core::{Backoff, Bytes, ManualClock, Redactor, RetryPolicy};
use shoal_paya::{
    ApiKey, ConfigureClient as _, Contact, Environment, KeyPlacement, ListContacts, NewContact,
    PayaClient, PayaClientBuilder,
};

pub const LOCATION: &str = "11e95f8ec39de8fbdb0a4f1b";
pub const CONTACT: &str = "11e95f8ec39de8fbdb0a4f1a";
pub const API_KEY: &str = "CANARY-KEY-7f3a9";

/// A retry policy that waits zero time between attempts.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .backoff(Backoff::new(Duration::ZERO, Duration::ZERO))
}

/// A sandbox client builder (developer `dev-shoal`, `clock`, quick retries), no credentials yet.
pub fn sandbox(clock: &ManualClock) -> PayaClientBuilder {
    PayaClient::builder(Environment::Sandbox)
        .developer_id("dev-shoal")
        .clock(clock.shared())
        .retry_policy(quick_retries())
}

/// A sandbox client whose transport answers from `script` and records what it was sent.
pub fn captured(script: impl IntoIterator<Item = Scripted>) -> (PayaClient, CaptureTransport) {
    let transport = CaptureTransport::new(script);
    let client = sandbox(&ManualClock::new())
        .api_key("user-1", ApiKey::new(API_KEY), KeyPlacement::Headers)
        .transport(transport.clone())
        .jitter_seed(7)
        .build()
        .expect("client");
    (client, transport)
}

/// Creates `contact`, expecting the call to fail.
pub async fn create_err(client: &PayaClient, contact: NewContact) -> shoal_core::Error {
    client
        .contacts()
        .create(contact)
        .send()
        .await
        .expect_err("the create fails")
}

/// A contact with a first name, e-mail, cell phone, state, zip and birth date.
pub fn full_contact(location: &str, last_name: &str) -> NewContact {
    NewContact::new(location, last_name)
        .first_name("Ann")
        .email("ann@example.test")
        .cell_phone("5551234567")
        .state("NY")
        .zip("10001")
        .date_of_birth("1990-04-01")
}

/// Every contact of `list`, 20 a page, through the flat stream.
pub async fn every_contact(list: ListContacts) -> Vec<Contact> {
    list.page_size(20)
        .by_item()
        .try_collect()
        .await
        .expect("every contact")
}

/// Method, path, sorted query, sorted redacted headers and pretty JSON body.
pub fn render(request: &http::Request<Bytes>) -> String {
    let r = Redactor::standard();
    let uri: url::Url = request.uri().to_string().parse().expect("url");
    let mut query: Vec<(String, String)> = uri
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query.sort();
    let mut out = format!("{} {}\n", request.method(), uri.path());
    for (k, v) in query {
        let v = if r.is_secret_field(&k) {
            "[redacted]".to_string()
        } else {
            v
        };
        out.push_str(&format!("  ?{k}={v}\n"));
    }
    let mut headers = r.headers(request.headers());
    headers.sort();
    for (k, v) in headers {
        out.push_str(&format!("  {k}: {v}\n"));
    }
    if !request.body().is_empty() {
        let mut v: serde_json::Value = serde_json::from_slice(request.body()).expect("json body");
        r.json_value(&mut v);
        out.push_str(&serde_json::to_string_pretty(&v).expect("json"));
        out.push('\n');
    }
    out
}

pub fn contact_json(n: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("11e95f8ec39de8fbdb0a{n:04}"),
        "location_id": LOCATION,
        "last_name": format!("Name{n:03}"),
        "email_trx_receipt": n % 2 == 0,
        "created_ts": 1_700_000_000 + n as i64,
        "modified_ts": 1_700_000_000 + n as i64,
        "_links": {"self": {"href": format!("https://api.sandbox.payaconnect.com/v2/contacts/11e95f8ec39de8fbdb0a{n:04}")}}
    })
}
