//! insta snapshots pinning each emulator's response shapes; a wire change shows up as a diff
//! (`cargo insta review`).

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use shoal_testkit::ManualClock;
use shoal_testkit::paya::{Paya, PayaConfig};
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::RateLimits;

use crate::common::{client, still_clock, with_json};
use crate::pebblepad::start_limited;

/// Sends `req`: its status, the headers worth pinning, and the body with the emulator's address
/// replaced.
async fn shape(req: RequestBuilder, base: &str) -> Value {
    let resp = req.send().await.unwrap();
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
    let base = e.auth_base.as_str();
    let rt = e.refresh_token.clone().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
        ("client_id", &e.client_id),
        ("client_secret", &e.client_secret),
    ];
    let c = client();
    let refresh = || c.post(pd.token_url_with_audience()).form(&form);
    let refreshed = shape(refresh(), base).await;
    let reused = shape(refresh(), base).await;
    let t = pd.mint_tokens().access_token;
    let api = |path: &str| c.get(format!("{}{path}", e.api_base)).bearer_auth(&t);
    let list = shape(api("/audiences"), base).await;
    let first = shape(api("/audiences/5"), base).await;
    let token = first["body"]["pageToken"].as_str().unwrap().to_string();
    let last = shape(api("/audiences/5").query(&[("pageToken", &token)]), base).await;
    let bad_range = shape(api("/audiences/5?range=91"), base).await;
    insta::assert_json_snapshot!(
        "pearldiver",
        json!({
            "refresh": refreshed, "refresh_reused": reused, "audiences": list, "page_first": first, "page_last": last, "range_91": bad_range,
        })
    );
}

#[tokio::test]
async fn pebblepad_shapes() {
    let limits = RateLimits {
        post: 2,
        ..RateLimits::default()
    };
    let pp = start_limited(still_clock(), limits).await;
    let e = pp.endpoints().clone();
    let base = e.host.as_str();
    let t = e.service_access_token.clone().unwrap();
    let c = client();
    let token = c
        .post(format!("{}TokenEndpoint", e.oauth_base))
        .basic_auth(&e.client_id, Some(&e.client_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", e.service_refresh_token.as_deref().unwrap()),
        ]);
    let token = shape(token, base).await;
    let limits = shape(c.get(format!("{}1.1/Info/GetRateLimits", e.api_base)), base).await;
    let create = |body: Value| {
        with_json(
            c.request(Method::POST, format!("{}1.1/User/Create/", e.api_base))
                .bearer_auth(&t),
            &body,
        )
    };
    let created = shape(
        create(json!({"Username": "snap.user", "Forename": "Ava", "Surname": "Example"})),
        base,
    )
    .await;
    let exists = shape(create(json!({"Username": "snap.user"})), base).await;
    let limited = shape(create(json!({"Username": "snap.other"})), base).await;
    let unauth = c
        .get(format!("{}1.1/Grade/Get/x", e.api_base))
        .bearer_auth("nope");
    let unauth = shape(unauth, base).await;
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
    let base = e.base_url.as_str();
    let c = client();
    let keyed = |m: Method, path: &str| {
        c.request(m, format!("{base}{path}"))
            .header("developer-id", &e.developer_id)
            .header("user-id", &e.user_id)
            .header("user-api-key", &e.user_api_key)
    };
    let login = with_json(
        c.post(format!("{base}/v2/token"))
            .header("developer-id", &e.developer_id),
        &json!({"username": e.username, "password": e.password, "domain": e.domain}),
    );
    let login = shape(login, base).await;
    let body = json!({"contact": {"location_id": e.location_id, "last_name": "Example", "email_trx_receipt": "1"}});
    let created = shape(with_json(keyed(Method::POST, "/v2/contacts"), &body), base).await;
    let invalid = json!({"contact": {"zip": "1"}});
    let invalid = shape(
        with_json(keyed(Method::POST, "/v2/contacts"), &invalid),
        base,
    )
    .await;
    let list = keyed(Method::GET, "/v2/contacts?page_size=2&sort=-created_ts");
    let list = shape(list, base).await;
    let locations = keyed(
        Method::GET,
        "/v2/locationinfos?relationship=all&expand=terminals",
    );
    let locations = shape(locations, base).await;
    let missing = keyed(Method::GET, "/v2/contacts/000000000000000000000000");
    let missing = shape(missing, base).await;
    insta::assert_json_snapshot!(
        "paya",
        json!({
            "token": login, "contact_created": created, "contact_invalid": invalid, "contacts": list, "locationinfos": locations, "not_found": missing,
        })
    );
}
