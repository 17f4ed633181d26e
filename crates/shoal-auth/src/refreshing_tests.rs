//! Unit tests of [`RefreshingCredential`]: scripted token endpoint, memory or mock store,
//! manual clock.

use std::sync::atomic::{AtomicUsize, Ordering};

use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_core::{Backoff, Clock as _, ManualClock, OAuthErrorCode, Pipeline, RetryPolicy};

use super::*;
use crate::oauth::OAuthConfig;
use crate::secret::{ClientSecret, RefreshToken};
use crate::store::{MemoryTokenStore, MockTokenStore, TokenLockGuard};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// A client of the example authorization server, whose token endpoint is `transport`, on the
/// manual clock.
fn example_client(
    transport: impl shoal_core::Transport,
    clock: &ManualClock,
    policy: RetryPolicy,
    secret: Option<&str>,
) -> OAuthClient {
    let base = Pipeline::builder("https://api.example.test/v1".parse().unwrap())
        .transport(transport)
        .retry_policy(policy)
        .clock(clock.shared())
        .build()
        .unwrap();
    let mut config = OAuthConfig::new(
        "https://auth.example.test/authorize".parse().unwrap(),
        "https://auth.example.test/token".parse().unwrap(),
        "cid",
        "http://127.0.0.1/cb",
    );
    if let Some(secret) = secret {
        config = config.client_secret(ClientSecret::new(secret));
    }
    OAuthClient::new(config, &base)
}

fn client(transport: &CaptureTransport, clock: &ManualClock) -> OAuthClient {
    let policy = RetryPolicy::default().backoff(Backoff::new(Duration::ZERO, Duration::ZERO));
    example_client(transport.clone(), clock, policy, Some("cs"))
}

/// A manual clock, and a token endpoint that gives `answers` in turn.
fn scripted(answers: impl IntoIterator<Item = Scripted>) -> (ManualClock, CaptureTransport) {
    (ManualClock::new(), CaptureTransport::new(answers))
}

fn granted(access: &str, refresh: Option<&str>) -> Scripted {
    Scripted::json(
        200,
        serde_json::json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh}),
    )
}

fn record(access: &str, refresh: &str, expires_at: SystemTime) -> TokenRecord {
    let mut r = TokenRecord::unknown_age(access.into(), refresh.into());
    r.expires_at = Some(expires_at);
    r.refresh_issued_at = Some(expires_at - HOUR);
    r
}

fn no_jitter() -> RefreshSettings {
    RefreshSettings::new(
        Duration::from_secs(60),
        Duration::ZERO,
        UnknownExpiry::RefreshFirst,
    )
}

fn credential(
    t: &CaptureTransport,
    clock: &ManualClock,
    store: Arc<dyn TokenStore>,
) -> RefreshingCredential {
    RefreshingCredential::builder(client(t, clock), store)
        .settings(no_jitter())
        .build()
}

fn bearer(req: &Request) -> String {
    req.headers()[AUTHORIZATION].to_str().unwrap().to_string()
}

/// The refresh token `store` holds.
async fn stored_refresh(store: &MemoryTokenStore) -> String {
    let record = store.load().await.unwrap().unwrap();
    record.refresh_token.unwrap().expose_secret().to_string()
}

struct Fence;
impl TokenLockGuard for Fence {
    fn fence(&self) -> u64 {
        7
    }
}

/// A mock store whose lock is always free (fence 7); the test sets what else it expects.
fn fenced_store() -> MockTokenStore {
    let mut store = MockTokenStore::new();
    store
        .expect_lock()
        .returning(|| Ok(Box::new(Fence) as Box<dyn TokenLockGuard>));
    store
}

fn form(t: &CaptureTransport, i: usize) -> String {
    String::from_utf8(t.requests()[i].body().to_vec()).unwrap()
}

