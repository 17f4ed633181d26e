//! [`Login`]: the browser leg of Pearl Diver's OAuth — the authorize URL, then the code
//! exchange, with the tokens stored for the client's refreshing credential.

use std::fmt;

use shoal_auth::{
    AuthorizationRequest, LoopbackLogin, LoopbackOptions, OAuthClient, RefreshingCredential,
};
use shoal_core::{Result, Url};

/// Logs a user in to Pearl Diver (authorization code + PKCE), for a [`PearlDiverClient`].
///
/// [`PearlDiverClient`]: crate::PearlDiverClient
#[derive(Clone, Copy)]
pub struct Login<'a> {
    client: &'a OAuthClient,
    credential: &'a RefreshingCredential,
}

impl fmt::Debug for Login<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("client", self.client)
            .finish()
    }
}

impl<'a> Login<'a> {
    pub(crate) fn new(client: &'a OAuthClient, credential: &'a RefreshingCredential) -> Self {
        Self { client, credential }
    }

    /// Starts a login with the configured redirect URI: send the user's browser to the
    /// returned request's [`url`](AuthorizationRequest::url) (it carries the `state`; show it to
    /// the user, never log it).
    pub fn authorize(&self) -> AuthorizationRequest {
        self.client.authorize()
    }

    /// Starts a login with another redirect URI (a loopback listener's).
    pub fn authorize_with_redirect(&self, redirect_uri: &str) -> AuthorizationRequest {
        self.client.authorize_with_redirect(redirect_uri)
    }

    /// Completes a login from the redirect the browser came back with (the full URL or its
    /// query): checks `state`, exchanges the code (client secret in the form body, the same
    /// redirect URI, the PKCE verifier), and saves the tokens to the token store.
    pub async fn complete(&self, pending: &AuthorizationRequest, redirect: &str) -> Result<()> {
        let code = pending.parse_callback(redirect)?;
        let tokens = self.client.exchange(pending, &code).await?;
        self.credential.login(tokens).await
    }

    /// Starts a loopback login (RFC 8252): listens on 127.0.0.1, and the redirect URI is that
    /// listener's (`http://127.0.0.1:{port}/callback`), so register a loopback redirect with
    /// Pearl Diver. Show [`LoopbackPending::authorize_url`] to the user, then await
    /// [`LoopbackPending::finish`].
    pub async fn loopback(&self, options: LoopbackOptions) -> Result<LoopbackPending<'a>> {
        let login = LoopbackLogin::start(self.client, options).await?;
        Ok(LoopbackPending {
            login,
            credential: self.credential,
        })
    }
}

/// A loopback login waiting for the browser's redirect.
pub struct LoopbackPending<'a> {
    login: LoopbackLogin,
    credential: &'a RefreshingCredential,
}

impl fmt::Debug for LoopbackPending<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackPending")
            .field("login", &self.login)
            .finish()
    }
}

impl LoopbackPending<'_> {
    /// The URL to open in the user's browser (it carries the `state`: never log it).
    pub fn authorize_url(&self) -> &Url {
        self.login.authorize_url()
    }

    /// The redirect URI the listener answers on.
    pub fn redirect_uri(&self) -> &str {
        self.login.redirect_uri()
    }

    /// Waits for the redirect (up to the options' timeout), exchanges the code and saves the
    /// tokens to the token store.
    pub async fn finish(self) -> Result<()> {
        let tokens = self.login.finish().await?;
        self.credential.login(tokens).await
    }
}
