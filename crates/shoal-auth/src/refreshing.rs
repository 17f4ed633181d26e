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

use crate::oauth::{OAuthClient, TokenResponse, is_invalid_grant};
use crate::record::{LifetimeLimits, LifetimeWarning, TokenRecord};
use crate::secret::{AccessToken, ExposeSecret as _};
use crate::store::SaveOutcome;
use crate::store::TokenStore;

/// Called with each new pair this credential obtains, after the store has saved it.
pub type TokenChangeHook = Arc<dyn Fn(&TokenRecord) + Send + Sync>;

/// What to do with a token whose expiry is unknown and which this credential never refreshed
/// (a service account's handed-over pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
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
    /// Refresh this long before the access token expires (default 60 s).
    pub buffer: Duration,
    /// Plus a random extra in `0..=jitter` per token (default 30 s), so processes sharing a
    /// token do not all reach for the lock at the same instant.
    pub jitter: Duration,
    /// What to do with a token of unknown age.
    pub unknown_expiry: UnknownExpiry,
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
    /// Settings with this buffer and jitter.
    pub fn new(buffer: Duration, jitter: Duration, unknown_expiry: UnknownExpiry) -> Self {
        Self {
            buffer,
            jitter,
            unknown_expiry,
        }
    }
}

#[derive(Clone, Copy)]
enum Trigger {
    Expiry,
    Unauthorized,
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
    attempts: u64,
    last_failure: Option<Error>,
}

struct Inner {
    client: OAuthClient,
    store: Arc<dyn TokenStore>,
    clock: SharedClock,
    settings: RefreshSettings,
    on_change: Option<TokenChangeHook>,
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
}

/// An OAuth bearer credential that refreshes itself.
///
/// - **Single-flight:** however many tasks find the token stale, one refresh runs; the others
///   wait for it and share its result (or its error).
/// - **Transactional rotation:** refresh → [`TokenStore::save_locked`] → only then is the new
///   token handed out. If the save fails the call fails loudly, the store keeps the old pair,
///   and the new pair is held back and saved again on the next call.
/// - **`invalid_grant`:** the store is re-read once (another process may have rotated);
///   otherwise [`AuthErrorKind::ReauthenticationRequired`]. Never a loop, never a login.
/// - **401:** refreshes only if the failed request carried the current token.
#[derive(Clone)]
pub struct RefreshingCredential {
    inner: Arc<Inner>,
}

impl fmt::Debug for RefreshingCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let generation = self
            .inner
            .state
            .lock()
            .map(|s| s.generation)
            .unwrap_or_default();
        f.debug_struct("RefreshingCredential")
            .field("client", &self.inner.client)
            .field("store", &self.inner.store)
            .field("settings", &self.inner.settings)
            .field("generation", &generation)
            .finish()
    }
}

impl RefreshingCredential {
    /// A credential whose tokens live in `store` and refresh through `client` (time comes from
    /// the client's pipeline clock).
    pub fn new(client: OAuthClient, store: Arc<dyn TokenStore>) -> Self {
        Self::with_settings(client, store, RefreshSettings::default(), None)
    }

