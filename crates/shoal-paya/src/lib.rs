//! # shoal-paya
//!
//! A client for Paya Connect's key / token-method REST API (`/v2/…`): **contacts** (the
//! merchant's customer records) and **location info**, on shoal-core's pipeline (retry,
//! redaction, tracing, clock) with shoal-auth's credentials (API key or session token).
//!
//! **Who depends on it directly:** merchants' back-office integrations keeping customer records
//! in step with the payment platform, and the `shoal` facade. It depends on `shoal-core` and
//! `shoal-auth` only.
//!
//! **Cargo features:** none.
//!
//! **Money is involved: no request is ever silently duplicated.** GET, PUT and DELETE are
//! retried by core's policy; a POST is never resent once it may have reached the server (only
//! a refused connection is retried), and its failure says so — see [`Contacts::create`] for
//! how to check for a duplicate by `contact_api_id`.
//!
//! Every input is checked against the documented limits before anything is sent; a failure is
//! `shoal_core::Error::InvalidInput` naming the field (turn the checks off with
//! [`PayaClientBuilder::input_checks`] if Paya accepts what a limit refuses). Server errors stay
//! core's [`Error`] — its [`ErrorKind`], 422 field messages through
//! [`Error::validation_errors`] — with what only Paya says through [`PayaErrorExt`] ("not
//! signed up").
//!
//! **What is assumed.** Where Paya's documentation is silent, this crate follows the contract in
//! `shared/api/paya.md`, which marks those points *(assumed)*; each is marked *assumed* where it
//! is used, too:
//! - the maximum `page_size`, 100 ("Conventions": [`MAX_PAGE_SIZE`],
//!   [`ListContacts::page_size`]);
//! - the bodies of 401/403/404/500, kept whatever they are ("Errors": [`PayaErrorDecoder`]), and
//!   so the wording a "not signed up" 403 is recognised by ([`PayaErrorExt::is_not_signed_up`]);
//! - three rules of the field checks that "Contacts — `/v2/contacts`" does not state: a phone
//!   number's 10 characters are digits, a state's 2 are letters, an e-mail address has an `@`
//!   ([`FieldRule::Digits`], [`FieldRule::State`], [`FieldRule::Email`]).
//!
//! Every assumed limit is one of the input checks, so
//! [`input_checks(false)`](PayaClientBuilder::input_checks) lets through whatever it would
//! refuse. List envelopes without their plural array are refused, not read as empty.
//!
//! ```
//! use futures_util::TryStreamExt;
//! use shoal_core::{Bytes, TransportError};
//! use shoal_paya::{ApiKey, ConfigureClient as _, ContactField, Environment, KeyPlacement, NewContact, PayaClient, SortOrder};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! # let transport = |req: http::Request<Bytes>| async move {
//! #     let body = if req.method() == http::Method::POST {
//! #         r#"{"contact":{"id":"11e95f8ec39de8fbdb0a4f1a","last_name":"Smith","created_ts":1700000000}}"#
//! #     } else {
//! #         r#"{"contacts":[{"id":"11e95f8ec39de8fbdb0a4f1a","last_name":"Smith"}],"meta":{"pagination":{"links":{},"pageCount":1}}}"#
//! #     };
//! #     let mut r = http::Response::new(Bytes::from_static(body.as_bytes()));
//! #     *r.status_mut() = if req.method() == http::Method::POST { http::StatusCode::CREATED } else { http::StatusCode::OK };
//! #     Ok::<_, TransportError>(r)
//! # };
//! let client = PayaClient::builder(Environment::Sandbox)
//!     .developer_id("my-solution")
//!     .api_key("user-1", ApiKey::new("key from the merchant portal"), KeyPlacement::Headers)
//!     # .transport(transport)
//!     .build()?;
//! let created = client.contacts()
//!     .create(NewContact::new("11e95f8ec39de8fbdb0a4f1b", "Smith").contact_api_id("crm-1"))
//!     .send()
//!     .await?;
//! assert_eq!(created.last_name.as_deref(), Some("Smith"));
//! let all: Vec<_> = client.contacts().list()
//!     .sort(ContactField::LastName, SortOrder::Ascending)
//!     .page_size(100)
//!     .by_item()
//!     .try_collect()
//!     .await?;
//! assert_eq!(all.len(), 1);
//! # Ok::<_, shoal_core::Error>(())
//! # }).unwrap();
//! ```
//!
//! **Example:** [`examples/contacts.rs`](https://github.com/shoal-sdk/shoal/blob/main/crates/shoal-paya/examples/contacts.rs)
//! — a contact upserted, listed and deleted; `cargo run -p shoal-paya --example contacts` runs it against the testkit emulator, or
//! against the real service when its `SHOAL_*` credentials are set.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Anatomy (the same in every Shoal vendor crate): `client` (the client and its builder, with
// Paya's credential facts), `api` (one module per endpoint group, builders ending in `.send()`,
// listings with `by_page`/`by_item`/`resume_from`), `models` (serde models, lenient, unknown
// fields kept; the contact fields declared once), `error` (the decoder and the vendor
// extension). Paya's own: `environment` (sandbox, production, custom hosts).

pub mod api;
mod client;
mod environment;
pub mod error;
pub mod models;

pub use api::contact_query::{ContactQuery, MAX_PAGE_SIZE, Sort, SortOrder};
pub use api::contacts::{Contacts, CreateContact, GetContact, ListContacts};
pub use api::location_infos::{ListLocationInfos, LocationInfoQuery, LocationInfos};
pub use client::{
    API_KEY_NAME, DEVELOPER_ID_HEADER, PayaClient, PayaClientBuilder, SESSION, USER_ID_NAME,
};
pub use environment::Environment;
pub use error::{PayaErrorDecoder, PayaErrorExt};
pub use models::contact::{Contact, ContactExpand, Link, Links};
pub use models::contact_input::{ContactUpdate, NewContact};
pub use models::envelope::{ListMeta, ListPage, Pagination, PaginationLinks};
pub use models::fields::{Access, ContactField, FieldRule, FieldValue, UnknownContactField};
pub use models::location_info::{LocationInfo, ProductTransaction, Relationship};
pub use shoal_auth::{ApiKey, KeyPlacement, ParamPlacement, Password};
pub use shoal_core::{Call, ClientOptions, ConfigureClient, Error, ErrorKind};
