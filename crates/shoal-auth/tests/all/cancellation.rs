//! Cancellation safety (issue 17): a caller may drop any future at any `.await`, and nothing the
//! server has already done may be lost because of it.
//!
//! Every credential future is dropped at each of its pending points in turn
//! ([`drop_at_every_pending_point`]) against the emulators: Pearl Diver's authorization server
//! rotates refresh tokens and revokes the whole family when a rotated one is presented again;
//! Paya's opens sliding sessions. After each drop (and once the dropped caller's flight has
//! settled) the token store must hold the newest pair the server issued — or the previous one if
//! the server never answered — never a spent one: a fresh credential on the same store then
//! refreshes without the family being revoked. A session the server opened must be the one the
//! credential holds (no second login).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use shoal_auth::{
    ClientAuth, ClientSecret, ExposeSecret as _, FileTokenStore, Login, MemoryTokenStore,
    OAuthClient, OAuthConfig, ParamPlacement, Password, PlacedParam, RefreshSettings, RefreshToken,
    RefreshingCredential, RefreshingCredentialBuilder, SessionConfig, SessionEndpoint,
    SessionTokenAuth, TokenRecord, TokenStore, UnknownExpiry,
};
use shoal_core::test_util::{Round, drop_at_every_pending_point};
use shoal_core::{Clock as _, ManualClock, Pipeline, Request, Transport as _};
use shoal_testkit::RedirectUris;
use shoal_testkit::paya::Paya;
use shoal_testkit::pearldiver::{PearlDiver, PearlDiverConfig};

use crate::{any_port, api, pipeline};

/// The access token's lifetime on the emulator; [`Rig::expire`] moves past it.
const TTL: Duration = Duration::from_secs(3600);

/// The Pearl Diver emulator, its clock, and an OAuth client configured as shoal-pearldiver's.
struct Rig {
    pd: PearlDiver,
    clock: ManualClock,
    base: Pipeline,
    oauth: OAuthClient,
}

impl Rig {
    async fn start() -> Self {
        let clock = ManualClock::new();
        let pd = PearlDiver::start(PearlDiverConfig {
            clock: clock.shared(),
            access_token_ttl: TTL,
            redirect_uris: RedirectUris::any_loopback_port(),
            ..Default::default()
        })
        .await
        .unwrap();
        let e = pd.endpoints().clone();
        let base = pipeline(&e.api_base, &clock);
        let config = OAuthConfig::new(
            e.authorize_url.parse().unwrap(),
            e.token_url.parse().unwrap(),
            e.client_id.clone(),
            e.redirect_uri.clone(),
        )
        .client_secret(ClientSecret::new(e.client_secret.clone()))
        .client_auth(ClientAuth::SecretPost)
        .scopes(["openid", "offline_access"])
        .authorize_param("audience", e.audience.clone())
        .token_query_param("audience", e.audience.clone());
        let oauth = OAuthClient::new(config, &base);
        Self {
            pd,
            clock,
            base,
            oauth,
        }
    }

    fn credential(&self, store: &Arc<dyn TokenStore>) -> RefreshingCredential {
        self.builder(store).build()
    }

    /// A credential that writes the refresh token of each pair it stores and uses into `log`.
    fn logged_credential(&self, store: &Arc<dyn TokenStore>, log: &Log) -> RefreshingCredential {
        let log = log.clone();
        self.builder(store)
            .on_change(Arc::new(move |record: &TokenRecord| {
                log.lock().unwrap().push(Self::stored_refresh(record));
            }))
            .build()
    }

    fn builder(&self, store: &Arc<dyn TokenStore>) -> RefreshingCredentialBuilder {
        RefreshingCredential::builder(self.oauth.clone(), store.clone()).settings(
            RefreshSettings::new(
                Duration::from_secs(60),
                Duration::ZERO,
                UnknownExpiry::RefreshFirst,
            ),
        )
    }

    async fn stored(store: &Arc<dyn TokenStore>) -> String {
        Self::stored_refresh(&store.load().await.unwrap().unwrap())
    }

