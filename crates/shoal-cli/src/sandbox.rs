//! `shoal sandbox`: the three emulators on loopback ports until Ctrl-C or SIGTERM, with their
//! URLs and credentials printed and, with `--env-file`, written as `SHOAL_*` variables (plus a
//! Pearl Diver token file obtained through a real code flow against the sandbox itself).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;
use shoal::auth::LoopbackOptions;
use shoal_testkit::paya::{Paya, PayaConfig};
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::{PebblePad, PebblePadConfig};

use crate::args::{PearlDiverConn, SandboxArgs};
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::Ui;
use crate::{config, http};

/// The key of the sandbox's largest audience (`--records` records).
pub const BIG_AUDIENCE: u64 = 17;

/// The three emulators, running.
#[derive(Debug)]
pub struct Emulators {
    /// Pearl Diver.
    pub pearldiver: PearlDiver,
    /// PebblePad.
    pub pebblepad: PebblePad,
    /// Paya Connect.
    pub paya: Paya,
}

fn port(base: u16, offset: u16) -> CliResult<u16> {
    if base == 0 {
        return Ok(0);
    }
    base.checked_add(offset).ok_or_else(|| {
        CliError::usage(format!("--port-base {base} leaves no room for three ports"))
    })
}

fn start_failed(what: &str, port: u16, e: std::io::Error) -> CliError {
    CliError::io(
        format!("cannot start the {what} emulator on 127.0.0.1:{port}"),
        e,
    )
    .hint("pick another --port-base, or 0 for free ports")
}

/// Starts the three emulators on `port_base`, `+1`, `+2` (0: free ports), with a Pearl Diver
/// audience of `records` records under key [`BIG_AUDIENCE`].
pub async fn start(port_base: u16, records: u64) -> CliResult<Emulators> {
    let (p1, p2, p3) = (
        port(port_base, 0)?,
        port(port_base, 1)?,
        port(port_base, 2)?,
    );
    let pearldiver = PearlDiver::start(PearlDiverConfig {
        port: p1,
        audiences: vec![
            AudienceSpec::new(BIG_AUDIENCE, "Website visitors — Boston", records),
            AudienceSpec::new(23, "Pricing page visitors", 1_000),
            AudienceSpec::new(31, "Empty audience", 0),
        ],
        redirect_uris: shoal_testkit::RedirectUris::any_loopback_port(),
        ..Default::default()
    })
    .await
    .map_err(|e| start_failed("Pearl Diver", p1, e))?;
    let pebblepad = PebblePad::start(PebblePadConfig {
        port: p2,
        redirect_uris: shoal_testkit::RedirectUris::any_loopback_port(),
        ..Default::default()
    })
    .await
    .map_err(|e| start_failed("PebblePad", p2, e))?;
    let paya = Paya::start(PayaConfig {
        port: p3,
        ..Default::default()
    })
    .await
    .map_err(|e| start_failed("Paya Connect", p3, e))?;
    Ok(Emulators {
        pearldiver,
        pebblepad,
        paya,
    })
}

impl Emulators {
    /// Connection flags for the Pearl Diver emulator, with tokens in `token_file`.
    pub fn pearldiver_conn(&self, token_file: PathBuf) -> PearlDiverConn {
        let pd = self.pearldiver.endpoints();
        PearlDiverConn {
            client_id: Some(pd.client_id.clone()),
            client_secret: Some(pd.client_secret.as_str().into()),
            auth_url: Some(pd.authorize_url.clone()),
            token_url: Some(pd.token_url.clone()),
            api_url: Some(pd.api_base.clone()),
            scope: None,
            audience_param: Some(pd.audience.clone()),
            token_file: Some(token_file),
            redirect_uri: "http://127.0.0.1:0/callback".into(),
        }
    }

