//! `shoal pearldiver …`: loopback login, token status and forced rotation, audiences, one
//! audience's first page, and the export (a bulk job, dispatched to `bulk`).

use std::time::{Duration, SystemTime};

use serde_json::json;

use shoal::auth::{FileTokenStore, LifetimeWarning, TokenStore};
use shoal::core::{Clock, SystemClock};
use shoal::pearldiver::{AudienceWindow, PearlDiverClient, REFRESH_LIFETIMES};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::args::{
    ExportFormat, PearlDiverArgs, PearlDiverCommand, PearlDiverConn, TokenCommand, WindowArgs,
};
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::{Ui, human_duration, rfc3339};
use crate::{browser, bulk, config};

/// Runs one `shoal pearldiver` command.
pub async fn run(args: PearlDiverArgs, ui: Ui) -> CliResult {
    let conn = &args.conn;
    match args.command {
        PearlDiverCommand::Login { no_browser } => login(conn, no_browser, ui).await,
        PearlDiverCommand::Token {
            command: TokenCommand::Status,
        } => status(conn, ui).await,
        PearlDiverCommand::Token {
            command: TokenCommand::Refresh,
        } => refresh(conn, ui).await,
        PearlDiverCommand::Audiences => audiences(conn, ui).await,
        PearlDiverCommand::Audience { key, window } => audience(conn, key, &window, ui).await,
        PearlDiverCommand::Export(export) if export.format == ExportFormat::Singer => {
            let client = client_warned(conn, ui).await?;
            let summary = crate::sync::singer_export(&client, &export, ui).await?;
            if export.out.as_os_str() != "-" {
                ui.print(&crate::ui::summary_lines(&summary), &summary);
            }
            Ok(())
        }
        PearlDiverCommand::Export(export) => {
            let client = client_warned(conn, ui).await?;
            let summary = bulk::export(&client, &export, ui).await?;
            ui.print(&crate::ui::summary_lines(&summary), &summary);
            Ok(())
        }
        PearlDiverCommand::Sync(sync) => {
            let client = client_warned(conn, ui).await?;
            crate::sync::sync(client, &sync, ui).await
        }
    }
}

fn now() -> SystemTime {
    SystemClock.system_now()
}

async fn client(conn: &PearlDiverConn, ui: Ui) -> CliResult<PearlDiverClient> {
    config::pearldiver(conn, ui.timeout).await
}

/// The client for a command that uses the stored tokens: warns on stderr when the refresh
/// family is within 5 days of either of Pearl Diver's lifetimes.
async fn client_warned(conn: &PearlDiverConn, ui: Ui) -> CliResult<PearlDiverClient> {
    let client = client(conn, ui).await?;
    // An unreadable token file is reported by the command itself.
    for warning in client.lifetime_warnings().await.unwrap_or_default() {
        eprintln!("warning: {}", lifetime_warning(warning));
    }
    Ok(client)
}

/// What a lifetime warning means and what to do about it.
fn lifetime_warning(warning: LifetimeWarning) -> String {
    match warning {
        LifetimeWarning::Inactivity { expires_at } => format!(
            "the refresh token dies from disuse at {} (30-day inactivity limit): run any command or `shoal pearldiver token refresh` before then",
            rfc3339(expires_at)
        ),
        LifetimeWarning::Absolute { expires_at } => format!(
            "the login ends at {} (1-year absolute limit): run `shoal pearldiver login` before then",
            rfc3339(expires_at)
        ),
        other => format!("{other:?}: run `shoal pearldiver login`"),
    }
}

