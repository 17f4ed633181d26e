//! [`SessionTokenAuth`]: log in for a token with a sliding idle limit (Paya's "token method"),
//! renew the idle clock on every success, log in again before it runs out or once on a 401.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::StatusCode;
use serde_json::Value;
use shoal_core::{
    AuthErrorKind, AuthStamp, Authenticator, Error, NoAuth, Pipeline, Request, Result, SharedClock,
};

use crate::apikey::{PlacedParam, Placement, header};
use crate::secret::{ExposeSecret as _, Password, SessionToken};

/// How to log in and where the session token goes.
#[derive(Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The login path, relative to the pipeline's base URL (Paya: `token`, i.e. `/v2/token`).
    pub login_path: String,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: Password,
    /// The domain.
    pub domain: String,
    /// Header or query parameter name for the token (Paya: `access-token`).
    pub token_name: String,
    /// Where the token goes.
    pub placement: Placement,
    /// Idle limit when the login answer does not say (Paya: 15 minutes).
    pub idle_limit: Duration,
    /// Log in again this long before the idle limit would pass (default 60 s: covers the time
    /// between the server resetting its clock and us seeing the answer).
    pub margin: Duration,
    /// Non-secret values for every request, login and logout included (Paya's `developer-id`).
    pub params: Vec<PlacedParam>,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("login_path", &self.login_path)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("domain", &self.domain)
            .field("placement", &self.placement)
            .field("idle_limit", &self.idle_limit)
            .field("params", &self.params)
            .finish()
    }
}

impl SessionConfig {
    /// Paya's shape: `POST token`, `access-token` header, 15-minute idle limit, 60 s margin.
    pub fn new(username: impl Into<String>, password: Password, domain: impl Into<String>) -> Self {
        Self {
            login_path: "token".into(),
            username: username.into(),
            password,
            domain: domain.into(),
            token_name: "access-token".into(),
            placement: Placement::Header,
            idle_limit: Duration::from_secs(15 * 60),
            margin: Duration::from_secs(60),
            params: Vec::new(),
        }
    }

    /// Adds a value sent with every request.
    pub fn param(mut self, param: PlacedParam) -> Self {
        self.params.push(param);
        self
    }

    /// Sets where the token goes.
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }
}

struct Session {
    token: SessionToken,
    idle_limit: Duration,
    last_active: Instant,
}

#[derive(Default)]
struct State {
    session: Option<Session>,
    generation: u64,
    attempts: u64,
    last_failure: Option<Error>,
}

/// A session-token credential: single-flight login, sliding idle renewal, one re-login on 401,
/// and [`logout`](Self::logout).
#[derive(Clone)]
pub struct SessionTokenAuth {
    inner: Arc<Inner>,
}

struct Inner {
    config: SessionConfig,
    pipeline: Pipeline,
    clock: SharedClock,
    state: Mutex<State>,
    flight: tokio::sync::Mutex<()>,
}

