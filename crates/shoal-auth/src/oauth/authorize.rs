//! The browser leg: building the authorize URL (state + PKCE S256) and reading the redirect.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use shoal_core::{AuthErrorKind, Error, OAuthErrorCode, Redactor, Result};
use url::Url;

use super::config::OAuthConfig;
use crate::secret::{AuthorizationCode, CsrfState, ExposeSecret as _, PkceVerifier, same_secret};

/// 32 bytes from the thread CSPRNG (ChaCha, seeded from the OS), base64url: 43 characters.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)).
pub fn pkce_challenge(verifier: &PkceVerifier) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret().as_bytes()))
}

/// One pending authorization: the URL to send the browser to, and the single-use `state` and
/// PKCE verifier needed to accept the redirect and exchange its code.
#[derive(Clone)]
pub struct AuthorizationRequest {
    url: Url,
    state: CsrfState,
    verifier: Option<PkceVerifier>,
    redirect_uri: String,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &Redactor::standard().url(&self.url))
            .field("state", &self.state)
            .field("verifier", &self.verifier)
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

impl AuthorizationRequest {
    /// Builds the authorize URL for `config`, with `redirect_uri` (exactly as it will be sent
    /// again in the exchange), a fresh random `state` and, unless turned off, PKCE S256.
    pub fn new(config: &OAuthConfig, redirect_uri: &str) -> Self {
        let state = CsrfState::new(random_token());
        let verifier = config.pkce.then(|| PkceVerifier::new(random_token()));
        let mut url = config.authorize_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &config.client_id)
                .append_pair("redirect_uri", redirect_uri);
            if !config.scopes.is_empty() {
                q.append_pair("scope", &config.scopes.join(" "));
            }
            q.append_pair("state", state.expose_secret());
            if let Some(v) = &verifier {
                q.append_pair("code_challenge", &pkce_challenge(v))
                    .append_pair("code_challenge_method", "S256");
            }
            for (k, v) in &config.authorize_params {
                q.append_pair(k, v);
            }
        }
        Self {
            url,
            state,
            verifier,
            redirect_uri: redirect_uri.to_string(),
        }
    }

    /// The URL to open in the user's browser. It carries the `state`: print it for the user,
    /// never into logs.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The redirect URI sent, which the exchange must repeat.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The PKCE verifier, when PKCE is on.
    pub fn verifier(&self) -> Option<&PkceVerifier> {
        self.verifier.as_ref()
    }

    /// Reads the redirect (a full URL, or just its query string) and returns the code.
    ///
    /// A different `state` is refused as [`AuthErrorKind::StateMismatch`] before anything else
    /// is believed, and a code is accepted only with the matching `state`. An `error=` becomes
    /// [`AuthErrorKind::Authorization`] with the server's description (or the code's documented
    /// meaning), also when the redirect carries no `state` — PebblePad's error redirects may
    /// omit it.
    pub fn parse_callback(&self, redirect: &str) -> Result<AuthorizationCode> {
        let query = match redirect.split_once('?') {
            Some((_, q)) => q,
            None => redirect,
        };
        let query = query.split('#').next().unwrap_or_default();
        let mut state = None;
        let mut code = None;
        let mut error = None;
        let mut description = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "state" => state = Some(CsrfState::new(v.into_owned())),
                "code" => code = Some(AuthorizationCode::new(v.into_owned())),
                "error" => error = Some(v.into_owned()),
                "error_description" => description = Some(v.into_owned()),
                _ => {}
            }
        }
        let state_matches = state
            .as_ref()
            .is_some_and(|s| same_secret(s.expose_secret(), self.state.expose_secret()));
        match (&state, &error) {
            (Some(_), _) if !state_matches => {
                return Err(Error::auth(
                    AuthErrorKind::StateMismatch,
                    "the redirect's state does not match the request's",
                ));
            }
            // An error redirect may come without `state` (PebblePad documents it so): report
            // the server's error. A code never counts without the matching state.
            (None, None) => {
                return Err(Error::auth(
                    AuthErrorKind::StateMismatch,
                    "the redirect carries no state",
                ));
            }
            _ => {}
        }
        if let Some(error) = error {
            let code = OAuthErrorCode::parse(&error);
            let meaning = code.meaning();
            let message = match description {
                Some(d) => shoal_core::Redactor::standard().text(&d),
                None => meaning.unwrap_or("no description given").to_string(),
            };
            return Err(Error::auth(AuthErrorKind::Authorization(code), message));
        }
        code.ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Login,
                "the redirect carries neither a code nor an error",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OAuthConfig {
        OAuthConfig::new(
            "https://auth.example.test/authorize".parse().unwrap(),
            "https://auth.example.test/oauth/token".parse().unwrap(),
            "cid",
            "http://127.0.0.1:9/cb",
        )
        .scopes(["openid", "offline_access"])
        .authorize_param("audience", "api")
    }

    fn query(url: &Url, key: &str) -> Option<String> {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// A request of [`config`] and the state its authorize URL carries.
    fn request_and_state() -> (AuthorizationRequest, String) {
        let req = AuthorizationRequest::new(&config(), "x");
        let state = query(req.url(), "state").unwrap();
        (req, state)
    }

    #[test]
    fn authorize_url_carries_everything() {
        let req = AuthorizationRequest::new(&config(), "http://127.0.0.1:9/cb");
        let url = req.url();
        assert_eq!(query(url, "response_type").as_deref(), Some("code"));
        assert_eq!(query(url, "client_id").as_deref(), Some("cid"));
        assert_eq!(
            query(url, "redirect_uri").as_deref(),
            Some("http://127.0.0.1:9/cb")
        );
        assert_eq!(
            query(url, "scope").as_deref(),
            Some("openid offline_access")
        );
        assert_eq!(query(url, "audience").as_deref(), Some("api"));
        assert_eq!(query(url, "code_challenge_method").as_deref(), Some("S256"));
        let verifier = req.verifier().unwrap();
        assert_eq!(verifier.expose_secret().len(), 43);
        assert_eq!(query(url, "code_challenge"), Some(pkce_challenge(verifier)));
        assert_eq!(query(url, "state").unwrap().len(), 43);
        let other = AuthorizationRequest::new(&config(), "http://127.0.0.1:9/cb");
        assert_ne!(query(url, "state"), query(other.url(), "state"));
    }

    #[test]
    fn pkce_can_be_turned_off() {
        let req = AuthorizationRequest::new(&config().pkce(false), "x");
        assert!(req.verifier().is_none());
        assert!(query(req.url(), "code_challenge").is_none());
    }

    #[test]
    fn rfc7636_appendix_b_challenge() {
        let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            pkce_challenge(&v),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn callback_state_is_checked_first() {
        let (req, state) = request_and_state();
        let ok = req
            .parse_callback(&format!("http://127.0.0.1:9/cb?code=C1&state={state}"))
            .unwrap();
        assert_eq!(ok.expose_secret(), "C1");
        for bad in [
            "code=C1&state=nope",
            "code=C1",
            "error=access_denied&state=nope",
        ] {
            let err = req.parse_callback(bad).unwrap_err();
            assert_eq!(
                err.auth_error().unwrap().kind,
                AuthErrorKind::StateMismatch,
                "{bad}"
            );
        }
    }

    #[test]
    fn callback_error_is_typed_with_description() {
        let (req, state) = request_and_state();
        let err = req
            .parse_callback(&format!(
                "error=access_denied&error_description=User+said+no&state={state}"
            ))
            .unwrap_err();
        let auth = err.auth_error().unwrap();
        assert_eq!(
            auth.kind,
            AuthErrorKind::Authorization(OAuthErrorCode::AccessDenied)
        );
        assert_eq!(auth.message, "User said no");
        let err = req
            .parse_callback(&format!("error=unsupported_request_type&state={state}"))
            .unwrap_err();
        assert_eq!(
            err.auth_error().unwrap().kind,
            AuthErrorKind::Authorization(OAuthErrorCode::UnsupportedRequestType)
        );
        let err = req.parse_callback(&format!("state={state}")).unwrap_err();
        assert_eq!(err.auth_error().unwrap().kind, AuthErrorKind::Login);
    }

    #[test]
    fn an_error_redirect_without_state_reports_the_servers_error() {
        let req = AuthorizationRequest::new(&config(), "x");
        for (error, code, meaning) in [
            ("access_denied", OAuthErrorCode::AccessDenied, "denied"),
            (
                "invalid_request",
                OAuthErrorCode::InvalidRequest,
                "parameter",
            ),
            (
                "unsupported_request_type",
                OAuthErrorCode::UnsupportedRequestType,
                "response_type",
            ),
        ] {
            let err = req.parse_callback(&format!("error={error}")).unwrap_err();
            let auth = err.auth_error().unwrap();
            assert_eq!(auth.kind, AuthErrorKind::Authorization(code), "{error}");
            assert!(auth.message.contains(meaning), "{error}: {}", auth.message);
        }
        // A code still needs the matching state, error or not.
        let err = req
            .parse_callback("code=C1&error=access_denied")
            .unwrap_err();
        assert!(matches!(
            err.auth_error().unwrap().kind,
            AuthErrorKind::Authorization(OAuthErrorCode::AccessDenied)
        ));
        assert!(req.parse_callback("code=C1").is_err());
    }
}