    /// A credential with refresh settings and an optional token-change hook.
    pub fn with_settings(
        client: OAuthClient,
        store: Arc<dyn TokenStore>,
        settings: RefreshSettings,
        on_change: Option<TokenChangeHook>,
    ) -> Self {
        let clock = client.pipeline().clock().clone();
        Self {
            inner: Arc::new(Inner {
                client,
                store,
                clock,
                settings,
                on_change,
                state: Mutex::new(State::default()),
                flight: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Stores and starts using the tokens of a fresh interactive login (a new family).
    pub async fn login(&self, response: TokenResponse) -> Result<()> {
        let _flight = self.inner.flight.lock().await;
        let record = TokenRecord::from_login(response, self.inner.clock.system_now());
        let guard = self.inner.store.lock().await?;
        self.inner.store.save_locked(&record, guard.fence()).await?;
        self.install(record.clone(), true);
        self.notify(&record);
        Ok(())
    }

    /// A valid access token, refreshing first if needed.
    pub async fn access_token(&self) -> Result<AccessToken> {
        self.valid_token().await?;
        let state = self.lock_state();
        state
            .current
            .as_ref()
            .map(|c| c.record.access_token.clone())
            .ok_or_else(|| Error::auth(AuthErrorKind::ReauthenticationRequired, "no token"))
    }

    /// Lifetime warnings for the refresh-token family held now (from the store if not loaded).
    pub async fn lifetime_warnings(&self, limits: &LifetimeLimits) -> Result<Vec<LifetimeWarning>> {
        let held = self.lock_state().current.as_ref().map(|c| c.record.clone());
        let record = match held {
            Some(r) => Some(r),
            None => self.inner.store.load().await?,
        };
        Ok(record
            .map(|r| r.lifetime_warnings(limits, self.inner.clock.system_now()))
            .unwrap_or_default())
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
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
            Some(at) => self.inner.clock.system_now() < at,
            None => {
                current.record.refresh_issued_at.is_some()
                    || current.record.refresh_token.is_none()
                    || self.inner.settings.unknown_expiry == UnknownExpiry::UseUntilUnauthorized
            }
        }
    }

    fn current_of(&self, record: TokenRecord) -> Current {
        let s = &self.inner.settings;
        let jitter = if s.jitter.is_zero() {
            Duration::ZERO
        } else {
            rand::rng().random_range(Duration::ZERO..=s.jitter)
        };
        let refresh_at = record.expires_at.map(|at| {
            at.checked_sub(s.buffer + jitter)
                .unwrap_or(SystemTime::UNIX_EPOCH)
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
        if let Some(hook) = &self.inner.on_change {
            hook(record);
        }
    }

    async fn valid_token(&self) -> Result<(Option<HeaderValue>, u64)> {
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let seen = self.lock_state().attempts;
        let _flight = self.inner.flight.lock().await;
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        self.shared_failure(seen)?;
        let result = self.refresh_locked(Trigger::Expiry).await;
        self.finish(result)?;
        let state = self.lock_state();
        let current = state
            .current
            .as_ref()
            .ok_or_else(|| Error::auth(AuthErrorKind::ReauthenticationRequired, "no token"))?;
        Ok((current.header.clone(), state.generation))
    }

    /// The error of a refresh that ran while this task waited, if one failed.
    fn shared_failure(&self, seen: u64) -> Result<()> {
        let state = self.lock_state();
        match &state.last_failure {
            Some(e) if state.attempts > seen => Err(e.clone()),
            _ => Ok(()),
        }
    }

    fn finish(&self, result: Result<()>) -> Result<()> {
        let mut state = self.lock_state();
        state.attempts += 1;
        state.last_failure = result.as_ref().err().cloned();
        result
    }

    /// Uses the pair another holder stored after ours was refused as older.
    async fn adopt_stored(&self) -> Result<()> {
        match self.inner.store.load().await? {
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

    /// Runs with the in-process flight lock held; takes the store's lock for the rest.
    async fn refresh_locked(&self, trigger: Trigger) -> Result<()> {
        let store = &self.inner.store;
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
        let stored = store.load().await?;
        let held = self.lock_state().current.as_ref().map(|c| c.record.clone());
        if let Some(stored) = &stored {
            let differs = held.as_ref().is_none_or(|h| !h.same_access_token(stored));
            // Built once: the refresh time installed is the one that was judged fresh.
            let candidate = self.current_of(stored.clone());
            let usable = match trigger {
                Trigger::Expiry => self.is_fresh(&candidate),
                Trigger::Unauthorized => differs,
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
                "the access token expired and there is no refresh token",
            ));
        };
        match self.inner.client.refresh(&refresh_token, None).await {
            Ok(response) => {
                let record = base.rotated(response, self.inner.clock.system_now());
                match store.save_locked(&record, guard.fence()).await {
                    Err(e) => {
                        tracing::error!(error = %e, "refreshed tokens could not be saved; not using them");
                        self.lock_state().pending = Some(record);
                        return Err(save_failed(e));
                    }
                    Ok(SaveOutcome::Superseded) => return self.adopt_stored().await,
                    Ok(SaveOutcome::Saved) => {}
                }
                tracing::info!(expires_in_s = ?record.expires_at.and_then(|t| t.duration_since(self.inner.clock.system_now()).ok()).map(|d| d.as_secs()), "access token refreshed");
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
                    _ => Err(Error::auth(
                        AuthErrorKind::ReauthenticationRequired,
                        format!("the refresh token was refused ({e}); log in again"),
                    )),
                }
            }
            Err(e) => Err(e),
        }
    }
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

#[async_trait]
impl Authenticator for RefreshingCredential {
    async fn authenticate(&self, request: &mut Request) -> Result<AuthStamp> {
        let (header, generation) = self.valid_token().await?;
        let value = header.ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Unauthorized,
                "the access token cannot go in a header",
            )
        })?;
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(AuthStamp(generation))
    }

    async fn unauthorized(&self, stamp: AuthStamp) -> Result<bool> {
        if self.lock_state().generation != stamp.0 {
            return Ok(true);
        }
        let seen = self.lock_state().attempts;
        let _flight = self.inner.flight.lock().await;
        if self.lock_state().generation != stamp.0 {
            return Ok(true);
        }
        self.shared_failure(seen)?;
        tracing::debug!("401 with the current token; refreshing");
        let result = self.refresh_locked(Trigger::Unauthorized).await;
        self.finish(result)?;
        Ok(true)
    }
}

#[cfg(test)]
#[path = "refreshing_tests.rs"]
mod tests;