    /// A new family (a login without HTTP), stored as already expired.
    async fn seed(&self, store: &Arc<dyn TokenStore>) {
        let pair = self.pd.mint_tokens();
        let mut record =
            TokenRecord::unknown_age(pair.access_token.into(), pair.refresh_token.into());
        record.expires_at = Some(self.clock.system_now());
        record.refresh_issued_at = Some(self.clock.system_now() - TTL);
        store.save(&record).await.unwrap();
    }

    /// Moves time past the access token's life: whatever is stored needs a refresh.
    fn expire(&self) {
        self.clock.advance(TTL + Duration::from_secs(60));
    }

    fn stored_refresh(stored: &TokenRecord) -> String {
        stored
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_string())
            .unwrap_or_default()
    }

    /// The invariant, or why it does not hold: the stored refresh token is the live one of its
    /// family (the newest issued — an older one is spent), and a fresh credential on the same
    /// store rotates it without presenting a spent token. Gives the refresh token stored after
    /// that rotation.
    async fn intact(&self, store: &Arc<dyn TokenStore>) -> Result<String, String> {
        let stored = store
            .load()
            .await
            .map_err(|e| format!("the store cannot be read: {e}"))?
            .ok_or("the store holds nothing")?;
        let refresh = Self::stored_refresh(&stored);
        if !self.pd.refresh_token_is_live(&refresh) {
            return Err("the store holds a spent (or revoked) refresh token".into());
        }
        let reuse_before = self.pd.traffic().refresh_reuse();
        let rotated = self
            .credential(store)
            .force_refresh()
            .await
            .map_err(|e| format!("a fresh credential on the store cannot refresh: {e}"))?;
        if self.pd.traffic().refresh_reuse() != reuse_before {
            return Err("a spent refresh token was presented".into());
        }
        Ok(Self::stored_refresh(&rotated))
    }

    /// [`Rig::assert_intact`], once the store is seen to hold `refresh`, when given: the refresh
    /// token of the pair a completed call returned, or of the pair a login was handed.
    async fn assert_holds(&self, store: &Arc<dyn TokenStore>, refresh: Option<&str>, what: &str) {
        if let Some(refresh) = refresh {
            assert_eq!(
                Self::stored(store).await,
                refresh,
                "{what}: the store holds the pair returned or handed over"
            );
        }
        self.assert_intact(store, what).await;
    }

    async fn assert_intact(&self, store: &Arc<dyn TokenStore>, what: &str) -> String {
        match self.intact(store).await {
            Ok(refresh) => refresh,
            Err(why) => panic!("{what}: {why}"),
        }
    }
}

/// The directory that holds a file store, to keep while the store is in use.
type StoreDir = Option<tempfile::TempDir>;

/// A memory store and a file store (with the directory that holds it).
fn stores() -> Vec<(&'static str, Arc<dyn TokenStore>, StoreDir)> {
    let dir = tempfile::tempdir().unwrap();
    let file = FileTokenStore::new(dir.path().join("tokens.json"));
    vec![
        ("memory", Arc::new(MemoryTokenStore::new()), None),
        ("file", Arc::new(file), Some(dir)),
    ]
}

/// [`stores`], then [`stores`] again with a rotation already in flight (`true`) when the login
/// starts, each named for what it is.
fn stores_idle_then_busy() -> Vec<(String, Arc<dyn TokenStore>, StoreDir, bool)> {
    let idle = stores()
        .into_iter()
        .map(|(name, store, dir)| (name.to_string(), store, dir, false));
    let busy = stores()
        .into_iter()
        .map(|(name, store, dir)| (format!("{name} (refresh in flight)"), store, dir, true));
    idle.chain(busy).collect()
}

/// What a round's completed call returned, which must have succeeded (`what` names the round,
/// `call` what completed).
fn succeeded<T, E: std::fmt::Display>(
    outcome: Option<Result<T, E>>,
    what: &str,
    call: &str,
) -> Option<T> {
    outcome.map(|r| r.unwrap_or_else(|e| panic!("{what}: the completed {call} failed: {e}")))
}

/// The refresh tokens of the pairs a credential stored and used, in order.
type Log = Arc<Mutex<Vec<String>>>;

/// What a login round starts from: how many families the server had issued, and the refresh
/// token stored.
struct Before(Mutex<(usize, String)>);

