//! The command line, declared with clap: every flag can also come from `SHOAL_<VENDOR>_<FLAG>`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use shoal::auth::{AccessToken, ApiKey, ClientSecret, Password, RefreshToken};

/// Wraps a secret flag or variable in its `secrecy` type the moment clap reads it.
fn secret<T: From<String>>(value: &str) -> Result<T, std::convert::Infallible> {
    Ok(T::from(value.to_string()))
}

/// Shoal: Pearl Diver, PebblePad and Paya Connect from the command line.
#[derive(Debug, Parser)]
#[command(name = "shoal", version, about, propagate_version = true)]
pub struct Cli {
    /// Log what happens (-v: requests, -vv: everything, secrets still redacted).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print one JSON object instead of human output.
    #[arg(long, global = true, env = "SHOAL_JSON")]
    pub json: bool,
    /// The longest one call may take, in seconds, retries and waits included (a stalled server
    /// cannot hold a command longer).
    #[arg(long, global = true, default_value_t = 120, env = "SHOAL_TIMEOUT")]
    pub timeout: u64,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Walk through all three services on built-in emulators: no account, no network.
    Demo(DemoArgs),
    /// Run the three emulators on loopback ports until Ctrl-C, for developing against.
    Sandbox(SandboxArgs),
    /// Pearl Diver: login, tokens, audiences, export.
    #[command(name = "pearldiver")]
    PearlDiver(PearlDiverArgs),
    /// PebblePad: login, limits, users, groups.
    #[command(name = "pebblepad")]
    PebblePad(PebblePadArgs),
    /// Paya Connect: contacts and locations.
    Paya(PayaArgs),
    /// Check every configured vendor (from the `SHOAL_*` variables): endpoints reachable, token
    /// files present, private and current, clock skew, PebblePad's limits.
    Doctor,
    /// Print shell completions for `shoal` (e.g. `shoal completions bash > ~/.local/share/bash-completion/completions/shoal`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `shoal demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Records in the audience streamed by the demo.
    #[arg(long, default_value_t = 100_000, env = "SHOAL_DEMO_RECORDS")]
    pub records: u64,
    /// Pearl Diver access-token lifetime in seconds (short, so tokens rotate during the stream).
    #[arg(long, default_value_t = 1, env = "SHOAL_DEMO_TOKEN_TTL")]
    pub token_ttl: u64,
}

/// `shoal sandbox`
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// First of three consecutive ports (Pearl Diver, PebblePad, Paya); 0 picks free ports.
    #[arg(long, default_value_t = 0, env = "SHOAL_SANDBOX_PORT_BASE")]
    pub port_base: u16,
    /// Records in the largest Pearl Diver audience.
    #[arg(long, default_value_t = 50_000, env = "SHOAL_SANDBOX_RECORDS")]
    pub records: u64,
    /// Write `SHOAL_*` variables for the other commands to this file.
    #[arg(long, env = "SHOAL_SANDBOX_ENV_FILE")]
    pub env_file: Option<PathBuf>,
}

/// An encryption key from its base64 (the error never echoes the value).
fn encryption_key(text: &str) -> Result<shoal_redis::EncryptionKey, String> {
    shoal_redis::EncryptionKey::from_base64(text).map_err(|e| e.to_string())
}

/// A duration as `humantime` reads it (`250ms`, `2s`, `0`), of at most an hour.
fn up_to_an_hour(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| format!("`{text}`: {e}"))?;
    if duration > std::time::Duration::from_secs(3600) {
        return Err(format!("`{text}` is longer than an hour"));
    }
    Ok(duration)
}

