//! [`TokenSettings`] and [`ConfigureTokens`]: how a vendor client keeps and refreshes its OAuth
//! tokens, with one set of builder methods for every vendor that rotates refresh tokens.

use std::fmt;
use std::sync::Arc;

use shoal_core::{Error, Result};

use crate::oauth::OAuthClient;
use crate::record::TokenRecord;
use crate::refreshing::{RefreshSettings, RefreshingCredential, TokenChangeHook};
use crate::store::{MemoryTokenStore, TokenStore};

#[derive(Default)]
enum Keep {
    #[default]
    Unset,
    Store(Arc<dyn TokenStore>),
    Ephemeral,
}

/// Where a client keeps its tokens, when it refreshes them, and whom it tells of a new pair.
///
/// There is no default store: a rotated refresh token the process forgets costs the user their
/// login (or, for a service account, a new pair from the vendor's support), so a builder fails
/// until it is given a store or told [`ephemeral`](ConfigureTokens::ephemeral_tokens) out loud.
#[derive(Default)]
pub struct TokenSettings {
    keep: Keep,
    refresh: RefreshSettings,
    on_change: Option<TokenChangeHook>,
}

impl fmt::Debug for TokenSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keep = match self.keep {
            Keep::Unset => "unset",
            Keep::Store(_) => "store",
            Keep::Ephemeral => "ephemeral",
        };
        f.debug_struct("TokenSettings")
            .field("keep", &keep)
            .field("refresh", &self.refresh)
            .field("on_change", &self.on_change.is_some())
            .finish()
    }
}

impl TokenSettings {
    /// The refreshing credential for `client`, seeded with `seed` while the store is empty.
    /// Without a store it fails with [`Error::Config`], saying that `vendor` rotates its
    /// refresh tokens and what `.ephemeral_tokens()` would cost (`forgotten`).
    pub fn credential(
        &mut self,
        client: OAuthClient,
        seed: Option<TokenRecord>,
        vendor: &str,
        forgotten: &str,
    ) -> Result<RefreshingCredential> {
        let store: Arc<dyn TokenStore> = match std::mem::take(&mut self.keep) {
            Keep::Store(store) => store,
            Keep::Ephemeral => Arc::new(MemoryTokenStore::new()),
            Keep::Unset => {
                return Err(Error::Config(format!(
                    "{vendor} rotates its refresh tokens, so they must be kept: give a token store \
                     (`.token_store(Arc::new(FileTokenStore::new(path)))`), or call \
                     `.ephemeral_tokens()` to keep them in memory only ({forgotten})"
                )));
            }
        };
        let mut credential = RefreshingCredential::builder(client, store).settings(self.refresh);
        if let Some(hook) = self.on_change.take() {
            credential = credential.on_change(hook);
        }
        if let Some(seed) = seed {
            credential = credential.seed(seed);
        }
        Ok(credential.build())
    }
}

/// The token settings of a vendor client builder: implement [`token_settings`](Self::token_settings)
/// and the builder has them all.
///
/// ```
/// use std::sync::Arc;
/// use shoal_auth::{ConfigureTokens, MemoryTokenStore, TokenSettings};
///
/// #[derive(Default)]
/// struct MyBuilder {
///     tokens: TokenSettings,
/// }
///
/// impl ConfigureTokens for MyBuilder {
///     fn token_settings(&mut self) -> &mut TokenSettings {
///         &mut self.tokens
///     }
/// }
///
/// let builder = MyBuilder::default().token_store(Arc::new(MemoryTokenStore::new()));
/// assert!(format!("{:?}", builder.tokens).contains("store"));
/// ```
pub trait ConfigureTokens: Sized {
    /// The settings these methods change.
    fn token_settings(&mut self) -> &mut TokenSettings;

    /// Where tokens are kept between runs — every rotated refresh token saved there before it
    /// is used. Required (or [`ephemeral_tokens`](Self::ephemeral_tokens)).
    fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.token_settings().keep = Keep::Store(store);
        self
    }

    /// Keeps tokens in memory only: every rotation is lost when the process ends, and the next
    /// run must log in again (a service account's presents a spent refresh token). For tests
    /// and one-off scripts; never the default.
    fn ephemeral_tokens(mut self) -> Self {
        self.token_settings().keep = Keep::Ephemeral;
        self
    }

    /// When tokens are refreshed (buffer, jitter, what to do with a pair of unknown age).
    fn refresh_settings(mut self, settings: RefreshSettings) -> Self {
        self.token_settings().refresh = settings;
        self
    }

    /// Called with each new token pair after the store has saved it.
    fn on_token_change(mut self, hook: TokenChangeHook) -> Self {
        self.token_settings().on_change = Some(hook);
        self
    }
}