#[tokio::test]
async fn a_fresh_token_is_used_without_refreshing() {
    let (clock, t) = scripted([]);
    let store = MemoryTokenStore::with_record(record("A0", "R0", clock.system_now() + HOUR));
    let cred = credential(&t, &clock, Arc::new(store));
    let mut req = Request::get("x");
    let stamp = cred.authenticate(&mut req).await.unwrap();
    assert_eq!(bearer(&req), "Bearer A0");
    assert!(req.headers()[AUTHORIZATION].is_sensitive());
    assert_eq!(
        cred.authenticate(&mut Request::get("y")).await.unwrap(),
        stamp
    );
    assert!(t.requests().is_empty());
}

#[tokio::test]
async fn refreshes_within_the_buffer_saves_then_hands_out() {
    let (clock, t) = scripted([granted("A1", Some("R1"))]);
    let store = MemoryTokenStore::with_record(record("A0", "R0", clock.system_now() + HOUR));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = seen.clone();
    let hook: TokenChangeHook = Arc::new(move |r: &TokenRecord| {
        hook_seen
            .lock()
            .unwrap()
            .push(r.access_token.expose_secret().to_string())
    });
    let cred = RefreshingCredential::builder(client(&t, &clock), Arc::new(store.clone()))
        .settings(no_jitter())
        .on_change(hook)
        .build();
    let first = cred.authenticate(&mut Request::get("x")).await.unwrap();
    clock.advance(HOUR - Duration::from_secs(59));
    let mut req = Request::get("x");
    let second = cred.authenticate(&mut req).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(bearer(&req), "Bearer A1");
    assert_eq!(
        form(&t, 0),
        "grant_type=refresh_token&refresh_token=R0&client_id=cid&client_secret=cs"
    );
    let saved = store.load().await.unwrap().unwrap();
    assert_eq!(saved.access_token.expose_secret(), "A1");
    assert_eq!(saved.refresh_token.unwrap().expose_secret(), "R1");
    assert_eq!(saved.expires_at, Some(clock.system_now() + HOUR));
    assert_eq!(*seen.lock().unwrap(), vec!["A1"]);
}

#[tokio::test]
async fn jitter_refreshes_early_but_within_bounds() {
    let (clock, t) = scripted([]);
    let store = MemoryTokenStore::with_record(record("A0", "R0", clock.system_now() + HOUR));
    let settings = RefreshSettings::new(
        Duration::from_secs(60),
        Duration::from_secs(30),
        UnknownExpiry::RefreshFirst,
    );
    let cred = RefreshingCredential::builder(client(&t, &clock), Arc::new(store))
        .settings(settings)
        .build();
    cred.authenticate(&mut Request::get("x")).await.unwrap();
    clock.advance(HOUR - Duration::from_secs(91));
    cred.authenticate(&mut Request::get("x")).await.unwrap();
    assert!(
        t.requests().is_empty(),
        "refreshed earlier than buffer + jitter"
    );
}

#[tokio::test]
async fn a_pair_of_unknown_age_is_refreshed_before_first_use() {
    let (clock, t) = scripted([granted("A1", None)]);
    let store = MemoryTokenStore::with_record(TokenRecord::unknown_age("A0".into(), "R0".into()));
    let cred = credential(&t, &clock, Arc::new(store.clone()));
    let mut req = Request::get("x");
    cred.authenticate(&mut req).await.unwrap();
    assert_eq!(bearer(&req), "Bearer A1");
    assert_eq!(t.requests().len(), 1);
    // No refresh token in the answer: the old one is kept.
    assert_eq!(stored_refresh(&store).await, "R0");
}

#[tokio::test]
async fn a_pair_of_unknown_age_can_wait_for_a_401() {
    let (clock, t) = scripted([granted("A1", Some("R1"))]);
    let store = MemoryTokenStore::with_record(TokenRecord::unknown_age("A0".into(), "R0".into()));
    let settings = RefreshSettings::new(
        Duration::from_secs(60),
        Duration::ZERO,
        UnknownExpiry::UseUntilUnauthorized,
    );
    let cred = RefreshingCredential::builder(client(&t, &clock), Arc::new(store))
        .settings(settings)
        .build();
    let mut req = Request::get("x");
    let stamp = cred.authenticate(&mut req).await.unwrap();
    assert_eq!(bearer(&req), "Bearer A0");
    assert!(cred.unauthorized(stamp).await.unwrap());
    assert_eq!(t.requests().len(), 1);
    assert_eq!(cred.access_token().await.unwrap().expose_secret(), "A1");
}

