//! PebblePad's OAuth2 as shoal-auth configuration: the British-spelled endpoints, HTTP Basic
//! client authentication with the raw `id:secret`, no PKCE, and the service-account start from an
//! issued access + refresh pair of unknown age.

use std::fmt;
use std::sync::Arc;

use shoal_auth::{
    AccessToken, BasicEncoding, ClientAuth, ClientSecret, MemoryTokenStore, OAuthConfig,
    RefreshSettings, RefreshToken, TokenRecord, TokenStore,
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
#[derive(Clone)]
pub struct OAuthApp {
    client_id: String,
    client_secret: Option<ClientSecret>,
    redirect_uri: String,
    scopes: Vec<String>,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish()
    }
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

/// How the client authenticates its API calls.
#[derive(Clone)]
pub(crate) enum Credentials {
    /// No credentials (only `GetRateLimits` works).
    None,
    /// A ready strategy.
    Authenticator(Arc<dyn shoal_core::Authenticator>),
    /// OAuth2 through a [`shoal_auth::RefreshingCredential`] over `store`.
    OAuth {
        app: OAuthApp,
        store: Arc<dyn TokenStore>,
        settings: RefreshSettings,
    },
}

/// A service account: the access + refresh pair PebblePad support issues. The access token's age
/// is unknown (it expires 60 minutes after it was *created*), so by default the client refreshes
/// before first use; see [`ServiceAccount::settings`].
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
#[derive(Clone)]
pub struct ServiceAccount {
    app: OAuthApp,
    record: TokenRecord,
    store: Option<Arc<dyn TokenStore>>,
    settings: RefreshSettings,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("app", &self.app)
            .field("record", &self.record)
            .field("settings", &self.settings)
            .finish()
    }
}

impl ServiceAccount {
    /// A service account from its client registration and issued pair.
    pub fn new(app: OAuthApp, access_token: AccessToken, refresh_token: RefreshToken) -> Self {
        Self {
            app,
            record: TokenRecord::unknown_age(access_token, refresh_token),
            store: None,
            settings: RefreshSettings::default(),
        }
    }

    /// Keeps the pair (and every rotation) in `store` instead of memory. A store that already
    /// holds a pair is left alone: its pair is newer than the issued one.
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Refresh settings; [`shoal_auth::UnknownExpiry::UseUntilUnauthorized`] uses the issued
    /// access token until a 401 instead of refreshing first.
    pub fn settings(mut self, settings: RefreshSettings) -> Self {
        self.settings = settings;
        self
    }

    pub(crate) async fn into_credentials(self) -> shoal_core::Result<Credentials> {
        let store: Arc<dyn TokenStore> = match self.store {
            Some(store) => {
                if store.load().await?.is_none() {
                    store.save(&self.record).await?;
                }
                store
            }
            None => Arc::new(MemoryTokenStore::with_record(self.record)),
        };
        Ok(Credentials::OAuth {
            app: self.app,
            store,
            settings: self.settings,
        })
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

    #[tokio::test]
    async fn a_service_account_keeps_a_newer_stored_pair() {
        let store = Arc::new(MemoryTokenStore::new());
        let app = OAuthApp::new("id", ClientSecret::new("s"), "");
        ServiceAccount::new(app.clone(), AccessToken::new("a1"), RefreshToken::new("r1"))
            .store(store.clone())
            .into_credentials()
            .await
            .unwrap();
        assert!(store.load().await.unwrap().is_some());
        let rotated = TokenRecord::unknown_age(AccessToken::new("a2"), RefreshToken::new("r2"));
        store.save(&rotated).await.unwrap();
        ServiceAccount::new(app, AccessToken::new("a1"), RefreshToken::new("r1"))
            .store(store.clone())
            .into_credentials()
            .await
            .unwrap();
        let kept = store.load().await.unwrap().unwrap();
        assert!(kept.same_access_token(&rotated));
    }
}
