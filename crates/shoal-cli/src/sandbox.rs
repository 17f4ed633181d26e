//! `shoal sandbox`: the testkit's three emulators on loopback ports until Ctrl-C or SIGTERM, with
//! their URLs and credentials printed and, with `--env-file`, written as `SHOAL_*` variables (plus
//! a Pearl Diver token file obtained through a real code flow against the sandbox itself).

use std::fmt::Write as _;
use std::net::TcpListener;

use serde_json::json;
use shoal::auth::LoopbackOptions;
use shoal_testkit::pearldiver::AudienceSpec;
use shoal_testkit::{Sandbox, SandboxConfig, SandboxInfo};

use crate::args::{PearlDiverConn, SandboxArgs};
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::Ui;
use crate::{config, http};

/// The key of the sandbox's largest audience (`--records` records).
pub const BIG_AUDIENCE: u64 = 17;

/// The redirect URI the sandbox registers: port `base + 3`, or a free one for `--port-base 0`.
fn redirect_uri(port_base: u16) -> CliResult<String> {
    let port = match port_base {
        0 => free_listening_port()?,
        base => base.checked_add(3).ok_or_else(|| {
            CliError::usage(format!("--port-base {base} leaves no room for four ports"))
        })?,
    };
    Ok(format!("http://127.0.0.1:{port}/callback"))
}

/// A port free now, below Linux's ephemeral range (32768–60999): the login listens on it a
/// moment later, and an outgoing connection's source port could take an ephemeral one first.
fn free_listening_port() -> CliResult<u16> {
    // Processes start at different places, so two sandboxes rarely try the same ports.
    let start = std::process::id() % 12_000;
    let mut last = None;
    for offset in 0..64 {
        let port = 20_000 + ((start + offset) % 12_000) as u16;
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => return Ok(port),
            Err(e) => last = Some(e),
        }
    }
    Err(CliError::io(
        "cannot find a free loopback port",
        last.unwrap_or_else(|| std::io::Error::other("no port tried")),
    ))
}

/// The sandbox's configuration: ports from `--port-base`, `records` records in audience
/// [`BIG_AUDIENCE`], one registered redirect URI.
fn sandbox_config(args: &SandboxArgs) -> CliResult<SandboxConfig> {
    let mut config = SandboxConfig::on_ports(args.port_base).ok_or_else(|| {
        CliError::usage(format!(
            "--port-base {} leaves no room for three ports",
            args.port_base
        ))
    })?;
    config = config.redirect_uri(&redirect_uri(args.port_base)?);
    config.pearldiver.audiences = vec![
        AudienceSpec::new(BIG_AUDIENCE, "Website visitors — Boston", args.records),
        AudienceSpec::new(23, "Pricing page visitors", 1_000),
        AudienceSpec::new(31, "Empty audience", 0),
    ];
    Ok(config)
}

/// Connection flags for the sandbox's Pearl Diver, with tokens in `token_file`.
fn pearldiver_conn(info: &SandboxInfo, token_file: std::path::PathBuf) -> PearlDiverConn {
    let pd = &info.pearldiver;
    PearlDiverConn {
        client_id: Some(pd.client_id.clone()),
        client_secret: Some(pd.client_secret.as_str().into()),
        auth_url: Some(pd.authorize_url.clone()),
        token_url: Some(pd.token_url.clone()),
        api_url: Some(pd.api_base.clone()),
        scope: None,
        audience_param: Some(pd.audience.clone()),
        token_file: Some(token_file),
        token_redis: None,
        token_key: None,
        redirect_uri: pd.redirect_uri.clone(),
    }
}

/// Logs in to the sandbox's Pearl Diver through the loopback code flow with PKCE, playing the
/// browser with a plain HTTP request (the emulator approves at once); tokens go to `conn`'s file.
async fn code_flow_login(conn: &PearlDiverConn) -> CliResult {
    let client = config::pearldiver(conn, 60).await?;
    let pending = client
        .login()?
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
    Ok(())
}

/// A value quoted for POSIX `sh` (`set -a; . FILE`).
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Runs `shoal sandbox` until Ctrl-C or SIGTERM.
pub async fn run(args: SandboxArgs, ui: Ui) -> CliResult {
    let sandbox = Sandbox::start(sandbox_config(&args)?).await.map_err(|e| {
        CliError::io("cannot start the sandbox's emulators", e)
            .hint("pick another --port-base, or 0 for free ports")
    })?;
    let info = sandbox.info();
    let mut written = None;
    if let Some(env_file) = &args.env_file {
        let env_file = std::path::absolute(env_file)
            .map_err(|e| CliError::io(format!("cannot resolve {}", env_file.display()), e))?;
        let pd_tokens = env_file.with_extension("pearldiver-tokens.json");
        let pp_tokens = env_file.with_extension("pebblepad-tokens.json");
        crate::bulk::fsutil::remove_durably(&pd_tokens)?;
        crate::bulk::fsutil::remove_durably(&pp_tokens)?;
        code_flow_login(&pearldiver_conn(&info, pd_tokens.clone()))
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
        for (name, value) in info.variables(&pd_tokens, &pp_tokens) {
            let _ = writeln!(text, "{name}={}", shell_quote(&value));
        }
        crate::bulk::fsutil::write_atomic(&env_file, text.as_bytes())?;
        written = Some(env_file);
    }
    let mut human = format!(
        "{info}\n  audiences      {BIG_AUDIENCE} ({} records), 23, 31",
        args.records
    );
    if let Some(file) = &written {
        let _ = write!(
            human,
            "\nVariables for every command: set -a; . {}; set +a",
            file.display()
        );
    }
    let value = json!({
        "pearldiver": info.pearldiver, "pebblepad": info.pebblepad, "paya": info.paya,
        "env_file": written.as_ref().map(|f| f.display().to_string()),
    });
    ui.print(&human, &value);
    eprintln!("Shoal sandbox running on 127.0.0.1; Ctrl-C to stop.");
    let stopped = shoal_testkit::sandbox::interrupted().await;
    sandbox.shutdown().await;
    stopped.map_err(|e| CliError::new(Failure::Internal, format!("cannot wait for Ctrl-C: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_sh_quoting_and_ports_are_checked() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(
            redirect_uri(47100).unwrap(),
            "http://127.0.0.1:47103/callback"
        );
        assert!(redirect_uri(u16::MAX - 1).is_err());
        let any = redirect_uri(0).unwrap();
        let port: u16 = any
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/callback"))
            .unwrap()
            .parse()
            .unwrap();
        // Below the ephemeral range (a CI run lost the port to an outgoing connection).
        assert!((20_000..32_000).contains(&port), "{any}");
    }
}
