//! # shoal
//!
//! One dependency for all of Shoal: the request pipeline ([`core`]), credentials ([`auth`]) and
//! each vendor client behind a cargo feature, plus a [`prelude`].
//!
//! **Who depends on it directly:** integrators who use more than one vendor, or who want one
//! version line for all of Shoal. Users of a single vendor may depend on its crate alone.
//!
//! **Cargo features** (all on by default): `pearldiver`, `pebblepad`, `paya`.
//!
//! Examples per vendor follow the modules below; each runs against the built-in emulators from
//! `shoal-testkit`, so it compiles and passes as a doctest with no account or network.

pub use shoal_auth as auth;
pub use shoal_core as core;
#[cfg(feature = "paya")]
pub use shoal_paya as paya;
#[cfg(feature = "pearldiver")]
pub use shoal_pearldiver as pearldiver;
#[cfg(feature = "pebblepad")]
pub use shoal_pebblepad as pebblepad;

/// The names most programs need.
pub mod prelude {
    pub use shoal_auth::{FileTokenStore, MemoryTokenStore, TokenStore};
    pub use shoal_core::{Clock, Cursor, Error, Page, Result, RetryPolicy, SystemClock};
}
