//! `shoal doctor`: for every vendor configured through `SHOAL_*` variables, one line per check —
//! endpoints reachable, the token file present, private, readable and current, the clock against
//! the server's `Date`, PebblePad's current limits — each ✓, ! or ✗ with what to do.

use std::path::Path;
use std::time::{Duration, SystemTime};

use clap::{Args, FromArgMatches};
use serde_json::json;
use shoal::auth::{FileTokenStore, LifetimeLimits, TokenStore as _};
use shoal::core::{Clock as _, server_date};
use shoal::core::{Error, Pipeline, Request, Response, RetryPolicy, SystemClock, Url};
use shoal::paya::Environment;
use shoal::pearldiver::{API_BASE, AUTHORIZE_URL, REFRESH_LIFETIMES};
use shoal::pebblepad::RateLimitsInfo;

use crate::args::{PayaConn, PearlDiverConn, PebblePadConn};
use crate::config;
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::{Ui, human_duration, rfc3339};

/// A clock this far from the server's is worth a warning; beyond [`SKEW_FAIL`], token expiry and
/// `since` windows go wrong.
const SKEW_WARN: Duration = Duration::from_secs(30);
/// See [`SKEW_WARN`].
const SKEW_FAIL: Duration = Duration::from_secs(300);

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail(Failure),
}

/// One line of the report.
#[derive(Debug)]
struct Check {
    vendor: &'static str,
    name: &'static str,
    status: Status,
    detail: String,
    hint: Option<String>,
}

impl Check {
    fn ok(vendor: &'static str, name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            vendor,
            name,
            status: Status::Ok,
            detail: detail.into(),
            hint: None,
        }
    }
    fn warn(
        vendor: &'static str,
        name: &'static str,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            status: Status::Warn,
            hint: Some(hint.into()),
            ..Self::ok(vendor, name, detail)
        }
    }
    fn fail(
        vendor: &'static str,
        name: &'static str,
        kind: Failure,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            status: Status::Fail(kind),
            hint: Some(hint.into()),
            ..Self::ok(vendor, name, detail)
        }
    }

    fn line(&self) -> String {
        let mark = match self.status {
            Status::Ok => "✓",
            Status::Warn => "!",
            Status::Fail(_) => "✗",
        };
        let mut line = format!(
            "{mark} {:<11} {:<14} {}",
            self.vendor, self.name, self.detail
        );
        if let Some(hint) = &self.hint {
            line.push_str(" — ");
            line.push_str(hint);
        }
        line
    }

    fn json(&self) -> serde_json::Value {
        let status = match self.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail(_) => "fail",
        };
        json!({"vendor": self.vendor, "check": self.name, "status": status, "detail": self.detail, "hint": self.hint})
    }
}

/// Connection flags read from the `SHOAL_*` variables alone (each vendor's flags belong to its
/// own subcommand).
fn from_env<T: Args + FromArgMatches>() -> CliResult<T> {
    T::augment_args(clap::Command::new("doctor").no_binary_name(true))
        .try_get_matches_from(Vec::<String>::new())
        .and_then(|m| T::from_arg_matches(&m))
        .map_err(|e| CliError::usage(format!("a SHOAL_* variable is invalid: {e}")))
}

/// One unauthenticated GET, no retries: the answer (any status) or why there was none.
async fn probe(url: &Url, timeout: u64) -> Result<Response, Error> {
    let pipeline = Pipeline::builder(url.clone())
        .retry_policy(RetryPolicy::never())
        .deadline(config::deadline(timeout))
        .build()?;
    match pipeline.execute(Request::get(url.as_str())).await {
        Ok(r) => Ok(r),
        Err(e) => match e.service() {
            Some(s) => Ok(Response::new(
                s.request.clone(),
                s.status,
                s.headers.clone(),
                s.body.clone(),
            )),
            None => Err(e),
        },
    }
}