/// Connection flags for Pearl Diver.
#[derive(Debug, Args, Clone)]
pub struct PearlDiverConn {
    /// OAuth client id.
    #[arg(long, env = "SHOAL_PEARLDIVER_CLIENT_ID", global = true)]
    pub client_id: Option<String>,
    /// OAuth client secret.
    #[arg(long, env = "SHOAL_PEARLDIVER_CLIENT_SECRET", global = true, hide_env_values = true, value_parser = secret::<ClientSecret>)]
    pub client_secret: Option<ClientSecret>,
    /// Authorize endpoint.
    #[arg(long, env = "SHOAL_PEARLDIVER_AUTH_URL", global = true)]
    pub auth_url: Option<String>,
    /// Token endpoint (the `audience` query parameter is added from --audience-param).
    #[arg(long, env = "SHOAL_PEARLDIVER_TOKEN_URL", global = true)]
    pub token_url: Option<String>,
    /// API base URL.
    #[arg(long, env = "SHOAL_PEARLDIVER_API_URL", global = true)]
    pub api_url: Option<String>,
    /// Scopes, space-separated.
    #[arg(long, env = "SHOAL_PEARLDIVER_SCOPE", global = true)]
    pub scope: Option<String>,
    /// The `audience` parameter sent to the authorization server.
    #[arg(long, env = "SHOAL_PEARLDIVER_AUDIENCE_PARAM", global = true)]
    pub audience_param: Option<String>,
    /// Where tokens are kept (default: the user's config directory).
    #[arg(long, env = "SHOAL_PEARLDIVER_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// Keep the tokens in Redis instead of a file (`redis://host/`), shared by every process
    /// and machine that uses this client id: one refresh at a time, each rotation saved with a
    /// compare-and-set.
    #[arg(
        long,
        env = "SHOAL_PEARLDIVER_TOKEN_REDIS",
        global = true,
        conflicts_with = "token_file"
    )]
    pub token_redis: Option<String>,
    /// With --token-redis: encrypt the stored tokens with this AES-256 key (base64 of 32 bytes,
    /// e.g. `openssl rand -base64 32`).
    #[arg(long, env = "SHOAL_PEARLDIVER_TOKEN_KEY", global = true, hide_env_values = true, value_parser = encryption_key)]
    pub token_key: Option<shoal_redis::EncryptionKey>,
    /// The redirect URI registered with Pearl Diver (compared exactly, port included); `login`
    /// listens on it.
    #[arg(long, env = "SHOAL_PEARLDIVER_REDIRECT_URI", global = true, default_value = shoal::auth::DEFAULT_REDIRECT_URI)]
    pub redirect_uri: String,
}

/// `shoal pearldiver`
#[derive(Debug, Args)]
pub struct PearlDiverArgs {
    /// Connection flags.
    #[command(flatten)]
    pub conn: PearlDiverConn,
    /// What to do.
    #[command(subcommand)]
    pub command: PearlDiverCommand,
}

/// A data window: last N days or since an instant.
#[derive(Debug, Args, Clone, Default)]
pub struct WindowArgs {
    /// The last N days (1–90).
    #[arg(long, conflicts_with = "since", env = "SHOAL_PEARLDIVER_DAYS")]
    pub days: Option<u32>,
    /// Since an RFC 3339 instant (at most 90 days ago).
    #[arg(long, env = "SHOAL_PEARLDIVER_SINCE")]
    pub since: Option<String>,
}

/// Pearl Diver subcommands.
#[derive(Debug, Subcommand)]
pub enum PearlDiverCommand {
    /// Log in through the browser (loopback redirect on --redirect-uri, PKCE) and store the
    /// tokens.
    Login {
        /// Print the authorize URL instead of opening a browser.
        #[arg(long, env = "SHOAL_PEARLDIVER_NO_BROWSER")]
        no_browser: bool,
    },
    /// Stored tokens: status or a forced refresh.
    Token {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// List audiences.
    Audiences,
    /// Show an audience's first page.
    Audience {
        /// The audience key.
        key: u64,
        /// The data window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Export every record of an audience to NDJSON or CSV, resumably, or as Singer messages.
    Export(ExportArgs),
    /// Keep audiences current in SQLite or Postgres: incrementally, exactly once, crash safe.
    Sync(SyncArgs),
}

/// `shoal pearldiver sync`
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// `all`, or audience keys separated by commas (`17,23`).
    #[arg(long, env = "SHOAL_PEARLDIVER_SYNC_AUDIENCE")]
    pub audience: String,
    /// The destination: `sqlite:PATH` or `postgres://user@host/db` (default: `pearldiver.db`
    /// under the user's data directory, `~/.local/share/shoal/` on Linux).
    #[arg(long, env = "SHOAL_PEARLDIVER_DB")]
    pub db: Option<String>,
    /// Overlap of an incremental run with the previous one (`since` = its start − lag).
    #[arg(long, default_value = "1h", env = "SHOAL_PEARLDIVER_LAG")]
    pub lag: humantime::Duration,
    /// Audiences synced at once.
    #[arg(long, default_value_t = 4, env = "SHOAL_PEARLDIVER_SYNC_CONCURRENCY")]
    pub concurrency: usize,
    /// Skip an audience another worker is syncing (Postgres) instead of waiting for it.
    #[arg(long, env = "SHOAL_PEARLDIVER_SKIP_LOCKED")]
    pub skip_locked: bool,
    /// Say what each audience's run would ask for; write and fetch nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Token subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Expiry, refresh-token age and lifetime warnings (no secret printed).
    Status,
    /// Rotate the tokens now (persisted before it is reported).
    Refresh,
}

/// Output formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON record per line, every field kept as received.
    Ndjson,
    /// Flattened columns (`phones.0.number`), one header row.
    Csv,
    /// Singer SCHEMA, RECORD and STATE messages, for any Singer or Meltano target (`--out -`
    /// writes them to stdout; `--state FILE` continues from a previous STATE).
    Singer,
}