#[tokio::test]
async fn a_401_refreshes_only_for_the_current_token() {
    let (clock, t) = scripted([granted("A1", Some("R1"))]);
    let store = MemoryTokenStore::with_record(record("A0", "R0", clock.system_now() + HOUR));
    let cred = credential(&t, &clock, Arc::new(store));
    let old = cred.authenticate(&mut Request::get("x")).await.unwrap();
    assert!(cred.unauthorized(old).await.unwrap());
    assert_eq!(t.requests().len(), 1);
    // A second 401 from a request sent with the old token: a newer one is ready, no refresh.
    assert!(cred.unauthorized(old).await.unwrap());
    assert_eq!(t.requests().len(), 1);
}

#[tokio::test]
async fn empty_store_means_log_in() {
    let (clock, t) = scripted([]);
    let cred = credential(&t, &clock, Arc::new(MemoryTokenStore::new()));
    let err = cred.access_token().await.unwrap_err();
    assert_eq!(
        err.auth_error().unwrap().kind,
        AuthErrorKind::ReauthenticationRequired
    );
}

#[tokio::test]
async fn invalid_grant_rereads_the_store_once_then_gives_up() {
    let refused = || Scripted::json(400, serde_json::json!({"error": "invalid_grant"}));
    let (clock, t) = scripted([refused(), refused()]);
    let expired = clock.system_now();
    let mut store = MockTokenStore::new();
    let loads = Arc::new(AtomicUsize::new(0));
    let l = loads.clone();
    store
        .expect_lock()
        .returning(|| Ok(Box::new(Fence) as Box<dyn TokenLockGuard>));
    // Under the lock the store still shows R0; after invalid_grant it shows what another
    // process rotated to.
    store.expect_load().returning(move || {
        let n = l.fetch_add(1, Ordering::SeqCst);
        Ok(Some(if n == 0 {
            record("A0", "R0", expired)
        } else {
            record("A9", "R9", expired + HOUR)
        }))
    });
    let cred = credential(&t, &clock, Arc::new(store));
    assert_eq!(cred.access_token().await.unwrap().expose_secret(), "A9");
    assert_eq!(t.requests().len(), 1);

    let mut store = fenced_store();
    store
        .expect_load()
        .times(2)
        .returning(move || Ok(Some(record("A0", "R0", expired))));
    let cred = credential(&t, &clock, Arc::new(store));
    let err = cred.access_token().await.unwrap_err();
    assert_eq!(
        err.auth_error().unwrap().kind,
        AuthErrorKind::ReauthenticationRequired
    );
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    assert_eq!(
        t.requests().len(),
        2,
        "exactly one refresh attempt, no loop"
    );
}