impl Before {
    async fn now(rig: &Rig, store: &Arc<dyn TokenStore>) -> Self {
        Self(Mutex::new((
            rig.pd.stats().families,
            Rig::stored(store).await,
        )))
    }

    /// The refresh token stored before the round, if the server has issued a new family since.
    fn new_family(&self, rig: &Rig) -> Option<String> {
        let (families, stored) = self.0.lock().unwrap().clone();
        (rig.pd.stats().families > families).then_some(stored)
    }

    /// [`Rig::assert_intact`], then starts the next round from there.
    async fn assert_intact(&self, rig: &Rig, store: &Arc<dyn TokenStore>, what: &str) {
        let refresh = rig.assert_intact(store, what).await;
        *self.0.lock().unwrap() = (rig.pd.stats().families, refresh);
    }
}

/// Holds the credential of the round in progress, so that the check can settle its flight.
type Slot = Mutex<Option<RefreshingCredential>>;

/// Keeps (a handle on) `credential` in `slot`, and gives it back.
fn keep(slot: &Slot, credential: RefreshingCredential) -> RefreshingCredential {
    *slot.lock().unwrap() = Some(credential.clone());
    credential
}

async fn settle(slot: &Slot) {
    let credential = slot.lock().unwrap().take();
    if let Some(credential) = credential {
        credential.settle().await;
    }
}

/// Settles the flight of the round's credential, and gives the round's name (`context`, then the
/// round) and what its call returned if it completed, which must have succeeded.
async fn settled<T, E: std::fmt::Display>(
    slot: &Slot,
    context: &str,
    round: Round<Result<T, E>>,
    call: &str,
) -> (String, Option<T>) {
    let (what, outcome) = (format!("{context}, {round}"), round.into_output());
    settle(slot).await;
    let output = succeeded(outcome, &what, call);
    (what, output)
}

/// Starts a rotation on `credential` and leaves it running (its caller dropped at once).
fn start_refresh(credential: &RefreshingCredential) {
    assert!(credential.force_refresh().now_or_never().is_none());
}

#[tokio::test]
async fn an_access_token_dropped_anywhere_keeps_the_family() {
    let rig = &Rig::start().await;
    for (name, store, _dir) in stores() {
        let store = &store;
        rig.seed(store).await;
        let slot = &Slot::default();
        let points = drop_at_every_pending_point(
            || {
                rig.expire();
                let credential = keep(slot, rig.credential(store));
                async move { credential.access_token().await }
            },
            |round| async move {
                let (what, _) = settled(slot, &format!("{name} store"), round, "call").await;
                rig.assert_intact(store, &what).await;
            },
        )
        .await;
        assert!(points >= 1, "{name}: the refresh is awaited at least once");
    }
    assert_eq!(rig.pd.traffic().refresh_reuse(), 0);
}

#[tokio::test]
async fn an_api_call_dropped_anywhere_keeps_the_family() {
    let rig = &Rig::start().await;
    for (name, store, _dir) in stores() {
        let store = &store;
        // The refresh comes from expiry, or from the server's 401 to a token it still held.
        for unauthorized in [false, true] {
            rig.seed(store).await;
            let slot = &Slot::default();
            let refreshes = &Mutex::new(0);
            let points = drop_at_every_pending_point(
                || {
                    *refreshes.lock().unwrap() = rig.pd.traffic().token_calls("refresh_token");
                    if unauthorized {
                        rig.pd.faults().push(
                            shoal_testkit::Fault::status(401)
                                .times(1)
                                .on_path("/v1/audiences"),
                        );
                    } else {
                        rig.expire();
                    }
                    let credential = keep(slot, rig.credential(store));
                    let api = api(&rig.base, Arc::new(credential));
                    async move { api.execute(Request::get("audiences")).await }
                },
                |round| async move {
                    let context = format!("{name} store, 401 {unauthorized}");
                    let (what, answer) = settled(slot, &context, round, "call").await;
                    rig.pd.faults().clear();
                    if answer.is_some() {
                        let before = *refreshes.lock().unwrap();
                        assert_eq!(
                            rig.pd.traffic().token_calls("refresh_token"),
                            before + 1,
                            "{what}: one refresh"
                        );
                    }
                    rig.assert_intact(store, &what).await;
                },
            )
            .await;
            assert!(
                points >= 2,
                "{name}: the refresh and the API call are each awaited ({points} points)"
            );
        }
    }
}

