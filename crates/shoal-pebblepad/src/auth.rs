//! PebblePad's OAuth2 as shoal-auth configuration: the British-spelled endpoints, HTTP Basic
//! client authentication with the raw `id:secret`, no PKCE, and the service-account start from an
//! issued access + refresh pair of unknown age.

use shoal_auth::{
    AccessToken, BasicEncoding, ClientAuth, ClientSecret, OAuthConfig, RefreshToken, TokenRecord,
};

use crate::installation::Installation;

/// A PebblePad OAuth2 client registration: id, secret, redirect URI and scopes.
///
/// ```
/// use shoal_pebblepad::{Installation, OAuthApp};
/// use shoal_auth::ClientSecret;
/// let app = OAuthApp::new("my-client", ClientSecret::new("s3cret"), "https://app.example/cb")
///     .scopes(["admin_user:c", "admin_grade:r"]);
/// let config = app.config(&Installation::UnitedKingdom);
/// assert_eq!(
///     config.authorize_url.as_str(),
///     "https://v3.pebblepad.co.uk/login/OAuth2/AuthorisationEndpoint"
/// );
/// assert!(!config.pkce);
/// assert!(!format!("{app:?}").contains("s3cret"));
/// ```
#[derive(Clone, Debug)]
pub struct OAuthApp {
    client_id: String,
    client_secret: Option<ClientSecret>,
    redirect_uri: String,
    scopes: Vec<String>,
}

impl OAuthApp {
    /// A confidential client: it authenticates to the token endpoint with HTTP Basic, as
    /// PebblePad requires of every client that has a secret.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: ClientSecret,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(client_secret),
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
        }
    }

    /// A client without a secret: `client_id` goes in the token request's body.
    pub fn public(client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
        }
    }

    /// Scopes to ask for (`resource:letter`, e.g. `admin_grade:r`).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// shoal-auth's configuration for this client on `installation`:
    /// `{oauth}/AuthorisationEndpoint`, `{oauth}/TokenEndpoint`, Basic with the raw
    /// `id:secret` (as PebblePad documents it), and no PKCE (PebblePad answers unknown
    /// parameters with `invalid_request`).
    pub fn config(&self, installation: &Installation) -> OAuthConfig {
        let mut config = OAuthConfig::new(
            installation.authorisation_endpoint(),
            installation.token_endpoint(),
            self.client_id.clone(),
            self.redirect_uri.clone(),
        )
        .client_auth(ClientAuth::Basic {
            encoding: BasicEncoding::Raw,
        })
        .scopes(self.scopes.clone())
        .pkce(false);
        if let Some(secret) = &self.client_secret {
            config = config.client_secret(secret.clone());
        }
        config
    }
}

/// A service account: the access + refresh pair PebblePad support issues. The access token's age
/// is unknown (it expires 60 minutes after it was *created*), so by default the client refreshes
/// before first use (see [`RefreshSettings`](shoal_auth::RefreshSettings) to wait for a 401
/// instead).
///
/// The pair only starts the chain: every rotation is saved to the client's token store, and a
/// stored pair always wins over the issued one (whose refresh token is spent after the first
/// rotation) — so the same issued pair can be given on every run.
///
/// ```
/// use shoal_auth::{AccessToken, ClientSecret, RefreshToken};
/// use shoal_pebblepad::{OAuthApp, ServiceAccount};
/// let account = ServiceAccount::new(
///     OAuthApp::new("svc-client", ClientSecret::new("s"), ""),
///     AccessToken::new("issued-access"),
///     RefreshToken::new("issued-refresh"),
/// );
/// assert!(!format!("{account:?}").contains("issued-"));
/// ```
#[derive(Clone, Debug)]
pub struct ServiceAccount {
    pub(crate) app: OAuthApp,
    pub(crate) record: TokenRecord,
}

impl ServiceAccount {
    /// A service account from its client registration and issued pair.
    pub fn new(app: OAuthApp, access_token: AccessToken, refresh_token: RefreshToken) -> Self {
        Self {
            app,
            record: TokenRecord::unknown_age(access_token, refresh_token),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_uses_basic_raw_and_british_endpoints() {
        let app = OAuthApp::new("id", ClientSecret::new("CANARY-SECRET"), "https://cb");
        let config = app.config(&Installation::Taqas);
        assert_eq!(
            config.token_url.as_str(),
            "https://v3test.pebblepad.com/login/OAuth2/TokenEndpoint"
        );
        assert_eq!(
            config.client_auth,
            ClientAuth::Basic {
                encoding: BasicEncoding::Raw
            }
        );
        assert!(config.client_secret.is_some());
        assert!(!format!("{config:?}").contains("CANARY-SECRET"));
        assert!(
            OAuthApp::public("id", "cb")
                .config(&Installation::Taqas)
                .client_secret
                .is_none()
        );
    }
}
