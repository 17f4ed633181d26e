//! The Pearl Diver emulator: an Auth0-style authorization server with rotating refresh tokens and
//! the audience API with 1000-record pages generated lazily from a seed.
//!
//! One listener serves both hosts: the auth server at the root (`/authorize`, `/oauth/token`) and
//! the API under `/v1`. API errors (4xx/5xx) carry no body, as the vendor documents.

mod api;
mod auth;
mod changes;
mod data;
mod oauth;

use std::ops::Range;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use shoal_core::{SharedClock, SystemClock};

pub use auth::TokenPair;
pub use data::{write_page, write_record};

/// The `id` of record `index` of audience `key`, as the emulator writes it.
pub fn record_id(key: u64, index: u64) -> String {
    format!("pd-{key}-{index:09}")
}

use crate::authorize::{Consent, RedirectUris};
use crate::server::{Common, Emulator, RawHandler, Service, router_handler, settings, wrap};

/// The audience value the token URL must carry.
pub const AUDIENCE: &str = "pearldiverapi";

/// One audience the emulator serves; its records are generated on demand, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudienceSpec {
    /// The audience key (`/v1/audiences/{key}`).
    pub key: u64,
    /// Display name.
    pub name: String,
    /// Records covering the full 90 days; shorter windows get a proportional share.
    pub size: u64,
}

impl AudienceSpec {
    /// An audience of `size` records.
    pub fn new(key: u64, name: impl Into<String>, size: u64) -> Self {
        Self {
            key,
            name: name.into(),
            size,
        }
    }
}

/// How to start a [`PearlDiver`] emulator.
#[derive(Debug, Clone)]
pub struct PearlDiverConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The emulator's only source of time.
    pub clock: SharedClock,
    /// Seed for data, tokens and random faults.
    pub seed: u64,
    /// The registered client id.
    pub client_id: String,
    /// The registered client secret (sent in the token request body).
    pub client_secret: String,
    /// Registered callback URLs, matched exactly (port included) at authorize and exchange.
    pub redirect_uris: RedirectUris,
    /// Access-token lifetime (`expires_in`).
    pub access_token_ttl: Duration,
    /// A refresh token unused this long expires (vendor: 30 days).
    pub refresh_inactivity: Duration,
    /// A refresh-token family dies this long after login (vendor: 31,557,600 s).
    pub refresh_absolute: Duration,
    /// Authorization-code lifetime *(assumed: Auth0's 10 minutes)*.
    pub code_ttl: Duration,
    /// Audiences served.
    pub audiences: Vec<AudienceSpec>,
    /// Records per page (vendor: 1000).
    pub page_size: u64,
    /// A refresh token valid from the start (sandbox and service use), with scope `offline_access`.
    pub preissued_refresh_token: Option<String>,
    /// Requests kept in the traffic record (oldest dropped first).
    pub traffic_capacity: usize,
    /// `None` (default): a listing's window ends when its first page is served and records are
    /// spaced back from there, so the same record is "seen" later in a later listing. `Some(t)`:
    /// records are spaced back from `t` in every listing, so they come back unchanged — what a
    /// test that syncs twice needs, together with [`PearlDiver::add_records`] and
    /// [`PearlDiver::touch_records`]. A full window that starts after `t` still loses the
    /// records that have aged past 90 days; a test on the wall clock freezes a little ahead.
    pub frozen_at: Option<SystemTime>,
}

impl Default for PearlDiverConfig {
    fn default() -> Self {
        Self {
            port: 0,
            clock: SystemClock::shared(),
            seed: 17,
            client_id: "pd-client-emulator".into(),
            client_secret: "pd-secret-emulator".into(),
            redirect_uris: RedirectUris::default(),
            access_token_ttl: Duration::from_secs(86_400),
            refresh_inactivity: Duration::from_secs(2_592_000),
            refresh_absolute: Duration::from_secs(31_557_600),
            code_ttl: Duration::from_secs(600),
            audiences: vec![
                AudienceSpec::new(17, "Website visitors — Boston", 2_500),
                AudienceSpec::new(23, "Pricing page visitors", 1_000),
                AudienceSpec::new(31, "Empty audience", 0),
            ],
            page_size: 1000,
            preissued_refresh_token: Some("pd-sandbox-refresh-token".into()),
            traffic_capacity: 10_000,
            frozen_at: None,
        }
    }
}

settings!(PearlDiverConfig => PdState);

/// Everything a client needs to talk to a running Pearl Diver emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PearlDiverEndpoints {
    /// Authorization-server base, e.g. `http://127.0.0.1:4100`.
    pub auth_base: String,
    /// `{auth_base}/authorize`.
    pub authorize_url: String,
    /// `{auth_base}/oauth/token` (without the `audience` query).
    pub token_url: String,
    /// The `audience` query value for the token URL.
    pub audience: String,
    /// API base, e.g. `http://127.0.0.1:4100/v1`.
    pub api_base: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// The registered redirect URI a login should use (the first registered; empty if none).
    pub redirect_uri: String,
    /// The pre-issued refresh token, if configured.
    pub refresh_token: Option<String>,
}

/// How audience pages are shaped: the documented shape, or one a client must refuse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PageShape {
    /// `{"key", "name", "records": [...], "pageToken"}` as documented.
    #[default]
    Documented,
    /// The records come under another key and `records` is absent, e.g.
    /// `{"key":17,"name":…,"data":[…],"pageToken":…}`.
    RecordsUnder(String),
    /// No records array at all (key, name and `pageToken` only).
    RecordsMissing,
    /// Documented pages, except that page N (from 0; N ≥ 1) names as its `pageToken` the token
    /// that fetched it: a listing whose cursor repeats.
    NextRepeatsAt(u64),
}

