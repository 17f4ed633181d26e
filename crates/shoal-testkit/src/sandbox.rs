//! All three emulators together on fixed ports: the engine of `shoal sandbox` and `shoal demo`.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};
use shoal_core::{SharedClock, SystemClock};

use crate::authorize::{DEFAULT_REDIRECT_URI, RedirectUris};
use crate::paya::{Paya, PayaConfig, PayaEndpoints};
use crate::pearldiver::{PearlDiver, PearlDiverConfig, PearlDiverEndpoints};
use crate::pebblepad::{PebblePad, PebblePadConfig, PebblePadEndpoints};

/// Ports, seed and clock for a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Pearl Diver port (0: any free port).
    pub pearldiver_port: u16,
    /// PebblePad port (0: any free port).
    pub pebblepad_port: u16,
    /// Paya port (0: any free port).
    pub paya_port: u16,
    /// The redirect URI registered with Pearl Diver (reported as `pearldiver.redirect_uri`, for
    /// `SHOAL_PEARLDIVER_REDIRECT_URI`).
    pub pearldiver_redirect_uri: String,
    /// The redirect URI registered with PebblePad (reported as `pebblepad.redirect_uri`, for
    /// `SHOAL_PEBBLEPAD_REDIRECT_URI`).
    pub pebblepad_redirect_uri: String,
    /// Seed for all three.
    pub seed: u64,
    /// Shared clock.
    pub clock: SharedClock,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            pearldiver_port: 47101,
            pebblepad_port: 47102,
            paya_port: 47103,
            pearldiver_redirect_uri: DEFAULT_REDIRECT_URI.into(),
            pebblepad_redirect_uri: DEFAULT_REDIRECT_URI.into(),
            seed: 1,
            clock: SystemClock::shared(),
        }
    }
}

impl SandboxConfig {
    /// The same sandbox on free ports (for tests).
    pub fn ephemeral() -> Self {
        Self {
            pearldiver_port: 0,
            pebblepad_port: 0,
            paya_port: 0,
            ..Self::default()
        }
    }
}

/// Every endpoint and ready-to-use credential of a running sandbox; serializable for `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxInfo {
    /// Pearl Diver: hosts, client id/secret, a pre-issued refresh token.
    pub pearldiver: PearlDiverEndpoints,
    /// PebblePad: hosts, client id/secret, a service-account token pair.
    pub pebblepad: PebblePadEndpoints,
    /// Paya: host, developer id, user id/API key, token-method login.
    pub paya: PayaEndpoints,
}

impl fmt::Display for SandboxInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (pd, pp, py) = (&self.pearldiver, &self.pebblepad, &self.paya);
        let none = String::from("-");
        writeln!(f, "Pearl Diver")?;
        writeln!(f, "  authorize      {}", pd.authorize_url)?;
        writeln!(
            f,
            "  token          {}?audience={}",
            pd.token_url, pd.audience
        )?;
        writeln!(f, "  api            {}", pd.api_base)?;
        writeln!(f, "  client id      {}", pd.client_id)?;
        writeln!(f, "  client secret  {}", pd.client_secret)?;
        writeln!(f, "  redirect uri   {}", pd.redirect_uri)?;
        writeln!(
            f,
            "  refresh token  {}",
            pd.refresh_token.as_ref().unwrap_or(&none)
        )?;
        writeln!(f, "PebblePad")?;
        writeln!(f, "  oauth          {}", pp.oauth_base)?;
        writeln!(f, "  api            {}", pp.api_base)?;
        writeln!(f, "  client id      {}", pp.client_id)?;
        writeln!(f, "  client secret  {}", pp.client_secret)?;
        writeln!(
            f,
            "  public client  {}",
            pp.public_client_id.as_ref().unwrap_or(&none)
        )?;
        writeln!(f, "  redirect uri   {}", pp.redirect_uri)?;
        writeln!(
            f,
            "  access token   {}",
            pp.service_access_token.as_ref().unwrap_or(&none)
        )?;
        writeln!(
            f,
            "  refresh token  {}",
            pp.service_refresh_token.as_ref().unwrap_or(&none)
        )?;
        writeln!(f, "Paya Connect")?;
        writeln!(f, "  base           {}", py.base_url)?;
        writeln!(f, "  developer-id   {}", py.developer_id)?;
        writeln!(f, "  user-id        {}", py.user_id)?;
        writeln!(f, "  user-api-key   {}", py.user_api_key)?;
        writeln!(
            f,
            "  login          {} / {} @ {}",
            py.username, py.password, py.domain
        )?;
        write!(f, "  location id    {}", py.location_id)
    }
}

/// The three emulators, running.
#[derive(Debug)]
pub struct Sandbox {
    /// Pearl Diver.
    pub pearldiver: PearlDiver,
    /// PebblePad.
    pub pebblepad: PebblePad,
    /// Paya Connect.
    pub paya: Paya,
}

impl Sandbox {
    /// Starts all three.
    pub async fn start(config: SandboxConfig) -> io::Result<Self> {
        let pearldiver = PearlDiver::start(PearlDiverConfig {
            port: config.pearldiver_port,
            redirect_uris: RedirectUris::exact([config.pearldiver_redirect_uri]),
            clock: config.clock.clone(),
            seed: config.seed,
            ..Default::default()
        })
        .await?;
        let pebblepad = PebblePad::start(PebblePadConfig {
            port: config.pebblepad_port,
            redirect_uris: RedirectUris::exact([config.pebblepad_redirect_uri]),
            clock: config.clock.clone(),
            seed: config.seed,
            ..Default::default()
        })
        .await?;
        let paya = Paya::start(PayaConfig {
            port: config.paya_port,
            clock: config.clock,
            seed: config.seed,
            ..Default::default()
        })
        .await?;
        Ok(Self {
            pearldiver,
            pebblepad,
            paya,
        })
    }

    /// Endpoints and credentials.
    pub fn info(&self) -> SandboxInfo {
        SandboxInfo {
            pearldiver: self.pearldiver.endpoints().clone(),
            pebblepad: self.pebblepad.endpoints().clone(),
            paya: self.paya.endpoints().clone(),
        }
    }

    /// Stops all three gracefully.
    pub async fn shutdown(self) {
        self.pearldiver.shutdown().await;
        self.pebblepad.shutdown().await;
        self.paya.shutdown().await;
    }
}

/// Runs the sandbox until Ctrl-C or SIGTERM, printing endpoints and credentials to stdout first
/// (as JSON when `json` is set).
pub async fn run_sandbox(config: SandboxConfig, json: bool) -> io::Result<()> {
    let sandbox = Sandbox::start(config).await?;
    let info = sandbox.info();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&info).map_err(io::Error::other)?
        );
    } else {
        println!("{info}\n\nShoal sandbox running; Ctrl-C to stop.");
    }
    interrupted().await?;
    sandbox.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C, or SIGTERM on Unix.
pub async fn interrupted() -> io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
