//! # shoal-redis
//!
//! Fleets of Shoal processes sharing one OAuth client through Redis: the rotating refresh token
//! and the vendor's rate limit, which no single process can own.
//!
//! - [`RedisTokenStore`] — auth's [`TokenStore`](shoal_auth::TokenStore) in Redis: a refresh
//!   lock (`SET NX PX` with a random fencing value, extended while the refresh runs, released by
//!   compare-and-delete, expiring by itself when its holder crashes), compare-and-set saves on a
//!   version, and optional AES-256-GCM encryption at rest ([`EncryptionKey`]). Plug it into
//!   [`RefreshingCredential`](shoal_auth::RefreshingCredential) in every worker.
//! - [`RedisRateLimiter`] — a [`RateLimitBackend`](shoal_core::RateLimitBackend) for core's
//!   [`RateLimiter`](shoal_core::RateLimiter): per-method sliding windows and expiring
//!   concurrency leases in Redis, changed only by server-side Lua scripts on Redis's clock, with
//!   limits learned by any worker shared with all.
//!
//! **Who depends on it directly:** services that run many workers (export jobs, provisioning on
//! several hosts) against one vendor account. A single process does not need it: core's
//! in-memory limiter and auth's file store do the same job there.
//!
//! **Cargo features:** `test-util` — `RedisServer`, a throwaway `redis-server` on a free
//! loopback port for tests (needs `redis-server` on the PATH: `cargo xtask ci` installs it).
//!
//! Requires Redis 5 or newer (scripts read `TIME` before writing).
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use shoal_core::{Pipeline, RateLimitHeaders};
//! use shoal_redis::RedisRateLimiter;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let shared = RedisRateLimiter::builder()
//!     .prefix("shoal:prod:")
//!     .window(Duration::from_secs(60))
//!     .connect("redis://127.0.0.1:6379/")
//!     .await?;
//! let pipeline = Pipeline::builder("https://v3.pebblepad.co.uk/api/".parse()?)
//!     .rate_limiter(Arc::new(shared.rate_limiter(RateLimitHeaders::x_rate())))
//!     .build()?;
//! # drop(pipeline);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod crypto;
mod error;
pub mod ratelimit;
pub mod store;
#[cfg(any(test, feature = "test-util"))]
pub mod test_server;

pub use crypto::EncryptionKey;
pub use ratelimit::{DEFAULT_PREFIX, RedisRateLimiter, RedisRateLimiterBuilder};
pub use store::{CasOutcome, RedisTokenStore, RedisTokenStoreBuilder, Versioned};
#[cfg(any(test, feature = "test-util"))]
pub use test_server::RedisServer;
