//! The PebblePad emulator: one installation's `/login/OAuth2/…` and `/api/1.1/…`, with rolling
//! per-method rate limits, a concurrency limit and in-memory User, Group, Grade and Data Island
//! application-reference state.

mod auth;
mod grades;
mod limits;
mod resources;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shoal_core::{SharedClock, SystemClock};

pub use auth::TokenPair;
pub use limits::RateLimits;

use crate::authorize::{Consent, RedirectUris};
use crate::server::{Common, Emulator, RawHandler, Service, router_handler, settings, wrap};

/// How to start a [`PebblePad`] emulator.
#[derive(Debug, Clone)]
pub struct PebblePadConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The emulator's only source of time.
    pub clock: SharedClock,
    /// Seed for ids, tokens, seeded users and random faults.
    pub seed: u64,
    /// The confidential client's id (case-sensitive).
    pub client_id: String,
    /// The confidential client's secret (HTTP Basic, raw `id:secret`).
    pub client_secret: String,
    /// A public client (no secret: `client_id` in the token request body, never Basic), if any.
    pub public_client_id: Option<String>,
    /// Registered redirect URIs (both clients), matched exactly at authorize and exchange.
    pub redirect_uris: RedirectUris,
    /// Authorization-code lifetime (vendor: 2 minutes).
    pub code_ttl: Duration,
    /// Access-token lifetime (vendor: 1 hour).
    pub access_token_ttl: Duration,
    /// Limits at start; change them with [`PebblePad::set_limits`].
    pub limits: RateLimits,
    /// Users created at start (synthetic, from the seed).
    pub seed_users: u64,
    /// Issue a service-account token pair at start (in [`PebblePadEndpoints`]).
    pub service_account: bool,
    /// Requests kept in the traffic record.
    pub traffic_capacity: usize,
}

impl PebblePadConfig {
    /// Whether `id` is one of the registered clients.
    pub(crate) fn knows_client(&self, id: &str) -> bool {
        id == self.client_id || self.public_client_id.as_deref() == Some(id)
    }
}

impl Default for PebblePadConfig {
    fn default() -> Self {
        Self {
            port: 0,
            clock: SystemClock::shared(),
            seed: 23,
            client_id: "pp-client-emulator".into(),
            client_secret: "pp-secret-emulator".into(),
            public_client_id: Some("pp-public-emulator".into()),
            redirect_uris: RedirectUris::default(),
            code_ttl: Duration::from_secs(120),
            access_token_ttl: Duration::from_secs(3600),
            limits: RateLimits::default(),
            seed_users: 3,
            service_account: true,
            traffic_capacity: 10_000,
        }
    }
}

settings!(PebblePadConfig => PpState);

/// Everything a client needs to talk to a running PebblePad emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PebblePadEndpoints {
    /// The installation host, e.g. `http://127.0.0.1:4200`.
    pub host: String,
    /// `{host}/login/OAuth2/` (ends with a slash).
    pub oauth_base: String,
    /// `{host}/api/` (ends with a slash).
    pub api_base: String,
    /// The confidential client's id.
    pub client_id: String,
    /// The confidential client's secret.
    pub client_secret: String,
    /// The public client's id, if one is registered.
    pub public_client_id: Option<String>,
    /// The registered redirect URI a login should use (the first registered; empty if none).
    pub redirect_uri: String,
    /// Service-account access token issued at start, if configured.
    pub service_access_token: Option<String>,
    /// Service-account refresh token issued at start, if configured.
    pub service_refresh_token: Option<String>,
}

/// The PebblePad emulator's state, behind the [`PebblePad`] handle.
pub struct PpState {
    pub(crate) cfg: PebblePadConfig,
    pub(crate) common: Common,
    pub(crate) auth: auth::AuthStore,
    pub(crate) limits: limits::Limiter,
    pub(crate) db: resources::Db,
    pub(crate) consent: Consent,
    /// The service-account pair issued at start.
    service: Option<TokenPair>,
}

/// A running PebblePad emulator. Dropping it stops the server.
pub type PebblePad = Emulator<PpState>;

