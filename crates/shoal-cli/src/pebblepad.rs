//! `shoal pebblepad …`: loopback login, the installation's limits, users and group members, and
//! the user import (a bulk job, dispatched to `bulk`).

use std::time::Duration;

use serde_json::json;
use shoal::pebblepad::{BasicUserInfo, PebblePadClient, Target};

use crate::args::{GroupsCommand, PebblePadArgs, PebblePadCommand, PebblePadConn, UsersCommand};
use crate::exit::CliResult;
use crate::ui::Ui;
use crate::{browser, config};

/// Runs one `shoal pebblepad` command.
pub async fn run(args: PebblePadArgs, ui: Ui) -> CliResult {
    let conn = &args.conn;
    match args.command {
        PebblePadCommand::Login { no_browser } => login(conn, no_browser, ui).await,
        PebblePadCommand::Limits => limits(&config::pebblepad(conn, false, ui.timeout)?, ui).await,
        PebblePadCommand::Users { command } => users(conn, command, ui).await,
        PebblePadCommand::Groups {
            command:
                GroupsCommand::Members {
                    group,
                    by_custom_id,
                },
        } => {
            let client = config::pebblepad(conn, true, ui.timeout)?;
            let members = client
                .groups()
                .members(target(group, by_custom_id))
                .send()
                .await?;
            let mut human = format!("{:<38} {:<16} {:<20} ROLE", "ID", "CUSTOM ID", "USERNAME");
            for m in &members {
                human.push_str(&format!(
                    "\n{:<38} {:<16} {:<20} {}",
                    m.id.as_deref().unwrap_or("-"),
                    m.custom_id.as_deref().unwrap_or("-"),
                    m.username.as_deref().unwrap_or("-"),
                    m.role.as_deref().unwrap_or("")
                ));
            }
            let value = serde_json::to_value(&members).unwrap_or_default();
            ui.print(&human, &json!({ "members": value }));
            Ok(())
        }
    }
}

fn target(id: String, by_custom_id: bool) -> Target {
    if by_custom_id {
        Target::custom_id(id)
    } else {
        Target::id(id)
    }
}

async fn users(conn: &PebblePadConn, command: UsersCommand, ui: Ui) -> CliResult {
    match command {
        UsersCommand::Create {
            username,
            forename,
            surname,
            email,
            custom_id,
        } => {
            let client = config::pebblepad(conn, true, ui.timeout)?;
            let mut user = BasicUserInfo::new(username.clone())
                .name(forename, surname)
                .email(email);
            if let Some(c) = custom_id {
                user = user.custom_id(c);
            }
            let created = client.users().create(&user).send().await?;
            let id = created.id.unwrap_or_default();
            ui.print(
                &format!("Created user {username} (Id {id})"),
                &json!({"created": true, "username": username, "id": id}),
            );
            Ok(())
        }
        UsersCommand::Delete { id, by_custom_id } => {
            let client = config::pebblepad(conn, true, ui.timeout)?;
            client
                .users()
                .delete(target(id.clone(), by_custom_id))
                .send()
                .await?;
            ui.print(
                &format!("User {id} marked for deletion"),
                &json!({"marked_for_deletion": true, "id": id}),
            );
            Ok(())
        }
        UsersCommand::Import(import) => {
            let client = config::pebblepad(conn, true, ui.timeout)?;
            let summary = crate::bulk::import_users(&client, &(&import).into(), ui).await?;
            ui.print(&crate::ui::summary_lines(&summary), &summary);
            Ok(())
        }
    }
}

/// Prints the limits `GetRateLimits` announces and what the client's limiter knows.
pub async fn limits(client: &PebblePadClient, ui: Ui) -> CliResult {
    let info = client.refresh_rate_limits().await?;
    let status = client.rate_limits().await?;
    let mut human = format!("PebblePad limits ({})", client.installation());
    for m in &info.rate_limits {
        human.push_str(&format!(
            "\n  {:<7} {} per {}s",
            m.method,
            m.limit,
            info.window_seconds.unwrap_or(60)
        ));
    }
    if let Some(c) = info.concurrency_limit {
        human.push_str(&format!("\n  concurrent calls: {c}"));
    }
    let info = serde_json::to_value(&info).unwrap_or_default();
    let status = serde_json::to_value(&status).unwrap_or_default();
    ui.print(&human, &json!({"announced": info, "limiter": status}));
    Ok(())
}

async fn login(conn: &PebblePadConn, no_browser: bool, ui: Ui) -> CliResult {
    let client = config::pebblepad(conn, true, ui.timeout)?;
    let wait = Duration::from_secs(120);
    let patience = "PebblePad allows 2 minutes";
    browser::loopback_login(
        client.login()?,
        "PebblePad",
        &conn.redirect_uri,
        wait,
        patience,
        no_browser,
    )
    .await?;
    browser::logged_in(ui, "PebblePad", &config::pebblepad_token_file(conn)?);
    Ok(())
}
