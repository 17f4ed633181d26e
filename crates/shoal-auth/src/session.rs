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

use crate::apikey::{ParamPlacement, PlacedParam, header};
use crate::flight::SingleFlight;
use crate::secret::{ExposeSecret as _, Password, SessionToken};

/// Where a service's sessions are opened and how its token travels — the service's facts (a
/// vendor crate declares them: Paya's is `POST v2/token`, `access-token`, 15 minutes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionEndpoint {
    /// The login path, relative to the pipeline's base URL; logout is `DELETE {path}/{token}`.
    pub login_path: &'static str,
    /// Header or query parameter name for the token.
    pub token_name: &'static str,
    /// Idle limit when the login answer does not say.
    pub idle_limit: Duration,
}

impl SessionEndpoint {
    /// A session service's facts.
    pub const fn new(
        login_path: &'static str,
        token_name: &'static str,
        idle_limit: Duration,
    ) -> Self {
        Self {
            login_path,
            token_name,
            idle_limit,
        }
    }
}

/// How to log in, where the session token goes, and when to log in again.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    endpoint: SessionEndpoint,
    username: String,
    password: Password,
    domain: String,
    placement: ParamPlacement,
    margin: Duration,
    params: Vec<PlacedParam>,
}

impl SessionConfig {
    /// Sessions at `endpoint` for `username` in `domain`; the token goes in a header; log in
    /// again 60 s before the idle limit (covering the time between the server resetting its
    /// clock and us seeing the answer).
    pub fn new(
        endpoint: SessionEndpoint,
        username: impl Into<String>,
        password: Password,
        domain: impl Into<String>,
    ) -> Self {
        Self {
            endpoint,
            username: username.into(),
            password,
            domain: domain.into(),
            placement: ParamPlacement::Header,
            margin: Duration::from_secs(60),
            params: Vec::new(),
        }
    }

    /// Adds a value sent with every request, login and logout included (Paya's `developer-id`).
    pub fn param(mut self, param: PlacedParam) -> Self {
        self.params.push(param);
        self
    }

