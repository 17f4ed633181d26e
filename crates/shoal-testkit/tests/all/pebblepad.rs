//! PebblePad emulator: OAuth2 with Basic auth, rate and concurrency limits, v1.1 resources.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shoal_testkit::pebblepad::{PebblePad, PebblePadConfig, RateLimits};
use shoal_testkit::{ManualClock, SharedClock, SystemClock};

use crate::common::{
    assert_redirected_error, assert_refused, client, get_query, json, redirected_code,
    stalled_gets, still_clock,
};

const REDIRECT: &str = shoal_testkit::DEFAULT_REDIRECT_URI;

async fn call(
    pp: &PebblePad,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let url = format!("{}1.1/{path}", pp.endpoints().api_base);
    let mut req = client().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    req.send().await.unwrap()
}

/// Calls to the v1.1 API as the holder of one access token.
struct Api<'a> {
    pp: &'a PebblePad,
    token: String,
}

impl<'a> Api<'a> {
    fn new(pp: &'a PebblePad, token: &str) -> Self {
        let token = token.to_string();
        Self { pp, token }
    }

    /// As the service account whose pair was issued at start.
    fn service(pp: &'a PebblePad) -> Self {
        Self::new(pp, pp.endpoints().service_access_token.as_deref().unwrap())
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        call(self.pp, &self.token, Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        call(self.pp, &self.token, Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Option<Value>) -> reqwest::Response {
        call(self.pp, &self.token, Method::PUT, path, body).await
    }

    async fn delete(&self, path: &str) -> reqwest::Response {
        call(self.pp, &self.token, Method::DELETE, path, None).await
    }
}

/// `GET Grade/Get/x`: its status and the number in header `name`.
async fn grade_get(api: &Api<'_>, name: &str) -> (StatusCode, u32) {
    let r = api.get("Grade/Get/x").await;
    (r.status(), header(&r, name))
}

fn header(r: &reqwest::Response, name: &str) -> u32 {
    r.headers()[name].to_str().unwrap().parse().unwrap()
}

/// A PebblePad on `clock` with these limits at start.
pub async fn start_limited(clock: SharedClock, limits: RateLimits) -> PebblePad {
    let config = PebblePadConfig {
        clock,
        limits,
        ..Default::default()
    };
    PebblePad::start(config).await.unwrap()
}

/// A token call; `basic` is the raw `(id, secret)` for HTTP Basic, if any.
pub async fn token_as(
    pp: &PebblePad,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut req = client()
        .post(format!("{}TokenEndpoint", pp.endpoints().oauth_base))
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    (r.status(), json(r).await)
}

/// A token call, as the confidential client (Basic) when `basic`.
async fn token(pp: &PebblePad, form: &[(&str, &str)], basic: bool) -> (StatusCode, Value) {
    let e = pp.endpoints();
    let creds = basic.then_some((e.client_id.as_str(), e.client_secret.as_str()));
    token_as(pp, form, creds).await
}

/// The confidential client redeems `code` with the registered redirect URI.
async fn exchange(pp: &PebblePad, code: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    token(pp, &form, true).await
}

/// The confidential client refreshes `rt`, optionally narrowing the scope.
async fn refresh(pp: &PebblePad, rt: &str, scope: Option<&str>) -> (StatusCode, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    form.extend(scope.map(|s| ("scope", s)));
    token(pp, &form, true).await
}

/// `GET AuthorisationEndpoint` as the confidential client with `state`, then the `extra` pairs.
async fn authorise_as_client(
    pp: &PebblePad,
    response_type: &str,
    state: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let e = pp.endpoints();
    let mut q = vec![
        ("client_id", e.client_id.as_str()),
        ("response_type", response_type),
        ("state", state),
    ];
    q.extend_from_slice(extra);
    get_query(&format!("{}AuthorisationEndpoint", e.oauth_base), &q).await
}

async fn authorise(pp: &PebblePad, scope: &str) -> String {
    let extra = [("scope", scope), ("redirect_uri", REDIRECT)];
    let r = authorise_as_client(pp, "code", "xyz", &extra).await;
    redirected_code(&r, REDIRECT, Some("xyz"))
}

#[tokio::test]
async fn code_flow_uses_basic_auth_two_minute_codes_and_lower_case_bearer() {
    let clock = ManualClock::new();
    let pp = PebblePad::start_with_clock(clock.shared()).await.unwrap();
    let code = authorise(&pp, "default").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (s, body) = token(&pp, &form, false).await;
    assert_refused(s, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    let (s, body) = token(
        &pp,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/x"),
        ],
        true,
    )
    .await;
    assert_refused(s, &body, StatusCode::BAD_REQUEST, "invalid_client");
    let (s, body) = token(&pp, &form, true).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("bearer"), Some(3600))
    );
    assert_eq!(body["scope"], "default");
    // Single use.
    assert_eq!(token(&pp, &form, true).await.1["error"], "invalid_grant");
    // Two minutes.
    let late = authorise(&pp, "default").await;
    clock.advance(Duration::from_secs(120));
    let (_, body) = exchange(&pp, &late).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(pp.traffic().invalid_grants(), 2);
    // Unsupported response type is redirected back with the error.
    let r = authorise_as_client(&pp, "token", "s1", &[("redirect_uri", REDIRECT)]).await;
    assert_redirected_error(&r, "unsupported_request_type", Some("s1"));
}

