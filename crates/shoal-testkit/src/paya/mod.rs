//! The Paya Connect emulator: `developer-id` on every call, user-id/user-api-key (headers, query
//! or Basic) or a sliding 15-minute session token, contacts with wrapped bodies and 422 field
//! errors, and `locationinfos`.

mod auth;
mod contacts;
mod list;
mod locations;
pub mod validate;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use shoal_core::{SharedClock, SystemClock};

pub use contacts::contact_json;
pub use list::ListingShape;
pub use locations::{Location, ProductTransaction, seeded_locations};

pub(crate) use contacts::synthetic_contact as contacts_fixture;
pub(crate) use list::envelope as list_envelope;
pub(crate) use locations::location_json as location_info_json;

use crate::server::{Common, Emulator, RawHandler, Service, router_handler, settings, wrap};
use crate::synth::Synth;

/// How to start a [`Paya`] emulator.
#[derive(Debug, Clone)]
pub struct PayaConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The emulator's only source of time.
    pub clock: SharedClock,
    /// Seed for ids, seeded contacts and random faults.
    pub seed: u64,
    /// The integrator's developer id, required on every call.
    pub developer_id: String,
    /// Method 1: the user id.
    pub user_id: String,
    /// Method 1: the user API key.
    pub user_api_key: String,
    /// Method 2 (`POST /v2/token`): username.
    pub username: String,
    /// Method 2: password.
    pub password: String,
    /// Method 2: domain.
    pub domain: String,
    /// A session token dies after this long without a successful call (vendor: 15 minutes).
    pub session_idle: Duration,
    /// Contacts created at start (synthetic, from the seed).
    pub seed_contacts: u64,
    /// Requests kept in the traffic record.
    pub traffic_capacity: usize,
}

impl Default for PayaConfig {
    fn default() -> Self {
        let synth = Synth::new(31);
        Self {
            port: 0,
            clock: SystemClock::shared(),
            seed: 31,
            developer_id: "paya-developer-emulator".into(),
            user_id: synth.hex(41, 0, 24),
            user_api_key: synth.hex(42, 0, 32),
            username: "ava.example".into(),
            password: "paya-password-emulator".into(),
            domain: "example.test".into(),
            session_idle: Duration::from_secs(15 * 60),
            seed_contacts: 57,
            traffic_capacity: 10_000,
        }
    }
}

settings!(PayaConfig => PayaState);

/// Everything a client needs to talk to a running Paya emulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayaEndpoints {
    /// Host, e.g. `http://127.0.0.1:4300` (paths start with `/v2/`).
    pub base_url: String,
    /// Developer id.
    pub developer_id: String,
    /// User id.
    pub user_id: String,
    /// User API key.
    pub user_api_key: String,
    /// Token-method username.
    pub username: String,
    /// Token-method password.
    pub password: String,
    /// Token-method domain.
    pub domain: String,
    /// The first location the user reaches directly.
    pub location_id: String,
}

pub(crate) struct Contact {
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub deleted: bool,
}

/// The Paya emulator's state, behind the [`Paya`] handle.
pub struct PayaState {
    pub(crate) cfg: PayaConfig,
    pub(crate) common: Common,
    pub(crate) synth: Synth,
    pub(crate) locations: Vec<Location>,
    pub(crate) sessions: auth::Sessions,
    pub(crate) contacts: Mutex<(Vec<Contact>, u64)>,
    listing: Mutex<ListingShape>,
}

impl PayaState {
    /// How lists are paginated now.
    pub(crate) fn listing(&self) -> ListingShape {
        *self.listing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running Paya Connect emulator. Dropping it stops the server.
pub type Paya = Emulator<PayaState>;

impl Service for PayaState {
    type Config = PayaConfig;
    type Endpoints = PayaEndpoints;

    fn launch(config: PayaConfig, common: &Common) -> (Arc<Self>, RawHandler) {
        let synth = Synth::new(config.seed);
        let state = Arc::new(PayaState {
            locations: seeded_locations(config.seed),
            sessions: auth::Sessions::default(),
            contacts: Mutex::new((Vec::new(), 0)),
            listing: Mutex::default(),
            common: common.clone(),
            synth,
            cfg: config,
        });
        contacts::seed(&state);
        let router = Router::new()
            .route("/v2/token", post(auth::login))
            .route("/v2/token/{token}", delete(auth::logout))
            .route("/v2/contacts", get(list::list).post(contacts::create))
            .route(
                "/v2/contacts/{id}",
                get(contacts::read)
                    .put(contacts::update)
                    .delete(contacts::remove),
            )
            .route("/v2/locationinfos", get(locations::list))
            .with_state(state.clone());
        let guarded = state.clone();
        let router = wrap(router, common, move |r| {
            r.layer(axum::middleware::from_fn_with_state(
                guarded,
                auth::authenticate,
            ))
        });
        (state, router_handler(router))
    }

    fn endpoints(&self, base: &str) -> PayaEndpoints {
        let c = &self.cfg;
        PayaEndpoints {
            base_url: base.to_string(),
            developer_id: c.developer_id.clone(),
            user_id: c.user_id.clone(),
            user_api_key: c.user_api_key.clone(),
            username: c.username.clone(),
            password: c.password.clone(),
            domain: c.domain.clone(),
            location_id: self.locations[0].id.clone(),
        }
    }

    /// Undocumented error bodies *(assumed: the Yii error object)*; 422 bodies are built by
    /// handlers.
    fn error_body(status: u16) -> Option<(&'static str, Vec<u8>)> {
        let name = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Gone",
            429 => "Too Many Requests",
            _ => "Internal Server Error",
        };
        let body = serde_json::json!({"name": name, "message": name, "code": 0, "status": status});
        Some(("application/json", body.to_string().into_bytes()))
    }
}

impl Paya {
    /// Paginates every list served from now on in `shape` (documented by default).
    pub fn set_listing(&self, shape: ListingShape) {
        *self.state.listing.lock().unwrap_or_else(|e| e.into_inner()) = shape;
    }

    /// Session tokens currently alive (not expired, not deleted).
    pub fn live_sessions(&self) -> usize {
        self.state.sessions.live(&self.state)
    }

    /// Contacts not deleted, as the API would show them.
    pub fn contacts(&self) -> Vec<serde_json::Value> {
        let g = self
            .state
            .contacts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        g.0.iter()
            .filter(|c| !c.deleted)
            .map(|c| contact_json(&self.endpoints().base_url, &c.fields, &[]))
            .collect()
    }
}