    shoal_core::builder_setters! {
        /// Sets where the token goes.
        placement(placement: ParamPlacement) => placement;
        /// Log in again this long before the idle limit would pass.
        margin(margin: Duration) => margin;
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
}

/// A session-token credential: single-flight login (run to completion in its own task),
/// sliding idle renewal, one re-login on 401, and [`logout`](Self::logout).
#[derive(Clone)]
pub struct SessionTokenAuth {
    inner: Arc<Inner>,
}

struct Inner {
    config: SessionConfig,
    pipeline: Pipeline,
    clock: SharedClock,
    state: Mutex<State>,
    flight: SingleFlight,
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
                flight: SingleFlight::default(),
            }),
        }
    }

    /// A live token, logging in first when there is none or it is about to idle out.
    pub async fn token(&self) -> Result<SessionToken> {
        Ok(self.live_token().await?.0)
    }

    async fn live_token(&self) -> Result<(SessionToken, u64)> {
        if let Some(t) = self.inner.live() {
            return Ok(t);
        }
        let inner = self.inner.clone();
        self.inner
            .flight
            .run(move || async move {
                if inner.live().is_some() {
                    return Ok(());
                }
                inner.login().await
            })
            .await?;
        self.inner.live().ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Login,
                "the new session is already idle (idle limit shorter than the margin)",
            )
        })
    }

    /// Waits for a login or logout in flight, if any, to finish (a caller dropped while one ran
    /// does not stop it).
    pub async fn settle(&self) {
        self.inner.flight.settle().await;
    }

    /// Ends the session: `DELETE {login_path}/{token}` (the token hidden in every printed form).
    /// A 404 means the server had already forgotten it, which is just as good.
    pub async fn logout(&self) -> Result<()> {
        let inner = self.inner.clone();
        self.inner
            .flight
            .run_own(move || async move { inner.logout().await })
            .await
    }
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self) -> Option<(SessionToken, u64)> {
        let state = self.state();
        let s = state.session.as_ref()?;
        let idle = self.clock.now().saturating_duration_since(s.last_active);
        (idle.saturating_add(self.config.margin) < s.idle_limit)
            .then(|| (s.token.clone(), state.generation))
    }

    async fn login(&self) -> Result<()> {
        let c = &self.config;
        let body = serde_json::json!({
            "username": c.username,
            "password": c.password.expose_secret(),
            "domain": c.domain,
        });
        // Logging in twice only makes a second token: safe to resend.
        let mut request = Request::post(c.endpoint.login_path)
            .json(&body)?
            .idempotent(true);
        for p in &c.params {
            p.apply(&mut request)?;
        }
        let summary = self.pipeline.summary(&request);
        tracing::debug!("session login");
        let response = self
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
        let token = wrapped
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Decode {
                request: summary.clone(),
                path: "token.token".into(),
                message: "missing or not a string".into(),
            })?;
        // Believed within a minute and a day (renewed sooner, never later).
        let idle_limit = match wrapped
            .get("expire")
            .and_then(shoal_core::clamp::json_integer)
        {
            Some(minutes) => shoal_core::clamp::session_expire(minutes),
            None => c.endpoint.idle_limit,
        };
        let session_token = SessionToken::new(token);
        let mut state = self.state();
        state.session = Some(Session {
            token: session_token,
            idle_limit,
            last_active: self.clock.now(),
        });
        state.generation += 1;
        tracing::info!(idle_limit_s = idle_limit.as_secs(), "session started");
        Ok(())
    }

    async fn logout(&self) -> Result<()> {
        let session = {
            let mut state = self.state();
            state.generation += 1;
            state.session.take()
        };
        let Some(session) = session else {
            return Ok(());
        };
        let c = &self.config;
        let token: String =
            url::form_urlencoded::byte_serialize(session.token.expose_secret().as_bytes())
                .collect();
        let mut request = Request::delete(format!("{}/{token}", c.endpoint.login_path))
            .display_as(format!("{}/[redacted]", c.endpoint.login_path));
        for p in &c.params {
            p.apply(&mut request)?;
        }
        match self.pipeline.execute(request).await {
            // A success that is not the vendor's (a proxy's HTML page) did not log out.
            Ok(answer) => answer.expect_json_or_empty(),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl SessionTokenAuth {
    /// Puts the session token (and the fixed parameters) on a request.
    fn stamp(
        &self,
        request: &mut Request,
        (token, generation): (SessionToken, u64),
    ) -> Result<AuthStamp> {
        let c = &self.inner.config;
        for p in &c.params {
            p.apply(request)?;
        }
        let name = c.endpoint.token_name;
        match c.placement {
            ParamPlacement::Header => {
                let (name, value) = header(name, token.expose_secret(), true)?;
                request.headers_mut().insert(name, value);
            }
            ParamPlacement::Query => request.push_query(name, token.expose_secret()),
        }
        Ok(AuthStamp(generation))
    }
}

#[async_trait]
impl Authenticator for SessionTokenAuth {
    async fn authenticate(&self, request: &mut Request) -> Result<AuthStamp> {
        self.stamp(request, self.live_token().await?)
    }

    fn authenticate_now(&self, request: &mut Request) -> Option<Result<AuthStamp>> {
        Some(self.stamp(request, self.inner.live()?))
    }

    async fn unauthorized(&self, stamp: AuthStamp) -> Result<bool> {
        let inner = self.inner.clone();
        self.inner
            .flight
            .run(move || async move {
                if inner.state().generation != stamp.0 {
                    return Ok(());
                }
                tracing::debug!("401 with the current session token; logging in again");
                inner.state().session = None;
                inner.login().await
            })
            .await?;
        Ok(true)
    }

    fn succeeded(&self, stamp: AuthStamp) {
        let now = self.inner.clock.now();
        let mut state = self.inner.state();
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