#[tokio::test]
async fn refresh_rotates_and_never_widens_scope() {
    let pp = PebblePad::start_with_clock(still_clock()).await.unwrap();
    let code = authorise(&pp, "admin_grade:r admin_user:c").await;
    let (_, body) = exchange(&pp, &code).await;
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    let (s, body) = refresh(&pp, &rt, Some("admin_grade:r admin_group:r")).await;
    assert_refused(s, &body, StatusCode::BAD_REQUEST, "invalid_scope");
    let (s, body) = refresh(&pp, &rt, Some("admin_grade:r")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["scope"], "admin_grade:r");
    let narrow = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        Api::new(&pp, &narrow)
            .get("Grade/GetOnUserId/x")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        Api::new(&pp, &narrow)
            .post("User/Create/", json!({"Username": "a"}))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, body) = refresh(&pp, &rt, None).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "the old refresh token was replaced"
    );
    assert_eq!(pp.traffic().refresh_reuse(), 1);
    assert_eq!(pp.traffic().token_calls("refresh_token"), 3);
}

#[tokio::test]
async fn live_refresh_tokens_and_the_last_pair_follow_every_rotation() {
    let pp = PebblePad::start_with_clock(still_clock()).await.unwrap();
    let start = pp.endpoints().service_refresh_token.clone().unwrap();
    assert_eq!(pp.live_refresh_tokens(), std::slice::from_ref(&start));
    assert_eq!(pp.last_issued().unwrap().refresh_token, start);
    let (s, body) = refresh(&pp, &start, None).await;
    assert_eq!(s, StatusCode::OK);
    let newest = body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        pp.live_refresh_tokens(),
        std::slice::from_ref(&newest),
        "the spent one is gone"
    );
    let last = pp.last_issued().unwrap();
    assert_eq!(
        (last.access_token.as_str(), last.refresh_token.as_str()),
        (body["access_token"].as_str().unwrap(), newest.as_str())
    );
    // A refused refresh issues nothing and spends nothing.
    assert_eq!(refresh(&pp, &start, None).await.1["error"], "invalid_grant");
    assert_eq!(pp.live_refresh_tokens(), std::slice::from_ref(&newest));
    assert_eq!(pp.last_issued().unwrap(), last);
    // A second family lives beside the first.
    let other = pp.service_account(Duration::ZERO).refresh_token;
    let mut both = vec![newest, other];
    both.sort();
    assert_eq!(pp.live_refresh_tokens(), both);
}

#[tokio::test]
async fn service_account_token_expires_an_hour_after_creation() {
    let clock = ManualClock::new();
    let pp = PebblePad::start_with_clock(clock.shared()).await.unwrap();
    let pair = pp.service_account(Duration::from_secs(50 * 60));
    assert_eq!(pair.expires_in, 600);
    assert_eq!(
        Api::new(&pp, &pair.access_token)
            .get("Grade/Get/x")
            .await
            .status(),
        StatusCode::OK
    );
    clock.advance(Duration::from_secs(600));
    let r = Api::new(&pp, &pair.access_token).get("Grade/Get/x").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(json(r).await.is_object(), "401 carries JSON detail");
    let (s, body) = refresh(&pp, &pair.refresh_token, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
    // The pair issued at start is ready for the sandbox.
    assert!(pp.endpoints().service_refresh_token.is_some());
}

#[tokio::test]
async fn per_method_limit_counts_down_then_429_without_processing() {
    let clock = ManualClock::new();
    let limits = RateLimits {
        get: 3,
        post: 2,
        ..RateLimits::default()
    };
    let pp = start_limited(clock.shared(), limits).await;
    let api = Api::service(&pp);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = api.get("Grade/Get/x").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "x-rate-limit"), 3);
        assert_eq!(
            (
                header(&r, "x-concurrency-limit"),
                header(&r, "x-concurrency-remaining")
            ),
            (10, 10)
        );
        remaining.push(header(&r, "x-rate-remaining"));
    }
    assert_eq!(remaining, vec![2, 1, 0]);
    let r = api.get("Grade/Get/x").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "x-rate-remaining"), 0);
    assert!(json(r).await["errormessage"].is_string());

    // POST has its own budget; a rejected POST is not processed.
    for (i, expect) in [
        (0, StatusCode::OK),
        (1, StatusCode::OK),
        (2, StatusCode::TOO_MANY_REQUESTS),
    ] {
        let r = api
            .post("User/Create/", json!({"Username": format!("limit.{i}")}))
            .await;
        assert_eq!(r.status(), expect);
    }
    assert!(!pp.users().iter().any(|u| u["Username"] == "limit.2"));
    assert_eq!(pp.traffic().rate_limited(), 2);

    // The window rolls: 60 s after the first GETs the budget is back.
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        api.get("Grade/Get/x").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        grade_get(&api, "x-rate-remaining").await,
        (StatusCode::OK, 2)
    );
}

