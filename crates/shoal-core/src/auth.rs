//! The [`Authenticator`] seam: how a credential strategy plugs into the pipeline.

use std::fmt;

use async_trait::async_trait;

use crate::error::Result;
use crate::request::Request;

/// Which credential a request was sent with, so a 401 can be matched to it.
///
/// A strategy hands out a new stamp whenever its credential changes; the pipeline gives the
/// stamp back on a 401 so only a request sent with the *current* credential triggers a refresh.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AuthStamp(pub u64);

/// A credential strategy: stamps requests, reacts to 401s, and notes successes.
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Adds credentials to the request (refreshing or logging in first when needed) and returns
    /// the stamp of the credential used.
    async fn authenticate(&self, request: &mut Request) -> Result<AuthStamp>;

    /// [`authenticate`](Self::authenticate) without awaiting, when the credential is at hand (a
    /// fixed key, a token still fresh); `None` (the default), leaving the request untouched, when
    /// it must be awaited (a refresh, a login). The pipeline asks this first, so the common case
    /// costs no boxed future.
    fn authenticate_now(&self, request: &mut Request) -> Option<Result<AuthStamp>> {
        let _ = request;
        None
    }

    /// The server answered 401 to a request sent with `stamp`. Returns `Ok(true)` when a fresh
    /// credential is ready and the request should be replayed once (not counted as a retry).
    async fn unauthorized(&self, stamp: AuthStamp) -> Result<bool>;

    /// The server answered a request sent with `stamp` with success (sliding sessions renew
    /// here). Called on every success, so it must not wait.
    fn succeeded(&self, stamp: AuthStamp) {
        let _ = stamp;
    }
}

/// An authenticator that adds nothing: for public endpoints and for core alone.
#[derive(Clone, Copy, Default)]
pub struct NoAuth;

impl fmt::Debug for NoAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NoAuth")
    }
}

#[async_trait]
impl Authenticator for NoAuth {
    async fn authenticate(&self, _request: &mut Request) -> Result<AuthStamp> {
        Ok(AuthStamp::default())
    }
    fn authenticate_now(&self, _request: &mut Request) -> Option<Result<AuthStamp>> {
        Some(Ok(AuthStamp::default()))
    }
    async fn unauthorized(&self, _stamp: AuthStamp) -> Result<bool> {
        Ok(false)
    }
}
