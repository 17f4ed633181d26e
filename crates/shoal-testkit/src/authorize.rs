//! What the emulated authorization servers know about their clients' redirects and users:
//! registered redirect URIs (matched exactly, port included) and the user's consent.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use url::Url;

/// The redirect URI every emulator registers unless told otherwise.
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

/// The redirect URIs a client registered. A URI is accepted when it equals one of them byte for
/// byte, port included (Auth0 compares callback URLs exactly; PebblePad's must match "the
/// original Uri registered").
///
/// ```
/// use shoal_testkit::RedirectUris;
/// let exact = RedirectUris::default();
/// assert!(exact.allows("http://127.0.0.1:8765/callback"));
/// assert!(!exact.allows("http://127.0.0.1:8766/callback"));
/// // Opt-in for tests whose loopback listener binds port 0.
/// let any_port = RedirectUris::any_loopback_port();
/// assert!(any_port.allows("http://127.0.0.1:51234/callback"));
/// assert!(!any_port.allows("http://127.0.0.1:51234/other"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectUris {
    uris: Vec<String>,
    loopback_any_port: bool,
}

impl Default for RedirectUris {
    fn default() -> Self {
        Self::exact([DEFAULT_REDIRECT_URI])
    }
}

impl RedirectUris {
    /// Exactly these URIs (the first is the one endpoints report).
    pub fn exact<S: Into<String>>(uris: impl IntoIterator<Item = S>) -> Self {
        Self {
            uris: uris.into_iter().map(Into::into).collect(),
            loopback_any_port: false,
        }
    }

    /// [`DEFAULT_REDIRECT_URI`] on any port: for tests that must bind port 0.
    pub fn any_loopback_port() -> Self {
        Self::default().on_any_loopback_port()
    }

    /// Also accepts each registered `http://127.0.0.1…` or `http://localhost…` URI with any
    /// port, path and query unchanged (RFC 8252 §7.3 — which neither vendor documents).
    pub fn on_any_loopback_port(mut self) -> Self {
        self.loopback_any_port = true;
        self
    }

    /// The registered URIs.
    pub fn uris(&self) -> &[String] {
        &self.uris
    }

    /// The first registered URI (where an authorize request without `redirect_uri` goes).
    pub fn primary(&self) -> Option<&str> {
        self.uris.first().map(String::as_str)
    }

    /// The URI a login should use: the primary one, empty if none is registered.
    pub(crate) fn login_uri(&self) -> String {
        self.primary().unwrap_or_default().to_string()
    }

    /// Whether `uri` may be redirected to.
    pub fn allows(&self, uri: &str) -> bool {
        self.uris
            .iter()
            .any(|r| r == uri || (self.loopback_any_port && same_but_port(uri, r)))
    }
}

/// Whether two loopback `http` URLs differ at most in their port.
fn same_but_port(uri: &str, registered: &str) -> bool {
    let (Ok(a), Ok(b)) = (Url::parse(uri), Url::parse(registered)) else {
        return false;
    };
    let loopback = |u: &Url| matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    loopback(&a)
        && a.scheme() == "http"
        && a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.path() == b.path()
        && a.query() == b.query()
        && a.fragment().is_none()
}

/// What the emulated user does on the authorize page, and whether error redirects carry `state`.
/// Clones share it, so a test changes it while the emulator runs.
///
/// ```
/// use shoal_testkit::Consent;
/// let consent = Consent::default();
/// consent.deny_next(1).omit_state_on_errors(true);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Consent {
    inner: Arc<Mutex<ConsentState>>,
}

#[derive(Debug, Default)]
struct ConsentState {
    /// `Some(n)`: the next `n` authorizations are denied; `None`: approve.
    deny: Option<u32>,
    deny_always: bool,
    omit_state: bool,
}

impl Consent {
    fn lock(&self) -> MutexGuard<'_, ConsentState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user denies the next `n` authorizations (`error=access_denied`).
    pub fn deny_next(&self, n: u32) -> &Self {
        self.lock().deny = (n > 0).then_some(n);
        self
    }

    /// The user denies every authorization until [`Consent::approve`].
    pub fn deny_always(&self) -> &Self {
        self.lock().deny_always = true;
        self
    }

    /// The user approves again (the default).
    pub fn approve(&self) -> &Self {
        let mut g = self.lock();
        g.deny = None;
        g.deny_always = false;
        self
    }

    /// Error redirects leave `state` out (`true`) or echo it (`false`, the default).
    /// PebblePad documents `state` as optional on them.
    pub fn omit_state_on_errors(&self, omit: bool) -> &Self {
        self.lock().omit_state = omit;
        self
    }

    /// Whether this authorization is denied (uses up one scripted denial).
    pub(crate) fn denies(&self) -> bool {
        let mut g = self.lock();
        if g.deny_always {
            return true;
        }
        match g.deny {
            Some(n) => {
                g.deny = (n > 1).then(|| n - 1);
                true
            }
            None => false,
        }
    }

    /// The `state` an error redirect carries.
    pub(crate) fn error_state<'a>(&self, state: Option<&'a str>) -> Option<&'a str> {
        if self.lock().omit_state { None } else { state }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_unless_told_any_loopback_port() {
        let r = RedirectUris::exact(["http://127.0.0.1:8765/callback", "https://app.test/cb"]);
        assert!(r.allows("https://app.test/cb"));
        assert!(!r.allows("https://app.test/cb/"));
        assert!(!r.allows("http://127.0.0.1:9/callback"));
        assert!(!r.allows("http://localhost:8765/callback"));
        let any = r.on_any_loopback_port();
        assert!(any.allows("http://127.0.0.1:9/callback"));
        assert!(!any.allows("http://127.0.0.1:9/callback?x=1"));
        assert!(!any.allows("https://app.test:444/cb"), "only loopback http");
        assert!(!any.allows("http://127.0.0.2:9/callback"));
    }

    #[test]
    fn denials_run_out_and_state_can_be_omitted() {
        let c = Consent::default();
        assert!(!c.denies());
        c.deny_next(2);
        assert!(c.denies() && c.denies());
        assert!(!c.denies());
        c.deny_always();
        assert!(c.denies() && c.denies());
        c.approve();
        assert!(!c.denies());
        assert_eq!(c.error_state(Some("s")), Some("s"));
        c.omit_state_on_errors(true);
        assert_eq!(c.error_state(Some("s")), None);
    }
}
