//! [`RefreshingCredential`]: a bearer token kept fresh — single-flight, refreshed ahead of
//! expiry, rotated transactionally through a [`TokenStore`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::HeaderValue;
use http::header::AUTHORIZATION;
use rand::Rng as _;
use shoal_core::{AuthErrorKind, AuthStamp, Authenticator, Error, Request, Result, SharedClock};

use crate::flight::SingleFlight;
use crate::oauth::{AuthorizationRequest, OAuthClient, TokenResponse, is_invalid_grant};
use crate::record::{LifetimeLimits, LifetimeWarning, TokenRecord};
use crate::secret::{AccessToken, AuthorizationCode, ExposeSecret as _};
use crate::store::SaveOutcome;
use crate::store::TokenStore;

/// Called with each new pair this credential obtains, after the store has saved it.
pub type TokenChangeHook = Arc<dyn Fn(&TokenRecord) + Send + Sync>;

/// What to do with a token whose expiry is unknown and which this credential never refreshed
/// (a service account's handed-over pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnknownExpiry {
    /// Refresh before first use (default): one token call, and no request ever fails with an
    /// access token that died before we got it. PebblePad's service-account advice.
    #[default]
    RefreshFirst,
    /// Use it until the server answers 401, then refresh and replay once.
    UseUntilUnauthorized,
}

/// When to refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshSettings {
    buffer: Duration,
    jitter: Duration,
    unknown_expiry: UnknownExpiry,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        Self {
            buffer: Duration::from_secs(60),
            jitter: Duration::from_secs(30),
            unknown_expiry: UnknownExpiry::default(),
        }
    }
}

impl RefreshSettings {
    /// Refresh `buffer` before the access token expires, plus a random extra in `0..=jitter`
    /// per token (so processes sharing a token do not all reach for the lock at the same
    /// instant); both are capped by the token's own lifetime (a quarter and an eighth of it).
    /// `unknown_expiry` says what to do with a token of unknown age.
    pub fn new(buffer: Duration, jitter: Duration, unknown_expiry: UnknownExpiry) -> Self {
        Self {
            buffer,
            jitter,
            unknown_expiry,
        }
    }

    /// How long before expiry to refresh (default 60 s).
    pub fn buffer(&self) -> Duration {
        self.buffer
    }

    /// The most random extra per token (default 30 s).
    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    /// What to do with a token of unknown age.
    pub fn unknown_expiry(&self) -> UnknownExpiry {
        self.unknown_expiry
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// The token is (about to be) stale: refresh unless another holder already did.
    Expiry,
    /// The server answered 401 to the token of this generation.
    Unauthorized(u64),
    /// The caller asked for a rotation now.
    Force,
}

struct Current {
    record: TokenRecord,
    refresh_at: Option<SystemTime>,
    /// `Bearer …`, built once per token so the hot path only clones a shared buffer.
    header: Option<HeaderValue>,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    generation: u64,
    /// A rotated pair the store failed to save: never handed out, saved again before anything else.
    pending: Option<TokenRecord>,
}

struct Inner {
    client: OAuthClient,
    store: Arc<dyn TokenStore>,
    clock: SharedClock,
    settings: RefreshSettings,
    on_change: Option<TokenChangeHook>,
    /// Used when the store holds nothing yet (a service account's issued pair).
    seed: Option<TokenRecord>,
    state: Mutex<State>,
    flight: SingleFlight,
}

/// An OAuth bearer credential that refreshes itself.
///
/// - **Single-flight, run to completion:** however many tasks find the token stale, one refresh
///   runs, in a task of its own; the others wait for it and share its result (or its error). A
///   caller dropped mid-refresh (a deadline, a `select!`) cannot lose the rotated pair: the
///   refresh and its save finish regardless.
/// - **Transactional rotation:** refresh → [`TokenStore::save_locked`] → only then is the new
///   token handed out. If the save fails the call fails loudly, the store keeps the old pair,
///   and the new pair is held back and saved again on the next call.
/// - **`invalid_grant`:** the store is re-read once (another process may have rotated);
///   otherwise [`AuthErrorKind::ReauthenticationRequired`]. Never a loop, never a login.
/// - **401:** refreshes only if the failed request carried the current token.
/// - **Any lifetime:** the refresh margin scales with the token's lifetime, so even a token that
///   lives a few seconds is refreshed once per expiry, not on every call.
#[derive(Clone)]
pub struct RefreshingCredential {
    inner: Arc<Inner>,
}

impl fmt::Debug for RefreshingCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let generation = self.inner.lock_state().generation;
        f.debug_struct("RefreshingCredential")
            .field("client", &self.inner.client)
            .field("store", &self.inner.store)
            .field("settings", &self.inner.settings)
            .field("generation", &generation)
            .finish()
    }
}

