//! # shoal-pearldiver
//!
//! Pearl Diver (Blackpearl Group) audience data for Rust: lenient serde models of audiences and
//! their records, and (feature `client`) an OAuth client that lists audiences and streams every
//! record of an audience, page by page, through Shoal's request pipeline.
//!
//! **Who depends on it directly:** integrators moving Pearl Diver audiences into CRMs and
//! analytics tools, and anyone who only needs to decode Pearl Diver payloads (turn the `client`
//! feature off). Users of several vendors can depend on the `shoal` facade instead.
//!
//! **Cargo features:** `client` (default) — the HTTP client on `shoal-core`; without it only the
//! models (serde, serde_with, time) build.
//!
//! The models keep everything: every field is optional, unknown fields are kept in `extra`,
//! and date-times are parsed leniently and written back as sent.
//!
//! **What is assumed.** Pearl Diver's pages are silent on much; this crate follows the contract
//! in `shared/api/pearldiver.md`, which marks those points *(assumed)*, and marks each *assumed*
//! where it is used, too:
//! - "Hosts" and "Authentication": the server follows Auth0's conventions — the authorize path
//!   `/authorize` (`AUTHORIZE_URL`), the `audience=pearldiverapi` parameter on the authorize URL
//!   as well as the token URL (`AUDIENCE`), `offline_access` for a refresh token
//!   (`DEFAULT_SCOPES`), a redirect URI compared exactly, port included
//!   (`PearlDiverClientBuilder::oauth`), and a token response and token errors as RFC 6749 and
//!   Auth0 give them (`PearlDiverErrorDecoder`).
//! - "Endpoints": the paths `GET /v1/audiences` and `GET /v1/audiences/{audienceKey}`
//!   (`Audiences::list`, `Audiences::get`, `Audiences::records`); the page's shape
//!   `{key, name, records, pageToken}` ([`Audience`]), read strictly: a page without `records` is
//!   an error naming its keys; a record being a person with the documented sub-models
//!   ([`Record`]).
//! - Beyond the contract: the window is sent again with every page token, and a page token
//!   pins the window its listing began with (`AudienceQuery`, `AudienceRecords`).
//! - Beyond the contract: the next page is asked for while a page is decoded, with the
//!   `pageToken` read from the page's last bytes (`AudienceRecords::ahead`, on by default): page
//!   GETs are idempotent, and one asked for on a wrong guess is aborted.
//!
//! Every endpoint, parameter and scope can be overridden on the builder, so a wrong assumption
//! is a setting, not a fork. The only input refused before sending is the window's documented
//! limit (1 to 90 days).
//!
//! ```
//! use shoal_pearldiver::{Audience, Record};
//!
//! let body = r#"{"key": 17, "name": "Website visitors — Boston",
//!     "records": [{"id": "r1", "email": "ada@example.test", "loyalty": {"tier": "gold"},
//!                  "sessions": [{"visits": [{"time": "2025-03-01T09:30:00Z"}]}]}],
//!     "pageToken": "eyJvZmZzZXQiOjEwMDB9"}"#;
//! let page: Audience<Record> = serde_json::from_str(body)?;
//! let record = &page.records[0];
//! assert_eq!(record.email.as_deref(), Some("ada@example.test"));
//! assert_eq!(record.extra["loyalty"]["tier"], "gold");
//! assert!(page.page_token.is_some());
//! # Ok::<_, serde_json::Error>(())
//! ```
//!
//! **Example:** [`examples/export_audience.rs`](https://github.com/shoal-sdk/shoal/blob/main/crates/shoal-pearldiver/examples/export_audience.rs)
//! — every record of an audience as NDJSON; `cargo run -p shoal-pearldiver --example export_audience` runs it against the testkit emulator, or
//! against the real service when its `SHOAL_*` credentials are set.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Anatomy (the same in every Shoal vendor crate): `client` (the client and its builder),
// `api` (one module per endpoint group, builders ending in `.send()`, streams with
// `by_page`/`by_item`/`resume_from`), `models` (serde models, lenient, unknown fields kept),
// `error` (the vendor's error decoder and extension).

pub mod models;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod api;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod error;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use api::audiences::{AudienceQuery, AudienceRecords, Audiences, GetAudience, PageRecords};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use api::window::{AudienceWindow, MAX_DAYS};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use client::{
    API_BASE, AUDIENCE, AUTHORIZE_URL, DEFAULT_SCOPES, PearlDiverClient, PearlDiverClientBuilder,
    REFRESH_LIFETIMES, TOKEN_URL,
};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use error::{PearlDiverErrorDecoder, PearlDiverErrorExt};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use shoal_auth::{
    AuthorizationRequest, ClientSecret, ConfigureTokens, FileTokenStore, Login, LoopbackOptions,
    LoopbackPending, MemoryTokenStore, TokenStore,
};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use shoal_core::{ClientOptions, ConfigureClient, Error, ErrorKind};

pub use models::{
    Address, Audience, AudienceList, AudienceSummary, Company, LenientDateTime, Phone, RawRecord,
    Record, Session, Utm, Visit,
};