#[tokio::test]
async fn a_failed_save_holds_the_new_pair_back_and_retries_the_save() {
    let (clock, t) = scripted([granted("A1", Some("R1"))]);
    let expired = clock.system_now();
    let saves = Arc::new(AtomicUsize::new(0));
    let s = saves.clone();
    let mut store = fenced_store();
    store
        .expect_load()
        .returning(move || Ok(Some(record("A0", "R0", expired))));
    store.expect_save_locked().returning(move |r, _| {
        assert_eq!(r.refresh_token.as_ref().unwrap().expose_secret(), "R1");
        if s.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(Error::auth(AuthErrorKind::TokenStore, "disk full"))
        } else {
            Ok(crate::SaveOutcome::Saved)
        }
    });
    let cred = credential(&t, &clock, Arc::new(store));
    let err = cred.authenticate(&mut Request::get("x")).await.unwrap_err();
    assert_eq!(err.auth_error().unwrap().kind, AuthErrorKind::TokenStore);
    assert!(err.to_string().contains("disk full"));
    assert!(
        cred.inner.lock_state().current.is_none(),
        "the unsaved token must not be in use"
    );
    // Next call: the held-back pair is saved, then used — no second token call (R0 is dead).
    let mut req = Request::get("x");
    cred.authenticate(&mut req).await.unwrap();
    assert_eq!(bearer(&req), "Bearer A1");
    assert_eq!(t.requests().len(), 1);
    assert_eq!(saves.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_superseded_save_uses_the_newer_stored_pair_instead_of_its_own() {
    let (clock, t) = scripted([granted("A1", Some("R1"))]);
    let expired = clock.system_now();
    let valid = expired + Duration::from_secs(3600);
    let loads = Arc::new(AtomicUsize::new(0));
    let l = loads.clone();
    let mut store = fenced_store();
    // Under the lock the old pair is read; after the refused save, a newer pair is there.
    store.expect_load().returning(move || {
        Ok(Some(if l.fetch_add(1, Ordering::SeqCst) == 0 {
            record("A0", "R0", expired)
        } else {
            record("A2", "R2", valid)
        }))
    });
    store
        .expect_save_locked()
        .times(1)
        .returning(|_, _| Ok(crate::SaveOutcome::Superseded));
    let cred = credential(&t, &clock, Arc::new(store));
    let mut req = Request::get("x");
    cred.authenticate(&mut req).await.unwrap();
    assert_eq!(bearer(&req), "Bearer A2", "the newer stored pair wins");
    assert!(
        cred.inner.lock_state().pending.is_none(),
        "the refused older pair is not saved again later"
    );
}

#[tokio::test]
async fn waiters_share_one_failed_refresh() {
    let clock = ManualClock::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (c, g) = (calls.clone(), gate.clone());
    // A token endpoint that holds every answer until the test opens the gate.
    let transport = move |_req: http::Request<bytes::Bytes>| {
        let (c, g) = (c.clone(), g.clone());
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            let _permit = g.acquire().await;
            let mut r =
                http::Response::new(bytes::Bytes::from_static(br#"{"error":"invalid_client"}"#));
            *r.status_mut() = http::StatusCode::UNAUTHORIZED;
            Ok::<_, shoal_core::TransportError>(r)
        }
    };
    let oauth = example_client(transport, &clock, RetryPolicy::default(), None);
    let store = MemoryTokenStore::with_record(record("A0", "R0", clock.system_now()));
    let cred = RefreshingCredential::builder(oauth, Arc::new(store))
        .settings(no_jitter())
        .build();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = cred.clone();
            tokio::spawn(async move { c.access_token().await })
        })
        .collect();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(100);
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(
            err.auth_error().unwrap().kind,
            AuthErrorKind::OAuth(OAuthErrorCode::InvalidClient)
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn login_stores_a_new_family() {
    let (clock, t) = scripted([]);
    let store = MemoryTokenStore::new();
    let cred = credential(&t, &clock, Arc::new(store.clone()));
    let response = TokenResponse::parse(
        &shoal_core::RequestSummary {
            method: http::Method::POST,
            url: "u".into(),
        },
        br#"{"access_token":"A1","refresh_token":"R1","expires_in":3600}"#,
    )
    .unwrap();
    cred.login(response).await.unwrap();
    let saved = store.load().await.unwrap().unwrap();
    assert_eq!(saved.family_started_at, Some(clock.system_now()));
    assert_eq!(cred.access_token().await.unwrap().expose_secret(), "A1");
    let _ = RefreshToken::new("unused");
    assert!(
        cred.lifetime_warnings(&LifetimeLimits::new(
            Some(30 * DAY),
            Some(365 * DAY),
            7 * DAY
        ))
        .await
        .unwrap()
        .is_empty()
    );
}

fn granted_for(access: &str, refresh: &str, expires_in: u64) -> Scripted {
    Scripted::json(
        200,
        serde_json::json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in, "refresh_token": refresh}),
    )
}