/// Settings for a [`RefreshingCredential`]; finish with [`build`](Self::build).
#[must_use]
pub struct RefreshingCredentialBuilder {
    client: OAuthClient,
    store: Arc<dyn TokenStore>,
    settings: RefreshSettings,
    on_change: Option<TokenChangeHook>,
    seed: Option<TokenRecord>,
}

impl fmt::Debug for RefreshingCredentialBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingCredentialBuilder")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .field("seed", &self.seed)
            .finish()
    }
}

impl RefreshingCredentialBuilder {
    shoal_core::builder_setters! {
        /// When to refresh (default [`RefreshSettings::default`]).
        settings(settings: RefreshSettings) => settings;
        /// Called with each new pair after the store has saved it.
        on_change(hook: TokenChangeHook) => on_change = Some(hook);
        /// A pair to start from while the store holds none — a service account's issued pair. A
        /// stored pair always wins (it is newer: the seed's refresh token is spent once rotated).
        seed(record: TokenRecord) => seed = Some(record);
    }

    /// The credential (time comes from the OAuth client's pipeline clock).
    pub fn build(self) -> RefreshingCredential {
        let clock = self.client.pipeline().clock().clone();
        RefreshingCredential {
            inner: Arc::new(Inner {
                client: self.client,
                store: self.store,
                clock,
                settings: self.settings,
                on_change: self.on_change,
                seed: self.seed,
                state: Mutex::new(State::default()),
                flight: SingleFlight::default(),
            }),
        }
    }
}

impl RefreshingCredential {
    /// A credential whose tokens live in `store` and refresh through `client`, with default
    /// settings.
    pub fn new(client: OAuthClient, store: Arc<dyn TokenStore>) -> Self {
        Self::builder(client, store).build()
    }

    /// Settings for a credential whose tokens live in `store` and refresh through `client`.
    pub fn builder(client: OAuthClient, store: Arc<dyn TokenStore>) -> RefreshingCredentialBuilder {
        RefreshingCredentialBuilder {
            client,
            store,
            settings: RefreshSettings::default(),
            on_change: None,
            seed: None,
        }
    }

    /// The OAuth client refreshes go through.
    pub fn oauth_client(&self) -> &OAuthClient {
        &self.inner.client
    }