/// The data window from `--days` / `--since`; a malformed instant is a usage error.
pub fn window(args: &WindowArgs) -> CliResult<AudienceWindow> {
    match (args.days, &args.since) {
        (Some(days), _) => AudienceWindow::last_days(days)
            .map_err(|e| CliError::from(e).hint("--days takes 1 to 90")),
        (None, Some(since)) => OffsetDateTime::parse(since.trim(), &Rfc3339)
            .map(AudienceWindow::since)
            .map_err(|e| {
                CliError::usage(format!("invalid --since {since:?}: {e}")).hint(
                    "give an RFC 3339 date-time within the last 90 days, e.g. 2025-06-01T00:00:00Z",
                )
            }),
        (None, None) => Ok(AudienceWindow::default()),
    }
}

async fn login(conn: &PearlDiverConn, no_browser: bool, ui: Ui) -> CliResult {
    let client = client(conn, ui).await?;
    let wait = Duration::from_secs(300);
    browser::loopback_login(
        client.login()?,
        "Pearl Diver",
        &conn.redirect_uri,
        wait,
        "5 minutes at most",
        no_browser,
    )
    .await?;
    browser::logged_in(ui, "Pearl Diver", &config::pearldiver_token_file(conn)?);
    Ok(())
}

fn no_tokens(path: &std::path::Path) -> CliError {
    CliError::new(
        Failure::Auth,
        format!("no Pearl Diver tokens in {}", path.display()),
    )
    .hint("run `shoal pearldiver login` first (or point --token-file at your token file)")
}

async fn status(conn: &PearlDiverConn, ui: Ui) -> CliResult {
    let path = config::pearldiver_token_file(conn)?;
    let store = FileTokenStore::new(path.clone());
    let record = store.load().await?.ok_or_else(|| no_tokens(&path))?;
    let now = now();
    let limits = REFRESH_LIFETIMES;
    let since = |t: SystemTime| now.duration_since(t).unwrap_or_default();
    let mut lines = vec![format!("token file      {}", path.display())];
    match record.expires_at {
        Some(at) if at > now => lines.push(format!(
            "access token    valid for {} (until {})",
            human_duration(at.duration_since(now).unwrap_or_default()),
            rfc3339(at)
        )),
        Some(at) => lines.push(format!(
            "access token    expired {} ago (refreshed on next use)",
            human_duration(since(at))
        )),
        None => lines.push("access token    expiry unknown".into()),
    }
    let inactivity_end = record.inactivity_ends(&limits);
    let absolute_end = record.family_ends(&limits);
    match (&record.refresh_token, record.refresh_issued_at) {
        (None, _) => {
            lines.push("refresh token   none: log in again when the access token expires".into())
        }
        (Some(_), Some(issued)) => lines.push(format!(
            "refresh token   {} old; unused, it dies at {}",
            human_duration(since(issued)),
            inactivity_end.map(rfc3339).unwrap_or_default()
        )),
        (Some(_), None) => lines.push("refresh token   present, age unknown".into()),
    }
    if let (Some(start), Some(end)) = (record.family_started_at, absolute_end) {
        lines.push(format!(
            "login           {} ago; a new login is needed by {}",
            human_duration(since(start)),
            rfc3339(end)
        ));
    }
    let warnings: Vec<String> = record
        .lifetime_warnings(&limits, now)
        .into_iter()
        .map(lifetime_warning)
        .collect();
    for w in &warnings {
        lines.push(format!("warning         {w}"));
    }
    let opt = |t: Option<SystemTime>| t.map(rfc3339);
    ui.print(
        &lines.join("\n"),
        &json!({
            "token_file": path.display().to_string(),
            "access_token_expires_at": opt(record.expires_at),
            "access_token_expired": record.expires_at.is_some_and(|at| at <= now),
            "refresh_token": record.refresh_token.is_some(),
            "refresh_token_age_seconds": record.refresh_issued_at.map(|t| since(t).as_secs()),
            "refresh_token_inactivity_expires_at": opt(inactivity_end),
            "family_started_at": opt(record.family_started_at),
            "family_expires_at": opt(absolute_end),
            "scope": record.scope,
            "warnings": warnings,
        }),
    );
    Ok(())
}