    /// Every variable the other commands need, in order.
    pub fn variables(&self, pd_tokens: &Path, pp_tokens: &Path) -> Vec<(&'static str, String)> {
        let (pd, pp, py) = (
            self.pearldiver.endpoints(),
            self.pebblepad.endpoints(),
            self.paya.endpoints(),
        );
        let path = |p: &Path| p.display().to_string();
        let mut vars = vec![
            ("SHOAL_PEARLDIVER_CLIENT_ID", pd.client_id.clone()),
            ("SHOAL_PEARLDIVER_CLIENT_SECRET", pd.client_secret.clone()),
            ("SHOAL_PEARLDIVER_AUTH_URL", pd.authorize_url.clone()),
            ("SHOAL_PEARLDIVER_TOKEN_URL", pd.token_url.clone()),
            ("SHOAL_PEARLDIVER_API_URL", pd.api_base.clone()),
            ("SHOAL_PEARLDIVER_AUDIENCE_PARAM", pd.audience.clone()),
            ("SHOAL_PEARLDIVER_TOKEN_FILE", path(pd_tokens)),
            ("SHOAL_PEBBLEPAD_HOST", pp.host.clone()),
            ("SHOAL_PEBBLEPAD_CLIENT_ID", pp.client_id.clone()),
            ("SHOAL_PEBBLEPAD_CLIENT_SECRET", pp.client_secret.clone()),
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

    /// Stops all three.
    pub async fn shutdown(self) {
        self.pearldiver.shutdown().await;
        self.pebblepad.shutdown().await;
        self.paya.shutdown().await;
    }
}

/// Logs in to the Pearl Diver emulator through the loopback code flow with PKCE, playing the
/// browser with a plain HTTP request (the emulator approves at once); tokens go to `conn`'s file.
pub async fn code_flow_login(
    conn: &PearlDiverConn,
) -> CliResult<shoal::pearldiver::PearlDiverClient> {
    let client = config::pearldiver(conn, 60)?;
    let login = client.login()?;
    let pending = login
        .loopback(
            LoopbackOptions::default()
                .redirect_uri(&conn.redirect_uri)
                .timeout(std::time::Duration::from_secs(30)),
        )
        .await?;
    let url = pending.authorize_url().clone();
    let (browser, finished) = tokio::join!(http::follow_authorize(&url), pending.finish());
    browser?;
    finished?;
    Ok(client)
}

/// A value quoted for POSIX `sh` (`set -a; . FILE`).
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Runs `shoal sandbox` until Ctrl-C or SIGTERM.
pub async fn run(args: SandboxArgs, ui: Ui) -> CliResult {
    let emulators = start(args.port_base, args.records).await?;
    let mut written = None;
    if let Some(env_file) = &args.env_file {
        let env_file = std::path::absolute(env_file)
            .map_err(|e| CliError::io(format!("cannot resolve {}", env_file.display()), e))?;
        let pd_tokens = env_file.with_extension("pearldiver-tokens.json");
        let pp_tokens = env_file.with_extension("pebblepad-tokens.json");
        crate::bulk::fsutil::remove_durably(&pd_tokens)?;
        crate::bulk::fsutil::remove_durably(&pp_tokens)?;
        code_flow_login(&emulators.pearldiver_conn(pd_tokens.clone()))
            .await
            .map_err(|e| {
                CliError::new(
                    e.kind,
                    format!(
                        "the sandbox could not log in to its own Pearl Diver emulator: {}",
                        e.message
                    ),
                )
            })?;
        let mut text = String::from(
            "# Shoal sandbox: load with `set -a; . FILE; set +a`, then run any shoal command.\n",
        );
        for (name, value) in emulators.variables(&pd_tokens, &pp_tokens) {
            let _ = writeln!(text, "{name}={}", shell_quote(&value));
        }
        crate::bulk::fsutil::write_atomic(&env_file, text.as_bytes())?;
        written = Some(env_file);
    }
    let (pd, pp, py) = (
        emulators.pearldiver.endpoints(),
        emulators.pebblepad.endpoints(),
        emulators.paya.endpoints(),
    );
    let mut human = format!(
        "Pearl Diver   authorize {}\n              token     {}?audience={}\n              api       {}\n              client    {} / {}\n              audiences {BIG_AUDIENCE} ({} records), 23, 31\n",
        pd.authorize_url,
        pd.token_url,
        pd.audience,
        pd.api_base,
        pd.client_id,
        pd.client_secret,
        args.records
    );
    let _ = writeln!(
        human,
        "PebblePad     host      {}\n              client    {} / {}\n              service   access {} refresh {}",
        pp.host,
        pp.client_id,
        pp.client_secret,
        pp.service_access_token.as_deref().unwrap_or("-"),
        pp.service_refresh_token.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        human,
        "Paya Connect  base      {}\n              developer {}\n              key       user-id {} user-api-key {}\n              login     {} / {} @ {}\n              location  {}",
        py.base_url,
        py.developer_id,
        py.user_id,
        py.user_api_key,
        py.username,
        py.password,
        py.domain,
        py.location_id
    );
    if let Some(file) = &written {
        let _ = write!(
            human,
            "\nVariables for every command: set -a; . {}; set +a",
            file.display()
        );
    }
    let info = json!({
        "pearldiver": pd, "pebblepad": pp, "paya": py,
        "env_file": written.as_ref().map(|f| f.display().to_string()),
    });
    ui.print(&human, &info);
    eprintln!("Shoal sandbox running on 127.0.0.1; Ctrl-C to stop.");
    let stopped = interrupted().await;
    emulators.shutdown().await;
    stopped.map_err(|e| CliError::new(Failure::Internal, format!("cannot wait for Ctrl-C: {e}")))
}

/// Waits for Ctrl-C, or SIGTERM on Unix.
async fn interrupted() -> std::io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_sh_quoting() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(port(0, 2).unwrap(), 0);
        assert_eq!(port(47100, 2).unwrap(), 47102);
        assert!(port(u16::MAX, 1).is_err());
    }
}