/// `shoal pearldiver export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The audience key.
    #[arg(long, env = "SHOAL_PEARLDIVER_AUDIENCE")]
    pub audience: u64,
    /// The data window.
    #[command(flatten)]
    pub window: WindowArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson, env = "SHOAL_PEARLDIVER_FORMAT")]
    pub format: ExportFormat,
    /// Output file (a `FILE.checkpoint` is kept beside it until the export finishes); `-` is
    /// stdout, for `--format singer` only.
    #[arg(long, env = "SHOAL_PEARLDIVER_OUT")]
    pub out: PathBuf,
    /// `--format singer` only: continue from the last STATE message in this file (a target's
    /// output or a saved state); the export asks for what changed since.
    #[arg(long, env = "SHOAL_PEARLDIVER_STATE")]
    pub state: Option<PathBuf>,
    /// Continue an interrupted export from its checkpoint.
    #[arg(long, env = "SHOAL_PEARLDIVER_RESUME")]
    pub resume: bool,
    /// CSV only: write strings exactly as the records hold them. By default a cell starting with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows
    /// visitor-written text instead of running it as a formula.
    #[arg(long, env = "SHOAL_PEARLDIVER_CSV_RAW")]
    pub csv_raw: bool,
    /// Sync the output and save its checkpoint this often (`250ms`, `2s`; and after the last
    /// page), while the next pages are written: what a crash costs, in pages fetched again.
    /// `0`: after every page, before the next is written.
    #[arg(long, value_name = "DURATION", default_value = "250ms", env = "SHOAL_PEARLDIVER_COMMIT_EVERY",
          value_parser = up_to_an_hour)]
    pub commit_every: std::time::Duration,
}

/// PebblePad installations by short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InstallationArg {
    /// United Kingdom.
    Uk,
    /// United States.
    Us,
    /// Australia.
    Au,
    /// Canada.
    Ca,
    /// TAQAS (testing).
    Taqas,
}

/// Connection flags for PebblePad.
#[derive(Debug, Args, Clone)]
pub struct PebblePadConn {
    /// The installation.
    #[arg(long, value_enum, env = "SHOAL_PEBBLEPAD_INSTALLATION", global = true)]
    pub installation: Option<InstallationArg>,
    /// A custom host instead of an installation (`https://…`).
    #[arg(
        long,
        env = "SHOAL_PEBBLEPAD_HOST",
        global = true,
        conflicts_with = "installation"
    )]
    pub host: Option<String>,
    /// OAuth client id.
    #[arg(long, env = "SHOAL_PEBBLEPAD_CLIENT_ID", global = true)]
    pub client_id: Option<String>,
    /// OAuth client secret.
    #[arg(long, env = "SHOAL_PEBBLEPAD_CLIENT_SECRET", global = true, hide_env_values = true, value_parser = secret::<ClientSecret>)]
    pub client_secret: Option<ClientSecret>,
    /// Service-account access token.
    #[arg(long, env = "SHOAL_PEBBLEPAD_ACCESS_TOKEN", global = true, hide_env_values = true, value_parser = secret::<AccessToken>)]
    pub access_token: Option<AccessToken>,
    /// Service-account refresh token.
    #[arg(long, env = "SHOAL_PEBBLEPAD_REFRESH_TOKEN", global = true, hide_env_values = true, value_parser = secret::<RefreshToken>)]
    pub refresh_token: Option<RefreshToken>,
    /// Where tokens are kept — a login's, or a service account's rotations (default: the
    /// user's config directory).
    #[arg(long, env = "SHOAL_PEBBLEPAD_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// The redirect URI registered with PebblePad (it must match exactly); `login` listens on it.
    #[arg(long, env = "SHOAL_PEBBLEPAD_REDIRECT_URI", global = true, default_value = shoal::auth::DEFAULT_REDIRECT_URI)]
    pub redirect_uri: String,
}

/// `shoal pebblepad`
#[derive(Debug, Args)]
pub struct PebblePadArgs {
    /// Connection flags.
    #[command(flatten)]
    pub conn: PebblePadConn,
    /// What to do.
    #[command(subcommand)]
    pub command: PebblePadCommand,
}

