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
//! `shoal_core::Error::InvalidInput` naming the field. Server errors stay core's [`Error`]
//! with Paya detail through [`PayaErrorExt`] (422 field messages, "not signed up", …).
//!
//! ```
//! use futures_util::TryStreamExt;
//! use shoal_core::{Bytes, TransportError};
//! use shoal_paya::{ApiKey, ContactField, Environment, KeyPlacement, NewContact, PayaClient, SortOrder};
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
//!     .stream()
//!     .try_collect()
//!     .await?;
//! assert_eq!(all.len(), 1);
//! # Ok::<_, shoal_core::Error>(())
//! # }).unwrap();
//! ```

mod client;
mod contact;
mod environment;
mod error;
mod location_info;
mod validate;
mod wire;
pub mod wire_format;

pub use client::{DEVELOPER_ID_HEADER, PayaClient, PayaClientBuilder};
pub use contact::input::{ContactDetails, ContactUpdate, NewContact};
pub use contact::model::{Contact, ContactExpand, Link, Links};
pub use contact::query::{
    ContactField, ContactQuery, MAX_PAGE_SIZE, Sort, SortOrder, UnknownContactField,
};
pub use contact::{
    Contacts, CreateContact, DeleteContact, GetContact, ListContacts, UpdateContact,
};
pub use environment::Environment;
pub use error::{PayaErrorDecoder, PayaErrorExt, PayaErrorKind};
pub use location_info::{
    ListLocationInfos, LocationInfo, LocationInfoQuery, LocationInfos, ProductTransaction,
    Relationship,
};
pub use shoal_auth::{ApiKey, KeyPlacement, Password, Placement};
pub use shoal_core::Error;
pub use wire::{ListMeta, ListPage, Pagination, PaginationLinks};
