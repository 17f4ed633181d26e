//! A hostile server: it serves the paths of all three vendors and answers with whatever a test
//! scripts or a seed draws — any status 100..=999, lying or huge headers, truncated, stalled,
//! deeply nested, invalid or oversized bodies, token answers with impossible lifetimes — written
//! byte for byte on the socket, so a client pointed at it meets hostility on every endpoint.
//!
//! **Caps** (so a client test can state its memory bound): one answer sends at most
//! [`MAX_BODY_BYTES`] (16 MiB) of body, [`MAX_HEADERS`] (32) headers of at most
//! [`MAX_HEADER_VALUE_BYTES`] (64 KiB) each — [`MAX_WIRE_BYTES`] in all — and a stall holds a
//! connection at most [`MAX_STALL`] (one hour) of the server's clock. Nothing sent is ever larger,
//! whatever a [`HostileResponse`] describes.
//!
//! Time comes from the configured clock only: with `ManualClock` or paused tokio time a stall
//! costs no real waiting. With the `proptest` feature, `strategy` generates and shrinks
//! [`HostileResponse`]s.
//!
//! ```
//! use shoal_testkit::hostile::{Endpoint, HostileResponse, HostileServer, Otherwise};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = HostileServer::start_default().await?;
//! server.set_otherwise(Otherwise::Benign); // log in normally…
//! server.push_for(Endpoint::PearlDiverApi, HostileResponse::new(200).repeat("[", 100_000));
//! let pearldiver = server.endpoints().pearldiver.clone(); // …then meet 100,000 `[`
//! println!("point the client at {}", pearldiver.api_base);
//! server.shutdown().await;
//! # Ok::<_, std::io::Error>(())
//! # }).unwrap();
//! ```

mod cases;
mod conn;
mod generate;
mod response;
#[cfg(feature = "proptest")]
pub mod strategy;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use shoal_core::{SharedClock, SystemClock};

pub use cases::{
    HEADERS_SHOAL_READS, NASTY_NUMBERS, ODD_BODIES, STATUSES, TokenFields, TokenKind, header_value,
    long_string, nested, odd_numbers,
};
pub use response::{
    Chunk, Framing, HeaderText, HostileResponse, MAX_BODY_BYTES, MAX_HEADER_VALUE_BYTES,
    MAX_HEADERS, MAX_STALL, MAX_WIRE_BYTES,
};

use crate::paya::{PayaConfig, PayaEndpoints, seeded_locations};
use crate::pearldiver::{AUDIENCE, PearlDiverConfig, PearlDiverEndpoints};
use crate::pebblepad::{PebblePadConfig, PebblePadEndpoints};
use crate::server::{Common, Emulator, RawHandler, Service, settings};

/// The endpoint a call hit, by the vendors' paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Endpoint {
    /// `GET /authorize`.
    PearlDiverAuthorize,
    /// `POST /oauth/token`.
    PearlDiverToken,
    /// `/v1/…`.
    PearlDiverApi,
    /// `/login/OAuth2/AuthorisationEndpoint`.
    PebblePadAuthorise,
    /// `/login/OAuth2/TokenEndpoint`.
    PebblePadToken,
    /// `/api/1.1/Info/GetRateLimits`.
    PebblePadRateLimits,
    /// `/api/…`.
    PebblePadApi,
    /// `POST /v2/token` (Paya login).
    PayaToken,
    /// `DELETE /v2/token/{token}`.
    PayaLogout,
    /// `/v2/…`.
    PayaApi,
    /// Anything else.
    Unknown,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 11] = [
        Self::PearlDiverAuthorize,
        Self::PearlDiverToken,
        Self::PearlDiverApi,
        Self::PebblePadAuthorise,
        Self::PebblePadToken,
        Self::PebblePadRateLimits,
        Self::PebblePadApi,
        Self::PayaToken,
        Self::PayaLogout,
        Self::PayaApi,
        Self::Unknown,
    ];

    /// The endpoint of `method path`.
    pub fn classify(method: &str, path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        match lower.as_str() {
            "/authorize" => Self::PearlDiverAuthorize,
            "/oauth/token" => Self::PearlDiverToken,
            "/login/oauth2/authorisationendpoint" => Self::PebblePadAuthorise,
            "/login/oauth2/tokenendpoint" => Self::PebblePadToken,
            "/api/1.1/info/getratelimits" => Self::PebblePadRateLimits,
            "/v2/token" if method.eq_ignore_ascii_case("POST") => Self::PayaToken,
            p if p.starts_with("/v2/token/") => Self::PayaLogout,
            p if p.starts_with("/v1/") => Self::PearlDiverApi,
            p if p.starts_with("/api/") => Self::PebblePadApi,
            p if p.starts_with("/v2/") => Self::PayaApi,
            _ => Self::Unknown,
        }
    }

    /// The token body this endpoint answers with, if it is a token endpoint.
    pub fn token_kind(self) -> Option<TokenKind> {
        match self {
            Self::PearlDiverToken | Self::PebblePadToken => Some(TokenKind::OAuth),
            Self::PayaToken => Some(TokenKind::Paya),
            _ => None,
        }
    }
}