#[tokio::test]
async fn a_forced_rotation_dropped_anywhere_keeps_the_family() {
    let rig = &Rig::start().await;
    for (name, store, _dir) in stores() {
        let store = &store;
        for scope in [None, Some("openid offline_access")] {
            rig.seed(store).await;
            let slot = &Slot::default();
            drop_at_every_pending_point(
                || {
                    let credential = keep(slot, rig.credential(store));
                    async move {
                        match scope {
                            None => credential.force_refresh().await,
                            Some(scope) => credential.force_refresh_with_scope(scope).await,
                        }
                    }
                },
                |round| async move {
                    let context = format!("{name} store, scope {scope:?}");
                    let (what, returned) = settled(slot, &context, round, "call").await;
                    let returned = returned.map(|pair| Rig::stored_refresh(&pair));
                    rig.assert_holds(store, returned.as_deref(), &what).await;
                },
            )
            .await;
        }
    }
}

/// A login's code exchange creates a new family on the server: dropped anywhere, the store ends
/// up with that family when the server answered, or keeps the previous one when it did not.
#[tokio::test]
async fn a_login_completion_dropped_anywhere_stores_the_new_family() {
    let rig = &Rig::start().await;
    let browser = shoal_core::ReqwestTransport::new().unwrap();
    // The emulated browser: the authorize page redirects at once with a code.
    let redirect_for = &|url: String| {
        let browser = browser.clone();
        async move {
            let request = http::Request::get(url).body(Bytes::new()).unwrap();
            let answer = browser.send(request).await.unwrap();
            answer.headers()["location"].to_str().unwrap().to_string()
        }
    };
    for (name, store, _dir, busy) in stores_idle_then_busy() {
        let (name, store) = (&name, &store);
        rig.seed(store).await;
        let login = &Login::new(rig.credential(store));
        let pending = login.authorize();
        let next = &Mutex::new(Some((
            pending.clone(),
            redirect_for(pending.url().to_string()).await,
        )));
        let before = &Before::now(rig, store).await;
        let slot = &Slot::default();
        let used = &Log::default();
        drop_at_every_pending_point(
            || {
                let credential = keep(slot, rig.logged_credential(store, used));
                if busy {
                    start_refresh(&credential);
                }
                let (pending, redirect) = next.lock().unwrap().take().unwrap();
                async move { Login::new(credential).complete(&pending, &redirect).await }
            },
            |round| async move {
                let (what, _) = settled(slot, &format!("{name} store"), round, "login").await;
                let stored = Rig::stored(store).await;
                let used = std::mem::take(&mut *used.lock().unwrap());
                if let Some(previous) = before.new_family(rig) {
                    // The server issued a new family: stored and used last, after the rotation
                    // that was in flight, if any.
                    assert_eq!(
                        used.len(),
                        1 + usize::from(busy),
                        "{what}: the server issued a new family but it was not stored"
                    );
                    assert_eq!(used.last(), Some(&stored), "{what}");
                    assert_ne!(stored, previous, "{what}");
                }
                before.assert_intact(rig, store, &what).await;
                let pending = login.authorize();
                let redirect = redirect_for(pending.url().to_string()).await;
                *next.lock().unwrap() = Some((pending, redirect));
            },
        )
        .await;
    }
}

/// The loopback login: waiting for the browser, then the exchange, then the save.
#[tokio::test]
async fn a_loopback_login_dropped_anywhere_stores_the_new_family() {
    let rig = &Rig::start().await;
    let browser = shoal_core::ReqwestTransport::new().unwrap();
    for (name, store, _dir) in stores() {
        let store = &store;
        rig.seed(store).await;
        let slot = &Slot::default();
        let start = &|| async {
            let credential = keep(slot, rig.credential(store));
            let pending = Login::new(credential).loopback(any_port()).await.unwrap();
            // The browser follows the authorize redirect to the listener, on its own.
            let browser = browser.clone();
            let url = pending.authorize_url().to_string();
            tokio::spawn(async move {
                let get = |url: &str| http::Request::get(url).body(Bytes::new()).unwrap();
                if let Ok(answer) = browser.send(get(&url)).await {
                    let location = answer.headers()["location"].to_str().unwrap().to_string();
                    let _ = browser.send(get(&location)).await;
                }
            });
            pending
        };
        let next = &Mutex::new(Some(start().await));
        let before = &Before::now(rig, store).await;
        drop_at_every_pending_point(
            || {
                let pending = next.lock().unwrap().take().unwrap();
                async move { pending.finish().await }
            },
            |round| async move {
                let (what, _) = settled(slot, &format!("{name} store"), round, "login").await;
                if let Some(previous) = before.new_family(rig) {
                    assert_ne!(
                        Rig::stored(store).await,
                        previous,
                        "{what}: the server issued a new family but the store does not hold it"
                    );
                }
                before.assert_intact(rig, store, &what).await;
                *next.lock().unwrap() = Some(start().await);
            },
        )
        .await;
    }
}

