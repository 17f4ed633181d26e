//! Fault injection and the traffic record (exercised on the Pearl Diver emulator), lost answers,
//! and the page shapes a client must refuse.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use shoal_testkit::paya::{ListingShape, Paya};
use shoal_testkit::pearldiver::{AudienceSpec, PageShape, PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::PebblePad;
use shoal_testkit::{Fault, ManualClock};

use crate::common::{client, json, stalled_gets, with_json};
use crate::pearldiver::token_call;

async fn audiences(pd: &PearlDiver, token: &str) -> reqwest::Result<reqwest::Response> {
    client()
        .get(format!("{}/audiences", pd.endpoints().api_base))
        .bearer_auth(token)
        .send()
        .await
}

#[tokio::test]
async fn next_n_calls_on_a_path_get_a_status_with_retry_after() {
    let pd = PearlDiver::start_default().await.unwrap();
    let t = pd.mint_tokens().access_token;
    pd.faults().push(
        Fault::status(429)
            .times(2)
            .on_path("/v1/audiences")
            .retry_after("2"),
    );
    pd.faults().push(Fault::status(503).on_path("/oauth"));
    for _ in 0..2 {
        let r = audiences(&pd, &t).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "2");
    }
    assert_eq!(audiences(&pd, &t).await.unwrap().status(), StatusCode::OK);
    assert_eq!(pd.traffic().rate_limited(), 2);
    assert_eq!(
        pd.faults().pending().len(),
        1,
        "the /oauth rule is still waiting"
    );
    pd.faults().clear();
    assert!(pd.faults().pending().is_empty());
}

#[tokio::test]
async fn reset_drops_the_connection_without_an_answer() {
    let pd = PearlDiver::start_default().await.unwrap();
    let t = pd.mint_tokens().access_token;
    pd.faults().push(Fault::reset().on_method("GET"));
    let err = audiences(&pd, &t).await.unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(audiences(&pd, &t).await.unwrap().status(), StatusCode::OK);
    let rec = pd.traffic().requests();
    assert_eq!(rec[0].fault.as_deref(), Some("reset"));
    assert_eq!(rec[0].status, None);
    assert_eq!(pd.traffic().counter("fault.reset"), 1);
}

#[tokio::test]
async fn seeded_reset_rate_hits_a_repeatable_fraction() {
    let run = || async {
        let pd = PearlDiver::start(PearlDiverConfig {
            seed: 5,
            ..Default::default()
        })
        .await
        .unwrap();
        let t = pd.mint_tokens().access_token;
        pd.faults().set_reset_rate(0.25);
        let mut outcome = Vec::new();
        for _ in 0..40 {
            outcome.push(audiences(&pd, &t).await.is_ok());
        }
        outcome
    };
    let a = run().await;
    assert_eq!(a, run().await, "same seed, same faults");
    let failed = a.iter().filter(|ok| !**ok).count();
    assert!((4..=18).contains(&failed), "{failed} of 40");
}

#[tokio::test]
async fn stalled_calls_wait_for_release() {
    let pd = PearlDiver::start_default().await.unwrap();
    let t = pd.mint_tokens().access_token;
    let url = format!("{}/audiences", pd.endpoints().api_base);
    let calls = stalled_gets(pd.faults(), &url, &t, 2).await;
    assert!(calls.iter().all(|c| !c.is_finished()));
    pd.faults().release_stalls();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap().status(), StatusCode::OK);
    }
    assert_eq!(pd.faults().stalled(), 0);
}

#[tokio::test]
async fn slow_body_arrives_in_chunks_on_the_emulator_clock() {
    let clock = ManualClock::new();
    let pd = PearlDiver::start(PearlDiverConfig {
        clock: clock.shared(),
        ..Default::default()
    })
    .await
    .unwrap();
    let t = pd.mint_tokens().access_token;
    pd.faults()
        .push(Fault::slow_body(10, Duration::from_secs(1)));
    let mut resp = audiences(&pd, &t).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let first = resp.chunk().await.unwrap().unwrap();
    assert_eq!(first.len(), 10);
    let reader = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Some(c) = resp.chunk().await.unwrap() {
            rest.extend_from_slice(&c);
        }
        rest
    });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(
        !reader.is_finished(),
        "the rest of the body must wait for the emulator clock"
    );
    // Advance until the body is complete: an advance that lands before the server's next sleep
    // is simply spent, so count rounds instead of assuming one per chunk.
    let mut rounds = 0;
    while !reader.is_finished() {
        rounds += 1;
        assert!(rounds < 10_000, "the slow body never finished");
        clock.advance(Duration::from_secs(1));
        tokio::task::yield_now().await;
    }
    let mut body = first.to_vec();
    body.extend(reader.await.unwrap());
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["audiences"].is_array());
}

