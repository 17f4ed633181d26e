//! Paya Connect emulator: developer id, key placements, sliding session tokens, contacts, 422s.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shoal_testkit::ManualClock;
use shoal_testkit::paya::Paya;

use crate::common::{client, json, send_json, status, still_clock, with_json};

/// A request with the developer id and user-id/user-api-key headers.
fn keyed(p: &Paya, method: Method, path: &str) -> reqwest::RequestBuilder {
    let e = p.endpoints();
    client()
        .request(method, format!("{}{path}", e.base_url))
        .header("developer-id", &e.developer_id)
        .header("user-id", &e.user_id)
        .header("user-api-key", &e.user_api_key)
}

async fn login(p: &Paya) -> String {
    let e = p.endpoints();
    let r = with_json(
        client()
            .post(format!("{}/v2/token", e.base_url))
            .header("developer-id", &e.developer_id),
        &json!({"username": e.username, "password": e.password, "domain": e.domain}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v = json(r).await;
    assert_eq!(v["token"]["expire"], 15);
    assert_eq!(v["token"]["id"].as_str().unwrap().len(), 24);
    v["token"]["token"].as_str().unwrap().to_string()
}

async fn with_token(p: &Paya, token: &str, in_query: bool) -> StatusCode {
    let e = p.endpoints();
    let mut req = client()
        .get(format!("{}/v2/locationinfos", e.base_url))
        .header("developer-id", &e.developer_id);
    req = if in_query {
        req.query(&[("access-token", token)])
    } else {
        req.header("access-token", token)
    };
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn developer_id_and_user_key_in_headers_query_or_basic() {
    let p = Paya::start_with_clock(still_clock()).await.unwrap();
    let e = p.endpoints().clone();
    let url = format!("{}/v2/contacts", e.base_url);
    assert_eq!(
        status(keyed(&p, Method::GET, "/v2/contacts")).await,
        StatusCode::OK
    );
    let r = client()
        .get(&url)
        .header("user-id", &e.user_id)
        .header("user-api-key", &e.user_api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "developer-id is required"
    );
    let q = [
        ("developer-id", e.developer_id.as_str()),
        ("user-id", &e.user_id),
        ("user-api-key", &e.user_api_key),
    ];
    assert_eq!(
        client().get(&url).query(&q).send().await.unwrap().status(),
        StatusCode::OK
    );
    let r = client()
        .get(&url)
        .query(&[("developer-id", &e.developer_id)])
        .basic_auth(&e.user_id, Some(&e.user_api_key))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client()
        .get(&url)
        .header("developer-id", &e.developer_id)
        .header("user-id", &e.user_id)
        .header("user-api-key", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let rec = format!("{:?}", p.traffic().requests());
    assert!(
        !rec.contains(&e.user_api_key),
        "query and header keys are redacted"
    );
}

#[tokio::test]
async fn session_token_slides_at_14_59_and_dies_at_15_01() {
    let clock = ManualClock::new();
    let p = Paya::start_with_clock(clock.shared()).await.unwrap();
    let token = login(&p).await;
    assert_eq!(with_token(&p, &token, false).await, StatusCode::OK);
    clock.advance(Duration::from_secs(14 * 60 + 59));
    assert_eq!(
        with_token(&p, &token, true).await,
        StatusCode::OK,
        "14:59 after the last success"
    );
    clock.advance(Duration::from_secs(14 * 60 + 59));
    assert_eq!(
        with_token(&p, &token, false).await,
        StatusCode::OK,
        "renewed by the previous call"
    );
    // A failed call does not renew.
    let e = p.endpoints().clone();
    let bad = with_json(
        client()
            .post(format!("{}/v2/contacts", e.base_url))
            .header("developer-id", &e.developer_id)
            .header("access-token", &token),
        &json!({"contact": {}}),
    );
    assert_eq!(
        bad.send().await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(
        with_token(&p, &token, false).await,
        StatusCode::UNAUTHORIZED,
        "15:01 idle"
    );
    assert_eq!(p.live_sessions(), 0);

    let other = login(&p).await;
    clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(
        with_token(&p, &other, false).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn token_login_validates_and_delete_ends_the_session() {
    let p = Paya::start_with_clock(still_clock()).await.unwrap();
    let e = p.endpoints().clone();
    let post = |body: Value| {
        with_json(
            client()
                .post(format!("{}/v2/token", e.base_url))
                .header("developer-id", &e.developer_id),
            &body,
        )
        .send()
    };
    let r = post(json!({"username": e.username})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v = json(r).await;
    assert_eq!(v["errors"]["password"][0], "Password cannot be blank.");
    assert!(v["errors"]["domain"].is_array());
    let r = post(json!({"username": e.username, "password": "nope", "domain": e.domain}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let token = login(&p).await;
    let del = |t: String| {
        client()
            .delete(format!("{}/v2/token/{t}", e.base_url))
            .header("developer-id", &e.developer_id)
            .send()
    };
    assert_eq!(
        del(token.clone()).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        del(token.clone()).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        with_token(&p, &token, false).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn create(p: &Paya, contact: Value) -> (StatusCode, Value) {
    let r = with_json(
        keyed(p, Method::POST, "/v2/contacts"),
        &json!({ "contact": contact }),
    )
    .send()
    .await
    .unwrap();
    (r.status(), json(r).await)
}

#[tokio::test]
async fn contacts_crud_with_wrapped_bodies_and_gone_after_delete() {
    let p = Paya::start_with_clock(still_clock()).await.unwrap();
    let loc = p.endpoints().location_id.clone();
    let (s, v) = create(&p, json!({"location_id": loc, "last_name": "Example", "first_name": "Ava", "email_trx_receipt": "1", "unknown_extra": 5})).await;
    assert_eq!(s, StatusCode::CREATED);
    let c = &v["contact"];
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 24);
    assert_eq!(
        c["email_trx_receipt"], true,
        "documented as \"1\", returned as a boolean"
    );
    assert!(c["company_name"].is_null() && c.get("unknown_extra").is_none());
    assert!(
        c["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v2/contacts/{id}"))
    );
    assert!(c["created_ts"].is_i64());

    let r = with_json(
        keyed(&p, Method::PUT, &format!("/v2/contacts/{id}")),
        &json!({"contact": {"city": "Boston", "email_trx_receipt": false}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = json(r).await["contact"].clone();
    assert_eq!(
        (
            c["city"].as_str(),
            c["first_name"].as_str(),
            c["email_trx_receipt"].as_bool()
        ),
        (Some("Boston"), Some("Ava"), Some(false))
    );
    let r = keyed(&p, Method::GET, &format!("/v2/contacts/{id}"))
        .query(&[("expand", "created_user,location,notes")])
        .send()
        .await
        .unwrap();
    let c = json(r).await["contact"].clone();
    assert!(c["created_user"].is_object() && c["location"].is_object() && c["notes"].is_array());

    assert_eq!(
        status(keyed(&p, Method::DELETE, &format!("/v2/contacts/{id}"))).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(keyed(&p, Method::GET, &format!("/v2/contacts/{id}"))).await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        status(keyed(&p, Method::DELETE, &format!("/v2/contacts/{id}"))).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(keyed(
            &p,
            Method::GET,
            "/v2/contacts/000000000000000000000000"
        ))
        .await,
        StatusCode::NOT_FOUND
    );
    let not_json = keyed(&p, Method::POST, "/v2/contacts")
        .header("content-type", "application/json")
        .body("{not json");
    assert_eq!(status(not_json).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn validation_answers_422_per_field() {
    let p = Paya::start_with_clock(still_clock()).await.unwrap();
    let (s, v) = create(&p, json!({"first_name": "x".repeat(65), "state": "M", "zip": "1", "home_phone": "555", "email": "a@b", "date_of_birth": "1990-1-1", "header_message_type": 9, "email_trx_receipt": "yes"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = v["errors"].as_object().unwrap();
    for f in [
        "location_id",
        "last_name",
        "first_name",
        "state",
        "zip",
        "home_phone",
        "email",
        "date_of_birth",
        "header_message_type",
        "email_trx_receipt",
    ] {
        assert!(
            errors[f].as_array().is_some_and(|m| !m.is_empty()),
            "{f}: {v}"
        );
    }
    assert_eq!(errors["last_name"][0], "Last Name cannot be blank.");
    let (s, v) = create(
        &p,
        json!({"location_id": "b".repeat(24), "last_name": "Example"}),
    )
    .await;
    assert_eq!(
        (s, v["errors"]["location_id"][0].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Location Id is invalid.")
        )
    );
    let id = p.contacts()[0]["id"].as_str().unwrap().to_string();
    let r = with_json(
        keyed(&p, Method::PUT, &format!("/v2/contacts/{id}")),
        &json!({"contact": {"location_id": p.endpoints().location_id}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "location_id is create-only"
    );
}

#[tokio::test]
async fn update_if_exists_upserts_by_contact_api_id() {
    let p = Paya::start_with_clock(still_clock()).await.unwrap();
    let loc = p.endpoints().location_id.clone();
    let body = json!({"location_id": loc, "last_name": "Sample", "contact_api_id": "crm-0001", "city": "Denver"});
    let (s, v) = create(&p, body.clone()).await;
    assert_eq!(
        (s, v["errors"]["contact_api_id"][0].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Contact Api Id has already been taken.")
        )
    );
    let mut upsert = body.clone();
    upsert["update_if_exists"] = json!(1);
    let (s, v) = create(&p, upsert).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            v["contact"]["city"].as_str(),
            v["contact"]["contact_api_id"].as_str()
        ),
        (Some("Denver"), Some("crm-0001"))
    );
    let (s, v) = create(
        &p,
        json!({"location_id": loc, "last_name": "X", "update_if_exists": "1"}),
    )
    .await;
    assert_eq!(
        (s, v["errors"]["contact_api_id"].is_array()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let (s, _) = create(&p, json!({"location_id": loc, "last_name": "New", "contact_api_id": "crm-new", "update_if_exists": 1})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(p.contacts().len(), 58);
}

#[tokio::test]
async fn list_pages_sorts_filters_and_links() {
    let p = Paya::start_with_clock(still_clock()).await.unwrap();
    let v = send_json(keyed(&p, Method::GET, "/v2/contacts")).await;
    let pg = &v["meta"]["pagination"];
    assert_eq!(
        (
            pg["totalCount"].as_u64(),
            pg["pageCount"].as_u64(),
            pg["currentPage"].as_u64(),
            pg["perPage"].as_u64()
        ),
        (Some(57), Some(3), Some(1), Some(20))
    );
    assert_eq!(v["contacts"].as_array().unwrap().len(), 20);
    let next = pg["links"]["next"]["href"].as_str().unwrap().to_string();
    assert!(
        next.contains("page=2") && !next.contains("user-api-key"),
        "{next}"
    );

    let v = send_json(
        keyed(&p, Method::GET, "/v2/contacts").query(&[("page", "3"), ("page_size", "20")]),
    )
    .await;
    assert_eq!(v["contacts"].as_array().unwrap().len(), 17);
    assert!(
        v["meta"]["pagination"]["links"].get("next").is_none(),
        "no next on the last page"
    );

    let v = send_json(
        keyed(&p, Method::GET, "/v2/contacts")
            .query(&[("sort", "-last_name"), ("page_size", "100")]),
    )
    .await;
    assert_eq!(
        v["meta"]["sort"]["attributes"],
        json!({"last_name": "desc"})
    );
    let names: Vec<&str> = v["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["last_name"].as_str().unwrap())
        .collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]));
    let pick = names[0].to_string();
    let v = send_json(
        keyed(&p, Method::GET, "/v2/contacts")
            .query(&[("last_name", pick.as_str()), ("page_size", "100")]),
    )
    .await;
    let hits = v["contacts"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.iter().all(|c| c["last_name"] == pick.as_str()));
    let bad_sort = keyed(&p, Method::GET, "/v2/contacts").query(&[("sort", "nope")]);
    assert_eq!(status(bad_sort).await, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn locationinfos_filter_by_relationship_and_active_accounts() {
    let p = Paya::start_with_clock(still_clock()).await.unwrap();
    let get = |q: Vec<(&'static str, &'static str)>| {
        keyed(&p, Method::GET, "/v2/locationinfos").query(&q).send()
    };
    let v = json(get(vec![]).await.unwrap()).await;
    let direct = v["locationinfos"].as_array().unwrap();
    assert_eq!(direct.len(), 1);
    assert_eq!(
        direct[0]["id"].as_str(),
        Some(p.endpoints().location_id.as_str())
    );
    let v = json(get(vec![("relationship", "all")]).await.unwrap()).await;
    assert_eq!(v["locationinfos"].as_array().unwrap().len(), 3);
    let v = json(
        get(vec![
            ("relationship", "child"),
            ("product_transaction_active", "1"),
            ("expand", "terminals"),
        ])
        .await
        .unwrap(),
    )
    .await;
    let children = v["locationinfos"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    assert!(children.iter().all(|l| {
        l["terminals"].is_array()
            && l["product_transactions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|pt| pt["active"] == true)
    }));
    assert_eq!(
        children[1]["product_transactions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(vec![("relationship", "cousins")])
            .await
            .unwrap()
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