#[tokio::test]
async fn a_login_with_tokens_in_hand_dropped_anywhere_stores_them() {
    let rig = &Rig::start().await;
    for (name, store, _dir, busy) in stores_idle_then_busy() {
        let (name, store) = (&name, &store);
        rig.seed(store).await;
        // Tokens of a new family, as an exchange would return them.
        let issue = &|| async {
            let pair = rig.pd.mint_tokens();
            rig.oauth
                .refresh(&RefreshToken::new(pair.refresh_token), None)
                .await
                .unwrap()
        };
        let next = &Mutex::new(issue().await);
        let slot = &Slot::default();
        drop_at_every_pending_point(
            || {
                let credential = keep(slot, rig.credential(store));
                if busy {
                    start_refresh(&credential);
                }
                let tokens = next.lock().unwrap().clone();
                async move { credential.login(tokens).await }
            },
            |round| async move {
                let (what, _) = settled(slot, &format!("{name} store"), round, "login").await;
                let given = next.lock().unwrap().refresh_token.clone().unwrap();
                rig.assert_holds(store, Some(given.expose_secret()), &what)
                    .await;
                *next.lock().unwrap() = issue().await;
            },
        )
        .await;
    }
}

/// The check can fail: a refresh that saves in the caller's future (with one `.await` between
/// the answer and the save, as any remote store has) loses the rotation when dropped there, and
/// the next holder presents the spent token, which revokes the family.
#[tokio::test]
async fn the_invariant_catches_a_refresh_that_saves_in_the_callers_future() {
    let rig = &Rig::start().await;
    let store: &Arc<dyn TokenStore> = &(Arc::new(MemoryTokenStore::new()) as Arc<dyn TokenStore>);
    rig.seed(store).await;
    let broken = &Mutex::new(Vec::new());
    drop_at_every_pending_point(
        || {
            let (store, oauth, now) = (store.clone(), rig.oauth.clone(), rig.clock.system_now());
            async move {
                let held = store.load().await.unwrap().unwrap();
                let refresh = held.refresh_token.clone().unwrap();
                let answer = oauth.refresh(&refresh, None).await.unwrap();
                tokio::task::yield_now().await;
                store.save(&held.rotated(answer, now)).await.unwrap();
            }
        },
        |round| async move {
            let n = round.to_string();
            if let Err(why) = rig.intact(store).await {
                broken.lock().unwrap().push((n, why));
                rig.seed(store).await; // a new login, for the rounds that follow
            }
        },
    )
    .await;
    let broken = broken.lock().unwrap().clone();
    assert!(
        !broken.is_empty(),
        "dropping between the answer and the save must lose the rotation"
    );
    assert!(
        broken
            .iter()
            .all(|(_, why)| why.contains("spent (or revoked) refresh token")),
        "{broken:?}"
    );
}

// --- Paya sessions -----------------------------------------------------------------------

struct PayaRig {
    paya: Paya,
    base: Pipeline,
}

impl PayaRig {
    async fn start() -> Self {
        let clock = ManualClock::new();
        let paya = Paya::start_with_clock(clock.shared()).await.unwrap();
        let base = pipeline(&format!("{}/", paya.endpoints().base_url), &clock);
        Self { paya, base }
    }

