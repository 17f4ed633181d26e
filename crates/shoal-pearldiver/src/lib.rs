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

pub mod models;

#[cfg(feature = "client")]
mod audiences;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod errors;
#[cfg(feature = "client")]
mod login;
#[cfg(feature = "client")]
mod records;
#[cfg(feature = "client")]
mod window;

#[cfg(feature = "client")]
pub use audiences::{AudienceQuery, Audiences, GetAudience, ListAudiences};
#[cfg(feature = "client")]
pub use client::{
    API_BASE, AUDIENCE, AUTHORIZE_URL, DEFAULT_SCOPES, PearlDiverClient, PearlDiverClientBuilder,
    TOKEN_URL,
};
#[cfg(feature = "client")]
pub use errors::{PearlDiverErrorDecoder, is_audience_not_found};
#[cfg(feature = "client")]
pub use login::{Login, LoopbackPending};
#[cfg(feature = "client")]
pub use records::AudienceRecords;
#[cfg(feature = "client")]
pub use shoal_auth::{
    AuthorizationRequest, ClientSecret, FileTokenStore, LoopbackOptions, MemoryTokenStore,
    TokenStore,
};
#[cfg(feature = "client")]
pub use window::{AudienceWindow, MAX_DAYS};

pub use models::{
    Address, Audience, AudienceList, AudienceSummary, Company, LenientDateTime, Phone, Record,
    Session, Utm, Visit,
};