#[tokio::test]
async fn a_three_second_token_is_refreshed_once_per_expiry_not_on_every_call() {
    let (clock, t) = scripted((1..=10).map(|i| granted_for(&format!("A{i}"), &format!("R{i}"), 3)));
    let store = MemoryTokenStore::with_record(TokenRecord::unknown_age("A0".into(), "R0".into()));
    // The default settings: a 60 s buffer and 30 s of jitter, both far longer than the token.
    let cred = RefreshingCredential::new(client(&t, &clock), Arc::new(store));
    // 20 calls, 500 ms apart: 10 s of 3-second tokens.
    for _ in 0..20 {
        cred.authenticate(&mut Request::get("x")).await.unwrap();
        clock.advance(Duration::from_millis(500));
    }
    let refreshes = t.requests().len();
    assert!(
        (4..=6).contains(&refreshes),
        "one refresh per ~2-3 s of a 3 s token over 10 s, got {refreshes}"
    );
}

#[tokio::test]
async fn force_refresh_rotates_a_fresh_token_from_the_stored_pair() {
    let (clock, t) = scripted([granted("A2", Some("R2"))]);
    let store = MemoryTokenStore::with_record(record("A0", "R0", clock.system_now() + HOUR));
    let cred = credential(&t, &clock, Arc::new(store.clone()));
    cred.authenticate(&mut Request::get("x")).await.unwrap();
    // Another holder rotated meanwhile: the forced rotation must start from its pair.
    store
        .save(&record("A1", "R1", clock.system_now() + HOUR))
        .await
        .unwrap();
    let rotated = cred.force_refresh().await.unwrap();
    assert_eq!(rotated.refresh_token.unwrap().expose_secret(), "R2");
    assert!(form(&t, 0).contains("refresh_token=R1"), "{}", form(&t, 0));
    let saved = store.load().await.unwrap().unwrap();
    assert_eq!(saved.access_token.expose_secret(), "A2");
}

#[tokio::test]
async fn a_seed_is_used_only_while_the_store_is_empty() {
    let (clock, t) = scripted([granted("A1", Some("R1")), granted("A2", Some("R2"))]);
    let store = MemoryTokenStore::new();
    let seed = TokenRecord::unknown_age("S0".into(), "SR0".into());
    let cred = RefreshingCredential::builder(client(&t, &clock), Arc::new(store.clone()))
        .settings(no_jitter())
        .seed(seed.clone())
        .build();
    cred.authenticate(&mut Request::get("x")).await.unwrap();
    assert!(form(&t, 0).contains("refresh_token=SR0"));
    assert_eq!(
        stored_refresh(&store).await,
        "R1",
        "the rotation of the seed is saved"
    );
    // A second run with the same (now spent) seed starts from the stored pair instead.
    let again = RefreshingCredential::builder(client(&t, &clock), Arc::new(store.clone()))
        .settings(no_jitter())
        .seed(seed)
        .build();
    clock.advance(HOUR);
    again.authenticate(&mut Request::get("x")).await.unwrap();
    assert!(form(&t, 1).contains("refresh_token=R1"), "{}", form(&t, 1));
}

#[tokio::test]
async fn absurd_lifetimes_are_clamped_and_saved() {
    let (clock, t) = scripted([Scripted::json(
        200,
        serde_json::json!({"access_token": "A1", "expires_in": 10_000_000_000_000u64, "refresh_token": "R1"}),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let store = crate::FileTokenStore::new(dir.path().join("t.json"));
    store
        .save(&TokenRecord::unknown_age("A0".into(), "R0".into()))
        .await
        .unwrap();
    let cred = credential(&t, &clock, Arc::new(store.clone()));
    cred.authenticate(&mut Request::get("x")).await.unwrap();
    let saved = store.load().await.unwrap().unwrap();
    assert_eq!(saved.refresh_token.unwrap().expose_secret(), "R1");
    let life = saved
        .expires_at
        .unwrap()
        .duration_since(clock.system_now())
        .unwrap();
    assert!(life <= crate::MAX_EXPIRES_IN, "{life:?}");
}