fn parse_url(vendor: &'static str, what: &'static str, url: &str) -> Result<Url, Check> {
    Url::parse(url).map_err(|e| {
        Check::fail(
            vendor,
            what,
            Failure::Usage,
            format!("{url:?} is not a URL: {e}"),
            "fix the SHOAL_* variable",
        )
    })
}

/// Reaches `url`; on an answer, also judges the clock against its `Date`.
async fn reach(vendor: &'static str, what: &'static str, url: &str, timeout: u64) -> Vec<Check> {
    let url = match parse_url(vendor, what, url) {
        Ok(u) => u,
        Err(check) => return vec![check],
    };
    match probe(&url, timeout).await {
        Ok(answer) => {
            let mut checks = vec![Check::ok(
                vendor,
                what,
                format!("{url} answered {}", answer.status.as_u16()),
            )];
            checks.push(skew(vendor, server_date(&answer.headers)));
            checks
        }
        Err(e) => vec![Check::fail(
            vendor,
            what,
            Failure::Service,
            format!("{url}: {e}"),
            "check the URL, the network and any proxy",
        )],
    }
}

fn skew(vendor: &'static str, server: Option<SystemTime>) -> Check {
    let Some(server) = server else {
        return Check::warn(
            vendor,
            "clock",
            "the server sent no Date header",
            "skew not checked",
        );
    };
    let now = SystemClock.system_now();
    let (off, ahead) = match now.duration_since(server) {
        Ok(d) => (d, true),
        Err(e) => (e.duration(), false),
    };
    let detail = format!(
        "{} {} the server's",
        human_duration(off),
        if ahead { "ahead of" } else { "behind" }
    );
    if off > SKEW_FAIL {
        Check::fail(
            vendor,
            "clock",
            Failure::Service,
            detail,
            "sync the system clock (NTP): token expiry and date windows depend on it",
        )
    } else if off > SKEW_WARN {
        Check::warn(vendor, "clock", detail, "sync the system clock (NTP)")
    } else {
        Check::ok(vendor, "clock", detail)
    }
}

/// The token file: present, private, readable, its access token and refresh-token family.
async fn token_file(
    vendor: &'static str,
    path: &Path,
    limits: Option<&LifetimeLimits>,
    missing: Check,
) -> Vec<Check> {
    let store = FileTokenStore::new(path);
    let shown = path.display();
    let login = format!("run `shoal {vendor} login`");
    match store.is_private() {
        Ok(None) => return vec![missing],
        Ok(Some(false)) => {
            return vec![Check::fail(
                vendor,
                "token file",
                Failure::Io,
                format!("{shown} can be read by other users"),
                format!("chmod 600 {shown} (and check who could have read it)"),
            )];
        }
        Ok(Some(true)) => {}
        Err(e) => {
            return vec![Check::fail(
                vendor,
                "token file",
                Failure::Io,
                format!("cannot inspect {shown}: {e}"),
                "check the path and its permissions",
            )];
        }
    }
    let record = match store.load().await {
        Ok(Some(r)) => r,
        Ok(None) => return vec![missing],
        Err(e) => {
            return vec![Check::fail(
                vendor,
                "token file",
                Failure::Io,
                e.to_string(),
                format!("the file is damaged: {login}"),
            )];
        }
    };
    let now = SystemClock.system_now();
    let mut checks = vec![Check::ok(vendor, "token file", format!("{shown} (0600)"))];
    checks.push(match record.expires_at {
        Some(at) if at > now => Check::ok(
            vendor,
            "access token",
            format!(
                "valid for {}",
                human_duration(at.duration_since(now).unwrap_or_default())
            ),
        ),
        Some(at) => Check::warn(
            vendor,
            "access token",
            format!("expired at {}", rfc3339(at)),
            "it is refreshed on next use",
        ),
        None => Check::ok(
            vendor,
            "access token",
            "expiry unknown (refreshed before first use)",
        ),
    });
    if record.refresh_token.is_none() {
        checks.push(Check::warn(
            vendor,
            "refresh token",
            "none stored",
            format!("{login} when the access token expires"),
        ));
        return checks;
    }
    let Some(limits) = limits else {
        checks.push(Check::ok(vendor, "refresh token", "present"));
        return checks;
    };
    let ends = [
        ("dies from disuse", record.inactivity_ends(limits)),
        ("login ends", record.family_ends(limits)),
    ];
    let mut family = Check::ok(
        vendor,
        "refresh token",
        match record.family_ends(limits) {
            Some(end) => format!("the login lasts until {}", rfc3339(end)),
            None => "present, age unknown".to_string(),
        },
    );
    for (what, end) in ends {
        let Some(end) = end else { continue };
        if end <= now {
            family = Check::fail(
                vendor,
                "refresh token",
                Failure::Auth,
                format!("the refresh token {what}: {}", rfc3339(end)),
                format!("the grant is gone: {login}"),
            );
            break;
        }
        if end <= now + limits.warn_before() && family.status == Status::Ok {
            family = Check::warn(
                vendor,
                "refresh token",
                format!("the refresh token {what} at {}", rfc3339(end)),
                if what == "login ends" {
                    format!("{login} before then")
                } else {
                    format!("run any `shoal {vendor}` command (or `token refresh`) before then")
                },
            );
        }
    }
    checks.push(family);
    checks
}