/// How calls no scripted answer matches are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Otherwise {
    /// Hostility drawn from the seed and the call's sequence number (repeatable run to run).
    #[default]
    Generated,
    /// A well-formed answer: tokens that work, empty pages, the documented limits — so a client
    /// reaches the endpoint a scripted answer waits on.
    Benign,
}

/// How to start a [`HostileServer`].
#[derive(Debug, Clone)]
pub struct HostileConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The only source of time (stalls sleep on it).
    pub clock: SharedClock,
    /// Seed of the generated answers.
    pub seed: u64,
    /// How unscripted calls are answered.
    pub otherwise: Otherwise,
    /// Requests kept in the traffic record (and answers in [`HostileServer::answered`]).
    pub traffic_capacity: usize,
}

impl Default for HostileConfig {
    fn default() -> Self {
        Self {
            port: 0,
            clock: SystemClock::shared(),
            seed: 666,
            otherwise: Otherwise::Generated,
            traffic_capacity: 1000,
        }
    }
}

settings!(HostileConfig => HostileState);

/// The three vendors' endpoints, all on the hostile server, with the emulators' default
/// credentials (the server checks none of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostileEndpoints {
    /// `http://127.0.0.1:port`.
    pub base_url: String,
    /// Pearl Diver's hosts and credentials.
    pub pearldiver: PearlDiverEndpoints,
    /// PebblePad's.
    pub pebblepad: PebblePadEndpoints,
    /// Paya's.
    pub paya: PayaEndpoints,
}

impl HostileEndpoints {
    fn new(base: &str) -> Self {
        let (pd, pp, py) = (
            PearlDiverConfig::default(),
            PebblePadConfig::default(),
            PayaConfig::default(),
        );
        Self {
            base_url: base.to_string(),
            pearldiver: PearlDiverEndpoints {
                auth_base: base.to_string(),
                authorize_url: format!("{base}/authorize"),
                token_url: format!("{base}/oauth/token"),
                audience: AUDIENCE.into(),
                api_base: format!("{base}/v1"),
                client_id: pd.client_id,
                client_secret: pd.client_secret,
                redirect_uri: crate::DEFAULT_REDIRECT_URI.into(),
                refresh_token: pd.preissued_refresh_token,
            },
            pebblepad: PebblePadEndpoints {
                host: base.to_string(),
                oauth_base: format!("{base}/login/OAuth2/"),
                api_base: format!("{base}/api/"),
                client_id: pp.client_id,
                client_secret: pp.client_secret,
                public_client_id: pp.public_client_id,
                redirect_uri: crate::DEFAULT_REDIRECT_URI.into(),
                service_access_token: Some("hostile-service-access".into()),
                service_refresh_token: Some("hostile-service-refresh".into()),
            },
            paya: PayaEndpoints {
                base_url: base.to_string(),
                location_id: seeded_locations(py.seed)[0].id.clone(),
                developer_id: py.developer_id,
                user_id: py.user_id,
                user_api_key: py.user_api_key,
                username: py.username,
                password: py.password,
                domain: py.domain,
            },
        }
    }
}

