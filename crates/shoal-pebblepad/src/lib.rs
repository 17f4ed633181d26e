//! # shoal-pebblepad
//!
//! A client for PebblePad's v1.1 administration API — provisioning **users** and **groups**,
//! reading and writing **grades**, and Data Island **application references** — built for
//! integration jobs that make thousands of concurrent calls against per-method rate limits and a
//! concurrency limit, and never trip a limit they were told about.
//!
//! - [`Installation`]: the UK, US, Australian, Canadian or TAQAS installation, or a custom host;
//!   every OAuth2 and API URL derives from it.
//! - Credentials from `shoal-auth`: OAuth2 authorization code with PebblePad's British-spelled
//!   endpoints and HTTP Basic client authentication ([`OAuthApp`]), or a [`ServiceAccount`]'s
//!   issued access + refresh pair; refresh is single-flight and keeps whichever refresh token
//!   comes back.
//! - **Rate limits**: read once from `GetRateLimits` before the first call, kept current from the
//!   `X-Rate-*` / `X-Concurrency-*` headers of every response, applied *before* sending by
//!   shoal-core's limiter shared by all clones ([`PebblePadClient::rate_limits`] shows its state). A
//!   429 is retried for any method (PebblePad documents that such a call was not processed) once
//!   the limiter has backed off; a POST or PUT answered 5xx is *not* resent — a gateway may have
//!   answered after PebblePad processed it — and fails as `MaybeProcessed`.
//! - Every action with an `…OnCustomId` twin takes one [`Target`] — by `Id` or `CustomId`.
//! - Errors are shoal-core's [`Error`] (its [`ErrorKind`] the same as every vendor's) with what
//!   only PebblePad says through [`PebblePadErrorExt`] (a duplicate username, 401 detail); 400
//!   `errormessage` and 403 are explained in the message.
//!
//! **What is assumed.** Where PebblePad's documentation is silent, this crate follows the
//! contract in `shared/api/pebblepad.md`, which marks those points *(assumed)*; each is marked
//! *assumed* where it is used, too:
//! - "Errors": a 401's JSON detail is any object, kept whole
//!   ([`PebblePadErrorExt::unauthorized_detail`]); "not processed" covers a 429 for every
//!   method, a POST included — the safe reading — and nothing else
//!   ([`RATE_LIMITED_EXPLANATION`], [`PebblePadClientBuilder::build`]).
//! - "Rate and concurrency limits": the shape of `GetRateLimits` ([`RateLimitsInfo`],
//!   [`Discovery`]); when it cannot be read the client paces from response headers alone.
//! - "Version 1.1 resources": the wording of a duplicate username
//!   ([`PebblePadErrorExt::is_username_exists`]); Group and Grade records beyond `Id`,
//!   `CustomId` and `Grade` (PascalCase, unknown fields kept: [`Group`], [`GroupMember`],
//!   [`Grade`]).
//! - Beyond the contract altogether (the vendor's controller pages name the actions, not their
//!   bodies): the answers of `Group/GetMembers` and `di/ApplicationReference/GetOnApplicationId`
//!   are JSON arrays, read strictly ([`api::decode::list`]); `Grade/Import` answers its records
//!   or nothing ([`api::decode::returned_list`]); create, update and details actions answer the
//!   record, its bare id or nothing ([`api::decode::record`]); the bodies `AddMembers` /
//!   `RemoveMembers` take (an array of [`GroupMember`]), `Add…Details` take (a [`UserDetails`]
//!   object) and `Delete…Details` take (an array of names).
//!
//! No input is refused on an assumed limit: the only checks before sending keep a request
//! well-formed (a non-empty id that stays one path segment, an application reference's own `id`,
//! a header-safe impersonated username). Logins send no PKCE parameters: the contract documents
//! none, and PebblePad answers parameters it does not know with `invalid_request`.
//!
//! **Who depends on it directly:** institutions' provisioning and grade-sync jobs, and the
//! `shoal` facade. It depends on `shoal-core` and `shoal-auth` only.
//!
//! **Cargo features:** none.
//!
//! ```
//! use std::sync::Arc;
//! use shoal_auth::{AccessToken, ClientSecret, RefreshToken};
//! use shoal_pebblepad::{
//!     BasicUserInfo, ConfigureClient as _, ConfigureTokens as _, Group, GroupMember, Installation, MemoryTokenStore,
//!     OAuthApp, PebblePadClient, ServiceAccount, Target,
//! };
//! # use shoal_core::{Bytes, TransportError};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! # let transport = |req: http::Request<Bytes>| async move {
//! #     let body: &'static str = match req.uri().path() {
//! #         p if p.ends_with("/TokenEndpoint") =>
//! #             r#"{"access_token":"a2","token_type":"bearer","expires_in":3600,"refresh_token":"r2"}"#,
//! #         p if p.ends_with("/GetRateLimits") =>
//! #             r#"{"RateLimits":[{"Method":"GET","Limit":600},{"Method":"PUT","Limit":120}],"ConcurrencyLimit":10}"#,
//! #         _ => "",
//! #     };
//! #     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
//! # };
//! let app = OAuthApp::new("svc-client", ClientSecret::new("from-the-vault"), "");
//! let client = PebblePadClient::builder(Installation::UnitedKingdom)
//!     .service_account(ServiceAccount::new(
//!         app,
//!         AccessToken::new("issued-access-token"),
//!         RefreshToken::new("issued-refresh-token"),
//!     ))
//!     // Every rotation is kept here (use a `FileTokenStore` so it outlives the process).
//!     .token_store(Arc::new(MemoryTokenStore::new()))
//!     # .transport(transport)
//!     .build()?;
//! client
//!     .groups()
//!     .add_members(Target::custom_id("NUR-2026"), &[GroupMember::custom_id("S1234567")])
//!     .send()
//!     .await?;
//! # Ok::<_, shoal_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! **Example:** [`examples/provision_users.rs`](https://github.com/shoal-sdk/shoal/blob/main/crates/shoal-pebblepad/examples/provision_users.rs)
//! — users created, grouped and listed, paced; `cargo run -p shoal-pebblepad --example provision_users` runs it against the testkit emulator, or
//! against the real service when its `SHOAL_*` credentials are set.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Anatomy (the same in every Shoal vendor crate): `client` (the client and its builder),
// `api` (one module per controller, core `Call`s ending in `.send()`), `models` (serde models,
// lenient, unknown fields kept), `error` (the decoder and the vendor extension). PebblePad's own:
// `installation` (regions), `auth` (OAuth app, service account), `limits` (discovery inside the
// pipeline) and `probe` (one probe per method after a limit change).

pub mod api;
mod auth;
mod client;
pub mod error;
mod installation;
mod limits;
pub mod models;
mod probe;

pub use api::{IMPERSONATE_HEADER, IdKind, Impersonate, Target};
pub use auth::{OAuthApp, ServiceAccount};
pub use client::{DEFAULT_WINDOW, PebblePadClient, PebblePadClientBuilder};
pub use error::{
    FORBIDDEN_EXPLANATION, PebblePadErrorDecoder, PebblePadErrorExt, RATE_LIMITED_EXPLANATION,
};
pub use installation::Installation;
pub use limits::Discovery;
pub use models::application_reference::ApplicationReference;
pub use models::grade::Grade;
pub use models::group::{Group, GroupMember};
pub use models::rate_limits::{MethodLimit, RateLimitsInfo};
pub use models::user::{BasicUserInfo, UserDetails, UserStatus};
pub use probe::ProbingBackend;
pub use shoal_auth::{
    ConfigureTokens, FileTokenStore, Login, LoopbackOptions, MemoryTokenStore, Password, TokenStore,
};
pub use shoal_core::{Call, ClientOptions, ConfigureClient, Error, ErrorKind};