#[tokio::test]
async fn traffic_record_redacts_secrets() {
    let pd = PearlDiver::start_default().await.unwrap();
    let e = pd.endpoints().clone();
    let pair = pd.mint_tokens();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", pair.refresh_token.as_str()),
    ];
    assert_eq!(token_call(&pd, &form).await.0, StatusCode::OK);
    audiences(&pd, &pair.access_token).await.unwrap();
    let rec = pd.traffic().requests();
    assert_eq!(rec.len(), 2);
    assert_eq!(
        (rec[0].method.as_str(), rec[0].path.as_str()),
        ("POST", "/oauth/token")
    );
    assert_eq!(rec[0].query.as_deref(), Some("audience=pearldiverapi"));
    assert_eq!(rec[0].status, Some(200));
    assert!(rec[0].body.contains("grant_type=refresh_token"));
    assert_eq!(rec[1].header("authorization"), Some("[redacted]"));
    let all = format!("{rec:?}");
    for secret in [&pair.refresh_token, &pair.access_token, &e.client_secret] {
        assert!(!all.contains(secret.as_str()), "leaked {secret}");
    }
    assert_eq!(pd.traffic().count("GET", "/v1/audiences"), 1);
    assert_eq!(pd.traffic().token_calls("refresh_token"), 1);
}

#[tokio::test]
async fn shutdown_is_graceful_and_frees_the_port() {
    let pd = PearlDiver::start_default().await.unwrap();
    let addr = pd.addr();
    pd.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let dropped = PearlDiver::start_default().await.unwrap();
    let addr = dropped.addr();
    drop(dropped);
    tokio::task::yield_now().await;
    let pd = PearlDiver::start(PearlDiverConfig {
        port: addr.port(),
        ..Default::default()
    })
    .await;
    assert!(pd.is_ok() || tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn a_lost_answer_is_processed_then_answered_5xx() {
    let pp = PebblePad::start_default().await.unwrap();
    let t = pp.endpoints().service_access_token.clone().unwrap();
    pp.faults().push(
        Fault::lost_answer(502)
            .on_method("POST")
            .on_path("/api/1.1/User"),
    );
    let r = with_json(
        client()
            .post(format!("{}1.1/User/Create/", pp.endpoints().api_base))
            .bearer_auth(&t),
        &json!({"Username": "lost.answer"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(
        pp.users().iter().any(|u| u["Username"] == "lost.answer"),
        "the call was processed"
    );
    let rec = pp.traffic().requests();
    assert_eq!(
        (rec[0].status, rec[0].fault.as_deref()),
        (Some(502), Some("lost_answer"))
    );

    let p = Paya::start_default().await.unwrap();
    let e = p.endpoints().clone();
    let before = p.contacts().len();
    p.faults().push(Fault::lost_answer(500).on_method("POST"));
    let r = with_json(
        client()
            .post(format!("{}/v2/contacts", e.base_url))
            .header("developer-id", &e.developer_id)
            .header("user-id", &e.user_id)
            .header("user-api-key", &e.user_api_key),
        &json!({"contact": {"location_id": e.location_id, "last_name": "Lost"}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json(r).await["status"], 500, "Paya's error shape");
    assert_eq!(p.contacts().len(), before + 1);
}

#[tokio::test]
async fn audience_pages_can_lose_their_records_array() {
    let pd = PearlDiver::start(PearlDiverConfig {
        audiences: vec![AudienceSpec::new(17, "Quoted \"records\":[ name", 5)],
        page_size: 2,
        ..Default::default()
    })
    .await
    .unwrap();
    let t = pd.mint_tokens().access_token;
    let page = || async {
        json(
            client()
                .get(format!("{}/audiences/17", pd.endpoints().api_base))
                .bearer_auth(&t)
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let v = page().await;
    assert_eq!(v["records"].as_array().map(Vec::len), Some(2));
    pd.set_page_shape(PageShape::RecordsUnder("data".into()));
    let v = page().await;
    assert!(v.get("records").is_none(), "{v}");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["name"], "Quoted \"records\":[ name");
    assert!(v["pageToken"].is_string() && v["key"] == 17);
    pd.set_page_shape(PageShape::RecordsMissing);
    let v = page().await;
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["key", "name", "pageToken"]
    );
}

#[tokio::test]
async fn paya_listings_can_end_early_or_repeat_their_next_link() {
    let p = Paya::start_default().await.unwrap(); // 57 contacts: 3 pages of 20
    let e = p.endpoints().clone();
    let page = |n: u64| {
        let e = e.clone();
        async move {
            json(
                client()
                    .get(format!("{}/v2/contacts?page={n}", e.base_url))
                    .header("developer-id", &e.developer_id)
                    .header("user-id", &e.user_id)
                    .header("user-api-key", &e.user_api_key)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let next = |v: &serde_json::Value| {
        v["meta"]["pagination"]["links"]["next"]["href"]
            .as_str()
            .map(str::to_string)
    };
    let v = page(2).await;
    assert!(next(&v).unwrap().ends_with("page=3"));

    p.set_listing(ListingShape::EndsEarly { last_page: 2 });
    let (second, third) = (page(2).await, page(3).await);
    assert_eq!(second["contacts"].as_array().unwrap().len(), 20);
    assert_eq!(next(&second), None);
    assert_eq!(third["contacts"], json!([]));
    for v in [&second, &third] {
        let meta = &v["meta"]["pagination"];
        assert_eq!(
            (meta["totalCount"].as_u64(), meta["pageCount"].as_u64()),
            (Some(57), Some(3))
        );
    }

    p.set_listing(ListingShape::NextRepeats);
    let (first, second) = (page(1).await, page(2).await);
    assert!(next(&first).unwrap().ends_with("page=2"));
    assert_eq!(
        next(&second),
        next(&first),
        "page 2 sends the client to page 2"
    );
    assert_eq!(next(&page(3).await), None, "the last page has no next");
}