#[tokio::test]
async fn concurrency_limit_429s_while_calls_are_held_open() {
    let limits = RateLimits {
        concurrency: 2,
        ..RateLimits::default()
    };
    let pp = start_limited(SystemClock::shared(), limits).await;
    let api = Api::service(&pp);
    let url = format!("{}1.1/Grade/Get/x", pp.endpoints().api_base);
    let held = stalled_gets(pp.faults(), &url, &api.token, 2).await;
    let r = api.get("Grade/Get/x").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (
            header(&r, "x-concurrency-limit"),
            header(&r, "x-concurrency-remaining")
        ),
        (2, 0)
    );
    pp.faults().release_stalls();
    let mut after: Vec<u32> = Vec::new();
    for h in held {
        let r = h.await.unwrap().unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        after.push(header(&r, "x-concurrency-remaining"));
    }
    assert!(after.iter().all(|c| (1..=2).contains(c)), "{after:?}");
    assert_eq!(
        grade_get(&api, "x-concurrency-remaining").await,
        (StatusCode::OK, 2)
    );
}

#[tokio::test]
async fn get_rate_limits_needs_no_auth_and_follows_live_changes() {
    let pp = PebblePad::start_with_clock(still_clock()).await.unwrap();
    let url = format!("{}1.1/Info/GetRateLimits", pp.endpoints().api_base);
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-rate-limit"));
    let v = json(r).await;
    assert_eq!(v["RateLimits"][0], json!({"Method": "GET", "Limit": 600}));
    assert_eq!(
        (v["ConcurrencyLimit"].as_u64(), v["WindowSeconds"].as_u64()),
        (Some(10), Some(60))
    );
    pp.set_limits(RateLimits {
        delete: 5,
        window: Duration::from_secs(2),
        ..pp.limits()
    });
    let v = json(client().get(&url).send().await.unwrap()).await;
    assert_eq!(v["RateLimits"][3], json!({"Method": "DELETE", "Limit": 5}));
    assert_eq!(v["WindowSeconds"], 2);
}