    /// The token store.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.inner.store
    }

    /// Stores and starts using the tokens of a fresh interactive login (a new family).
    pub async fn login(&self, response: TokenResponse) -> Result<()> {
        let inner = self.inner.clone();
        let record = TokenRecord::from_login(response, self.inner.clock.system_now());
        // In a flight of its own: the store holds the new family even if the caller goes away.
        self.inner
            .flight
            .run_own(move || async move { inner.store_login(record).await })
            .await
    }

    /// Exchanges an authorization code and stores the new family, both in one flight of their
    /// own: the server issues the family when it answers the exchange (and the code is spent
    /// either way), so a caller dropped while that answer is on its way must not lose it.
    pub(crate) async fn login_with_code(
        &self,
        request: AuthorizationRequest,
        code: AuthorizationCode,
    ) -> Result<()> {
        let inner = self.inner.clone();
        self.inner
            .flight
            .run_own(move || async move {
                let response = inner.client.exchange(&request, &code).await?;
                let record = TokenRecord::from_login(response, inner.clock.system_now());
                inner.store_login(record).await
            })
            .await
    }

    /// Rotates the pair now, whatever its expiry — from the newest stored pair, under the
    /// store's lock — and returns the new record once it is saved.
    pub async fn force_refresh(&self) -> Result<TokenRecord> {
        self.rotate(None).await
    }

    /// Rotates the pair now asking for a narrower `scope` (space-separated; never wider than
    /// first granted — the server answers `invalid_scope`). The new access token carries only
    /// that scope; the refresh token keeps the family's. Saved before it is returned.
    pub async fn force_refresh_with_scope(&self, scope: &str) -> Result<TokenRecord> {
        self.rotate(Some(scope.to_string())).await
    }

    async fn rotate(&self, scope: Option<String>) -> Result<TokenRecord> {
        let inner = self.inner.clone();
        self.inner
            .flight
            .run_own(move || inner.refresh_scoped(Trigger::Force, scope))
            .await?;
        self.inner
            .lock_state()
            .current
            .as_ref()
            .map(|c| c.record.clone())
            .ok_or_else(|| Error::auth(AuthErrorKind::ReauthenticationRequired, "no token"))
    }

    /// A valid access token, refreshing first if needed.
    pub async fn access_token(&self) -> Result<AccessToken> {
        self.valid_token().await?;
        let state = self.inner.lock_state();
        state
            .current
            .as_ref()
            .map(|c| c.record.access_token.clone())
            .ok_or_else(|| Error::auth(AuthErrorKind::ReauthenticationRequired, "no token"))
    }

    /// The pair held now, or the stored one when none is loaded yet.
    pub async fn record(&self) -> Result<Option<TokenRecord>> {
        let held = self
            .inner
            .lock_state()
            .current
            .as_ref()
            .map(|c| c.record.clone());
        match held {
            Some(r) => Ok(Some(r)),
            None => self.inner.store.load().await,
        }
    }

    /// Lifetime warnings for the refresh-token family held now (from the store if not loaded).
    pub async fn lifetime_warnings(&self, limits: &LifetimeLimits) -> Result<Vec<LifetimeWarning>> {
        Ok(self
            .record()
            .await?
            .map(|r| r.lifetime_warnings(limits, self.inner.clock.system_now()))
            .unwrap_or_default())
    }

    /// Waits for a refresh or login in flight, if any, to finish (and be saved).
    pub async fn settle(&self) {
        self.inner.flight.settle().await;
    }

    async fn valid_token(&self) -> Result<(Option<HeaderValue>, u64)> {
        if let Some(t) = self.inner.fresh() {
            return Ok(t);
        }
        let inner = self.inner.clone();
        self.inner
            .flight
            .run(move || inner.refresh(Trigger::Expiry))
            .await?;
        let state = self.inner.lock_state();
        let current = state
            .current
            .as_ref()
            .ok_or_else(|| Error::auth(AuthErrorKind::ReauthenticationRequired, "no token"))?;
        Ok((current.header.clone(), state.generation))
    }
}

impl Inner {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current token if it needs no refresh now.
    fn fresh(&self) -> Option<(Option<HeaderValue>, u64)> {
        let state = self.lock_state();
        let current = state.current.as_ref()?;
        self.is_fresh(current)
            .then(|| (current.header.clone(), state.generation))
    }

    fn is_fresh(&self, current: &Current) -> bool {
        match current.refresh_at {
            Some(at) => self.clock.system_now() < at,
            None => {
                current.record.refresh_issued_at.is_some()
                    || current.record.refresh_token.is_none()
                    || self.settings.unknown_expiry == UnknownExpiry::UseUntilUnauthorized
            }
        }
    }

    fn current_of(&self, record: TokenRecord) -> Current {
        let refresh_at = record.expires_at.map(|at| {
            let margin = refresh_margin(&self.settings, &record, at, self.clock.system_now());
            at.checked_sub(margin).unwrap_or(SystemTime::UNIX_EPOCH)
        });
        let header = crate::static_token::bearer(&record.access_token);
        Current {
            record,
            refresh_at,
            header,
        }
    }

