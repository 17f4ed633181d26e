//! Client behaviour over a scripted transport: rate limits read once before the first call, a
//! 429 retried even for a POST, a limit change re-read, PebblePad error detail end to end.

use shoal_auth::ConfigureTokens as _;
use std::sync::Arc;

use shoal_auth::{AccessToken, StaticToken};
use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_core::{Clock, SystemClock};
use shoal_pebblepad::{
    BasicUserInfo, ConfigureClient as _, Installation, PebblePadClient, PebblePadErrorExt, Target,
};

use crate::support::{TOKEN, send_err, send_ok};

fn limits(get: u32, post: u32) -> Scripted {
    Scripted::json(
        200,
        serde_json::json!({
            "RateLimits": [{"Method": "GET", "Limit": get}, {"Method": "POST", "Limit": post}],
            "ConcurrencyLimit": 4, "WindowSeconds": 60
        }),
    )
}

async fn client(t: &CaptureTransport) -> PebblePadClient {
    PebblePadClient::builder(Installation::Taqas)
        .authenticator(Arc::new(StaticToken::new(AccessToken::new(TOKEN))))
        .transport(t.clone())
        .jitter_seed(1)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn limits_are_read_once_without_auth_before_the_first_of_many_concurrent_calls() {
    let no_grades = (0..64).map(|_| Scripted::json(200, serde_json::json!([])));
    let t = CaptureTransport::new(std::iter::once(limits(600, 120)).chain(no_grades));
    let c = client(&t).await;
    assert!(t.requests().is_empty(), "nothing is sent at build time");
    let calls: Vec<_> = (0..64)
        .map(|i| tokio::spawn(c.grades().for_user(Target::id(format!("u{i}"))).send()))
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let sent = t.requests();
    assert_eq!(sent.len(), 65);
    let first = &sent[0];
    assert_eq!(first.uri().path(), "/api/1.1/Info/GetRateLimits");
    assert!(first.headers().get("authorization").is_none());
    let reads = sent
        .iter()
        .filter(|r| r.uri().path().ends_with("GetRateLimits"))
        .count();
    assert_eq!(reads, 1);
    assert!(sent[1].headers().get("authorization").is_some());
    let status = c.rate_limits().await.unwrap();
    assert_eq!(status.methods["GET"].limit, Some(600));
    assert_eq!(status.methods["POST"].limit, Some(120));
    assert_eq!(status.concurrency_limit, Some(4));
    assert_eq!(
        c.announced_rate_limits().unwrap().concurrency_limit,
        Some(4)
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_is_retried_for_a_post_after_the_limiter_backs_off() {
    let rejected = Scripted::json(
        429,
        serde_json::json!({"errormessage": "Rate limit exceeded"}),
    )
    .with_header("x-rate-limit", "30")
    .with_header("x-rate-remaining", "0");
    let created = Scripted::json(200, serde_json::json!({"Id": "u-1", "Username": "jb"}));
    let t = CaptureTransport::new([limits(600, 30), rejected, created]);
    let c = client(&t).await;
    let clock = SystemClock;
    let start = clock.now();
    let user = send_ok(c.users().create(&BasicUserInfo::new("jb"))).await;
    assert_eq!(user.id.as_deref(), Some("u-1"));
    let posts: Vec<_> = t
        .requests()
        .into_iter()
        .filter(|r| r.method() == "POST")
        .collect();
    assert_eq!(posts.len(), 2, "the POST was resent once");
    assert_eq!(posts[0].body(), posts[1].body());
    // No Retry-After: the limiter treated the window as full and waited it out first.
    assert!(clock.now() - start >= std::time::Duration::from_secs(60));
    assert_eq!(c.stats().rate_limited, 1);
    assert_eq!(c.rate_limits().await.unwrap().rejections, 1);
}

#[tokio::test(start_paused = true)]
async fn a_post_answered_5xx_is_not_resent_and_may_have_been_processed() {
    for status in [500, 502, 503, 504] {
        let t = CaptureTransport::new([limits(600, 120), Scripted::status(status)]);
        let c = client(&t).await;
        let err = send_err(c.users().create(&BasicUserInfo::new("jb"))).await;
        assert!(err.may_have_been_processed(), "{status}: {err}");
        assert_eq!(t.requests().len(), 2, "{status}: sent once");
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_sent_through_the_pipeline_learns_the_limits_too() {
    let t = CaptureTransport::new([limits(600, 120)]);
    let c = client(&t).await;
    c.pipeline()
        .execute(shoal_core::Request::get("1.1/Group/GetMembers/g"))
        .await
        .unwrap();
    let sent = t.requests();
    assert_eq!(sent[0].uri().path(), "/api/1.1/Info/GetRateLimits");
    assert_eq!(sent[1].uri().path(), "/api/1.1/Group/GetMembers/g");
    assert_eq!(
        c.rate_limits().await.unwrap().methods["GET"].limit,
        Some(600)
    );
}

#[tokio::test(start_paused = true)]
async fn a_changed_limit_in_the_headers_re_reads_get_rate_limits() {
    let changed = Scripted::json(200, serde_json::json!([]))
        .with_header("x-rate-limit", "300")
        .with_header("x-rate-remaining", "299");
    let t = CaptureTransport::new([limits(600, 120), changed, limits(300, 60)]);
    let c = client(&t).await;
    send_ok(c.grades().for_user(Target::id("u"))).await;
    let status = c.rate_limits().await.unwrap();
    assert_eq!(status.methods["GET"].limit, Some(300));
    assert_eq!(
        status.methods["POST"].limit,
        Some(60),
        "POST learned before any POST"
    );
    let reads = t
        .requests()
        .iter()
        .filter(|r| r.uri().path().ends_with("GetRateLimits"))
        .count();
    assert_eq!(reads, 2);
}

#[tokio::test(start_paused = true)]
async fn errors_carry_pebblepad_detail() {
    let t = CaptureTransport::new([
        limits(600, 120),
        Scripted::json(
            400,
            serde_json::json!({"errormessage": "Username already exists"}),
        ),
        Scripted::json(403, serde_json::json!({"errormessage": "Denied"})),
        Scripted::json(
            401,
            serde_json::json!({"Message": "Authorization has been denied"}),
        ),
    ]);
    let c = client(&t).await;
    let dup = send_err(c.users().create(&BasicUserInfo::new("jb"))).await;
    assert!(dup.is_username_exists(), "{dup}");
    let denied = send_err(c.users().delete(Target::id("u"))).await;
    assert_eq!(denied.kind(), shoal_core::ErrorKind::Forbidden);
    assert!(denied.to_string().contains("access policy"), "{denied}");
    let unauthorized = send_err(c.groups().members(Target::id("g"))).await;
    assert_eq!(unauthorized.kind(), shoal_core::ErrorKind::Unauthorized);
    assert_eq!(
        unauthorized.unauthorized_detail().unwrap()["Message"],
        "Authorization has been denied"
    );
    assert!(!format!("{dup:?}{denied:?}{unauthorized:?}").contains(TOKEN));
}

/// Every list answer that is not an array is an error naming what came back — through the
/// client, for each list action — never an empty or one-element success.
#[tokio::test(start_paused = true)]
async fn list_answers_of_another_shape_are_decode_errors_naming_what_came_back() {
    let envelope = serde_json::json!({"Members": [{"Id": "u-1"}], "Total": 1});
    let t = CaptureTransport::new([
        limits(600, 120),
        Scripted::json(200, envelope.clone()),
        Scripted::status(200),
        Scripted::json(200, serde_json::json!(null)),
        Scripted::json(200, serde_json::json!({"Grades": []})),
        Scripted::json(200, serde_json::json!({"Id": "gr-1", "Grade": "B"})),
        Scripted::json(200, serde_json::json!({"References": []})),
        Scripted::json(200, serde_json::json!({"Imported": 1})),
        // What still succeeds: an array, and an import answered with nothing.
        Scripted::json(200, serde_json::json!([{"Id": "u-1"}, {"Id": "u-2"}])),
        Scripted::status(200),
    ]);
    let c = client(&t).await;
    let g = c.groups();
    let decode_message = |e: shoal_core::Error| {
        assert_eq!(e.kind(), shoal_core::ErrorKind::Decode, "{e}");
        e.to_string()
    };
    let members = || g.members(Target::id("g-1")).send();
    let e = decode_message(members().await.unwrap_err());
    assert!(e.contains("its keys: Members, Total"), "{e}");
    assert!(e.contains("GetMembers/g-1"), "names the request: {e}");
    let e = decode_message(members().await.unwrap_err());
    assert!(e.contains("an empty body"), "{e}");
    let e = decode_message(members().await.unwrap_err());
    assert!(e.contains("got null"), "{e}");
    let e = decode_message(send_err(c.grades().get(Target::id("gr-1"))).await);
    assert!(e.contains("its keys: Grades"), "{e}");
    let e = decode_message(send_err(c.grades().for_user(Target::custom_id("S1"))).await);
    assert!(
        e.contains("its keys: Grade, Id"),
        "a lone record is no list: {e}"
    );
    let e = decode_message(send_err(c.application_references().for_application("app-9")).await);
    assert!(e.contains("its keys: References"), "{e}");
    let import = || {
        c.grades()
            .import(
                shoal_pebblepad::IdKind::Id,
                &[shoal_pebblepad::Grade::for_user_id("u-1", "B")],
            )
            .send()
    };
    let e = decode_message(import().await.unwrap_err());
    assert!(
        e.contains("its keys: Imported") && e.contains("may have been written"),
        "{e}"
    );
    assert_eq!(members().await.unwrap().len(), 2);
    assert!(import().await.unwrap().is_empty());
    assert_eq!(
        t.requests().len(),
        10,
        "each answer read once, nothing resent"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_secret_in_any_debug_form() {
    use shoal_auth::{ClientSecret, RefreshToken};
    use shoal_pebblepad::{OAuthApp, ServiceAccount};
    let t = CaptureTransport::new([limits(600, 120)]);
    t.push(Scripted::json(
        200,
        serde_json::json!({"access_token": "CANARY-A2", "refresh_token": "CANARY-R2",
                           "token_type": "bearer", "expires_in": 3600}),
    ));
    let app = OAuthApp::new("svc", ClientSecret::new("CANARY-SECRET"), "");
    let account = ServiceAccount::new(
        app,
        AccessToken::new("CANARY-A1"),
        RefreshToken::new("CANARY-R1"),
    );
    let builder = PebblePadClient::builder(Installation::UnitedStates)
        .service_account(account.clone())
        .ephemeral_tokens()
        .transport(t.clone());
    let shown_builder = format!("{builder:?} {account:?}");
    let c = builder.build().unwrap();
    send_ok(c.users().delete(Target::id("u"))).await;
    let sent = t.requests();
    assert!(
        sent[1]
            .uri()
            .path()
            .ends_with("/login/OAuth2/TokenEndpoint"),
        "refreshed first"
    );
    let shown = format!(
        "{shown_builder} {c:?} {:?} {:?}",
        c.credential(),
        sent.len()
    );
    for canary in [
        "CANARY-SECRET",
        "CANARY-A1",
        "CANARY-R1",
        "CANARY-A2",
        "CANARY-R2",
    ] {
        assert!(!shown.contains(canary), "{canary} in {shown}");
    }
}

/// Issue 18 #8: a refresh asks for a narrower scope, through the client.
#[tokio::test]
async fn a_refresh_narrows_the_scope_through_the_client() {
    let emu = crate::support::emulator(Default::default()).await;
    let client =
        crate::support::emulator_client(&emu, None, shoal_auth::RefreshSettings::default()).await;
    let credential = client.credential().expect("a service account refreshes");
    let narrowed = credential
        .force_refresh_with_scope("admin_grade:r")
        .await
        .unwrap();
    assert_eq!(narrowed.scope.as_deref(), Some("admin_grade:r"));
    let sent: Vec<_> = emu
        .traffic()
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("OAuth2"))
        .collect();
    assert!(
        sent.iter()
            .any(|r| r.body.contains("grant_type=refresh_token")
                && r.body.contains("scope=admin_grade%3Ar")),
        "{sent:?}"
    );
    // Kept: the credential's record (what the store holds) carries the narrower scope.
    let held = credential.record().await.unwrap().unwrap();
    assert_eq!(held.scope.as_deref(), Some("admin_grade:r"));
}