async fn pearldiver(conn: &PearlDiverConn, timeout: u64) -> CliResult<Vec<Check>> {
    const V: &str = "pearldiver";
    let mut checks = reach(
        V,
        "auth server",
        conn.auth_url.as_deref().unwrap_or(AUTHORIZE_URL),
        timeout,
    )
    .await
    .into_iter()
    .filter(|c| c.name != "clock")
    .collect::<Vec<_>>();
    let api = format!(
        "{}/audiences",
        conn.api_url
            .as_deref()
            .unwrap_or(API_BASE)
            .trim_end_matches('/')
    );
    checks.extend(reach(V, "api", &api, timeout).await);
    let missing = Check::fail(
        V,
        "token file",
        Failure::Auth,
        format!(
            "no tokens at {}",
            config::pearldiver_token_file(conn)?.display()
        ),
        "run `shoal pearldiver login` (or point SHOAL_PEARLDIVER_TOKEN_FILE at your token file)",
    );
    checks.extend(
        token_file(
            V,
            &config::pearldiver_token_file(conn)?,
            Some(&REFRESH_LIFETIMES),
            missing,
        )
        .await,
    );
    Ok(checks)
}

async fn pebblepad(conn: &PebblePadConn, timeout: u64) -> CliResult<Vec<Check>> {
    const V: &str = "pebblepad";
    let installation = config::pebblepad_installation(conn)?;
    let url = format!("{}1.1/Info/GetRateLimits", installation.api_base());
    let mut checks = Vec::new();
    match parse_url(V, "api", &url) {
        Err(check) => checks.push(check),
        Ok(url) => match probe(&url, timeout).await {
            Ok(answer) if answer.status.is_success() => {
                checks.push(Check::ok(
                    V,
                    "api",
                    format!("{url} answered {}", answer.status.as_u16()),
                ));
                checks.push(skew(V, server_date(&answer.headers)));
                checks.push(match answer.json::<RateLimitsInfo>() {
                    Ok(info) => {
                        let methods: Vec<String> = info
                            .rate_limits
                            .iter()
                            .map(|m| format!("{} {}", m.method, m.limit))
                            .collect();
                        Check::ok(
                            V,
                            "limits",
                            format!(
                                "{} per {}s, {} concurrent",
                                methods.join(", "),
                                info.window_seconds.unwrap_or(60),
                                info.concurrency_limit.map_or("?".into(), |c| c.to_string())
                            ),
                        )
                    }
                    Err(e) => Check::warn(
                        V,
                        "limits",
                        e.to_string(),
                        "calls are paced from response headers only",
                    ),
                });
            }
            Ok(answer) => checks.push(Check::fail(
                V,
                "api",
                Failure::Service,
                format!("{url} answered {}", answer.status.as_u16()),
                "check SHOAL_PEBBLEPAD_INSTALLATION / SHOAL_PEBBLEPAD_HOST",
            )),
            Err(e) => checks.push(Check::fail(
                V,
                "api",
                Failure::Service,
                format!("{url}: {e}"),
                "check the host, the network and any proxy",
            )),
        },
    }
    if conn.client_id.is_some() || conn.access_token.is_some() {
        let path = config::pebblepad_token_file(conn)?;
        let missing = if conn.access_token.is_some() && conn.refresh_token.is_some() {
            Check::ok(
                V,
                "token file",
                format!(
                    "none yet at {}: the service account's pair starts it on first use",
                    path.display()
                ),
            )
        } else {
            Check::fail(
                V,
                "token file",
                Failure::Auth,
                format!("no tokens at {}", path.display()),
                "run `shoal pebblepad login`, or give the service account's pair",
            )
        };
        checks.extend(token_file(V, &path, None, missing).await);
    }
    Ok(checks)
}