async fn refresh(conn: &PearlDiverConn, ui: Ui) -> CliResult {
    let client = client_warned(conn, ui).await?;
    let path = config::pearldiver_token_file(conn)?;
    let credential = client
        .credential()
        .ok_or_else(|| CliError::new(Failure::Internal, "no OAuth credential"))?;
    if credential.record().await?.is_none() {
        return Err(no_tokens(&path));
    }
    // Saved (and synced) before it is reported: the old refresh token is dead now.
    let rotated = credential.force_refresh().await?;
    let expires = rotated.expires_at.map(rfc3339);
    ui.print(
        &format!(
            "Tokens rotated and saved to {}; the new access token expires at {}",
            path.display(),
            expires.clone().unwrap_or_else(|| "an unknown time".into())
        ),
        &json!({"rotated": true, "token_file": path.display().to_string(), "access_token_expires_at": expires}),
    );
    Ok(())
}

async fn audiences(conn: &PearlDiverConn, ui: Ui) -> CliResult {
    let list = client_warned(conn, ui)
        .await?
        .audiences()
        .list()
        .send()
        .await?;
    let mut human = format!("{:>8}  NAME", "KEY");
    for a in &list.audiences {
        human.push_str(&format!(
            "\n{:>8}  {}",
            a.key,
            a.name.as_deref().unwrap_or("")
        ));
    }
    let items: Vec<_> = list
        .audiences
        .iter()
        .map(|a| json!({"key": a.key, "name": a.name}))
        .collect();
    ui.print(&human, &json!({ "audiences": items }));
    Ok(())
}

async fn audience(conn: &PearlDiverConn, key: u64, flags: &WindowArgs, ui: Ui) -> CliResult {
    let window = window(flags)?;
    let page = client_warned(conn, ui)
        .await?
        .audiences()
        .get(key, window)
        .send()
        .await
        .map_err(|e| {
            let err = CliError::from(e);
            if err.kind == Failure::NotFound {
                err.hint("`shoal pearldiver audiences` lists the keys you can read")
            } else {
                err
            }
        })?;
    let more = page.page_token.is_some();
    let name = page.name.clone().unwrap_or_default();
    let mut human = format!(
        "Audience {key}: {name}\n  first page: {} records; more pages: {}",
        page.records.len(),
        if more { "yes" } else { "no" }
    );
    let sample: Vec<_> = page.records.iter().take(5).collect();
    for r in &sample {
        human.push_str(&format!(
            "\n  {}  {} {}  {}",
            r.id.as_deref().unwrap_or("-"),
            r.first_name.as_deref().unwrap_or(""),
            r.last_name.as_deref().unwrap_or(""),
            r.email.as_deref().unwrap_or("")
        ));
    }
    let sample: Vec<_> = sample
        .iter()
        .map(|r| json!({"id": r.id, "firstName": r.first_name, "lastName": r.last_name, "email": r.email}))
        .collect();
    ui.print(
        &human,
        &json!({"key": key, "name": name, "records_on_first_page": page.records.len(), "more_pages": more, "sample": sample}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_from_flags() {
        let days = WindowArgs {
            days: Some(30),
            since: None,
        };
        assert_eq!(window(&days).unwrap(), AudienceWindow::LastDays(30));
        let bad = WindowArgs {
            days: Some(91),
            since: None,
        };
        assert_eq!(window(&bad).unwrap_err().kind, Failure::Usage);
        let since = WindowArgs {
            days: None,
            since: Some("2025-06-01T00:00:00Z".into()),
        };
        assert!(matches!(window(&since).unwrap(), AudienceWindow::Since(_)));
        let malformed = WindowArgs {
            days: None,
            since: Some("yesterday".into()),
        };
        let err = window(&malformed).unwrap_err();
        assert_eq!(err.kind, Failure::Usage);
        assert!(err.to_string().contains("--since \"yesterday\""), "{err}");
        assert_eq!(
            window(&WindowArgs::default()).unwrap(),
            AudienceWindow::default()
        );
    }
}