    fn install(&self, record: TokenRecord, own: bool) {
        self.install_current(self.current_of(record), own);
    }

    fn install_current(&self, current: Current, own: bool) {
        let mut state = self.lock_state();
        state.current = Some(current);
        state.generation += 1;
        tracing::debug!(generation = state.generation, own, "access token installed");
    }

    fn notify(&self, record: &TokenRecord) {
        if let Some(hook) = &self.on_change {
            hook(record);
        }
    }

    /// Saves a login's new family under the store's lock, then uses it.
    async fn store_login(&self, record: TokenRecord) -> Result<()> {
        let guard = self.store.lock().await?;
        self.store.save_locked(&record, guard.fence()).await?;
        self.install(record.clone(), true);
        self.notify(&record);
        Ok(())
    }

    /// Uses the pair another holder stored after ours was refused as older.
    async fn adopt_stored(&self) -> Result<()> {
        match self.store.load().await? {
            Some(stored) => {
                tracing::debug!("a newer token pair was stored meanwhile; using it");
                self.install(stored, false);
                Ok(())
            }
            None => Err(Error::auth(
                AuthErrorKind::TokenStore,
                "the store refused our pair as older but holds none",
            )),
        }
    }

    /// One flight: decides whether a refresh is still needed, then refreshes and saves under
    /// the store's lock.
    async fn refresh(self: Arc<Self>, trigger: Trigger) -> Result<()> {
        self.refresh_scoped(trigger, None).await
    }

