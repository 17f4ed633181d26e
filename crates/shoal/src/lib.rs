//! # shoal
//!
//! One dependency for all of Shoal, a Rust SDK for three vendor REST APIs: **Pearl Diver**
//! (audience and visitor data), **PebblePad** (e-portfolio administration) and **Paya Connect**
//! (payment-platform customer records). It re-exports the request pipeline ([`core`]: retry,
//! rate limiting, pagination, errors, redaction, clock), the credentials ([`auth`]: OAuth2 code +
//! PKCE with rotating refresh tokens, token stores, API keys, session tokens) and each vendor
//! client behind a cargo feature, plus a [`prelude`] of the names most programs need.
//!
//! **Who depends on it directly:** integrators who use more than one vendor, or who want one
//! version line for all of Shoal. A program that talks to one vendor only may depend on that
//! vendor's crate alone (`shoal-pearldiver`, `shoal-pebblepad`, `shoal-paya`).
//!
//! **Cargo features** (all on by default): `pearldiver` ([`pearldiver`]), `pebblepad`
//! ([`pebblepad`]), `paya` ([`paya`]). `default-features = false, features = ["paya"]` builds
//! Paya Connect alone.
//!
//! Each example below is complete and runs as a doctest against the built-in emulators from
//! `shoal-testkit` (a dev-dependency): no account, no network. Point the same code at the real
//! service by dropping the emulator and the URL overrides.
//!
//! ## Pearl Diver: every record of an audience, tokens refreshed and rotated underneath
//!
//! ```
//! use std::sync::Arc;
//! use futures_util::TryStreamExt;
//! use shoal::auth::TokenRecord;
//! use shoal::prelude::*;
//! use shoal_testkit::pearldiver::PearlDiver;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let emulator = PearlDiver::start_default().await?;
//! let ep = emulator.endpoints();
//! // Tokens from an earlier login (`shoal pearldiver login` keeps them in a `FileTokenStore`).
//! let earlier = emulator.mint_tokens();
//! let tokens = MemoryTokenStore::with_record(TokenRecord::unknown_age(
//!     AccessToken::new(earlier.access_token),
//!     RefreshToken::new(earlier.refresh_token),
//! ));
//! let client = PearlDiverClient::builder()
//!     .oauth(&ep.client_id, ClientSecret::new(ep.client_secret.as_str()), "http://127.0.0.1/callback")
//!     .auth_server(&ep.auth_base)
//!     .api_base(&ep.api_base)
//!     .token_store(Arc::new(tokens))
//!     .build()?;
//! let audiences = client.audiences().list().send().await?.audiences;
//! let key = audiences[0].key;
//! let records: Vec<_> = client
//!     .audiences()
//!     .records(key, AudienceWindow::last_days(90)?)
//!     .by_item()
//!     .try_collect()
//!     .await?;
//! assert_eq!(records.len(), 2_500); // three 1000-record pages, followed by their opaque tokens
//! assert!(records.iter().all(|r| r.id.is_some()));
//! # emulator.shutdown().await;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ## PebblePad: provisioning paced under the installation's limits
//!
//! ```
//! use shoal::prelude::*;
//! use shoal::pebblepad::{BasicUserInfo, Group, GroupMember, Target};
//! use shoal_testkit::pebblepad::PebblePad as Emulator;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let emulator = Emulator::start_default().await?;
//! let ep = emulator.endpoints().clone();
//! // The access + refresh pair PebblePad support hands over for a service account.
//! let account = ServiceAccount::new(
//!     OAuthApp::new(&ep.client_id, ClientSecret::new(ep.client_secret.as_str()), ""),
//!     AccessToken::new(ep.service_access_token.clone().unwrap_or_default()),
//!     RefreshToken::new(ep.service_refresh_token.clone().unwrap_or_default()),
//! );
//! let client = PebblePadClient::builder(Installation::custom(&ep.host)?)
//!     .service_account(account)
//!     // Every rotation saved before it is used (a `FileTokenStore` outlives the process).
//!     .token_store(std::sync::Arc::new(MemoryTokenStore::new()))
//!     .build()?;
//! let user = BasicUserInfo::new("ada.lovelace")
//!     .name("Ada", "Lovelace")
//!     .email("ada@example.test")
//!     .custom_id("S0001");
//! client.users().create(&user).send().await?;
//! client.groups().create(&Group::new("Analytical engines").custom_id("AE-1")).send().await?;
//! client
//!     .groups()
//!     .add_members(Target::custom_id("AE-1"), &[GroupMember::custom_id("S0001")])
//!     .send()
//!     .await?;
//! let members = client.groups().members(Target::custom_id("AE-1")).send().await?;
//! assert_eq!(members.len(), 1);
//! // The limits were read once from GetRateLimits and are kept current from every response.
//! let limits = client.rate_limits().await?;
//! assert_eq!(limits.methods["POST"].limit, Some(120));
//! assert_eq!(limits.rejections, 0);
//! # emulator.shutdown().await;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ## Paya Connect: a contact's life with a session token
//!
//! ```
//! use futures_util::TryStreamExt;
//! use shoal::prelude::*;
//! use shoal::paya::{ContactUpdate, NewContact};
//! use shoal_testkit::paya::Paya;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let emulator = Paya::start_default().await?;
//! let ep = emulator.endpoints().clone();
//! let client = PayaClient::builder(Environment::custom(&ep.base_url)?)
//!     .developer_id(&ep.developer_id)
//!     // or .api_key(user_id, ApiKey::new(…), KeyPlacement::Headers)
//!     .session(&ep.username, Password::new(ep.password.as_str()), &ep.domain)
//!     .build()?;
//! let contact = NewContact::new(&ep.location_id, "Lovelace")
//!     .first_name("Ada")
//!     .contact_api_id("ada-from-the-crm");
//! let created = client.contacts().create(contact).send().await?;
//! let id = created.id.clone().unwrap_or_default();
//! client.contacts().update(id.as_str(), ContactUpdate::new().city("London")).send().await?;
//! let all: Vec<_> = client.contacts().list().page_size(100).by_item().try_collect().await?;
//! assert!(all.iter().any(|c| c.id == created.id && c.city.as_deref() == Some("London")));
//! client.contacts().delete(id.as_str()).send().await?;
//! client.logout().await?; // DELETE /v2/token/{token}
//! # emulator.shutdown().await;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use shoal_auth as auth;
pub use shoal_core as core;
#[cfg(feature = "paya")]
#[cfg_attr(docsrs, doc(cfg(feature = "paya")))]
pub use shoal_paya as paya;
#[cfg(feature = "pearldiver")]
#[cfg_attr(docsrs, doc(cfg(feature = "pearldiver")))]
pub use shoal_pearldiver as pearldiver;
#[cfg(feature = "pebblepad")]
#[cfg_attr(docsrs, doc(cfg(feature = "pebblepad")))]
pub use shoal_pebblepad as pebblepad;

