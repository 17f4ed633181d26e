//! End to end against the testkit's Pearl Diver emulator: login, rotation during a long
//! export, resume from a saved cursor, faults, and windows refused before sending.

use shoal_auth::ConfigureTokens as _;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use shoal_auth::{
    AccessToken, ExposeSecret, RefreshSettings, RefreshToken, TokenRecord, UnknownExpiry,
};
use shoal_core::{AuthErrorKind, Bytes, Cursor, ManualClock, Page, RetryPolicy, Transport};
use shoal_pearldiver::{
    AudienceWindow, ClientSecret, ConfigureClient as _, MemoryTokenStore, PearlDiverClient,
    PearlDiverErrorExt as _, Record, TokenStore,
};
use shoal_testkit::Fault;
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};

use crate::support::{SkippingClock, now};

const BIG: u64 = 40;

async fn emulator(clock: &ManualClock, size: u64, token_ttl: Duration) -> PearlDiver {
    PearlDiver::start(PearlDiverConfig {
        clock: clock.shared(),
        access_token_ttl: token_ttl,
        audiences: vec![AudienceSpec::new(BIG, "Big audience", size)],
        redirect_uris: shoal_testkit::RedirectUris::any_loopback_port(),
        ..PearlDiverConfig::default()
    })
    .await
    .unwrap()
}

/// What every test here starts from: a manual clock, an emulator on it with `size` records in
/// audience [`BIG`], a [`SkippingClock`] over the manual one, and an empty token store.
async fn setup(
    size: u64,
    token_ttl: Duration,
) -> (
    ManualClock,
    PearlDiver,
    SkippingClock,
    Arc<MemoryTokenStore>,
) {
    let manual = ManualClock::new();
    let pd = emulator(&manual, size, token_ttl).await;
    let clock = SkippingClock::new(&manual);
    (manual, pd, clock, Arc::new(MemoryTokenStore::new()))
}

fn builder(
    pd: &PearlDiver,
    clock: &SkippingClock,
    store: &Arc<MemoryTokenStore>,
) -> shoal_pearldiver::PearlDiverClientBuilder {
    let ep = pd.endpoints();
    PearlDiverClient::builder()
        .oauth(
            ep.client_id.clone(),
            ClientSecret::new(ep.client_secret.clone()),
            "http://127.0.0.1:8765/callback",
        )
        .auth_server(&ep.auth_base)
        .api_base(&ep.api_base)
        .token_store(store.clone())
        .clock(Arc::new(clock.clone()))
        .retry_policy(RetryPolicy::default().max_attempts(6))
        .jitter_seed(7)
}

/// Logs in through the emulator's `/authorize` (which approves at once and redirects).
async fn log_in(client: &PearlDiverClient) {
    let login = client.login().unwrap();
    let pending = login.authorize();
    let browser = shoal_core::ReqwestTransport::new().unwrap();
    let request = shoal_core::http::Request::get(pending.url().as_str())
        .body(Bytes::new())
        .unwrap();
    let answer = browser.send(request).await.unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    login.complete(&pending, &location).await.unwrap();
}

/// A client built with [`builder`] and logged in through the emulator.
async fn logged_in(
    pd: &PearlDiver,
    clock: &SkippingClock,
    store: &Arc<MemoryTokenStore>,
) -> PearlDiverClient {
    let client = builder(pd, clock, store).build().unwrap();
    log_in(&client).await;
    client
}

/// The first `n` pages of audience [`BIG`] in `window`.
async fn first_pages(
    client: &PearlDiverClient,
    window: AudienceWindow,
    n: usize,
) -> Vec<Page<Record>> {
    client
        .audiences()
        .records(BIG, window)
        .by_page()
        .take(n)
        .try_collect()
        .await
        .unwrap()
}

/// The ids of the records of audience [`BIG`] in `window`, from `cursor` on.
async fn resumed_ids(
    client: &PearlDiverClient,
    window: AudienceWindow,
    cursor: Option<Cursor>,
) -> Vec<String> {
    client
        .audiences()
        .records(BIG, window)
        .resume_from(cursor)
        .by_item()
        .map_ok(|r| r.id.unwrap())
        .try_collect()
        .await
        .unwrap()
}

