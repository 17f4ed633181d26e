//! Clients from connection flags: each vendor's endpoints, credentials and token files, with
//! one clear usage error for anything missing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shoal::auth::{ClientAuth, ClientSecret, FileTokenStore, OAuthClient, OAuthConfig};
use shoal::core::{Pipeline, Url};
use shoal::paya::{Environment, KeyPlacement, PayaClient};
use shoal::pearldiver::{
    API_BASE, AUDIENCE, AUTHORIZE_URL, DEFAULT_SCOPES, PearlDiverClient, PearlDiverErrorDecoder,
    TOKEN_URL,
};
use shoal::pebblepad::{Installation, OAuthApp, PebblePad, ServiceAccount};

use crate::args::{
    EnvironmentArg, InstallationArg, KeyPlacementArg, PayaConn, PearlDiverConn, PebblePadConn,
};
use crate::exit::{CliError, CliResult};

/// The redirect URI put in the client configuration; loopback logins replace it with their
/// listener's own (`http://127.0.0.1:{port}/callback`).
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1/callback";

/// `{config dir}/shoal/{name}`, creating the directory (0700 on Unix) if needed.
pub fn config_file(name: &str) -> CliResult<PathBuf> {
    let base = dirs::config_dir().ok_or_else(|| {
        CliError::usage("cannot find your config directory")
            .hint("pass --token-file (or its SHOAL_… variable) to say where tokens go")
    })?;
    Ok(base.join("shoal").join(name))
}

/// Creates the directory a file goes in (0700 on Unix: it holds tokens).
pub fn ensure_parent(path: &Path) -> CliResult<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))
}

fn url(flag: &str, value: &str) -> CliResult<Url> {
    Url::parse(value).map_err(|e| CliError::usage(format!("invalid --{flag} {value:?}: {e}")))
}

fn required<'a, T>(value: &'a Option<T>, what: &str, flag: &str, var: &str) -> CliResult<&'a T> {
    value.as_ref().ok_or_else(|| {
        CliError::usage(format!("{what} is missing")).hint(format!("pass --{flag} or set {var}"))
    })
}

/// Everything the Pearl Diver commands need: the API client, the OAuth client (for a forced
/// rotation) and the token file both share.
#[derive(Debug)]
pub struct PearlDiverSetup {
    /// The API client, refreshing through the token file.
    pub client: PearlDiverClient,
    /// The OAuth client on the same endpoints and credentials.
    pub oauth: OAuthClient,
    /// The token file.
    pub store: Arc<FileTokenStore>,
}

/// The token file the flags name, or the default under the config directory.
pub fn pearldiver_token_file(conn: &PearlDiverConn) -> CliResult<PathBuf> {
    match &conn.token_file {
        Some(path) => Ok(path.clone()),
        None => config_file("pearldiver-tokens.json"),
    }
}

/// Pearl Diver's OAuth settings from the flags, with the vendor's defaults for what is unset.
pub fn pearldiver_oauth(conn: &PearlDiverConn) -> CliResult<OAuthConfig> {
    let client_id = required(
        &conn.client_id,
        "the Pearl Diver client id",
        "client-id",
        "SHOAL_PEARLDIVER_CLIENT_ID",
    )?;
    let secret: &ClientSecret = required(
        &conn.client_secret,
        "the Pearl Diver client secret",
        "client-secret",
        "SHOAL_PEARLDIVER_CLIENT_SECRET",
    )?;
    let authorize = url(
        "auth-url",
        conn.auth_url.as_deref().unwrap_or(AUTHORIZE_URL),
    )?;
    let token = url("token-url", conn.token_url.as_deref().unwrap_or(TOKEN_URL))?;
    let scopes: Vec<String> = match &conn.scope {
        Some(s) => s.split_whitespace().map(str::to_string).collect(),
        None => DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
    };
    let has_audience = token.query_pairs().any(|(k, _)| k == "audience");
    let audience = conn
        .audience_param
        .clone()
        .unwrap_or_else(|| AUDIENCE.to_string());
    let mut config = OAuthConfig::new(authorize, token, client_id.clone(), LOOPBACK_REDIRECT)
        .client_secret(secret.clone())
        .client_auth(ClientAuth::SecretPost)
        .scopes(scopes);
    if !audience.is_empty() {
        config = config.authorize_param("audience", &audience);
        if !has_audience {
            config = config.token_query_param("audience", &audience);
        }
    }
    Ok(config)
}

