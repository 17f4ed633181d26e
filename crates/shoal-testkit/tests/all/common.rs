//! Helpers shared by the emulator tests: a plain client, PKCE, JSON decoding.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A clock that stands still: nothing holds it to advance it.
pub fn still_clock() -> shoal_testkit::SharedClock {
    shoal_testkit::ManualClock::new().shared()
}

/// A client that never follows redirects and never uses a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = "test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz".to_string();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The body as JSON.
pub async fn json(resp: reqwest::Response) -> serde_json::Value {
    let bytes = resp.bytes().await.unwrap();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// Asserts a token answer `(s, body)` is the OAuth error `error` with `status`.
#[track_caller]
pub fn assert_refused(
    s: reqwest::StatusCode,
    body: &serde_json::Value,
    status: reqwest::StatusCode,
    error: &str,
) {
    assert_eq!((s, body["error"].as_str()), (status, Some(error)), "{body}");
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `Location` header of a redirect.
pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_string()
}

/// Asserts an authorize answer redirects with `error` and `state`.
#[track_caller]
pub fn assert_redirected_error(resp: &reqwest::Response, error: &str, state: Option<&str>) {
    let loc = location(resp);
    assert_eq!(query_param(&loc, "error").as_deref(), Some(error), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), state, "{loc}");
}

/// `req` with this JSON body.
pub fn with_json(
    req: reqwest::RequestBuilder,
    body: &serde_json::Value,
) -> reqwest::RequestBuilder {
    req.header("content-type", "application/json")
        .body(body.to_string())
}

/// Sends `req`; its status.
pub async fn status(req: reqwest::RequestBuilder) -> reqwest::StatusCode {
    req.send().await.unwrap().status()
}

/// Sends `req`; its body as JSON.
pub async fn send_json(req: reqwest::RequestBuilder) -> serde_json::Value {
    json(req.send().await.unwrap()).await
}

/// `GET url?pairs`, redirects not followed.
pub async fn get_query(url: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    client().get(url).query(pairs).send().await.unwrap()
}

/// The `code` of an authorize answer, after checking it redirects to `to` with `state`.
pub fn redirected_code(resp: &reqwest::Response, to: &str, state: Option<&str>) -> String {
    assert_eq!(resp.status(), reqwest::StatusCode::FOUND);
    let loc = location(resp);
    assert!(loc.starts_with(to), "{loc}");
    assert_eq!(query_param(&loc, "state").as_deref(), state, "{loc}");
    query_param(&loc, "code").unwrap_or_else(|| panic!("no code in {loc}"))
}

/// `n` background `GET url` calls with `token`, returned once the emulator holds them all stalled.
pub async fn stalled_gets(
    faults: &shoal_testkit::Faults,
    url: &str,
    token: &str,
    n: u32,
) -> Vec<tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>> {
    faults.push(shoal_testkit::Fault::stall().times(n));
    let calls = (0..n)
        .map(|_| tokio::spawn(client().get(url).bearer_auth(token).send()))
        .collect();
    faults.wait_stalled(n as usize).await;
    calls
}
