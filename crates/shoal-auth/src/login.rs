//! [`Login`]: the browser leg of an OAuth client — the authorize URL (or a loopback listener),
//! then the code exchange, with the tokens stored through the client's refreshing credential.
//! Every OAuth vendor client hands one out from `client.login()`.

use shoal_core::{Result, Url};

use crate::loopback::{LoopbackLogin, LoopbackOptions};
use crate::oauth::AuthorizationRequest;
use crate::refreshing::RefreshingCredential;

/// Logs a user in (authorization code, PKCE where the service takes it) for a credential.
///
/// Two ways: [`loopback`](Self::loopback) for command-line tools (a one-shot listener on the
/// registered loopback redirect URI), or [`authorize`](Self::authorize) then
/// [`complete`](Self::complete) with whatever redirect your application receives.
#[derive(Clone, Debug)]
pub struct Login {
    credential: RefreshingCredential,
}

impl Login {
    /// Logins for `credential`: its OAuth client, and its store for the tokens.
    pub fn new(credential: RefreshingCredential) -> Self {
        Self { credential }
    }

    /// Starts a login with the configured redirect URI: send the user's browser to the returned
    /// request's [`url`](AuthorizationRequest::url) (it carries the `state`; show it to the
    /// user, never log it).
    pub fn authorize(&self) -> AuthorizationRequest {
        self.credential.oauth_client().authorize()
    }

    /// Completes a login from the redirect the browser came back with (the full URL or its
    /// query): checks `state`, exchanges the code (same redirect URI, PKCE verifier), and saves
    /// the tokens as a new family before they are used. The exchange and the save run to
    /// completion in the credential's own task, even if this future is dropped.
    pub async fn complete(&self, pending: &AuthorizationRequest, redirect: &str) -> Result<()> {
        let code = pending.parse_callback(redirect)?;
        self.credential.login_with_code(pending.clone(), code).await
    }

    /// Starts a loopback login (RFC 8252): listens on the registered loopback redirect URI (see
    /// [`LoopbackOptions`]). Show [`LoopbackPending::authorize_url`] to the user, then await
    /// [`LoopbackPending::finish`].
    pub async fn loopback(&self, options: LoopbackOptions) -> Result<LoopbackPending> {
        let login = LoopbackLogin::start(self.credential.oauth_client(), options).await?;
        Ok(LoopbackPending {
            login,
            credential: self.credential.clone(),
        })
    }
}

/// A loopback login waiting for the browser's redirect.
#[derive(Debug)]
pub struct LoopbackPending {
    login: LoopbackLogin,
    credential: RefreshingCredential,
}

impl LoopbackPending {
    /// The URL to open in the user's browser (it carries the `state`: never log it).
    pub fn authorize_url(&self) -> &Url {
        self.login.authorize_url()
    }

    /// The redirect URI the listener answers on.
    pub fn redirect_uri(&self) -> &str {
        self.login.redirect_uri()
    }

    /// Waits for the redirect (up to the options' timeout), exchanges the code and saves the
    /// tokens before they are used. Once the code has arrived, the exchange and the save run to
    /// completion in the credential's own task, even if this future is dropped.
    pub async fn finish(self) -> Result<()> {
        let mut login = self.login;
        let code = login.code().await?;
        self.credential
            .login_with_code(login.request().clone(), code)
            .await
    }
}