/// The Pearl Diver client, OAuth client and token file from the flags.
pub fn pearldiver(conn: &PearlDiverConn) -> CliResult<PearlDiverSetup> {
    let config = pearldiver_oauth(conn)?;
    let path = pearldiver_token_file(conn)?;
    ensure_parent(&path)?;
    let store = Arc::new(FileTokenStore::new(path));
    let api = conn.api_url.as_deref().unwrap_or(API_BASE);
    url("api-url", api)?;
    let token_base = Pipeline::builder(config.token_url.clone())
        .error_decoder(PearlDiverErrorDecoder)
        .build()?;
    let oauth = OAuthClient::new(config.clone(), &token_base);
    let client = PearlDiverClient::builder()
        .oauth_config(config)
        .api_base(api)
        .token_store(store.clone())
        .build()?;
    Ok(PearlDiverSetup {
        client,
        oauth,
        store,
    })
}

/// The PebblePad installation from `--installation` or `--host`.
pub fn pebblepad_installation(conn: &PebblePadConn) -> CliResult<Installation> {
    if let Some(host) = &conn.host {
        return Ok(Installation::custom(host)?);
    }
    match conn.installation {
        Some(InstallationArg::Uk) => Ok(Installation::UnitedKingdom),
        Some(InstallationArg::Us) => Ok(Installation::UnitedStates),
        Some(InstallationArg::Au) => Ok(Installation::Australia),
        Some(InstallationArg::Ca) => Ok(Installation::Canada),
        Some(InstallationArg::Taqas) => Ok(Installation::Taqas),
        None => Err(CliError::usage("the PebblePad installation is missing").hint(
            "pass --installation uk|us|au|ca|taqas or --host URL (or SHOAL_PEBBLEPAD_INSTALLATION / SHOAL_PEBBLEPAD_HOST)",
        )),
    }
}

/// The PebblePad OAuth registration from the flags.
pub fn pebblepad_app(conn: &PebblePadConn) -> CliResult<OAuthApp> {
    let id = required(
        &conn.client_id,
        "the PebblePad client id",
        "client-id",
        "SHOAL_PEBBLEPAD_CLIENT_ID",
    )?;
    Ok(match &conn.client_secret {
        Some(secret) => OAuthApp::new(id.clone(), secret.clone(), LOOPBACK_REDIRECT),
        None => OAuthApp::public(id.clone(), LOOPBACK_REDIRECT),
    })
}

/// The PebblePad token file the flags name, or the default under the config directory.
pub fn pebblepad_token_file(conn: &PebblePadConn) -> CliResult<PathBuf> {
    match &conn.token_file {
        Some(path) => Ok(path.clone()),
        None => config_file("pebblepad-tokens.json"),
    }
}

/// A PebblePad client: a service account when both tokens are given, else the tokens of an
/// earlier `shoal pebblepad login`; with `need_auth` off and no client id, no credentials at all
/// (enough for `limits`).
pub async fn pebblepad(conn: &PebblePadConn, need_auth: bool) -> CliResult<PebblePad> {
    let installation = pebblepad_installation(conn)?;
    let builder = PebblePad::builder(installation);
    let builder = match (&conn.access_token, &conn.refresh_token) {
        (Some(access), Some(refresh)) => {
            let mut account =
                ServiceAccount::new(pebblepad_app(conn)?, access.clone(), refresh.clone());
            if let Some(path) = &conn.token_file {
                ensure_parent(path)?;
                account = account.store(Arc::new(FileTokenStore::new(path.clone())));
            }
            builder.service_account(account)
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(CliError::usage("a service account needs both tokens")
                .hint("pass --access-token and --refresh-token (or SHOAL_PEBBLEPAD_ACCESS_TOKEN and SHOAL_PEBBLEPAD_REFRESH_TOKEN)"));
        }
        (None, None) if !need_auth && conn.client_id.is_none() => builder,
        (None, None) => {
            let path = pebblepad_token_file(conn)?;
            builder.oauth(pebblepad_app(conn)?, Arc::new(FileTokenStore::new(path)))
        }
    };
    Ok(builder.build().await?)
}