/// PebblePad subcommands.
#[derive(Debug, Subcommand)]
pub enum PebblePadCommand {
    /// Log in through the browser (loopback redirect on --redirect-uri) and store the tokens.
    Login {
        /// Print the authorize URL instead of opening a browser.
        #[arg(long, env = "SHOAL_PEBBLEPAD_NO_BROWSER")]
        no_browser: bool,
    },
    /// The installation's current rate and concurrency limits.
    Limits,
    /// Users.
    Users {
        /// What to do.
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Groups.
    Groups {
        /// What to do.
        #[command(subcommand)]
        command: GroupsCommand,
    },
}

/// PebblePad user subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create one user.
    Create {
        /// Unique username.
        #[arg(long, env = "SHOAL_PEBBLEPAD_USERNAME")]
        username: String,
        /// Forename.
        #[arg(long, env = "SHOAL_PEBBLEPAD_FORENAME")]
        forename: String,
        /// Surname.
        #[arg(long, env = "SHOAL_PEBBLEPAD_SURNAME")]
        surname: String,
        /// Email address.
        #[arg(long, env = "SHOAL_PEBBLEPAD_EMAIL")]
        email: String,
        /// The institution's own id.
        #[arg(long, env = "SHOAL_PEBBLEPAD_CUSTOM_ID")]
        custom_id: Option<String>,
    },
    /// Mark a user for deletion.
    Delete {
        /// The user's id (or custom id with --by-custom-id).
        id: String,
        /// Treat the id as the institution's custom id.
        #[arg(long, env = "SHOAL_PEBBLEPAD_BY_CUSTOM_ID")]
        by_custom_id: bool,
    },
    /// Create users from a CSV file, resumably.
    Import(PebblePadImportArgs),
}

/// PebblePad group subcommands.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List a group's members.
    Members {
        /// The group's id (or custom id with --by-custom-id).
        group: String,
        /// Treat the id as the institution's custom id.
        #[arg(long, env = "SHOAL_PEBBLEPAD_BY_CUSTOM_ID")]
        by_custom_id: bool,
    },
}

/// What the bulk imports take, whichever vendor's command parsed it.
#[derive(Debug, Clone)]
pub struct ImportArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// Continue an interrupted import from its journal.
    pub resume: bool,
    /// Start even when some rows are invalid (they are skipped and reported).
    pub skip_invalid: bool,
    /// Rows in flight at once.
    pub concurrency: usize,
    /// Write a per-row report (row, key, outcome, id or error) to this CSV file.
    pub report: Option<PathBuf>,
}

/// The import flags of one vendor's command, each with that vendor's `SHOAL_<VENDOR>_…` variable.
macro_rules! import_flags {
    ($name:ident, $vendor:literal) => {
        #[doc = concat!("Import flags of the ", $vendor, " command.")]
        #[derive(Debug, Args)]
        pub struct $name {
            /// The CSV file.
            #[arg(env = concat!("SHOAL_", $vendor, "_IMPORT_FILE"))]
            pub file: PathBuf,
            /// Continue an interrupted import from its journal.
            #[arg(long, env = concat!("SHOAL_", $vendor, "_RESUME"))]
            pub resume: bool,
            /// Start even when some rows are invalid (they are skipped and reported).
            #[arg(long, env = concat!("SHOAL_", $vendor, "_SKIP_INVALID"))]
            pub skip_invalid: bool,
            /// Rows in flight at once.
            #[arg(long, default_value_t = 4, env = concat!("SHOAL_", $vendor, "_CONCURRENCY"))]
            pub concurrency: usize,
            /// Write a per-row report (row, key, outcome, id or error) to this CSV file.
            #[arg(long, env = concat!("SHOAL_", $vendor, "_REPORT"))]
            pub report: Option<PathBuf>,
        }

        impl From<&$name> for ImportArgs {
            fn from(a: &$name) -> Self {
                ImportArgs {
                    file: a.file.clone(),
                    resume: a.resume,
                    skip_invalid: a.skip_invalid,
                    concurrency: a.concurrency,
                    report: a.report.clone(),
                }
            }
        }
    };
}

import_flags!(PebblePadImportArgs, "PEBBLEPAD");
import_flags!(PayaImportArgs, "PAYA");

/// Paya Connect environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvironmentArg {
    /// The sandbox.
    Sandbox,
    /// Production.
    Production,
}

/// Where the Paya API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyPlacementArg {
    /// `user-id` / `user-api-key` headers.
    Headers,
    /// Query parameters (redacted wherever a URL is printed).
    Query,
    /// HTTP Basic.
    Basic,
}