async fn paya(conn: &PayaConn, timeout: u64) -> CliResult<Vec<Check>> {
    const V: &str = "paya";
    let base = match (&conn.base_url, conn.environment) {
        (Some(base), _) => Environment::custom(base)?.base_url()?,
        (None, Some(crate::args::EnvironmentArg::Production)) => {
            Environment::Production.base_url()?
        }
        (None, _) => Environment::Sandbox.base_url()?,
    };
    let mut checks = reach(
        V,
        "api",
        &format!("{}v2/locationinfos", with_slash(&base)),
        timeout,
    )
    .await;
    checks.push(match config::paya(conn, timeout) {
        Ok(_) => Check::ok(V, "credentials", "a complete set is given"),
        Err(e) => Check::fail(
            V,
            "credentials",
            e.kind,
            e.message,
            e.hint.unwrap_or_default(),
        ),
    });
    Ok(checks)
}

fn with_slash(url: &Url) -> String {
    let s = url.as_str();
    if s.ends_with('/') {
        s.to_string()
    } else {
        format!("{s}/")
    }
}

/// Runs `shoal doctor`.
pub async fn run(ui: Ui) -> CliResult {
    let pd: PearlDiverConn = from_env()?;
    let pp: PebblePadConn = from_env()?;
    let py: PayaConn = from_env()?;
    let mut checks = Vec::new();
    if pd.client_id.is_some() {
        checks.extend(pearldiver(&pd, ui.timeout).await?);
    }
    if pp.installation.is_some() || pp.host.is_some() {
        checks.extend(pebblepad(&pp, ui.timeout).await?);
    }
    if py.developer_id.is_some() || py.base_url.is_some() {
        checks.extend(paya(&py, ui.timeout).await?);
    }
    if checks.is_empty() {
        return Err(CliError::usage("no vendor is configured").hint(
            "set the SHOAL_* variables of a vendor (`shoal sandbox --env-file FILE` writes a set to try)",
        ));
    }
    let human: Vec<String> = checks.iter().map(Check::line).collect();
    let worst = checks
        .iter()
        .filter_map(|c| match c.status {
            Status::Fail(kind) => Some(kind),
            _ => None,
        })
        .max_by_key(|k| k.code());
    let report = json!({
        "checks": checks.iter().map(Check::json).collect::<Vec<_>>(),
        "ok": worst.is_none(),
    });
    ui.print(&human.join("\n"), &report);
    match worst {
        None => Ok(()),
        Some(kind) => {
            let failed = checks
                .iter()
                .filter(|c| matches!(c.status, Status::Fail(_)))
                .count();
            let mut err = CliError::new(kind, format!("{failed} check(s) failed"))
                .hint("see the ✗ lines above");
            err.reported = true;
            Err(err)
        }
    }
}
