//! OAuth against the rotating test server: single-flight refresh, failing store, a shared file
//! store, reuse detection and the loopback login round trip.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use shoal_auth::{
    ExposeSecret as _, FileTokenStore, LoopbackLogin, MemoryTokenStore, RefreshSettings,
    RefreshingCredential, TokenLockGuard, TokenRecord, TokenStore, UnknownExpiry,
};
use shoal_core::{
    AuthErrorKind, Authenticator as _, Clock as _, Error, ManualClock, Pipeline, Request,
    Transport as _,
};

use crate::server::OAuthServer;
use crate::{any_port, api, oauth_client, pipeline, query_param};

fn expired_record(access: &str, refresh: &str, clock: &ManualClock) -> TokenRecord {
    let mut r = TokenRecord::unknown_age(access.into(), refresh.into());
    r.expires_at = Some(clock.system_now() - Duration::from_secs(1));
    r.refresh_issued_at = Some(clock.system_now() - Duration::from_secs(3600));
    r
}

fn settings() -> RefreshSettings {
    RefreshSettings::new(
        Duration::from_secs(60),
        Duration::ZERO,
        UnknownExpiry::RefreshFirst,
    )
}

/// The test server, a manual clock, and a pipeline on the server's API.
async fn start() -> (OAuthServer, ManualClock, Pipeline) {
    let server = OAuthServer::start().await;
    let clock = ManualClock::new();
    let base = pipeline(&server.url("/api"), &clock);
    (server, clock, base)
}