impl fmt::Debug for SessionTokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokenAuth")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl SessionTokenAuth {
    /// A session credential whose login and logout go through a sibling of `pipeline` (same
    /// base URL, transport, retry and redaction, no authenticator).
    pub fn new(config: SessionConfig, pipeline: &Pipeline) -> Self {
        let derived = pipeline.derive(pipeline.base_url().clone(), Arc::new(NoAuth));
        Self {
            inner: Arc::new(Inner {
                config,
                clock: pipeline.clock().clone(),
                pipeline: derived,
                state: Mutex::new(State::default()),
                flight: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self) -> Option<(SessionToken, u64)> {
        let state = self.state();
        let s = state.session.as_ref()?;
        let idle = self
            .inner
            .clock
            .now()
            .saturating_duration_since(s.last_active);
        (idle + self.inner.config.margin < s.idle_limit)
            .then(|| (s.token.clone(), state.generation))
    }

    /// A live token, logging in first when there is none or it is about to idle out.
    pub async fn token(&self) -> Result<SessionToken> {
        Ok(self.live_token().await?.0)
    }

    async fn live_token(&self) -> Result<(SessionToken, u64)> {
        if let Some(t) = self.live() {
            return Ok(t);
        }
        let seen = self.state().attempts;
        let _flight = self.inner.flight.lock().await;
        if let Some(t) = self.live() {
            return Ok(t);
        }
        self.shared_failure(seen)?;
        let result = self.login_locked().await;
        self.finish(result)?;
        self.live().ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Login,
                "the new session is already idle (idle limit shorter than the margin)",
            )
        })
    }

    fn shared_failure(&self, seen: u64) -> Result<()> {
        let state = self.state();
        match &state.last_failure {
            Some(e) if state.attempts > seen => Err(e.clone()),
            _ => Ok(()),
        }
    }

    fn finish(&self, result: Result<()>) -> Result<()> {
        let mut state = self.state();
        state.attempts += 1;
        state.last_failure = result.as_ref().err().cloned();
        result
    }

    async fn login_locked(&self) -> Result<()> {
        let c = &self.inner.config;
        let body = serde_json::json!({
            "username": c.username,
            "password": c.password.expose_secret(),
            "domain": c.domain,
        });
        // Logging in twice only makes a second token: safe to resend.
        let mut request = Request::post(&c.login_path).json(&body)?.idempotent(true);
        for p in &c.params {
            p.apply(&mut request)?;
        }
        let summary = self.inner.pipeline.summary(&request);
        tracing::debug!("session login");
        let response =
            self.inner
                .pipeline
                .execute(request)
                .await
                .map_err(|e| match e.status() {
                    Some(s) if s.is_client_error() => {
                        Error::auth(AuthErrorKind::Login, format!("login refused: {e}"))
                    }
                    _ => e,
                })?;
        let value: Value = response.json()?;
        let wrapped = value.get("token").unwrap_or(&Value::Null);
        let decode = |path: &str| Error::Decode {
            request: summary.clone(),
            path: path.into(),
            message: "missing or not a string".into(),
        };
        let token = wrapped
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| decode("token.token"))?;
        let minutes = wrapped.get("expire").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
        let idle_limit = minutes
            .map(|m| Duration::from_secs(m * 60))
            .unwrap_or(c.idle_limit);
        let mut state = self.state();
        state.session = Some(Session {
            token: SessionToken::new(token),
            idle_limit,
            last_active: self.inner.clock.now(),
        });
        state.generation += 1;
        tracing::info!(idle_limit_s = idle_limit.as_secs(), "session started");
        Ok(())
    }

    /// Ends the session: `DELETE {login_path}/{token}` (the token hidden in every printed form).
    /// A 404 means the server had already forgotten it, which is just as good.
    pub async fn logout(&self) -> Result<()> {
        let _flight = self.inner.flight.lock().await;
        let session = {
            let mut state = self.state();
            state.generation += 1;
            state.session.take()
        };
        let Some(session) = session else {
            return Ok(());
        };
        let c = &self.inner.config;
        let token: String =
            url::form_urlencoded::byte_serialize(session.token.expose_secret().as_bytes())
                .collect();
        let mut request = Request::delete(format!("{}/{token}", c.login_path))
            .display_as(format!("{}/[redacted]", c.login_path));
        for p in &c.params {
            p.apply(&mut request)?;
        }
        match self.inner.pipeline.execute(request).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Authenticator for SessionTokenAuth {
    async fn authenticate(&self, request: &mut Request) -> Result<AuthStamp> {
        let (token, generation) = self.live_token().await?;
        for p in &self.inner.config.params {
            p.apply(request)?;
        }
        let name = &self.inner.config.token_name;
        match self.inner.config.placement {
            Placement::Header => {
                let (name, value) = header(name, token.expose_secret(), true)?;
                request.headers_mut().insert(name, value);
            }
            Placement::Query => request.push_query(name, token.expose_secret()),
        }
        Ok(AuthStamp(generation))
    }

    async fn unauthorized(&self, stamp: AuthStamp) -> Result<bool> {
        let seen = self.state().attempts;
        let _flight = self.inner.flight.lock().await;
        if self.state().generation != stamp.0 {
            return Ok(true);
        }
        self.shared_failure(seen)?;
        tracing::debug!("401 with the current session token; logging in again");
        self.state().session = None;
        let result = self.login_locked().await;
        self.finish(result)?;
        Ok(true)
    }

    async fn succeeded(&self, stamp: AuthStamp) {
        let now = self.inner.clock.now();
        let mut state = self.state();
        if state.generation == stamp.0 {
            if let Some(s) = state.session.as_mut() {
                s.last_active = s.last_active.max(now);
            }
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
