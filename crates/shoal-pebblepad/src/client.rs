//! [`PebblePad`]: the client — one installation, one authenticated pipeline, one rate limiter
//! shared by every call and every clone.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use shoal_auth::{AuthorizationRequest, OAuthClient, RefreshingCredential};
use shoal_core::{Error, Pipeline, PipelineStats, RateLimiter, Result};
use tokio::sync::OnceCell;

use crate::application_reference::ApplicationReferences;
use crate::builder::PebblePadBuilder;
use crate::grade::Grades;
use crate::group::Groups;
use crate::installation::Installation;
use crate::limits::Discovery;
use crate::models::rate_limits::RateLimitsInfo;
use crate::user::Users;

/// A PebblePad v1.1 client. Cheap to clone; clones share the connection pool, the credential,
/// the retry budget and — what matters most — the rate limiter, so many tasks sharing one client
/// stay under PebblePad's per-method and concurrency limits together.
///
/// ```
/// use std::sync::Arc;
/// use shoal_pebblepad::{BasicUserInfo, Installation, PebblePad, Target};
/// # use shoal_core::{Bytes, TransportError};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// # let transport = |req: http::Request<Bytes>| async move {
/// #     let body = if req.uri().path().ends_with("GetRateLimits") {
/// #         r#"{"RateLimits":[{"Method":"GET","Limit":600}],"ConcurrencyLimit":10,"WindowSeconds":60}"#
/// #     } else { r#"{"Id":"0b6a","Username":"jbloggs"}"# };
/// #     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
/// # };
/// let client = PebblePad::builder(Installation::UnitedKingdom)
///     .authenticator(Arc::new(shoal_core::NoAuth)) // or .oauth(…) / .service_account(…)
///     # .transport(transport)
///     .build()
///     .await?;
/// let created = client.users().create(&BasicUserInfo::new("jbloggs")).send().await?;
/// assert_eq!(created.id.as_deref(), Some("0b6a"));
/// client.users().delete(Target::custom_id("S1234567")).impersonate("admin").send().await?;
/// let limits = client.rate_limits().await?;
/// assert_eq!(limits.methods["GET"].limit, Some(600));
/// # Ok::<_, shoal_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct PebblePad {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub installation: Installation,
    /// Authenticated, paced: every resource call.
    pub api: Pipeline,
    /// Unauthenticated, paced by the same limiter: `GetRateLimits`.
    pub public: Pipeline,
    pub limiter: Arc<RateLimiter>,
    pub discovery: Discovery,
    pub discovered: OnceCell<()>,
    pub latest: Mutex<Option<RateLimitsInfo>>,
    /// The per-method limits last learned (from `GetRateLimits` or headers), to notice changes.
    pub announced: Mutex<BTreeMap<String, u32>>,
    pub rediscovering: tokio::sync::Mutex<()>,
    pub credential: Option<RefreshingCredential>,
    pub oauth: Option<OAuthClient>,
}

impl fmt::Debug for PebblePad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PebblePad")
            .field("installation", &self.inner.installation)
            .field("api", &self.inner.api)
            .field("discovery", &self.inner.discovery)
            .field("credential", &self.inner.credential)
            .finish()
    }
}

impl PebblePad {
    /// Settings for a client of `installation`.
    pub fn builder(installation: Installation) -> PebblePadBuilder {
        PebblePadBuilder::new(installation)
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The installation.
    pub fn installation(&self) -> &Installation {
        &self.inner.installation
    }

    /// The `User` actions.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// The `Group` actions.
    pub fn groups(&self) -> Groups<'_> {
        Groups::new(self)
    }

    /// The `Grade` actions.
    pub fn grades(&self) -> Grades<'_> {
        Grades::new(self)
    }

    /// The Data Island application-reference actions.
    pub fn application_references(&self) -> ApplicationReferences<'_> {
        ApplicationReferences::new(self)
    }

    /// The pipeline resource calls go through (authenticated, paced).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.api
    }

    /// Counters of the calls so far (attempts, retries, 429s received, …).
    pub fn stats(&self) -> PipelineStats {
        self.inner.api.stats()
    }

    /// The OAuth credential, when the client was built with `.oauth(…)` or
    /// `.service_account(…)`.
    pub fn credential(&self) -> Option<&RefreshingCredential> {
        self.inner.credential.as_ref()
    }

    /// Starts an interactive login: send the user to the returned request's `url()`. PebblePad
    /// gives the user **2 minutes**, and the code it redirects with lives 2 minutes too: call
    /// [`PebblePad::complete_login`] as soon as the redirect arrives.
    pub fn authorize(&self) -> Result<AuthorizationRequest> {
        Ok(self.oauth_client()?.authorize())
    }

    /// Reads the redirect (full URL or query string), checks its `state`, exchanges the code at
    /// once, and stores the tokens in the client's credential.
    pub async fn complete_login(
        &self,
        pending: &AuthorizationRequest,
        redirect: &str,
    ) -> Result<()> {
        let oauth = self.oauth_client()?;
        let code = pending.parse_callback(redirect)?;
        let tokens = oauth.exchange(pending, &code).await?;
        match &self.inner.credential {
            Some(credential) => credential.login(tokens).await,
            None => Err(not_oauth()),
        }
    }

    fn oauth_client(&self) -> Result<&OAuthClient> {
        self.inner.oauth.as_ref().ok_or_else(not_oauth)
    }
}

fn not_oauth() -> Error {
    Error::Config("this PebblePad client was not built with `.oauth(…)`".into())
}
