//! # shoal-core
//!
//! The layer every Shoal vendor client sends its requests through: a [`Transport`] seam with a
//! reqwest implementation, the [`Pipeline`] (rate limiter → authenticator → transport → observe,
//! inside a retry loop, under a deadline), [`ClientOptions`] (the plumbing every vendor client
//! shares, set through [`ConfigureClient`]), [`Call`] (one operation ready to `.send()`),
//! [`RetryPolicy`] and [`RetryClassifier`], [`RateLimiter`], [`Paginator`], one [`Error`] type
//! with one [`ErrorKind`] for every vendor, [`Redactor`] and an injectable [`Clock`].
//!
//! **Who depends on it directly:** authors of vendor clients and credential strategies, and
//! anyone sending their own requests through Shoal's retry, pacing and redaction. Integrators
//! usually depend on a vendor crate or on `shoal` instead.
//!
//! **Cargo features:** `reqwest` (default) — the reqwest/rustls transport; `test-util` — test
//! doubles (`MockTransport`, `MockAuthenticator`, `CaptureTransport`) and
//! `drop_at_every_pending_point`, which drops a future at each of its pending points in turn.
//!
//! Core never names a vendor: vendor facts (header names, error shapes, whether failed calls
//! are processed) come in through configuration.
//!
//! ```
//! use std::time::Duration;
//! # use bytes::Bytes;
//! use shoal_core::{Pipeline, Request, RetryPolicy, TransportError};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! # let transport = |_r: http::Request<Bytes>| async {
//! #     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(br#"{"audiences":[]}"#)))
//! # };
//! let pipeline = Pipeline::builder("https://api.example.test/v1".parse()?)
//!     # .transport(transport)
//!     .retry_policy(RetryPolicy::default().max_attempts(5))
//!     .deadline(Duration::from_secs(120))
//!     .build()?;
//! let list: serde_json::Value = pipeline.json(Request::get("audiences")).await?;
//! assert!(list["audiences"].is_array());
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod call;
pub mod clamp;
pub mod clock;
pub mod error;
pub mod interceptor;
pub mod options;
pub mod pagination;
pub mod pipeline;
pub mod ratelimit;
pub mod redact;
pub mod request;
pub mod retry;
mod setters;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod transport;

pub use auth::{AuthStamp, Authenticator, NoAuth};
pub use call::{Call, Decode};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::{
    AuthError, AuthErrorKind, Error, ErrorKind, OAuthErrorCode, OneLine, RequestSummary, Result,
    ServiceDetail, ServiceError, TransportError, TransportErrorKind,
};
pub use interceptor::Interceptor;
pub use options::{ClientOptions, ConfigureClient, DEFAULT_MAX_BODY_BYTES};
pub use pagination::{Cursor, Page, Paginator, Prefetch};
pub use pipeline::{CommonErrorDecoder, ErrorDecoder, Pipeline, PipelineBuilder, PipelineStats};
pub use ratelimit::{
    Admission, Lease, LocalRateLimitBackend, MethodStatus, Permit, RateLimitBackend,
    RateLimitHeaders, RateLimitStatus, RateLimiter, RateLimits, RateObservation,
};
pub use redact::{MAX_SHOWN_HEADER_VALUE, MAX_SHOWN_HEADERS, Redactor};
pub use request::{Body, Request, Response, keys_lacking, object_keys, server_date, shown_keys};
pub use retry::{
    Backoff, Classification, Decision, GiveUp, RetryAfter, RetryBudget, RetryClassifier,
    RetryPolicy, StandardClassifier,
};
pub use transport::Transport;
#[cfg(feature = "reqwest")]
pub use transport::{ReqwestTransport, ReqwestTransportBuilder};

pub use bytes::Bytes;
pub use http;
pub use url::Url;