#[tokio::test]
async fn users_are_created_once_and_addressed_by_id_or_custom_id() {
    let pp = PebblePad::start_with_clock(still_clock()).await.unwrap();
    let api = Api::service(&pp);
    let new = json!({"Username": "ava.example", "CustomId": "C-1", "Forename": "Ava", "Surname": "Example", "Password": "pw-secret", "Extra": 1});
    let r = api.post("User/Create/", new.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let user = json(r).await;
    assert!(user.get("Password").is_none() && user["Extra"] == 1);
    let id = user["Id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36);
    let r = api.post("User/Create", new).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json(r).await,
        json!({"errormessage": "Username already exists"})
    );
    let r = api.post("User/Create/", json!({"Forename": "x"})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = api
        .put(
            "User/AddContactDetailsOnCustomId/C-1",
            Some(json!({"Phone": "6175550100"})),
        )
        .await;
    assert_eq!(json(r).await["ContactDetails"]["Phone"], "6175550100");
    api.put(
        &format!("User/AddOtherDetails/{id}"),
        Some(json!({"Campus": "North"})),
    )
    .await;
    let r = api
        .put(&format!("User/DeleteContactDetails/{id}"), None)
        .await;
    assert!(json(r).await.get("ContactDetails").is_none());
    assert_eq!(
        api.delete("User/DeleteOnCustomId/C-1").await.status(),
        StatusCode::OK
    );
    let u = pp
        .users()
        .into_iter()
        .find(|u| u["Id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (u["Status"].as_str(), u["OtherDetails"]["Campus"].as_str()),
        (Some("MarkedForDeletion"), Some("North"))
    );
    let r = api.delete("User/Delete/nope").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(json(r).await["errormessage"].is_string());
}

#[tokio::test]
async fn impersonation_requires_an_active_user() {
    let pp = PebblePad::start_with_clock(still_clock()).await.unwrap();
    let t = pp.endpoints().service_access_token.clone().unwrap();
    let url = format!("{}1.1/Grade/Get/x", pp.endpoints().api_base);
    let known = pp.users()[0]["Username"].as_str().unwrap().to_string();
    for (user, expected) in [
        (known.as_str(), StatusCode::OK),
        ("ghost", StatusCode::FORBIDDEN),
    ] {
        let req = client().get(&url).bearer_auth(&t);
        let r = req.header("X-ImpersonateUser", user).send().await.unwrap();
        assert_eq!(r.status(), expected, "{user}");
    }
    assert_eq!(
        pp.traffic()
            .requests()
            .last()
            .unwrap()
            .header("x-impersonateuser"),
        Some("ghost")
    );
}

#[tokio::test]
async fn groups_manage_members() {
    let pp = PebblePad::start_with_clock(still_clock()).await.unwrap();
    let api = Api::service(&pp);
    let users = pp.users();
    let g = json(
        api.post(
            "Group/Create/",
            json!({"Name": "Cohort A", "CustomId": "G-A"}),
        )
        .await,
    )
    .await;
    let gid = g["Id"].as_str().unwrap().to_string();
    let r = api
        .put(
            &format!("Group/AddMembers/{gid}"),
            Some(json!([users[0]["Id"], users[1]["Id"]])),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = api
        .put(
            "Group/RemoveMembersOnCustomId/G-A",
            Some(json!([users[0]["CustomId"]])),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let members = json(api.get("Group/GetMembersOnCustomId/G-A").await).await;
    assert_eq!(members.as_array().unwrap().len(), 1);
    assert_eq!(members[0]["Id"], users[1]["Id"]);
    let r = api
        .put(&format!("Group/AddMembers/{gid}"), Some(json!(["nobody"])))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let g = json(
        api.put(
            &format!("Group/Update/{gid}"),
            Some(json!({"Name": "Cohort B"})),
        )
        .await,
    )
    .await;
    assert_eq!(g["Name"], "Cohort B");
    assert_eq!(
        api.delete("Group/DeleteOnCustomId/G-A").await.status(),
        StatusCode::OK
    );
    assert!(pp.groups().is_empty());
}

#[tokio::test]
async fn grades_import_update_only_the_grade_and_recall() {
    let pp = PebblePad::start_with_clock(still_clock()).await.unwrap();
    let api = Api::service(&pp);
    let user = pp.users()[0].clone();
    let body = json!([{"CustomUserId": user["CustomId"], "CustomId": "GR-1", "Grade": "B", "AssessmentId": "A1"}]);
    let r = api.post("Grade/ImportOnCustomUserId/", body).await;
    assert_eq!(r.status(), StatusCode::OK);
    let gid = json(r).await[0]["Id"].as_str().unwrap().to_string();
    let r = api
        .put(
            &format!("Grade/Update/{gid}"),
            Some(json!({"Grade": "A", "AssessmentId": "hack"})),
        )
        .await;
    let g = json(r).await;
    assert_eq!(
        (g["Grade"].as_str(), g["AssessmentId"].as_str()),
        (Some("A"), Some("A1"))
    );
    api.put("Grade/RecallOnCustomId/GR-1", None).await;
    let list = json(
        api.get(&format!(
            "Grade/GetOnUserId/{}",
            user["Id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(list[0]["Status"], "Recalled");
    let list = json(api.get("Grade/GetOnCustomId/none").await).await;
    assert_eq!(list, json!([]));
    let r = api
        .post("Grade/Import/", json!([{"UserId": "ghost", "Grade": "C"}]))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn data_island_application_references() {
    let pp = PebblePad::start_with_clock(still_clock()).await.unwrap();
    let api = Api::service(&pp);
    let rec = json!({"id": "ref-1", "applicationid": "app-9", "name": "Ava Example", "organisation": "Example Labs", "post": "Analyst", "statement": "Reliable."});
    let r = api
        .post("di/ApplicationReference/Create", rec.clone())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.bytes().await.unwrap().is_empty(),
        "create answers 200 with no body"
    );
    assert_eq!(
        api.post("di/ApplicationReference/Create", rec)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    let r = api
        .post(
            "di/ApplicationReference/Update",
            json!({"id": "ref-1", "post": "Lead"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let got = json(api.get("di/ApplicationReference/Get/ref-1").await).await;
    assert_eq!(
        (got["post"].as_str(), got["name"].as_str()),
        (Some("Lead"), Some("Ava Example"))
    );
    let list = json(
        api.get("di/ApplicationReference/GetOnApplicationId/app-9")
            .await,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        api.delete("di/ApplicationReference/Delete/ref-1")
            .await
            .status(),
        StatusCode::OK
    );
    assert!(pp.application_references().is_empty());
}