/// Counters proving the emulator's memory stays flat while serving huge audiences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PearlDiverStats {
    /// Audience pages served.
    pub pages_served: u64,
    /// Records generated and sent (none are kept).
    pub records_served: u64,
    /// Refresh tokens known (live or rotated).
    pub refresh_tokens: usize,
    /// Access tokens known.
    pub access_tokens: usize,
    /// Token families (logins).
    pub families: usize,
}

/// The Pearl Diver emulator's state, behind the [`PearlDiver`] handle.
pub struct PdState {
    pub(crate) cfg: PearlDiverConfig,
    pub(crate) common: Common,
    pub(crate) auth: auth::AuthStore,
    pub(crate) pages: std::sync::atomic::AtomicU64,
    pub(crate) records: std::sync::atomic::AtomicU64,
    pub(crate) consent: Consent,
    pub(crate) page_shape: std::sync::Mutex<PageShape>,
    pub(crate) changes: Mutex<changes::Changes>,
}

/// A running Pearl Diver emulator. Dropping it stops the server.
pub type PearlDiver = Emulator<PdState>;

impl Service for PdState {
    type Config = PearlDiverConfig;
    type Endpoints = PearlDiverEndpoints;

    fn launch(config: PearlDiverConfig, common: &Common) -> (Arc<Self>, RawHandler) {
        let auth = auth::AuthStore::new(config.seed);
        let state = Arc::new(PdState {
            auth,
            common: common.clone(),
            pages: 0.into(),
            records: 0.into(),
            consent: Consent::default(),
            page_shape: Default::default(),
            changes: Mutex::default(),
            cfg: config,
        });
        if let Some(rt) = state.cfg.preissued_refresh_token.clone() {
            state.auth.preissue(&state, rt);
        }
        let router = Router::new()
            .route("/authorize", get(oauth::authorize))
            .route("/oauth/token", post(oauth::token))
            .route("/v1/audiences", get(api::list))
            .route("/v1/audiences/{key}", get(api::get_audience))
            .with_state(state.clone());
        let router = wrap(router, common, |r| r);
        (state, router_handler(router))
    }

    fn endpoints(&self, base: &str) -> PearlDiverEndpoints {
        PearlDiverEndpoints {
            authorize_url: format!("{base}/authorize"),
            token_url: format!("{base}/oauth/token"),
            audience: AUDIENCE.into(),
            api_base: format!("{base}/v1"),
            auth_base: base.to_string(),
            client_id: self.cfg.client_id.clone(),
            client_secret: self.cfg.client_secret.clone(),
            redirect_uri: self.cfg.redirect_uris.login_uri(),
            refresh_token: self.cfg.preissued_refresh_token.clone(),
        }
    }
}

impl PearlDiver {
    /// `{token_url}?audience=pearldiverapi`, the full token URL.
    pub fn token_url_with_audience(&self) -> String {
        format!("{}?audience={AUDIENCE}", self.endpoints().token_url)
    }

    /// What the user does on the authorize page (approve by default; denials on request).
    pub fn consent(&self) -> &Consent {
        &self.state.consent
    }

    /// Shapes the audience pages served from now on (the documented shape by default).
    pub fn set_page_shape(&self, shape: PageShape) {
        *self
            .state
            .page_shape
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = shape;
    }

    /// Issues a fresh login (new family) with scope `openid offline_access`, as if through the
    /// authorize/code flow, without any HTTP.
    pub fn mint_tokens(&self) -> TokenPair {
        self.state.auth.mint(&self.state, "openid offline_access")
    }

    /// Whether this refresh token would be accepted now (not rotated, revoked or expired).
    pub fn refresh_token_is_live(&self, refresh_token: &str) -> bool {
        self.state.auth.is_live(&self.state, refresh_token)
    }

    /// Adds `count` new records to audience `key`, seen now (by the emulator's clock), after
    /// every existing one; returns their indices (record `i` has the id [`record_id`]`(key, i)`).
    /// A listing that starts from now on and whose window reaches now includes them. Unknown
    /// keys are ignored (an empty range).
    ///
    /// Memory stays flat: one range is kept per call, never a record.
    pub fn add_records(&self, key: u64, count: u64) -> Range<u64> {
        self.change(key, |c, size, now| c.grow(key, size, count, now))
    }

    /// Marks records `indices` of audience `key` as seen again now: their `seen_at` becomes now,
    /// so their content changes (phone `lastSeen`, visit times) and a `since` query whose window
    /// reaches now returns them, whatever their age. Indices past the audience's records are
    /// dropped; returns the indices kept. One range is kept per call.
    pub fn touch_records(&self, key: u64, indices: Range<u64>) -> Range<u64> {
        self.change(key, |c, size, now| c.touch(key, size, indices, now))
    }

    /// Applies `f(changes, audience size, now)` to audience `key`; an unknown key changes nothing.
    fn change(
        &self,
        key: u64,
        f: impl FnOnce(&mut changes::Changes, u64, i64) -> Range<u64>,
    ) -> Range<u64> {
        let now = self.state.common.unix_now();
        let Some(spec) = self.state.cfg.audiences.iter().find(|a| a.key == key) else {
            return 0..0;
        };
        match self.state.changes.lock() {
            Ok(mut c) => f(&mut c, spec.size, now),
            Err(_) => 0..0,
        }
    }

    /// Memory-related counters.
    pub fn stats(&self) -> PearlDiverStats {
        use std::sync::atomic::Ordering::Relaxed;
        let (refresh_tokens, access_tokens, families) = self.state.auth.sizes();
        PearlDiverStats {
            pages_served: self.state.pages.load(Relaxed),
            records_served: self.state.records.load(Relaxed),
            refresh_tokens,
            access_tokens,
            families,
        }
    }
}
