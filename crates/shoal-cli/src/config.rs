//! Clients from connection flags: each vendor's builder given the flags, a token file for every
//! credential that rotates, and one clear usage error for anything missing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use shoal::auth::ConfigureTokens as _;
use shoal::auth::FileTokenStore;
use shoal::core::ConfigureClient as _;
use shoal::paya::{Environment, KeyPlacement, PayaClient};
use shoal::pearldiver::{DEFAULT_SCOPES, PearlDiverClient};
use shoal::pebblepad::{Installation, OAuthApp, PebblePadClient, ServiceAccount};

use crate::args::{
    EnvironmentArg, InstallationArg, KeyPlacementArg, PayaConn, PearlDiverConn, PebblePadConn,
};
use crate::exit::{CliError, CliResult};

/// `{config dir}/shoal/{name}`.
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

/// A token store at `path`, its directory created.
fn token_store(path: &Path) -> CliResult<Arc<FileTokenStore>> {
    ensure_parent(path)?;
    Ok(Arc::new(FileTokenStore::new(path)))
}

fn required<'a, T>(value: &'a Option<T>, what: &str, flag: &str, var: &str) -> CliResult<&'a T> {
    value.as_ref().ok_or_else(|| {
        CliError::usage(format!("{what} is missing")).hint(format!("pass --{flag} or set {var}"))
    })
}

/// The per-call deadline every client gets (`--timeout`): retries and waits included.
pub fn deadline(timeout_secs: u64) -> Duration {
    Duration::from_secs(timeout_secs.max(1))
}

/// The token file the flags name, or the default under the config directory.
pub fn pearldiver_token_file(conn: &PearlDiverConn) -> CliResult<PathBuf> {
    match &conn.token_file {
        Some(path) => Ok(path.clone()),
        None => config_file("pearldiver-tokens.json"),
    }
}

/// Where Pearl Diver's tokens live: Redis when `--token-redis` names it (shared by a fleet,
/// keyed by the client id), else the token file.
async fn pearldiver_store(
    conn: &PearlDiverConn,
    client_id: &str,
) -> CliResult<Arc<dyn shoal::auth::TokenStore>> {
    let Some(url) = &conn.token_redis else {
        return Ok(token_store(&pearldiver_token_file(conn)?)?);
    };
    let mut builder = shoal_redis::RedisTokenStore::builder(format!("pearldiver:{client_id}"));
    if let Some(key) = &conn.token_key {
        builder = builder.encryption_key(key.clone());
    }
    let store = builder.connect(url).await.map_err(|e| {
        CliError::from(e)
            .hint("check --token-redis (SHOAL_PEARLDIVER_TOKEN_REDIS) and that Redis is up")
    })?;
    Ok(Arc::new(store))
}