/// A Paya Connect client: the key method when a user id and key are given, else the token
/// method from a username, password and domain.
pub fn paya(conn: &PayaConn) -> CliResult<PayaClient> {
    let environment = match (&conn.base_url, conn.environment) {
        (Some(base), _) => Environment::custom(base)?,
        (None, Some(EnvironmentArg::Production)) => Environment::Production,
        (None, _) => Environment::Sandbox,
    };
    let developer_id = required(
        &conn.developer_id,
        "the Paya developer id",
        "developer-id",
        "SHOAL_PAYA_DEVELOPER_ID",
    )?;
    let builder = PayaClient::builder(environment).developer_id(developer_id.clone());
    let builder = match (&conn.user_id, &conn.api_key, &conn.username, &conn.password) {
        (Some(user), Some(key), _, _) => {
            let placement = match conn.key_placement {
                KeyPlacementArg::Headers => KeyPlacement::Headers,
                KeyPlacementArg::Query => KeyPlacement::Query,
                KeyPlacementArg::Basic => KeyPlacement::Basic,
            };
            builder.api_key(user.clone(), key.clone(), placement)
        }
        (_, _, Some(username), Some(password)) => {
            let domain = required(
                &conn.domain,
                "the Paya login domain",
                "domain",
                "SHOAL_PAYA_DOMAIN",
            )?;
            builder.session(username.clone(), password.clone(), domain.clone())
        }
        _ => {
            return Err(CliError::usage("Paya credentials are missing").hint(
                "pass --user-id and --api-key, or --username, --password and --domain (or their SHOAL_PAYA_… variables)",
            ));
        }
    };
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> PearlDiverConn {
        PearlDiverConn {
            client_id: Some("cid".into()),
            client_secret: Some(ClientSecret::new("TOPSECRET")),
            auth_url: None,
            token_url: None,
            api_url: None,
            scope: None,
            audience_param: None,
            token_file: Some(PathBuf::from("tokens.json")),
        }
    }

    #[test]
    fn pearldiver_defaults_and_overrides() {
        let config = pearldiver_oauth(&conn()).unwrap();
        assert_eq!(config.authorize_url.as_str(), AUTHORIZE_URL);
        assert_eq!(
            config.token_query_params,
            vec![("audience".to_string(), AUDIENCE.to_string())]
        );
        let mut own = conn();
        own.token_url = Some("https://idp.test/token?audience=x".into());
        own.scope = Some("openid offline_access".into());
        let config = pearldiver_oauth(&own).unwrap();
        assert!(config.token_query_params.is_empty());
        assert_eq!(config.scopes, vec!["openid", "offline_access"]);
        assert!(!format!("{config:?}").contains("TOPSECRET"));
    }

    #[test]
    fn missing_pieces_are_usage_errors_naming_the_flag() {
        let mut c = conn();
        c.client_id = None;
        let err = pearldiver_oauth(&c).unwrap_err();
        assert_eq!(err.kind.code(), 2);
        assert!(
            err.to_string().contains("SHOAL_PEARLDIVER_CLIENT_ID"),
            "{err}"
        );
        let mut c = conn();
        c.auth_url = Some("not a url".into());
        assert_eq!(pearldiver_oauth(&c).unwrap_err().kind.code(), 2);
    }
}
