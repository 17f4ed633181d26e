//! Pearl Diver emulator: authorize/code/PKCE, rotation with reuse detection, lifetimes, audiences.

use std::time::Duration;

use reqwest::StatusCode;
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
use shoal_testkit::{Fault, ManualClock};

use crate::common::{
    assert_redirected_error, assert_refused, client, get_query, json, pkce, redirected_code,
    still_clock,
};

const REDIRECT: &str = shoal_testkit::DEFAULT_REDIRECT_URI;

/// A token call with the client's credentials in the body.
pub async fn token_call(pd: &PearlDiver, form: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
    let e = pd.endpoints();
    let mut full = vec![
        ("client_id", e.client_id.as_str()),
        ("client_secret", e.client_secret.as_str()),
    ];
    full.extend_from_slice(form);
    let resp = client()
        .post(pd.token_url_with_audience())
        .form(&full)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, json(resp).await)
}

/// Redeems `code` for `redirect`, with the PKCE `verifier` if any.
pub async fn exchange(
    pd: &PearlDiver,
    code: &str,
    redirect: &str,
    verifier: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
    ];
    form.extend(verifier.map(|v| ("code_verifier", v)));
    token_call(pd, &form).await
}

async fn refresh(pd: &PearlDiver, rt: &str) -> (StatusCode, serde_json::Value) {
    token_call(
        pd,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

/// `GET /authorize` as the registered client back to `redirect`, then the `extra` pairs.
pub async fn authorize_as_client(
    pd: &PearlDiver,
    response_type: &str,
    redirect: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let e = pd.endpoints();
    let mut q = vec![
        ("response_type", response_type),
        ("client_id", &e.client_id),
        ("redirect_uri", redirect),
    ];
    q.extend_from_slice(extra);
    get_query(&e.authorize_url, &q).await
}

/// Runs authorize (with PKCE) and returns the redirect's code.
async fn authorize(pd: &PearlDiver, challenge: &str) -> String {
    let extra = [
        ("state", "st-123"),
        ("scope", "openid profile email offline_access"),
        ("audience", "pearldiverapi"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let resp = authorize_as_client(pd, "code", REDIRECT, &extra).await;
    redirected_code(&resp, REDIRECT, Some("st-123"))
}

#[tokio::test]
async fn code_flow_with_pkce_issues_a_rotating_pair() {
    let clock = ManualClock::new();
    let pd = PearlDiver::start_with_clock(clock.shared()).await.unwrap();
    let (verifier, challenge) = pkce();
    let code = authorize(&pd, &challenge).await;

    let (s, body) = exchange(&pd, &code, REDIRECT, Some("wrong")).await;
    assert_refused(s, &body, StatusCode::FORBIDDEN, "invalid_grant");

    let code = authorize(&pd, &challenge).await;
    let (s, body) = exchange(&pd, &code, "http://127.0.0.1:9/other", Some(&verifier)).await;
    // The redirect_uri must match.
    assert_refused(s, &body, StatusCode::FORBIDDEN, "invalid_grant");

    let code = authorize(&pd, &challenge).await;
    let (s, body) = exchange(&pd, &code, REDIRECT, Some(&verifier)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert!(body["refresh_token"].is_string() && body["id_token"].is_string());

    // The code is single-use.
    let (s, body) = exchange(&pd, &code, REDIRECT, Some(&verifier)).await;
    assert_refused(s, &body, StatusCode::FORBIDDEN, "invalid_grant");
    assert_eq!(pd.traffic().token_calls("authorization_code"), 4);
    assert!(pd.traffic().invalid_grants() >= 3);
}

#[tokio::test]
async fn authorize_refuses_unknown_clients_and_redirect_uris() {
    let pd = PearlDiver::start_with_clock(still_clock()).await.unwrap();
    let e = pd.endpoints().clone();
    for (client_id, redirect) in [
        ("nope", REDIRECT),
        (e.client_id.as_str(), "https://evil.test/cb"),
    ] {
        let q = [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
        ];
        let r = get_query(&e.authorize_url, &q).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q:?}");
    }
    let r = authorize_as_client(&pd, "token", REDIRECT, &[("state", "s")]).await;
    assert_redirected_error(&r, "unsupported_response_type", Some("s"));
}

#[tokio::test]
async fn token_endpoint_requires_audience_query_and_body_credentials() {
    let pd = PearlDiver::start_with_clock(still_clock()).await.unwrap();
    let e = pd.endpoints().clone();
    let pair = pd.mint_tokens();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", pair.refresh_token.as_str()),
        ("client_id", &e.client_id),
        ("client_secret", &e.client_secret),
    ];
    let r = client()
        .post(&e.token_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["error"], "invalid_request");

    let r = client()
        .post(&e.token_url)
        .basic_auth(&e.client_id, Some(&e.client_secret))
        .query(&[("audience", "pearldiverapi")])
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", pair.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(r).await["error"], "invalid_client");

    let (s, body) = token_call(&pd, &[("grant_type", "password")]).await;
    assert_refused(s, &body, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    // Nothing above rotated the token.
    assert!(pd.refresh_token_is_live(&pair.refresh_token));
}

#[tokio::test]
async fn rotation_then_reuse_revokes_the_whole_family() {
    let pd = PearlDiver::start_with_clock(still_clock()).await.unwrap();
    let first = pd.mint_tokens();
    let (s, body) = refresh(&pd, &first.refresh_token).await;
    assert_eq!(s, StatusCode::OK);
    let second = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first.refresh_token);
    assert!(!pd.refresh_token_is_live(&first.refresh_token));
    assert!(pd.refresh_token_is_live(&second));
    assert_eq!(pd.traffic().refresh_reuse(), 0);

    let (s, body) = refresh(&pd, &first.refresh_token).await;
    assert_refused(s, &body, StatusCode::FORBIDDEN, "invalid_grant");
    assert_eq!(pd.traffic().refresh_reuse(), 1);
    assert!(
        !pd.refresh_token_is_live(&second),
        "the family must be revoked"
    );
    let (s, body) = refresh(&pd, &second).await;
    assert_refused(s, &body, StatusCode::FORBIDDEN, "invalid_grant");

    // Another login is unaffected.
    let other = pd.mint_tokens();
    assert_eq!(refresh(&pd, &other.refresh_token).await.0, StatusCode::OK);
    assert_eq!(pd.traffic().token_calls("refresh_token"), 4);
}

#[tokio::test]
async fn refresh_tokens_expire_after_30_idle_days_and_one_year() {
    let clock = ManualClock::new();
    let pd = PearlDiver::start_with_clock(clock.shared()).await.unwrap();
    let idle = pd.mint_tokens();
    clock.advance(Duration::from_secs(2_592_000 - 1));
    let (s, body) = refresh(&pd, &idle.refresh_token).await;
    assert_eq!(s, StatusCode::OK);
    let mut rt = body["refresh_token"].as_str().unwrap().to_string();
    clock.advance(Duration::from_secs(2_592_000));
    assert_eq!(refresh(&pd, &rt).await.1["error"], "invalid_grant");

    // Kept active, a family still dies one year after login.
    let active = pd.mint_tokens();
    rt = active.refresh_token;
    for _ in 0..18 {
        clock.advance(Duration::from_secs(20 * 86_400));
        let (s, body) = refresh(&pd, &rt).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        rt = body["refresh_token"].as_str().unwrap().to_string();
    }
    clock.advance(Duration::from_secs(31_557_600 - 18 * 20 * 86_400));
    assert_eq!(refresh(&pd, &rt).await.1["error"], "invalid_grant");
}

#[tokio::test]
async fn preissued_refresh_token_works_once_then_rotates() {
    let pd = PearlDiver::start_with_clock(still_clock()).await.unwrap();
    let rt = pd.endpoints().refresh_token.clone().unwrap();
    let (s, body) = refresh(&pd, &rt).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert!(!pd.refresh_token_is_live(&rt));
}

async fn get(
    pd: &PearlDiver,
    token: &str,
    path: &str,
    query: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .get(format!("{}{path}", pd.endpoints().api_base))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn access_token_lifetime_is_configurable_and_errors_have_no_body() {
    let clock = ManualClock::new();
    let pd = PearlDiver::start(PearlDiverConfig {
        clock: clock.shared(),
        access_token_ttl: Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let t = pd.mint_tokens();
    assert_eq!(t.expires_in, 60);
    let r = get(&pd, &t.access_token, "/audiences", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["audiences"][0]["key"], 17);
    clock.advance(Duration::from_secs(60));
    for (path, token) in [
        ("/audiences", t.access_token.as_str()),
        ("/audiences/17", "bogus"),
        ("/nope", "bogus"),
    ] {
        let r = get(&pd, token, path, &[]).await;
        assert!(r.status().is_client_error(), "{path}");
        assert!(
            r.bytes().await.unwrap().is_empty(),
            "{path}: errors are bodiless"
        );
    }
    let fresh = pd.mint_tokens();
    let r = get(&pd, &fresh.access_token, "/audiences/999", &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.bytes().await.unwrap().is_empty());
    pd.faults().push(Fault::status(503).on_path("/v1"));
    let r = get(&pd, &fresh.access_token, "/audiences", &[]).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn range_and_since_are_validated() {
    let clock = ManualClock::new();
    let pd = PearlDiver::start_with_clock(clock.shared()).await.unwrap();
    let t = pd.mint_tokens().access_token;
    let too_old = "2025-10-02T23:59:59Z"; // 2026-01-01 minus 91 days
    let ok_since = "2025-11-17T00:00:00Z"; // 45 days before 2026-01-01
    for q in [
        vec![("range", "0")],
        vec![("range", "91")],
        vec![("range", "ten")],
        vec![("since", too_old)],
        vec![("since", "yesterday")],
        vec![("range", "30"), ("since", ok_since)],
        vec![("pageToken", "not-a-token")],
    ] {
        let r = get(&pd, &t, "/audiences/17", &q).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q:?}");
        assert!(r.bytes().await.unwrap().is_empty());
    }
    for (q, n) in [
        (vec![("range", "1")], 27),
        (vec![("range", "90")], 1000),
        (vec![("since", ok_since)], 1000),
        (vec![("since", "2025-12-31T00:00:00")], 27),
    ] {
        let r = get(&pd, &t, "/audiences/17", &q).await;
        assert_eq!(r.status(), StatusCode::OK, "{q:?}");
        assert_eq!(
            json(r).await["records"].as_array().unwrap().len(),
            n,
            "{q:?}"
        );
    }
}

/// Every page of a listing, in order, after checking each answered 200.
async fn pages(
    pd: &PearlDiver,
    token: &str,
    key: u64,
    query: &[(&str, &str)],
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut q = query.to_vec();
        if let Some(t) = &page_token {
            q.push(("pageToken", t));
        }
        let r = get(pd, token, &format!("/audiences/{key}"), &q).await;
        assert_eq!(r.status(), StatusCode::OK);
        let v = json(r).await;
        page_token = v
            .get("pageToken")
            .and_then(|t| t.as_str())
            .map(String::from);
        out.push(v);
        if page_token.is_none() {
            return out;
        }
    }
}

fn records(page: &serde_json::Value) -> &Vec<serde_json::Value> {
    page["records"].as_array().unwrap()
}

async fn page_all(pd: &PearlDiver, token: &str, key: u64, query: &[(&str, &str)]) -> Vec<usize> {
    let mut sizes = Vec::new();
    for v in pages(pd, token, key, query).await {
        assert_eq!(v["key"], key);
        sizes.push(records(&v).len());
    }
    sizes
}

#[tokio::test]
async fn pages_hold_exactly_1000_records_and_the_last_has_no_token() {
    let pd = PearlDiver::start_with_clock(still_clock()).await.unwrap();
    let t = pd.mint_tokens().access_token;
    assert_eq!(page_all(&pd, &t, 17, &[]).await, vec![1000, 1000, 500]);
    assert_eq!(page_all(&pd, &t, 23, &[]).await, vec![1000]);
    assert_eq!(page_all(&pd, &t, 31, &[]).await, vec![0]);
    assert_eq!(
        page_all(&pd, &t, 17, &[("range", "45")]).await,
        vec![1000, 250]
    );
    // Same pages, same bytes: the data is a function of the seed.
    let a = get(&pd, &t, "/audiences/17", &[])
        .await
        .text()
        .await
        .unwrap();
    let b = get(&pd, &t, "/audiences/17", &[])
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(a, b);
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_record_audience_pages_through_with_flat_memory() {
    let pd = PearlDiver::start(PearlDiverConfig {
        audiences: vec![AudienceSpec::new(7, "Million", 1_000_000)],
        traffic_capacity: 16,
        ..Default::default()
    })
    .await
    .unwrap();
    let t = pd.mint_tokens().access_token;
    let before = pd.stats();
    let c = client();
    let url = format!("{}/audiences/7", pd.endpoints().api_base);
    let (mut token, mut pages, mut records, mut bytes) = (None::<String>, 0u64, 0u64, 0u64);
    let mut rss_after_first = 0;
    loop {
        let mut req = c.get(&url).bearer_auth(&t);
        if let Some(tok) = &token {
            req = req.query(&[("pageToken", tok)]);
        }
        let body = req.send().await.unwrap().bytes().await.unwrap();
        bytes += body.len() as u64;
        // Cheap structural count: each record opens with its id.
        let n = std::str::from_utf8(&body)
            .unwrap()
            .matches("{\"id\":\"pd-")
            .count() as u64;
        records += n;
        pages += 1;
        if pages == 1 {
            rss_after_first = rss_bytes();
        }
        let tail = &body[body.len().saturating_sub(200)..];
        let tail = String::from_utf8_lossy(tail);
        token = tail
            .rsplit_once("\"pageToken\":\"")
            .map(|(_, t)| t.trim_end_matches("\"}").to_string());
        if token.is_none() {
            assert_eq!(n, 1000, "the last page of a million is full");
            break;
        }
        assert_eq!(n, 1000);
    }
    assert_eq!((pages, records), (1000, 1_000_000));
    let stats = pd.stats();
    assert_eq!(stats.records_served, 1_000_000);
    assert_eq!(
        (stats.refresh_tokens, stats.access_tokens, stats.families),
        (before.refresh_tokens, before.access_tokens, before.families),
        "no per-record state"
    );
    let growth = rss_bytes().saturating_sub(rss_after_first);
    assert!(bytes > 300_000_000, "served {bytes} bytes");
    assert!(
        growth < 64 << 20,
        "memory grew {growth} bytes while serving {bytes}"
    );
}

/// Every record of a listing as (id, record), in order.
async fn records_of(
    pd: &PearlDiver,
    token: &str,
    key: u64,
    query: &[(&str, &str)],
) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for v in pages(pd, token, key, query).await {
        for rec in records(&v) {
            out.push((rec["id"].as_str().unwrap().to_string(), rec.clone()));
        }
    }
    out
}

#[tokio::test]
async fn added_and_touched_records_come_back_to_a_since_query_and_nothing_else_moves() {
    let clock = ManualClock::new();
    let pd = PearlDiver::start(PearlDiverConfig {
        clock: clock.shared(),
        frozen_at: Some(shoal_core::Clock::system_now(&clock)),
        audiences: vec![AudienceSpec::new(17, "Boston", 2_160)],
        ..Default::default()
    })
    .await
    .unwrap();
    let t = pd.mint_tokens().access_token;
    let before = records_of(&pd, &t, 17, &[]).await;
    assert_eq!(before.len(), 2_160);
    clock.advance(Duration::from_secs(7_200));
    let since = "2026-01-01T01:00:00Z"; // one hour after the first listing
    assert!(
        records_of(&pd, &t, 17, &[("since", since)])
            .await
            .is_empty()
    );

    let added = pd.add_records(17, 3);
    assert_eq!(added, 2_160..2_163);
    assert_eq!(pd.touch_records(17, 1_500..1_502), 1_500..1_502);
    assert!(pd.touch_records(17, 9_000..9_001).is_empty());
    assert_eq!(pd.add_records(999, 3), 0..0);

    let fresh = records_of(&pd, &t, 17, &[("since", since)]).await;
    let ids: Vec<&str> = fresh.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "pd-17-000001500",
            "pd-17-000001501",
            "pd-17-000002160",
            "pd-17-000002161",
            "pd-17-000002162"
        ]
    );
    assert_eq!(shoal_testkit::pearldiver::record_id(17, 2_160), ids[2]);
    let old = |id: &str| before.iter().find(|(i, _)| i == id).unwrap().1.clone();
    assert_ne!(
        fresh[0].1,
        old("pd-17-000001500"),
        "a touched record changes"
    );
    // The full window now holds the new records once each, and the untouched ones unchanged.
    let after = records_of(&pd, &t, 17, &[]).await;
    let mut after_ids: Vec<&str> = after.iter().map(|(i, _)| i.as_str()).collect();
    after_ids.sort_unstable();
    after_ids.dedup();
    assert_eq!(after_ids.len(), after.len(), "no record twice");
    assert!(after_ids.contains(&"pd-17-000002162"));
    let same = after.iter().find(|(i, _)| i == "pd-17-000000010").unwrap();
    assert_eq!(
        same.1,
        old("pd-17-000000010"),
        "an untouched record is unchanged"
    );
}
