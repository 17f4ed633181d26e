//! insta snapshots pinning each emulator's response shapes; a wire change shows up as a diff
//! (`cargo insta review`).

use reqwest::Method;
use serde_json::{Value, json};
use shoal_testkit::ManualClock;
use shoal_testkit::paya::{Paya, PayaConfig};
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::{PebblePad, PebblePadConfig, RateLimits};

use crate::common::client;

/// Status, the headers worth pinning, and the body with the emulator's address replaced.
async fn shape(resp: reqwest::Response, base: &str) -> Value {
    let status = resp.status().as_u16();
    let mut headers = serde_json::Map::new();
    for name in [
        "content-type",
        "retry-after",
        "x-rate-limit",
        "x-rate-remaining",
        "x-concurrency-limit",
        "x-concurrency-remaining",
    ] {
        if let Some(v) = resp.headers().get(name) {
            headers.insert(name.into(), json!(v.to_str().unwrap()));
        }
    }
    let text = resp.text().await.unwrap().replace(base, "http://emulator");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    json!({"status": status, "headers": headers, "body": body})
}

#[tokio::test]
async fn pearldiver_shapes() {
    let pd = PearlDiver::start(PearlDiverConfig {
        clock: ManualClock::new().shared(),
        audiences: vec![AudienceSpec::new(5, "Snapshot audience", 3)],
        page_size: 2,
        ..Default::default()
    })
    .await
    .unwrap();
    let e = pd.endpoints().clone();
    let rt = e.refresh_token.clone().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
        ("client_id", &e.client_id),
        ("client_secret", &e.client_secret),
    ];
    let c = client();
    let refreshed = shape(
        c.post(pd.token_url_with_audience())
            .form(&form)
            .send()
            .await
            .unwrap(),
        &e.auth_base,
    )
    .await;
    let reused = shape(
        c.post(pd.token_url_with_audience())
            .form(&form)
            .send()
            .await
            .unwrap(),
        &e.auth_base,
    )
    .await;
    let t = pd.mint_tokens().access_token;
    let list = shape(
        c.get(format!("{}/audiences", e.api_base))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap(),
        &e.auth_base,
    )
    .await;
    let first = c
        .get(format!("{}/audiences/5", e.api_base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let first = shape(first, &e.auth_base).await;
    let token = first["body"]["pageToken"].as_str().unwrap().to_string();
    let last = c
        .get(format!("{}/audiences/5", e.api_base))
        .bearer_auth(&t)
        .query(&[("pageToken", &token)])
        .send()
        .await
        .unwrap();
    let last = shape(last, &e.auth_base).await;
    let bad_range = shape(
        c.get(format!("{}/audiences/5?range=91", e.api_base))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap(),
        &e.auth_base,
    )
    .await;
    insta::assert_json_snapshot!(
        "pearldiver",
        json!({
            "refresh": refreshed, "refresh_reused": reused, "audiences": list, "page_first": first, "page_last": last, "range_91": bad_range,
        })
    );
}

#[tokio::test]
async fn pebblepad_shapes() {
    let pp = PebblePad::start(PebblePadConfig {
        clock: ManualClock::new().shared(),
        limits: RateLimits {
            post: 2,
            ..RateLimits::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let e = pp.endpoints().clone();
    let t = e.service_access_token.clone().unwrap();
    let c = client();
    let token = c
        .post(format!("{}TokenEndpoint", e.oauth_base))
        .basic_auth(&e.client_id, Some(&e.client_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", e.service_refresh_token.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let token = shape(token, &e.host).await;
    let limits = shape(
        c.get(format!("{}1.1/Info/GetRateLimits", e.api_base))
            .send()
            .await
            .unwrap(),
        &e.host,
    )
    .await;
    let create = |body: Value| {
        c.request(Method::POST, format!("{}1.1/User/Create/", e.api_base))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let created = shape(
        create(json!({"Username": "snap.user", "Forename": "Ava", "Surname": "Example"}))
            .await
            .unwrap(),
        &e.host,
    )
    .await;
    let exists = shape(
        create(json!({"Username": "snap.user"})).await.unwrap(),
        &e.host,
    )
    .await;
    let limited = shape(
        create(json!({"Username": "snap.other"})).await.unwrap(),
        &e.host,
    )
    .await;
    let unauth = shape(
        c.get(format!("{}1.1/Grade/Get/x", e.api_base))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap(),
        &e.host,
    )
    .await;
    insta::assert_json_snapshot!(
        "pebblepad",
        json!({
            "token": token, "rate_limits": limits, "user_created": created, "user_exists": exists, "rate_limited": limited, "unauthorized": unauth,
        })
    );
}

#[tokio::test]
async fn paya_shapes() {
    let p = Paya::start(PayaConfig {
        clock: ManualClock::new().shared(),
        seed_contacts: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    let e = p.endpoints().clone();
    let c = client();
    let keyed = |m: Method, path: &str| {
        c.request(m, format!("{}{path}", e.base_url))
            .header("developer-id", &e.developer_id)
            .header("user-id", &e.user_id)
            .header("user-api-key", &e.user_api_key)
    };
    let login = c
        .post(format!("{}/v2/token", e.base_url))
        .header("developer-id", &e.developer_id)
        .header("content-type", "application/json")
        .body(
            json!({"username": e.username, "password": e.password, "domain": e.domain}).to_string(),
        )
        .send()
        .await
        .unwrap();
    let login = shape(login, &e.base_url).await;
    let body = json!({"contact": {"location_id": e.location_id, "last_name": "Example", "email_trx_receipt": "1"}});
    let created = keyed(Method::POST, "/v2/contacts")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let created = shape(created, &e.base_url).await;
    let invalid = keyed(Method::POST, "/v2/contacts")
        .header("content-type", "application/json")
        .body(json!({"contact": {"zip": "1"}}).to_string())
        .send()
        .await
        .unwrap();
    let invalid = shape(invalid, &e.base_url).await;
    let list = shape(
        keyed(Method::GET, "/v2/contacts?page_size=2&sort=-created_ts")
            .send()
            .await
            .unwrap(),
        &e.base_url,
    )
    .await;
    let locations = shape(
        keyed(
            Method::GET,
            "/v2/locationinfos?relationship=all&expand=terminals",
        )
        .send()
        .await
        .unwrap(),
        &e.base_url,
    )
    .await;
    let missing = shape(
        keyed(Method::GET, "/v2/contacts/000000000000000000000000")
            .send()
            .await
            .unwrap(),
        &e.base_url,
    )
    .await;
    insta::assert_json_snapshot!(
        "paya",
        json!({
            "token": login, "contact_created": created, "contact_invalid": invalid, "contacts": list, "locationinfos": locations, "not_found": missing,
        })
    );
}