    fn session(&self) -> SessionTokenAuth {
        let e = self.paya.endpoints();
        let config = SessionConfig::new(
            SessionEndpoint::new("v2/token", "access-token", Duration::from_secs(15 * 60)),
            e.username.clone(),
            Password::new(e.password.clone()),
            e.domain.clone(),
        )
        .param(PlacedParam::new(
            "developer-id",
            e.developer_id.clone(),
            ParamPlacement::Header,
        ));
        SessionTokenAuth::new(config, &self.base)
    }

    fn logins(&self) -> usize {
        self.paya.traffic().count("POST", "/v2/token")
    }

    /// The session the server opened for this credential is the one it holds: asking for a
    /// token again opens none (exactly one login since `logins_before`), and it is alive.
    async fn assert_one_session(&self, auth: &SessionTokenAuth, logins_before: usize, what: &str) {
        auth.settle().await;
        let token = auth.token().await.unwrap();
        assert_eq!(
            self.logins() - logins_before,
            1,
            "{what}: the session the server opened was lost (a second login)"
        );
        let live_before = self.paya.live_sessions();
        auth.logout().await.unwrap();
        assert_eq!(
            self.paya.live_sessions() + 1,
            live_before,
            "{what}: the session held ({}…) was alive on the server",
            &token.expose_secret()[..4]
        );
    }
}

#[tokio::test]
async fn a_session_login_dropped_anywhere_keeps_the_session_it_opened() {
    let rig = &PayaRig::start().await;
    let slot = &Mutex::new(None);
    for through_api in [false, true] {
        let points = drop_at_every_pending_point(
            || {
                let auth = rig.session();
                *slot.lock().unwrap() = Some((auth.clone(), rig.logins()));
                let api = api(&rig.base, Arc::new(auth.clone()));
                async move {
                    if through_api {
                        api.execute(Request::get("v2/contacts")).await.map(drop)
                    } else {
                        auth.token().await.map(drop)
                    }
                }
            },
            |round| async move {
                let what = format!("through the API {through_api}, {round}");
                succeeded(round.into_output(), &what, "call");
                let (auth, logins_before) = slot.lock().unwrap().take().unwrap();
                rig.assert_one_session(&auth, logins_before, &what).await;
            },
        )
        .await;
        assert!(points >= 1);
    }
}