impl Service for PpState {
    type Config = PebblePadConfig;
    type Endpoints = PebblePadEndpoints;

    fn launch(config: PebblePadConfig, common: &Common) -> (Arc<Self>, RawHandler) {
        let mut state = PpState {
            auth: auth::AuthStore::new(config.seed),
            limits: limits::Limiter::new(config.limits),
            db: resources::Db::seeded(config.seed, config.seed_users),
            common: common.clone(),
            consent: Consent::default(),
            cfg: config,
            service: None,
        };
        state.service = state
            .cfg
            .service_account
            .then(|| state.auth.service_pair(&state, Duration::ZERO));
        let state = Arc::new(state);
        let limited = state.clone();
        let router = wrap(routes::router(state.clone()), common, move |r| {
            r.layer(axum::middleware::from_fn_with_state(
                limited,
                limits::enforce,
            ))
        });
        (state, router_handler(router))
    }

    fn endpoints(&self, host: &str) -> PebblePadEndpoints {
        PebblePadEndpoints {
            oauth_base: format!("{host}/login/OAuth2/"),
            api_base: format!("{host}/api/"),
            host: host.to_string(),
            client_id: self.cfg.client_id.clone(),
            client_secret: self.cfg.client_secret.clone(),
            public_client_id: self.cfg.public_client_id.clone(),
            redirect_uri: self.cfg.redirect_uris.login_uri(),
            service_access_token: self.service.as_ref().map(|p| p.access_token.clone()),
            service_refresh_token: self.service.as_ref().map(|p| p.refresh_token.clone()),
        }
    }

    /// PebblePad answers its own errors as `{"errormessage": …}`.
    fn error_body(status: u16) -> Option<(&'static str, Vec<u8>)> {
        let msg = match status {
            401 => {
                return Some((
                    "application/json",
                    br#"{"Message":"Authorization has been denied for this request."}"#.to_vec(),
                ));
            }
            429 => "Rate limit exceeded",
            400 => "Bad request",
            403 => "Forbidden",
            404 => "Not found",
            _ => "An error has occurred",
        };
        Some((
            "application/json",
            serde_json::json!({ "errormessage": msg })
                .to_string()
                .into_bytes(),
        ))
    }
}

impl PebblePad {
    /// What the user does on the authorise page (approve by default; denials on request).
    pub fn consent(&self) -> &Consent {
        &self.state.consent
    }

    /// The limits in force.
    pub fn limits(&self) -> RateLimits {
        self.state.limits.get()
    }

    /// Changes the limits (and window) while running; calls already counted stay counted.
    pub fn set_limits(&self, limits: RateLimits) {
        self.state.limits.set(limits);
    }

    /// A service-account pair whose access token was created `age` ago (so it has
    /// `1 hour - age` left), with scope `default`.
    pub fn service_account(&self, age: Duration) -> TokenPair {
        self.state.auth.service_pair(&self.state, age)
    }

    /// The refresh tokens not yet spent by a rotation (sorted): one per token family, the
    /// newest — what a client that kept every rotation holds. A spent token presented again
    /// answers `invalid_grant` (counted as a reuse).
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.state.auth.live_refresh_tokens()
    }

    /// The pair issued last — by the token endpoint, at start-up or by
    /// [`service_account`](Self::service_account).
    pub fn last_issued(&self) -> Option<TokenPair> {
        self.state.auth.last_issued()
    }

    /// A snapshot of every user (`BasicUserInfo` plus details), for assertions.
    pub fn users(&self) -> Vec<serde_json::Value> {
        self.state.db.snapshot(resources::Kind::User)
    }

    /// A snapshot of every group, for assertions.
    pub fn groups(&self) -> Vec<serde_json::Value> {
        self.state.db.snapshot(resources::Kind::Group)
    }

    /// A snapshot of every grade, for assertions.
    pub fn grades(&self) -> Vec<serde_json::Value> {
        self.state.db.snapshot(resources::Kind::Grade)
    }

    /// A snapshot of every Data Island application reference, for assertions.
    pub fn application_references(&self) -> Vec<serde_json::Value> {
        self.state.db.snapshot(resources::Kind::AppRef)
    }
}
