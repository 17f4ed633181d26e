//! [`Login`]: the browser leg of Pearl Diver's OAuth — the authorize URL, then the code
//! exchange, with the tokens stored for the client's refreshing credential.

use std::fmt;

use shoal_auth::{AuthorizationRequest, OAuthClient, RefreshingCredential};
use shoal_core::Result;

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
}