#[tokio::test]
async fn a_relogin_after_a_401_dropped_anywhere_keeps_the_new_session() {
    let rig = &PayaRig::start().await;
    let slot = &Mutex::new(None);
    drop_at_every_pending_point(
        || {
            let auth = rig.session();
            let api = api(&rig.base, Arc::new(auth.clone()));
            *slot.lock().unwrap() = Some((auth, rig.logins()));
            // The first answer is a 401: the credential logs in again and replays once.
            rig.paya.faults().push(
                shoal_testkit::Fault::status(401)
                    .times(1)
                    .on_path("/v2/contacts"),
            );
            async move { api.execute(Request::get("v2/contacts")).await.map(drop) }
        },
        |round| async move {
            let (what, outcome) = (round.to_string(), round.into_output());
            rig.paya.faults().clear();
            succeeded(outcome, &what, "call");
            let (auth, logins_before) = slot.lock().unwrap().take().unwrap();
            auth.settle().await;
            // Whatever logins happened (one, or two after the 401), the last opened is held.
            let logins = rig.logins() - logins_before;
            auth.token().await.unwrap();
            assert_eq!(
                rig.logins() - logins_before,
                logins.max(1),
                "{what}: the session opened last was lost"
            );
            auth.logout().await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn a_logout_dropped_anywhere_ends_the_session() {
    let rig = &PayaRig::start().await;
    let slot = &Mutex::new(None);
    let make_session = &|| async {
        let auth = rig.session();
        auth.token().await.unwrap();
        auth
    };
    *slot.lock().unwrap() = Some(make_session().await);
    let points = drop_at_every_pending_point(
        || {
            let auth = slot.lock().unwrap().clone().unwrap();
            async move { auth.logout().await }
        },
        |round| async move {
            let (n, outcome) = (round.to_string(), round.into_output());
            if let Some(done) = outcome {
                done.unwrap();
            }
            let auth = slot.lock().unwrap().take().unwrap();
            auth.settle().await;
            assert_eq!(
                rig.paya.live_sessions(),
                0,
                "{n}: the logout was not finished"
            );
            *slot.lock().unwrap() = Some(make_session().await);
        },
    )
    .await;
    assert!(points >= 1);
}

// --- Token stores ------------------------------------------------------------------------

fn numbered(n: u32) -> TokenRecord {
    TokenRecord::unknown_age(format!("A{n}").into(), format!("R{n}").into())
}

/// Every entry of `dir` but the token file and its lock file.
fn strays(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "tokens.json" && name != "tokens.json.lock")
        .collect()
}

/// `save` and `save_locked` of the memory and file stores, dropped anywhere: the write lands
/// whole (a file save runs on a blocking thread, which a drop does not stop), or — for a save
/// whose lock was never taken — not at all; no temp file is left behind.
#[test]
fn a_store_save_dropped_anywhere_lands_whole_or_not_at_all() {
    // One blocking thread: the check's load runs after whatever the dropped save started.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        for (name, store, dir) in stores() {
            let (store, dir) = (&store, &dir);
            store.save(&numbered(0)).await.unwrap();
            let written = &Mutex::new(0u32);
            for locked in [false, true] {
                let points = drop_at_every_pending_point(
                    || {
                        let record = {
                            let mut n = written.lock().unwrap();
                            *n += 1;
                            numbered(*n)
                        };
                        let store = store.clone();
                        async move {
                            if locked {
                                let guard = store.lock().await?;
                                store.load().await?;
                                let outcome = store.save_locked(&record, guard.fence()).await?;
                                assert_eq!(outcome, shoal_auth::SaveOutcome::Saved);
                                Ok(())
                            } else {
                                store.save(&record).await
                            }
                        }
                    },
                    |round| async move {
                        let what = format!("{name} store, locked {locked}, {round}");
                        let dropped = round.dropped();
                        if let Some(saved) = round.into_output() {
                            saved.unwrap();
                        }
                        let n = *written.lock().unwrap();
                        let stored = store.load().await.unwrap().unwrap();
                        let stored = Rig::stored_refresh(&stored);
                        if locked && dropped {
                            // Dropped before its lock was taken, the save never started.
                            let before = (1..n).map(|k| format!("R{k}")).collect::<Vec<_>>();
                            assert!(
                                stored == format!("R{n}") || before.contains(&stored),
                                "{what}: {stored}"
                            );
                        } else {
                            assert_eq!(stored, format!("R{n}"), "{what}: the save landed");
                        }
                        if let Some(dir) = dir {
                            assert_eq!(strays(dir.path()), Vec::<String>::new(), "{what}");
                        }
                    },
                )
                .await;
                if name == "file" {
                    assert!(points >= 1, "{name}: a file save is awaited");
                }
            }
        }
    });
}

/// A refresh lock taken by another holder, given back by a task after a few turns.
async fn contend(store: &Arc<dyn TokenStore>) {
    let held = store.lock().await.unwrap();
    tokio::spawn(async move {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        drop(held);
    });
}

/// `lock` of the memory and file stores dropped anywhere — free or held by another holder
/// (another descriptor of the file), while it waits or once it has been handed the lock: the
/// lock is free again for the next holder.
#[tokio::test]
async fn a_store_lock_dropped_anywhere_leaves_it_free() {
    for (name, store, dir) in stores() {
        let store = &store;
        // Another handle: for the file store, another open file (flock excludes it too).
        let other: &Arc<dyn TokenStore> = &match &dir {
            Some(dir) => Arc::new(FileTokenStore::new(dir.path().join("tokens.json"))),
            None => store.clone(),
        };
        for contended in [false, true] {
            if contended {
                contend(other).await;
            }
            let points = drop_at_every_pending_point(
                || store.lock(),
                |round| async move {
                    let what = format!("{name} store, contended {contended}, {round}");
                    if let Some(guard) = round.into_output() {
                        drop(guard.unwrap());
                    }
                    let next = tokio::time::timeout(Duration::from_secs(10), other.lock()).await;
                    let next = next.unwrap_or_else(|_| panic!("{what}: the lock was left held"));
                    drop(next.unwrap());
                    if contended {
                        contend(other).await;
                    }
                },
            )
            .await;
            if contended {
                assert!(points >= 1, "{name}: a held lock is waited for");
            }
        }
    }
}