fn ids(from: u64, to: u64) -> Vec<String> {
    (from..to).map(|i| format!("pd-{BIG}-{i:09}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_of_25_pages_arrives_once_in_order_while_tokens_rotate() {
    let (manual, pd, clock, store) = setup(25_000, Duration::from_secs(300)).await;
    let client = logged_in(&pd, &clock, &store).await;
    let first_refresh = store.load().await.unwrap().unwrap().refresh_token.unwrap();

    let mut pages = std::pin::pin!(
        client
            .audiences()
            .records(BIG, AudienceWindow::LastDays(90))
            .by_page()
    );
    let mut seen = Vec::new();
    let mut count = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        count += 1;
        seen.extend(page.items.into_iter().map(|r| r.id.unwrap()));
        // Each page "takes" 100 s: the 300 s token goes stale every few pages.
        manual.advance(Duration::from_secs(100));
    }
    assert_eq!(count, 25);
    assert_eq!(seen.len(), 25_000);
    assert!(
        seen == ids(0, 25_000),
        "records lost, repeated or out of order"
    );

    let traffic = pd.traffic();
    assert_eq!(
        traffic.count("GET", &format!("/v1/audiences/{BIG}")),
        25,
        "no page fetched twice"
    );
    let refreshes = traffic.token_calls("refresh_token");
    assert!(
        refreshes >= 5,
        "the token should have expired several times, refreshed {refreshes}"
    );
    assert_eq!(traffic.refresh_reuse(), 0);
    assert_eq!(traffic.invalid_grants(), 0);
    let held = store.load().await.unwrap().unwrap().refresh_token.unwrap();
    assert!(
        pd.refresh_token_is_live(held.expose_secret()),
        "the stored refresh token is the live one"
    );
    assert!(
        !pd.refresh_token_is_live(first_refresh.expose_secret()),
        "refresh tokens rotated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_stopped_after_page_7_resumes_from_its_saved_cursor_in_a_fresh_client() {
    // 60 of the 90 days: two thirds of 18,000 records, 12 pages.
    let (manual, pd, clock, store) = setup(18_000, Duration::from_secs(3600)).await;
    let window = AudienceWindow::since(now(&manual) - Duration::from_secs(60 * 86_400));
    let saved = {
        let client = logged_in(&pd, &clock, &store).await;
        let pages = first_pages(&client, window, 7).await;
        let seen: Vec<String> = pages
            .iter()
            .flat_map(|p| p.items.iter().map(|r| r.id.clone().unwrap()))
            .collect();
        assert_eq!(seen, ids(0, 7000));
        // What a checkpoint file would hold: the cursor and the window, as JSON.
        serde_json::to_string(&(pages[6].next.clone(), window)).unwrap()
    };
    let gets = || pd.traffic().count("GET", &format!("/v1/audiences/{BIG}"));
    // Page 8 may have been asked for ahead before the stream was dropped.
    let before = gets();
    assert!((7..=8).contains(&before), "{before} page requests");
    manual.advance(Duration::from_secs(600));
    let (cursor, window): (Option<Cursor>, AudienceWindow) = serde_json::from_str(&saved).unwrap();
    let fresh = builder(&pd, &clock, &store).build().unwrap();
    let rest = resumed_ids(&fresh, window, cursor).await;
    assert_eq!(rest, ids(7000, 12_000));
    assert_eq!(
        gets() - before,
        5,
        "the resumed stream asks for pages 8 to 12 only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_and_a_404_is_not() {
    let (_, pd, clock, store) = setup(3_000, Duration::from_secs(3600)).await;
    let client = logged_in(&pd, &clock, &store).await;
    let pages = format!("/v1/audiences/{BIG}");
    pd.faults()
        .push(Fault::status(503).times(2).on_path(pages.clone()))
        .push(Fault::reset().on_path(pages.clone()))
        .push(Fault::status(429).retry_after("2").on_path(pages.clone()));
    let got: Vec<String> = client
        .audiences()
        .records(BIG, AudienceWindow::LastDays(90))
        .by_item()
        .map_ok(|r| r.id.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got, ids(0, 3000));
    let calls = pd.traffic().matching("GET", &pages);
    let faults: Vec<_> = calls.iter().filter_map(|c| c.fault.clone()).collect();
    assert_eq!(faults.len(), 4, "{faults:?}");
    assert_eq!(calls.len(), 3 + 4, "three pages, four faulted attempts");
    assert!(
        clock.slept().contains(&Duration::from_secs(2)),
        "Retry-After honoured: {:?}",
        clock.slept()
    );

    let before = pd.traffic().matching("GET", "/v1/audiences/999").len();
    let err = client
        .audiences()
        .get(999, AudienceWindow::LastDays(30))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_audience_not_found(), "{err}");
    assert!(err.to_string().contains("audience 999 not found"), "{err}");
    assert_eq!(
        pd.traffic().matching("GET", "/v1/audiences/999").len(),
        before + 1,
        "a 404 is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_windows_never_reach_the_emulator() {
    let (manual, pd, clock, store) = setup(10, Duration::from_secs(3600)).await;
    let client = logged_in(&pd, &clock, &store).await;
    let before = pd.traffic().requests().len();
    let too_old = AudienceWindow::since(now(&manual) - Duration::from_secs(91 * 86_400));
    for (window, field) in [
        (AudienceWindow::LastDays(0), "range"),
        (AudienceWindow::LastDays(91), "range"),
        (too_old, "since"),
    ] {
        let err = client
            .audiences()
            .get(BIG, window)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, shoal_core::Error::InvalidInput { field: f, .. } if f == field),
            "{err}"
        );
        assert!(err.to_string().contains("90"), "names the limit: {err}");
        let streamed: Vec<_> = client
            .audiences()
            .records(BIG, window)
            .by_item()
            .collect()
            .await;
        assert_eq!(streamed.len(), 1);
        assert!(matches!(
            &streamed[0],
            Err(shoal_core::Error::InvalidInput { .. })
        ));
    }
    assert_eq!(
        pd.traffic().requests().len(),
        before,
        "nothing reached the emulator"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_whose_refresh_fails_asks_for_a_new_login() {
    let (_, pd, clock, _) = setup(10, Duration::from_secs(3600)).await;
    let minted = pd.mint_tokens();
    // Another holder redeems the refresh token first, so ours is a rotated-away one.
    let other = Arc::new(MemoryTokenStore::with_record(TokenRecord::unknown_age(
        AccessToken::new("unknown"),
        RefreshToken::new(minted.refresh_token.clone()),
    )));
    builder(&pd, &clock, &other)
        .build()
        .unwrap()
        .audiences()
        .list()
        .send()
        .await
        .unwrap();
    let ours = Arc::new(MemoryTokenStore::with_record(TokenRecord::unknown_age(
        AccessToken::new("not-a-token-the-server-knows"),
        RefreshToken::new(minted.refresh_token),
    )));
    let settings = RefreshSettings::new(
        Duration::from_secs(60),
        Duration::ZERO,
        UnknownExpiry::UseUntilUnauthorized,
    );
    let client = builder(&pd, &clock, &ours)
        .refresh_settings(settings)
        .build()
        .unwrap();
    let err = client.audiences().list().send().await.unwrap_err();
    assert_eq!(
        err.auth_error().map(|a| &a.kind),
        Some(&AuthErrorKind::ReauthenticationRequired),
        "{err}"
    );
    let lists = pd.traffic().matching("GET", "/v1/audiences");
    assert_eq!(lists.last().and_then(|r| r.status), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_login_stores_tokens_the_api_accepts() {
    let (manual, pd, clock, store) = setup(10, Duration::from_secs(3600)).await;
    // A plain manual clock: the skipping one would end the login's wait at once.
    let client = builder(&pd, &clock, &store)
        .clock(manual.shared())
        .build()
        .unwrap();
    let login = client.login().unwrap();
    let pending = login
        // Any free port: the emulator accepts any loopback port; a real service wants the
        // registered one (the default).
        .loopback(
            shoal_pearldiver::LoopbackOptions::default()
                .redirect_uri("http://127.0.0.1:0/callback"),
        )
        .await
        .unwrap();
    assert!(pending.redirect_uri().starts_with("http://127.0.0.1:"));
    // The "browser": follow the authorize redirect to the loopback listener.
    let browser = shoal_core::ReqwestTransport::new().unwrap();
    let get = |url: &str| {
        shoal_core::http::Request::get(url)
            .body(Bytes::new())
            .unwrap()
    };
    let answer = browser
        .send(get(pending.authorize_url().as_str()))
        .await
        .unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(pending.redirect_uri()), "{location}");
    let callback = browser.send(get(&location)).await.unwrap();
    assert!(callback.status().is_success(), "{}", callback.status());
    pending.finish().await.unwrap();
    assert!(store.load().await.unwrap().is_some());
    let list = client.audiences().list().send().await.unwrap();
    assert_eq!(list.audiences[0].key, BIG);
    assert_eq!(pd.traffic().token_calls("authorization_code"), 1);
}

/// Issue 18 #10: a listing that began 89 days after its `since` goes on to its last page when the
/// limit passes mid-way (the page token pins its window), resumed in a fresh client too; a new
/// listing with the same `since` is refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_crossing_the_90_day_limit_finishes_and_a_new_one_is_refused() {
    let (manual, pd, clock, store) = setup(9_000, Duration::from_secs(86_400 * 30)).await;
    let window = AudienceWindow::since(now(&manual) - Duration::from_secs(89 * 86_400));
    let client = logged_in(&pd, &clock, &store).await;
    let first = first_pages(&client, window, 2).await;
    // Two days later the `since` is 91 days old.
    manual.advance(Duration::from_secs(2 * 86_400));
    let fresh = builder(&pd, &clock, &store).build().unwrap();
    let rest = resumed_ids(&fresh, window, first[1].next.clone()).await;
    let total = 2_000 + rest.len();
    assert_eq!(total, 9_000 * 89 / 90, "every record of the window, once");
    assert_eq!(rest.first().cloned(), ids(2000, 2001).pop());

    let gets = pd.traffic().count("GET", &format!("/v1/audiences/{BIG}"));
    let err = fresh
        .audiences()
        .records(BIG, window)
        .by_item()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), shoal_core::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("90"), "{err}");
    assert_eq!(
        pd.traffic().count("GET", &format!("/v1/audiences/{BIG}")),
        gets,
        "nothing sent"
    );
}