/// The Pearl Diver client from the flags, with Pearl Diver's defaults for what is unset and the
/// token store (file or Redis) keeping every rotation.
pub async fn pearldiver(conn: &PearlDiverConn, timeout_secs: u64) -> CliResult<PearlDiverClient> {
    let client_id = required(
        &conn.client_id,
        "the Pearl Diver client id",
        "client-id",
        "SHOAL_PEARLDIVER_CLIENT_ID",
    )?;
    let secret = required(
        &conn.client_secret,
        "the Pearl Diver client secret",
        "client-secret",
        "SHOAL_PEARLDIVER_CLIENT_SECRET",
    )?;
    let mut builder = PearlDiverClient::builder()
        .oauth(client_id.clone(), secret.clone(), conn.redirect_uri.clone())
        .token_store(pearldiver_store(conn, client_id).await?)
        .deadline(deadline(timeout_secs));
    if let Some(url) = &conn.auth_url {
        builder = builder.authorize_url(url);
    }
    if let Some(url) = &conn.token_url {
        builder = builder.token_url(url);
    }
    if let Some(url) = &conn.api_url {
        builder = builder.api_base(url);
    }
    builder = match &conn.scope {
        Some(s) => builder.scopes(s.split_whitespace()),
        None => builder.scopes(DEFAULT_SCOPES.iter().copied()),
    };
    if let Some(audience) = &conn.audience_param {
        builder = builder.audience(Some(audience.as_str()).filter(|a| !a.is_empty()));
    }
    Ok(builder.build()?)
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

/// The PebblePad OAuth registration from the flags (a public client without a secret).
pub fn pebblepad_app(conn: &PebblePadConn) -> CliResult<OAuthApp> {
    let id = required(
        &conn.client_id,
        "the PebblePad client id",
        "client-id",
        "SHOAL_PEBBLEPAD_CLIENT_ID",
    )?;
    Ok(match &conn.client_secret {
        Some(secret) => OAuthApp::new(id.clone(), secret.clone(), conn.redirect_uri.clone()),
        None => OAuthApp::public(id.clone(), conn.redirect_uri.clone()),
    })
}

/// The PebblePad token file the flags name, or the default under the config directory — for a
/// login's tokens and a service account's rotations alike.
pub fn pebblepad_token_file(conn: &PebblePadConn) -> CliResult<PathBuf> {
    match &conn.token_file {
        Some(path) => Ok(path.clone()),
        None => config_file("pebblepad-tokens.json"),
    }
}

/// A PebblePad client: a service account when both tokens are given (its rotations kept in the
/// token file, which wins over the issued pair once it holds one), else the tokens of an
/// earlier `shoal pebblepad login`; with `need_auth` off and no client id, no credentials at all
/// (enough for `limits`).
pub fn pebblepad(
    conn: &PebblePadConn,
    need_auth: bool,
    timeout_secs: u64,
) -> CliResult<PebblePadClient> {
    let builder =
        PebblePadClient::builder(pebblepad_installation(conn)?).deadline(deadline(timeout_secs));
    let builder = match (&conn.access_token, &conn.refresh_token) {
        (Some(access), Some(refresh)) => builder
            .service_account(ServiceAccount::new(
                pebblepad_app(conn)?,
                access.clone(),
                refresh.clone(),
            ))
            .token_store(token_store(&pebblepad_token_file(conn)?)?),
        (Some(_), None) | (None, Some(_)) => {
            return Err(CliError::usage("a service account needs both tokens")
                .hint("pass --access-token and --refresh-token (or SHOAL_PEBBLEPAD_ACCESS_TOKEN and SHOAL_PEBBLEPAD_REFRESH_TOKEN)"));
        }
        (None, None) if !need_auth && conn.client_id.is_none() => builder,
        (None, None) => builder
            .oauth(pebblepad_app(conn)?)
            .token_store(token_store(&pebblepad_token_file(conn)?)?),
    };
    Ok(builder.build()?)
}

/// A Paya Connect client: the key method when a user id and key are given, else the token
/// method from a username, password and domain.
pub fn paya(conn: &PayaConn, timeout_secs: u64) -> CliResult<PayaClient> {
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
    let builder = PayaClient::builder(environment)
        .developer_id(developer_id.clone())
        .input_checks(!conn.no_input_checks)
        .deadline(deadline(timeout_secs));
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
    use shoal::auth::ClientSecret;

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
            token_redis: None,
            token_key: None,
            redirect_uri: shoal::auth::DEFAULT_REDIRECT_URI.into(),
        }
    }

    #[tokio::test]
    async fn pearldiver_flags_build_a_client_without_printing_secrets() {
        let client = pearldiver(&conn(), 60).await.unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(shown.contains("api.pearldiver.io"), "{shown}");
    }

    #[tokio::test]
    async fn missing_pieces_are_usage_errors_naming_the_flag() {
        let mut c = conn();
        c.client_id = None;
        let err = pearldiver(&c, 60).await.unwrap_err();
        assert_eq!(err.kind.code(), 2);
        assert!(
            err.to_string().contains("SHOAL_PEARLDIVER_CLIENT_ID"),
            "{err}"
        );
        let mut c = conn();
        c.auth_url = Some("not a url".into());
        assert_eq!(pearldiver(&c, 60).await.unwrap_err().kind.code(), 2);
    }
}