/// One answer the server sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    /// The call's sequence number in the traffic record.
    pub seq: u64,
    /// The endpoint it hit.
    pub endpoint: Endpoint,
    /// What was sent (before the caps).
    pub response: HostileResponse,
}

struct Script {
    queue: VecDeque<(Option<Endpoint>, HostileResponse)>,
    otherwise: Otherwise,
    answered: VecDeque<Answered>,
}

/// The hostile server's state, behind the [`HostileServer`] handle.
pub struct HostileState {
    common: Common,
    seed: u64,
    capacity: usize,
    script: Mutex<Script>,
}

impl Service for HostileState {
    type Config = HostileConfig;
    type Endpoints = HostileEndpoints;

    fn launch(config: HostileConfig, common: &Common) -> (Arc<Self>, RawHandler) {
        let state = Arc::new(HostileState {
            seed: config.seed,
            capacity: config.traffic_capacity,
            script: Mutex::new(Script {
                queue: VecDeque::new(),
                otherwise: config.otherwise,
                answered: VecDeque::new(),
            }),
            common: common.clone(),
        });
        let serving = state.clone();
        let handler: RawHandler =
            Arc::new(move |stream, stop| Box::pin(conn::serve(serving.clone(), stream, stop)));
        (state, handler)
    }

    fn endpoints(&self, base: &str) -> HostileEndpoints {
        HostileEndpoints::new(base)
    }
}

impl HostileState {
    fn lock(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer to call `seq`: the first scripted one for its endpoint, else `otherwise`.
    fn answer(&self, seq: u64, asked: &generate::Asked<'_>) -> HostileResponse {
        let mut g = self.lock();
        let scripted = g
            .queue
            .iter()
            .position(|(e, _)| e.is_none_or(|e| e == asked.endpoint))
            .and_then(|i| g.queue.remove(i))
            .map(|(_, r)| r);
        let response = scripted.unwrap_or_else(|| match g.otherwise {
            Otherwise::Generated => generate::hostile(self.seed, seq, asked.endpoint),
            Otherwise::Benign => generate::benign(asked),
        });
        if self.capacity > 0 {
            if g.answered.len() >= self.capacity {
                g.answered.pop_front();
            }
            g.answered.push_back(Answered {
                seq,
                endpoint: asked.endpoint,
                response: response.clone(),
            });
        }
        response
    }
}

/// A running hostile server: the same handle as the emulators (`start`, `endpoints`, `traffic`
/// — each call's `fault` is its answer's [`HostileResponse::label`] — `faults`, `shutdown`).
/// Scripted faults apply before the answer: a status fault answers that status, a reset resets,
/// a stall holds the call. Dropping it stops the server.
pub type HostileServer = Emulator<HostileState>;

impl HostileServer {
    /// Answers the next call, whatever its endpoint, with `response` (answers queue in order).
    pub fn push(&self, response: HostileResponse) -> &Self {
        self.state.lock().queue.push_back((None, response));
        self
    }

    /// Answers the next call to `endpoint` with `response`.
    pub fn push_for(&self, endpoint: Endpoint, response: HostileResponse) -> &Self {
        self.state
            .lock()
            .queue
            .push_back((Some(endpoint), response));
        self
    }

    /// Scripted answers not yet sent.
    pub fn pending(&self) -> usize {
        self.state.lock().queue.len()
    }

    /// How calls no scripted answer matches are answered from now on.
    pub fn set_otherwise(&self, otherwise: Otherwise) -> &Self {
        self.state.lock().otherwise = otherwise;
        self
    }

    /// The answers sent, oldest first (the last `traffic_capacity`).
    pub fn answered(&self) -> Vec<Answered> {
        self.state.lock().answered.iter().cloned().collect()
    }
}
