//! All three emulators together on fixed ports: the engine of `shoal sandbox` and `shoal demo`.

use std::fmt;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use shoal_core::SharedClock;

use crate::authorize::RedirectUris;
use crate::paya::{Paya, PayaConfig, PayaEndpoints};
use crate::pearldiver::{PearlDiver, PearlDiverConfig, PearlDiverEndpoints};
use crate::pebblepad::{PebblePad, PebblePadConfig, PebblePadEndpoints};

/// The three emulators' configurations for a [`Sandbox`]: set any of them whole, or use the
/// shortcuts for what they share (ports, clock, seed, the registered redirect URI).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Pearl Diver.
    pub pearldiver: PearlDiverConfig,
    /// PebblePad.
    pub pebblepad: PebblePadConfig,
    /// Paya Connect.
    pub paya: PayaConfig,
}

impl Default for SandboxConfig {
    /// Ports 47101–47103, the default redirect URI registered, seed 1, the system clock.
    fn default() -> Self {
        Self::on_ports(47101).unwrap_or_else(Self::ephemeral)
    }
}

impl SandboxConfig {
    /// The sandbox on free ports (for tests).
    pub fn ephemeral() -> Self {
        Self {
            pearldiver: PearlDiverConfig::default(),
            pebblepad: PebblePadConfig::default(),
            paya: PayaConfig::default(),
        }
        .seed(1)
    }

    /// Pearl Diver on `base`, PebblePad on `base + 1`, Paya on `base + 2` (0: free ports);
    /// `None` when the three do not fit below 65536.
    pub fn on_ports(base: u16) -> Option<Self> {
        let mut config = Self::ephemeral();
        if base != 0 {
            config.pearldiver.port = base;
            config.pebblepad.port = base.checked_add(1)?;
            config.paya.port = base.checked_add(2)?;
        }
        Some(config)
    }

    /// One clock for all three.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.pearldiver.clock = clock.clone();
        self.pebblepad.clock = clock.clone();
        self.paya.clock = clock;
        self
    }

    /// One seed for all three.
    pub fn seed(mut self, seed: u64) -> Self {
        self.pearldiver.seed = seed;
        self.pebblepad.seed = seed;
        self.paya.seed = seed;
        self
    }

    /// Registers exactly `uri` as the redirect URI of both OAuth emulators (reported back, for
    /// `SHOAL_PEARLDIVER_REDIRECT_URI` and `SHOAL_PEBBLEPAD_REDIRECT_URI`).
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.pearldiver.redirect_uris = RedirectUris::exact([uri]);
        self.pebblepad.redirect_uris = RedirectUris::exact([uri]);
        self
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

impl SandboxInfo {
    /// A `SHOAL_*` variable for every flag the `shoal` commands need against this sandbox, in
    /// order, with the token files the Pearl Diver and PebblePad commands keep their tokens in.
    pub fn variables(&self, pd_tokens: &Path, pp_tokens: &Path) -> Vec<(&'static str, String)> {
        let (pd, pp, py) = (&self.pearldiver, &self.pebblepad, &self.paya);
        let path = |p: &Path| p.display().to_string();
        let mut vars = vec![
            ("SHOAL_PEARLDIVER_CLIENT_ID", pd.client_id.clone()),
            ("SHOAL_PEARLDIVER_CLIENT_SECRET", pd.client_secret.clone()),
            ("SHOAL_PEARLDIVER_AUTH_URL", pd.authorize_url.clone()),
            ("SHOAL_PEARLDIVER_TOKEN_URL", pd.token_url.clone()),
            ("SHOAL_PEARLDIVER_API_URL", pd.api_base.clone()),
            ("SHOAL_PEARLDIVER_AUDIENCE_PARAM", pd.audience.clone()),
            ("SHOAL_PEARLDIVER_REDIRECT_URI", pd.redirect_uri.clone()),
            ("SHOAL_PEARLDIVER_TOKEN_FILE", path(pd_tokens)),
            ("SHOAL_PEBBLEPAD_HOST", pp.host.clone()),
            ("SHOAL_PEBBLEPAD_CLIENT_ID", pp.client_id.clone()),
            ("SHOAL_PEBBLEPAD_CLIENT_SECRET", pp.client_secret.clone()),
            ("SHOAL_PEBBLEPAD_REDIRECT_URI", pp.redirect_uri.clone()),
        ];
        if let (Some(a), Some(r)) = (&pp.service_access_token, &pp.service_refresh_token) {
            vars.push(("SHOAL_PEBBLEPAD_ACCESS_TOKEN", a.clone()));
            vars.push(("SHOAL_PEBBLEPAD_REFRESH_TOKEN", r.clone()));
        }
        vars.extend([
            ("SHOAL_PEBBLEPAD_TOKEN_FILE", path(pp_tokens)),
            ("SHOAL_PAYA_BASE_URL", py.base_url.clone()),
            ("SHOAL_PAYA_DEVELOPER_ID", py.developer_id.clone()),
            ("SHOAL_PAYA_USER_ID", py.user_id.clone()),
            ("SHOAL_PAYA_API_KEY", py.user_api_key.clone()),
            ("SHOAL_PAYA_USERNAME", py.username.clone()),
            ("SHOAL_PAYA_PASSWORD", py.password.clone()),
            ("SHOAL_PAYA_DOMAIN", py.domain.clone()),
            ("SHOAL_PAYA_LOCATION_ID", py.location_id.clone()),
        ]);
        vars
    }
}

impl fmt::Display for SandboxInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (pd, pp, py) = (&self.pearldiver, &self.pebblepad, &self.paya);
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let sections = [
            (
                "Pearl Diver",
                vec![
                    ("authorize", pd.authorize_url.clone()),
                    (
                        "token",
                        format!("{}?audience={}", pd.token_url, pd.audience),
                    ),
                    ("api", pd.api_base.clone()),
                    ("client id", pd.client_id.clone()),
                    ("client secret", pd.client_secret.clone()),
                    ("redirect uri", pd.redirect_uri.clone()),
                    ("refresh token", or_none(&pd.refresh_token)),
                ],
            ),
            (
                "PebblePad",
                vec![
                    ("oauth", pp.oauth_base.clone()),
                    ("api", pp.api_base.clone()),
                    ("client id", pp.client_id.clone()),
                    ("client secret", pp.client_secret.clone()),
                    ("public client", or_none(&pp.public_client_id)),
                    ("redirect uri", pp.redirect_uri.clone()),
                    ("access token", or_none(&pp.service_access_token)),
                    ("refresh token", or_none(&pp.service_refresh_token)),
                ],
            ),
            (
                "Paya Connect",
                vec![
                    ("base", py.base_url.clone()),
                    ("developer-id", py.developer_id.clone()),
                    ("user-id", py.user_id.clone()),
                    ("user-api-key", py.user_api_key.clone()),
                    (
                        "login",
                        format!("{} / {} @ {}", py.username, py.password, py.domain),
                    ),
                    ("location id", py.location_id.clone()),
                ],
            ),
        ];
        // Lines are joined, not ended: the last one has no newline.
        for (i, (title, rows)) in sections.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{title}")?;
            for (label, value) in rows {
                write!(f, "\n  {label:<15}{value}")?;
            }
        }
        Ok(())
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
        let pearldiver = PearlDiver::start(config.pearldiver).await?;
        let pebblepad = PebblePad::start(config.pebblepad).await?;
        let paya = Paya::start(config.paya).await?;
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