    async fn refresh_scoped(
        self: Arc<Self>,
        trigger: Trigger,
        scope: Option<String>,
    ) -> Result<()> {
        match trigger {
            Trigger::Expiry if self.fresh().is_some() => return Ok(()),
            Trigger::Unauthorized(stamp) if self.lock_state().generation != stamp => return Ok(()),
            _ => {}
        }
        let store = &self.store;
        let guard = store.lock().await?;
        let pending = self.lock_state().pending.take();
        if let Some(pending) = pending {
            return match store.save_locked(&pending, guard.fence()).await {
                Err(e) => {
                    self.lock_state().pending = Some(pending);
                    Err(save_failed(e))
                }
                Ok(SaveOutcome::Superseded) => self.adopt_stored().await,
                Ok(SaveOutcome::Saved) => {
                    self.install(pending.clone(), true);
                    self.notify(&pending);
                    Ok(())
                }
            };
        }
        // Re-read under the lock: another process may have rotated already.
        let stored = store.load().await?.or_else(|| self.seed.clone());
        let held = self.lock_state().current.as_ref().map(|c| c.record.clone());
        if let Some(stored) = stored.as_ref().filter(|_| trigger != Trigger::Force) {
            let differs = held.as_ref().is_none_or(|h| !h.same_access_token(stored));
            // Built once: the refresh time installed is the one that was judged fresh.
            let candidate = self.current_of(stored.clone());
            let usable = match trigger {
                Trigger::Expiry => self.is_fresh(&candidate),
                _ => differs,
            };
            if differs && usable {
                tracing::debug!("using the token pair another holder stored");
                self.install_current(candidate, false);
                return Ok(());
            }
        }
        let Some(base) = stored.or(held) else {
            return Err(Error::auth(
                AuthErrorKind::ReauthenticationRequired,
                "no tokens stored: log in first",
            ));
        };
        let Some(refresh_token) = base.refresh_token.clone() else {
            return Err(Error::auth(
                AuthErrorKind::ReauthenticationRequired,
                "the access token expired and there is no refresh token: log in again",
            ));
        };
        match self.client.refresh(&refresh_token, scope.as_deref()).await {
            Ok(response) => {
                let record = base.rotated(response, self.clock.system_now());
                match store.save_locked(&record, guard.fence()).await {
                    Err(e) => {
                        tracing::error!(error = %e, "refreshed tokens could not be saved; not using them");
                        self.lock_state().pending = Some(record);
                        return Err(save_failed(e));
                    }
                    Ok(SaveOutcome::Superseded) => return self.adopt_stored().await,
                    Ok(SaveOutcome::Saved) => {}
                }
                tracing::info!(expires_in_s = ?record.expires_at.and_then(|t| t.duration_since(self.clock.system_now()).ok()).map(|d| d.as_secs()), "access token refreshed");
                self.install(record.clone(), true);
                self.notify(&record);
                Ok(())
            }
            Err(e) if is_invalid_grant(&e) => {
                tracing::warn!(
                    "refresh token refused (invalid_grant); re-reading the token store once"
                );
                match store.load().await? {
                    Some(again) if !same_refresh(&again, &refresh_token) => {
                        self.install(again, false);
                        Ok(())
                    }
                    _ => Err(grant_gone(&e)),
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// How long before `expires_at` to refresh: the configured buffer plus jitter, but never more
/// than a quarter (plus an eighth of jitter) of the token's lifetime — so a token of a few
/// seconds is still used for most of its life, and refreshed once per expiry.
fn refresh_margin(
    settings: &RefreshSettings,
    record: &TokenRecord,
    expires_at: SystemTime,
    now: SystemTime,
) -> Duration {
    let issued = record
        .refresh_issued_at
        .filter(|t| *t <= now)
        .unwrap_or(now);
    let lifetime = expires_at.duration_since(issued).unwrap_or_default();
    let buffer = settings.buffer.min(lifetime / 4);
    let jitter_cap = settings.jitter.min(lifetime / 8);
    let jitter = if jitter_cap.is_zero() {
        Duration::ZERO
    } else {
        rand::rng().random_range(Duration::ZERO..=jitter_cap)
    };
    buffer + jitter
}

/// The one message for a refresh token the server no longer honours.
fn grant_gone(cause: &Error) -> Error {
    let detail = cause
        .auth_error()
        .map(|a| a.message.clone())
        .unwrap_or_else(|| cause.to_string());
    Error::auth(
        AuthErrorKind::ReauthenticationRequired,
        format!(
            "the refresh token was refused (invalid_grant: {detail}): the grant is gone — expired, revoked, or replayed after a rotation — so a new login is needed"
        ),
    )
}

fn same_refresh(record: &TokenRecord, token: &crate::secret::RefreshToken) -> bool {
    record
        .refresh_token
        .as_ref()
        .is_some_and(|r| crate::secret::same_secret(r.expose_secret(), token.expose_secret()))
}

fn save_failed(e: Error) -> Error {
    Error::auth(
        AuthErrorKind::TokenStore,
        format!(
            "new tokens were issued but could not be saved, so they are not used yet (the store keeps the previous pair): {e}"
        ),
    )
}

/// Puts a token's header on a request.
fn stamp(
    request: &mut Request,
    (header, generation): (Option<HeaderValue>, u64),
) -> Result<AuthStamp> {
    let value = header.ok_or_else(|| {
        Error::auth(
            AuthErrorKind::Unauthorized,
            "the access token cannot go in a header",
        )
    })?;
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(AuthStamp(generation))
}

#[async_trait]
impl Authenticator for RefreshingCredential {
    async fn authenticate(&self, request: &mut Request) -> Result<AuthStamp> {
        stamp(request, self.valid_token().await?)
    }

    fn authenticate_now(&self, request: &mut Request) -> Option<Result<AuthStamp>> {
        Some(stamp(request, self.inner.fresh()?))
    }

    async fn unauthorized(&self, stamp: AuthStamp) -> Result<bool> {
        if self.inner.lock_state().generation != stamp.0 {
            return Ok(true);
        }
        tracing::debug!("401 with the current token; refreshing");
        let inner = self.inner.clone();
        self.inner
            .flight
            .run(move || inner.refresh(Trigger::Unauthorized(stamp.0)))
            .await?;
        Ok(true)
    }
}

#[cfg(test)]
#[path = "refreshing_tests.rs"]
mod tests;