/// A credential of the test server's client on `base` with [`settings`], keeping its tokens in
/// `store`.
fn credential(
    server: &OAuthServer,
    base: &Pipeline,
    store: impl TokenStore + 'static,
) -> RefreshingCredential {
    RefreshingCredential::builder(oauth_client(server, base), Arc::new(store))
        .settings(settings())
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_tasks_with_an_expired_token_cause_one_refresh() {
    let (server, clock, base) = start().await;
    let (access, refresh) = server.seed();
    let store = MemoryTokenStore::with_record(expired_record(&access, &refresh, &clock));
    let cred = Arc::new(credential(&server, &base, store));
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let cred = cred.clone();
            tokio::spawn(async move {
                let mut req = Request::get("me");
                cred.authenticate(&mut req).await.unwrap();
                req.headers()["authorization"].to_str().unwrap().to_string()
            })
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for t in tasks {
        seen.insert(t.await.unwrap());
    }
    assert_eq!(server.state.lock().unwrap().refresh_calls, 1);
    assert_eq!(seen.len(), 1, "every task got the same fresh token");
    assert!(!seen.contains(&format!("Bearer {access}")));
    // And the fresh token works through the pipeline.
    let api = api(&base, cred);
    api.execute(Request::get("me")).await.unwrap();
    assert!(
        server
            .state
            .lock()
            .unwrap()
            .last_token_query
            .contains("audience=testapi")
    );
}

/// A store whose saves fail: loads come from an inner memory store.
#[derive(Debug)]
struct BrokenSaves(MemoryTokenStore);

#[async_trait]
impl TokenStore for BrokenSaves {
    async fn load(&self) -> shoal_core::Result<Option<TokenRecord>> {
        self.0.load().await
    }
    async fn save(&self, _record: &TokenRecord) -> shoal_core::Result<()> {
        Err(Error::auth(AuthErrorKind::TokenStore, "disk full"))
    }
    async fn lock(&self) -> shoal_core::Result<Box<dyn TokenLockGuard>> {
        self.0.lock().await
    }
}

#[tokio::test]
async fn a_failing_save_puts_no_new_token_in_use_and_keeps_the_old_refresh_token() {
    let (server, clock, base) = start().await;
    let (access, refresh) = server.seed();
    let inner = MemoryTokenStore::with_record(expired_record(&access, &refresh, &clock));
    let cred = credential(&server, &base, BrokenSaves(inner.clone()));
    let api = api(&base, Arc::new(cred));
    let err = api.execute(Request::get("me")).await.unwrap_err();
    assert_eq!(
        err.auth_error().unwrap().kind,
        AuthErrorKind::TokenStore,
        "{err}"
    );
    {
        let st = server.state.lock().unwrap();
        assert_eq!(st.refresh_calls, 1);
        assert_eq!(st.api_calls, 0, "the unsaved access token must not be used");
    }
    let kept = inner.load().await.unwrap().unwrap();
    assert_eq!(kept.refresh_token.unwrap().expose_secret(), refresh);
    assert_eq!(kept.access_token.expose_secret(), access);
    // Still failing: the held-back pair is retried, never handed out, and no second refresh.
    assert!(api.execute(Request::get("me")).await.is_err());
    assert_eq!(server.state.lock().unwrap().refresh_calls, 1);
    assert_eq!(server.state.lock().unwrap().api_calls, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_file_store_refresh_once() {
    let server = OAuthServer::start().await;
    let clock = ManualClock::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let (access, refresh) = server.seed();
    FileTokenStore::new(&path)
        .save(&expired_record(&access, &refresh, &clock))
        .await
        .unwrap();
    let run = |name: &'static str| {
        let base = pipeline(&server.url("/api"), &clock);
        let cred = credential(&server, &base, FileTokenStore::new(&path));
        let api = api(&base, Arc::new(cred));
        tokio::spawn(async move {
            (
                name,
                api.execute(Request::get("me")).await.map(|r| r.status),
            )
        })
    };
    let (a, b) = (run("a"), run("b"));
    for task in [a, b] {
        let (name, result) = task.await.unwrap();
        assert_eq!(result.unwrap(), 200, "process {name}");
    }
    let st = server.state.lock().unwrap();
    assert_eq!(
        (st.refresh_calls, st.invalid_grants, st.revoked_families()),
        (1, 0, 0),
        "(refreshes, invalid grants, revoked families)"
    );
}

#[tokio::test]
async fn reusing_a_rotated_token_ends_in_reauthentication_not_a_loop() {
    let (server, clock, base) = start().await;
    let (access, refresh) = server.seed();
    // Two holders of the same pair with separate stores: the second reuses a rotated token.
    let [first, second] = [(); 2].map(|()| {
        let store = MemoryTokenStore::with_record(expired_record(&access, &refresh, &clock));
        credential(&server, &base, store)
    });
    first.access_token().await.unwrap();
    let err = second.access_token().await.unwrap_err();
    assert_eq!(
        err.auth_error().unwrap().kind,
        AuthErrorKind::ReauthenticationRequired
    );
    let st = server.state.lock().unwrap();
    assert_eq!(
        (st.refresh_calls, st.revoked_families()),
        (2, 1),
        "(refreshes, revoked families)"
    );
}

#[tokio::test]
async fn a_401_with_the_current_token_refreshes_and_replays_once() {
    let (server, clock, base) = start().await;
    let (access, refresh) = server.seed();
    let mut record = expired_record(&access, &refresh, &clock);
    record.expires_at = Some(clock.system_now() + Duration::from_secs(3600));
    let cred = credential(&server, &base, MemoryTokenStore::with_record(record));
    let api = api(&base, Arc::new(cred));
    api.execute(Request::get("me")).await.unwrap();
    server.expire_access_tokens();
    api.execute(Request::get("me")).await.unwrap();
    let st = server.state.lock().unwrap();
    assert_eq!(st.refresh_calls, 1);
    assert_eq!(st.api_calls, 3);
}

/// Plays the browser: asks the authorization server, returns its redirect `Location`.
async fn browser_authorize(url: &str) -> String {
    let transport = shoal_core::ReqwestTransport::new().unwrap();
    let req = http::Request::get(url).body(Bytes::new()).unwrap();
    let resp = transport.send(req).await.unwrap();
    assert_eq!(resp.status(), 302);
    resp.headers()["location"].to_str().unwrap().to_string()
}

async fn browser_get(url: &str) -> (u16, String) {
    let transport = shoal_core::ReqwestTransport::new().unwrap();
    let resp = transport
        .send(http::Request::get(url).body(Bytes::new()).unwrap())
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(resp.body()).into_owned(),
    )
}

#[tokio::test]
async fn loopback_login_round_trip_with_pkce_refusing_a_wrong_state() {
    let (server, _clock, base) = start().await;
    let client = oauth_client(&server, &base);
    let login = LoopbackLogin::start(&client, any_port()).await.unwrap();
    let redirect = login.redirect_uri().to_string();
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"),
        "{redirect}"
    );
    let authorize = login.authorize_url().clone();
    assert_eq!(
        query_param(&authorize, "redirect_uri"),
        Some(redirect.clone())
    );
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );

    let location = browser_authorize(authorize.as_str()).await;
    assert!(location.starts_with(&redirect));
    // A forged callback (same code, wrong state) is refused and does not end the login.
    let mut forged = url::Url::parse(&location).unwrap();
    let pairs: Vec<(String, String)> = forged.query_pairs().into_owned().collect();
    forged.query_pairs_mut().clear();
    for (k, v) in &pairs {
        forged
            .query_pairs_mut()
            .append_pair(k, if k == "state" { "forged" } else { v });
    }
    let (status, page) = browser_get(forged.as_str()).await;
    assert_eq!(status, 400, "{page}");
    let (status, page) = browser_get(&location).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Signed in"));

    let tokens = login.finish().await.unwrap();
    assert!(tokens.refresh_token.is_some());
    {
        let st = server.state.lock().unwrap();
        assert_eq!(
            (st.token_calls, st.invalid_grants),
            (1, 0),
            "code + PKCE + exact redirect URI accepted"
        );
    }
    let cred = RefreshingCredential::new(client, Arc::new(MemoryTokenStore::new()));
    cred.login(tokens).await.unwrap();
    api(&base, Arc::new(cred))
        .execute(Request::get("me"))
        .await
        .unwrap();
}

#[tokio::test]
async fn loopback_login_times_out_on_the_clock() {
    let (server, clock, base) = start().await;
    let client = oauth_client(&server, &base);
    let login = LoopbackLogin::start(&client, any_port().timeout(Duration::from_secs(120)))
        .await
        .unwrap();
    let waiting = tokio::spawn(login.finish());
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    clock.advance(Duration::from_secs(120));
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.auth_error().unwrap().kind, AuthErrorKind::Login);
    assert!(err.to_string().contains("120s"), "{err}");
}