/// The names most programs need: errors, pages, the clock, the secret types, the token stores,
/// and each enabled vendor's client and its main settings.
pub mod prelude {
    pub use shoal_auth::{
        AccessToken, ApiKey, ClientSecret, ConfigureTokens, ExposeSecret, FileTokenStore,
        MemoryTokenStore, Password, RefreshToken, TokenStore,
    };
    pub use shoal_core::{
        ClientOptions, Clock, ConfigureClient, Cursor, Error, ErrorKind, Page, Result, RetryPolicy,
        SharedClock, SystemClock,
    };
    #[cfg(feature = "paya")]
    #[cfg_attr(docsrs, doc(cfg(feature = "paya")))]
    pub use shoal_paya::{Environment, KeyPlacement, PayaClient, PayaErrorExt};
    #[cfg(feature = "pearldiver")]
    #[cfg_attr(docsrs, doc(cfg(feature = "pearldiver")))]
    pub use shoal_pearldiver::{AudienceWindow, PearlDiverClient, PearlDiverErrorExt};
    #[cfg(feature = "pebblepad")]
    #[cfg_attr(docsrs, doc(cfg(feature = "pebblepad")))]
    pub use shoal_pebblepad::{
        Impersonate, Installation, OAuthApp, PebblePadClient, PebblePadErrorExt, ServiceAccount,
    };
}
