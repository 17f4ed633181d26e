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
//!   shoal-core's limiter shared by all clones ([`PebblePad::rate_limits`] shows its state). A
//!   429 is retried for any method (PebblePad does not process errored calls) once the limiter
//!   has backed off.
//! - Every action with an `…OnCustomId` twin takes one [`Target`] — by `Id` or `CustomId`.
//! - Errors are shoal-core's [`Error`](shoal_core::Error) with PebblePad detail through
//!   [`PebblePadErrorExt`] (400 `errormessage`, a duplicate username, 401 detail, 403 explained).
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
//!     BasicUserInfo, Group, GroupMember, Installation, OAuthApp, PebblePad, ServiceAccount, Target,
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
//! let client = PebblePad::builder(Installation::UnitedKingdom)
//!     .service_account(ServiceAccount::new(
//!         app,
//!         AccessToken::new("issued-access-token"),
//!         RefreshToken::new("issued-refresh-token"),
//!     ))
//!     # .transport(transport)
//!     .build()
//!     .await?;
//! client
//!     .groups()
//!     .add_members(Target::custom_id("NUR-2026"), &[GroupMember::custom_id("S1234567")])
//!     .send()
//!     .await?;
//! # Ok::<_, shoal_core::Error>(())
//! # }).unwrap();
//! ```

mod application_reference;
mod auth;
mod builder;
mod call;
mod client;
mod error;
mod grade;
mod group;
mod installation;
mod limits;
pub mod models;
mod probe;
mod target;
mod user;

pub use application_reference::ApplicationReferences;
pub use auth::{OAuthApp, ServiceAccount};
pub use builder::{DEFAULT_WINDOW, PebblePadBuilder};
pub use call::{Call, IMPERSONATE_HEADER};
pub use client::PebblePad;
pub use error::{
    FORBIDDEN_EXPLANATION, PebblePadErrorDecoder, PebblePadErrorExt, PebblePadErrorKind,
    RATE_LIMITED_EXPLANATION,
};
pub use grade::Grades;
pub use group::Groups;
pub use installation::Installation;
pub use limits::Discovery;
pub use models::application_reference::ApplicationReference;
pub use models::grade::Grade;
pub use models::group::{Group, GroupMember};
pub use models::rate_limits::{MethodLimit, RateLimitsInfo};
pub use models::user::{BasicUserInfo, UserDetails, UserStatus};
pub use probe::ProbingBackend;
pub use shoal_auth::Password;
pub use target::{IdKind, Target};
pub use user::Users;
