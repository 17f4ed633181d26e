//! Registered redirect URIs (exact, port included), the user's consent, and PebblePad's public
//! and confidential clients, on both authorization servers.

use reqwest::StatusCode;
use serde_json::Value;
use shoal_testkit::pearldiver::{PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::{PebblePad, PebblePadConfig};
use shoal_testkit::{DEFAULT_REDIRECT_URI, RedirectUris};

use crate::common::{
    assert_redirected_error, assert_refused, get_query, location, query_param, redirected_code,
    still_clock,
};
use crate::pearldiver::{authorize_as_client, exchange};
use crate::pebblepad::token_as;

async fn pd_authorize(
    pd: &PearlDiver,
    redirect: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut q = vec![("state", "st-1"), ("scope", "openid offline_access")];
    q.extend_from_slice(extra);
    authorize_as_client(pd, "code", redirect, &q).await
}

async fn pp_authorise(pp: &PebblePad, pairs: &[(&str, &str)]) -> reqwest::Response {
    get_query(
        &format!("{}AuthorisationEndpoint", pp.endpoints().oauth_base),
        pairs,
    )
    .await
}

#[tokio::test]
async fn pearldiver_accepts_only_the_registered_callback_port_included() {
    let pd = PearlDiver::start_with_clock(still_clock()).await.unwrap();
    assert_eq!(pd.endpoints().redirect_uri, DEFAULT_REDIRECT_URI);
    for wrong in [
        "http://127.0.0.1:8766/callback",
        "http://localhost:8765/callback",
        "http://127.0.0.1:8765/callback/",
        "http://127.0.0.1:8765/other",
    ] {
        let r = pd_authorize(&pd, wrong, &[]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{wrong}");
        assert!(r.headers().get("location").is_none(), "{wrong}");
        assert_eq!(r.text().await.unwrap(), "Callback URL mismatch");
    }
    let r = pd_authorize(&pd, DEFAULT_REDIRECT_URI, &[]).await;
    let code = redirected_code(&r, DEFAULT_REDIRECT_URI, Some("st-1"));
    let (s, body) = exchange(&pd, &code, "http://127.0.0.1:8766/callback", None).await;
    // The exchange repeats the exact URI.
    assert_refused(s, &body, StatusCode::FORBIDDEN, "invalid_grant");
}

#[tokio::test]
async fn pearldiver_registers_a_list_and_any_port_only_on_request() {
    let pd = PearlDiver::start(PearlDiverConfig {
        redirect_uris: RedirectUris::exact(["https://app.example.test/cb", DEFAULT_REDIRECT_URI]),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(pd.endpoints().redirect_uri, "https://app.example.test/cb");
    for ok in ["https://app.example.test/cb", DEFAULT_REDIRECT_URI] {
        assert_eq!(pd_authorize(&pd, ok, &[]).await.status(), StatusCode::FOUND);
    }
    let port0 = "http://127.0.0.1:40123/callback";
    assert_eq!(
        pd_authorize(&pd, port0, &[]).await.status(),
        StatusCode::BAD_REQUEST
    );
    let loose = PearlDiver::start(PearlDiverConfig {
        redirect_uris: RedirectUris::any_loopback_port(),
        ..Default::default()
    })
    .await
    .unwrap();
    let r = pd_authorize(&loose, port0, &[]).await;
    let code = redirected_code(&r, port0, Some("st-1"));
    assert_eq!(exchange(&loose, &code, port0, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn pearldiver_user_denial_and_bad_requests_redirect_with_or_without_state() {
    let pd = PearlDiver::start_default().await.unwrap();
    pd.consent().deny_next(1);
    let loc = location(&pd_authorize(&pd, DEFAULT_REDIRECT_URI, &[]).await);
    assert!(loc.starts_with(DEFAULT_REDIRECT_URI), "{loc}");
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st-1"));
    assert!(query_param(&loc, "code").is_none());
    // The denial was used up.
    let loc = location(&pd_authorize(&pd, DEFAULT_REDIRECT_URI, &[]).await);
    assert!(query_param(&loc, "code").is_some());

    pd.consent().deny_always().omit_state_on_errors(true);
    for _ in 0..2 {
        let loc = location(&pd_authorize(&pd, DEFAULT_REDIRECT_URI, &[]).await);
        assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
        assert_eq!(query_param(&loc, "state"), None);
    }
    pd.consent().approve().omit_state_on_errors(false);
    let e = pd.endpoints().clone();
    let r = get_query(
        &e.authorize_url,
        &[
            ("client_id", &e.client_id),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
            ("state", "s"),
        ],
    )
    .await;
    assert_redirected_error(&r, "invalid_request", Some("s"));
}

#[tokio::test]
async fn pebblepad_redirect_mismatch_is_an_error_page_and_errors_may_drop_state() {
    let pp = PebblePad::start_default().await.unwrap();
    let e = pp.endpoints().clone();
    assert_eq!(e.redirect_uri, DEFAULT_REDIRECT_URI);
    let r = pp_authorise(
        &pp,
        &[
            ("client_id", &e.client_id),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("<html>"));

    let base = [
        ("client_id", e.client_id.as_str()),
        ("redirect_uri", DEFAULT_REDIRECT_URI),
        ("state", "xyz"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut q = base.to_vec();
        q.extend_from_slice(extra);
        q
    };
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("response_type", "token")], "unsupported_request_type"),
        (&[], "invalid_request"),
        (
            &[("response_type", "code"), ("code_challenge", "x")],
            "invalid_request",
        ),
        (&[("response_type", "code")], "access_denied"),
    ];
    pp.consent().deny_next(1);
    for omit in [false, true] {
        pp.consent().omit_state_on_errors(omit);
        if omit {
            pp.consent().deny_next(1);
        }
        for (extra, error) in cases {
            let loc = location(&pp_authorise(&pp, &with(extra)).await);
            assert!(loc.starts_with(DEFAULT_REDIRECT_URI), "{loc}");
            assert_eq!(
                query_param(&loc, "error").as_deref(),
                Some(error),
                "{extra:?}"
            );
            let state = query_param(&loc, "state");
            assert_eq!(state.as_deref(), (!omit).then_some("xyz"), "{extra:?}");
        }
    }
    // Approved, without redirect_uri: the registered one.
    let loc = location(
        &pp_authorise(
            &pp,
            &[("client_id", &e.client_id), ("response_type", "code")],
        )
        .await,
    );
    assert!(loc.starts_with(DEFAULT_REDIRECT_URI) && query_param(&loc, "code").is_some());
}

async fn pp_code(pp: &PebblePad, client_id: &str, scope: &str) -> String {
    let r = pp_authorise(
        pp,
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
            ("scope", scope),
        ],
    )
    .await;
    redirected_code(&r, DEFAULT_REDIRECT_URI, None)
}

#[tokio::test]
async fn pebblepad_public_client_sends_its_id_in_the_body_and_never_basic() {
    let pp = PebblePad::start_default().await.unwrap();
    let e = pp.endpoints().clone();
    let public = e.public_client_id.clone().unwrap();
    let code = pp_code(&pp, &public, "admin_grade:rud").await;
    let exchange_form = |client_id: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
        ];
        if let Some(id) = client_id {
            form.push(("client_id", id));
        }
        form
    };
    // Basic, even with an empty secret, is refused for a public client.
    let (s, body) = token_as(&pp, &exchange_form(None), Some((&public, ""))).await;
    assert_refused(s, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    let (s, body) = token_as(&pp, &exchange_form(None), None).await;
    assert_refused(s, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    // The confidential client cannot redeem the public client's code.
    let (s, body) = token_as(
        &pp,
        &exchange_form(None),
        Some((&e.client_id, &e.client_secret)),
    )
    .await;
    assert_refused(s, &body, StatusCode::BAD_REQUEST, "invalid_client");
    let mut form = exchange_form(None);
    form.push(("client_id", &public));
    let (s, body) = token_as(&pp, &form, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "admin_grade:rud");
    let rt = body["refresh_token"].as_str().unwrap().to_string();

    // Refresh: narrower scope granted and reported; the ceiling stays the first grant.
    let (s, body) = public_refresh(&pp, &rt, Some("admin_grade:r")).await;
    assert_eq!(
        (s, body["scope"].as_str()),
        (StatusCode::OK, Some("admin_grade:r"))
    );
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    let (s, body) = public_refresh(&pp, &rt, Some("admin_grade:c")).await;
    assert_refused(s, &body, StatusCode::BAD_REQUEST, "invalid_scope");
    let (s, body) = public_refresh(&pp, &rt, None).await;
    assert_eq!(
        (s, body["scope"].as_str()),
        (StatusCode::OK, Some("admin_grade:rud"))
    );
}

async fn public_refresh(pp: &PebblePad, rt: &str, scope: Option<&str>) -> (StatusCode, Value) {
    let public = pp.endpoints().public_client_id.clone().unwrap();
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", &public),
    ];
    form.extend(scope.map(|s| ("scope", s)));
    token_as(pp, &form, None).await
}

#[tokio::test]
async fn pebblepad_confidential_client_must_use_basic_and_only_basic() {
    let pp = PebblePad::start(PebblePadConfig {
        public_client_id: None,
        ..Default::default()
    })
    .await
    .unwrap();
    let e = pp.endpoints().clone();
    assert_eq!(e.public_client_id, None);
    let code = pp_code(&pp, &e.client_id, "default").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", DEFAULT_REDIRECT_URI),
    ];
    let mut with_id = form.to_vec();
    with_id.push(("client_id", &e.client_id));
    let (s, body) = token_as(&pp, &with_id, None).await;
    assert_refused(s, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    let basic = Some((e.client_id.as_str(), e.client_secret.as_str()));
    let (s, body) = token_as(&pp, &with_id, basic).await;
    assert_refused(s, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let (s, body) = token_as(&pp, &form, Some((&e.client_id, "wrong"))).await;
    assert_refused(s, &body, StatusCode::UNAUTHORIZED, "invalid_client");
    let (s, body) = token_as(&pp, &form, basic).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let rt = body["refresh_token"].as_str().unwrap();
    let (s, _) = token_as(
        &pp,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        basic,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // With no public client registered, its id is unknown at authorise.
    let r = pp_authorise(
        &pp,
        &[
            ("client_id", "pp-public-emulator"),
            ("response_type", "code"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