/// Connection flags for Paya Connect.
#[derive(Debug, Args, Clone)]
pub struct PayaConn {
    /// The environment.
    #[arg(long, value_enum, env = "SHOAL_PAYA_ENVIRONMENT", global = true)]
    pub environment: Option<EnvironmentArg>,
    /// A custom base URL instead of an environment.
    #[arg(
        long,
        env = "SHOAL_PAYA_BASE_URL",
        global = true,
        conflicts_with = "environment"
    )]
    pub base_url: Option<String>,
    /// The integrator's developer id.
    #[arg(long, env = "SHOAL_PAYA_DEVELOPER_ID", global = true)]
    pub developer_id: Option<String>,
    /// User id (key method).
    #[arg(long, env = "SHOAL_PAYA_USER_ID", global = true)]
    pub user_id: Option<String>,
    /// User API key (key method).
    #[arg(long, env = "SHOAL_PAYA_API_KEY", global = true, hide_env_values = true, value_parser = secret::<ApiKey>)]
    pub api_key: Option<ApiKey>,
    /// Where the key goes.
    #[arg(long, value_enum, default_value_t = KeyPlacementArg::Headers, env = "SHOAL_PAYA_KEY_PLACEMENT", global = true)]
    pub key_placement: KeyPlacementArg,
    /// Username (token method).
    #[arg(long, env = "SHOAL_PAYA_USERNAME", global = true)]
    pub username: Option<String>,
    /// Password (token method).
    #[arg(long, env = "SHOAL_PAYA_PASSWORD", global = true, hide_env_values = true, value_parser = secret::<Password>)]
    pub password: Option<Password>,
    /// Domain (token method).
    #[arg(long, env = "SHOAL_PAYA_DOMAIN", global = true)]
    pub domain: Option<String>,
    /// Send contact fields, ids and page sizes without checking them against the field limits
    /// first (some of which are assumed: digits in a phone number, letters in a state, an `@` in
    /// an e-mail address, a page size of at most 100); Paya then judges them.
    #[arg(long, env = "SHOAL_PAYA_NO_INPUT_CHECKS", global = true)]
    pub no_input_checks: bool,
}

/// `shoal paya`
#[derive(Debug, Args)]
pub struct PayaArgs {
    /// Connection flags.
    #[command(flatten)]
    pub conn: PayaConn,
    /// What to do.
    #[command(subcommand)]
    pub command: PayaCommand,
}

/// Paya subcommands.
#[derive(Debug, Subcommand)]
pub enum PayaCommand {
    /// Contacts.
    Contacts {
        /// What to do.
        #[command(subcommand)]
        command: ContactsCommand,
    },
    /// Locations the credentials can reach.
    Locations,
}

/// Paya contact subcommands.
#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// List contacts (every page).
    List {
        /// Sort by a field; prefix `-` for descending.
        #[arg(long, env = "SHOAL_PAYA_SORT")]
        sort: Option<String>,
        /// Page size (1–100; the maximum is assumed, --no-input-checks lifts it).
        #[arg(long, default_value_t = 100, env = "SHOAL_PAYA_PAGE_SIZE")]
        page_size: u32,
    },
    /// Show one contact.
    Get {
        /// The contact id.
        id: String,
    },
    /// Create a contact from `field=value` pairs.
    Create {
        /// `field=value` pairs (`last_name=…`, `email=…`, …).
        #[arg(required = true)]
        fields: Vec<String>,
        /// The location the contact belongs to (or a `location_id=…` pair).
        #[arg(long, env = "SHOAL_PAYA_LOCATION_ID")]
        location_id: Option<String>,
    },
    /// Update fields of a contact.
    Update {
        /// The contact id.
        id: String,
        /// `field=value` pairs.
        #[arg(required = true)]
        fields: Vec<String>,
    },
    /// Delete a contact.
    Delete {
        /// The contact id.
        id: String,
    },
    /// Upsert contacts from a CSV file, resumably.
    Import {
        /// Shared import flags.
        #[command(flatten)]
        import: PayaImportArgs,
        /// The location every contact belongs to.
        #[arg(long, env = "SHOAL_PAYA_LOCATION_ID")]
        location_id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_every_takes_a_duration_of_at_most_an_hour() {
        use std::time::Duration;
        assert_eq!(up_to_an_hour("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(up_to_an_hour("0.25s"), Ok(Duration::from_millis(250)));
        assert_eq!(up_to_an_hour("0"), Ok(Duration::ZERO));
        assert_eq!(up_to_an_hour("1h"), Ok(Duration::from_secs(3600)));
        for bad in [
            "61m",
            "18446744073709551615s",
            "99999999999999999999h",
            "-1s",
            "NaN",
            "",
            "½",
            "２s",
            "1e400s",
        ] {
            assert!(up_to_an_hour(bad).is_err(), "{bad}");
        }
    }
}
