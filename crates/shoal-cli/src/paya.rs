//! `shoal paya …`: contacts (list, get, create, update, delete), locations, and the contact
//! import (a bulk job, dispatched to `bulk`). A session started here is ended before exit.

use futures_util::TryStreamExt;
use serde_json::json;
use shoal::paya::{Contact, ContactField, ContactUpdate, NewContact, PayaClient, SortOrder};

use crate::args::{ContactsCommand, PayaArgs, PayaCommand};
use crate::exit::{CliError, CliResult};
use crate::ui::Ui;
use crate::{bulk, config};

/// Runs one `shoal paya` command, then ends the session if the token method was used.
pub async fn run(args: PayaArgs, ui: Ui) -> CliResult {
    let client = config::paya(&args.conn, ui.timeout)?;
    let result = command(&client, args.command, ui).await;
    if let Err(e) = client.logout().await {
        tracing::warn!(error = %e, "could not end the Paya session");
    }
    result
}

async fn command(client: &PayaClient, command: PayaCommand, ui: Ui) -> CliResult {
    match command {
        PayaCommand::Locations => {
            let page = client.location_infos().list().send().await?;
            let mut human = format!("{:<36}  NAME", "LOCATION ID");
            for l in &page.items {
                human.push_str(&format!(
                    "\n{:<36}  {}",
                    l.id.as_deref().unwrap_or("-"),
                    l.name.as_deref().unwrap_or("")
                ));
            }
            let items = serde_json::to_value(&page.items).unwrap_or_default();
            ui.print(&human, &json!({ "locations": items }));
            Ok(())
        }
        PayaCommand::Contacts { command } => contacts(client, command, ui).await,
    }
}

async fn contacts(client: &PayaClient, command: ContactsCommand, ui: Ui) -> CliResult {
    match command {
        ContactsCommand::List { sort, page_size } => {
            let mut list = client.contacts().list().page_size(page_size);
            if let Some(sort) = sort {
                let (order, name) = match sort.strip_prefix('-') {
                    Some(name) => (SortOrder::Descending, name),
                    None => (SortOrder::Ascending, sort.as_str()),
                };
                list = list.sort(field(name)?, order);
            }
            let all: Vec<Contact> = list.by_item().try_collect().await?;
            let mut human = format!(
                "{:<36}  {:<24} {:<16} EMAIL",
                "ID", "LAST NAME", "FIRST NAME"
            );
            for c in &all {
                human.push_str(&format!(
                    "\n{:<36}  {:<24} {:<16} {}",
                    c.id.as_deref().unwrap_or("-"),
                    c.last_name.as_deref().unwrap_or(""),
                    c.first_name.as_deref().unwrap_or(""),
                    c.email.as_deref().unwrap_or("")
                ));
            }
            human.push_str(&format!("\n{} contacts", all.len()));
            let items = serde_json::to_value(&all).unwrap_or_default();
            ui.print(&human, &json!({ "contacts": items, "count": all.len() }));
            Ok(())
        }
        ContactsCommand::Get { id } => show(ui, "", &client.contacts().get(id).send().await?),
        ContactsCommand::Create {
            fields,
            location_id,
        } => {
            let pairs = pairs(&fields)?;
            let location = pairs
                .iter()
                .find(|(k, _)| k == "location_id")
                .map(|(_, v)| v.clone())
                .or(location_id)
                .ok_or_else(|| {
                    CliError::usage("a contact needs a location")
                        .hint("pass --location-id, set SHOAL_PAYA_LOCATION_ID or add location_id=…")
                })?;
            let last = pairs
                .iter()
                .find(|(k, _)| k == "last_name")
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    CliError::usage("a contact needs a last name").hint("add last_name=…")
                })?;
            let mut contact = NewContact::new(location, last);
            for (k, v) in pairs
                .iter()
                .filter(|(k, _)| k != "location_id" && k != "last_name")
            {
                contact = contact.set(field(k)?, v)?;
            }
            show(
                ui,
                "Created ",
                &client.contacts().create(contact).send().await?,
            )
        }
        ContactsCommand::Update { id, fields } => {
            let mut update = ContactUpdate::new();
            for (k, v) in pairs(&fields)? {
                update = update.set(field(&k)?, &v)?;
            }
            show(
                ui,
                "Updated ",
                &client.contacts().update(id, update).send().await?,
            )
        }
        ContactsCommand::Delete { id } => {
            client.contacts().delete(id.clone()).send().await?;
            ui.print(
                &format!("Deleted contact {id}"),
                &json!({"deleted": true, "id": id}),
            );
            Ok(())
        }
        ContactsCommand::Import {
            import,
            location_id,
        } => {
            let summary =
                bulk::import_contacts(client, &(&import).into(), &location_id, ui).await?;
            ui.print(&crate::ui::summary_lines(&summary), &summary);
            Ok(())
        }
    }
}

fn show(ui: Ui, verb: &str, contact: &Contact) -> CliResult {
    let value = serde_json::to_value(contact).unwrap_or_default();
    let mut human = format!("{verb}contact {}", contact.id.as_deref().unwrap_or("-"));
    if let Some(map) = value.as_object() {
        for (k, v) in map
            .iter()
            .filter(|(k, _)| k.as_str() != "id" && k.as_str() != "_links")
        {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            human.push_str(&format!("\n  {k:<20} {v}"));
        }
    }
    ui.print(&human, &json!({ "contact": value }));
    Ok(())
}

/// `field=value` arguments, in order.
fn pairs(fields: &[String]) -> CliResult<Vec<(String, String)>> {
    fields
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| {
                    CliError::usage(format!("{f:?} is not field=value"))
                        .hint("e.g. last_name=Smith email=ann@example.test")
                })
        })
        .collect()
}

/// A contact field by its wire name; an unknown one is a usage error listing them all.
pub(crate) fn field(name: &str) -> CliResult<ContactField> {
    name.parse::<ContactField>()
        .map_err(|e| CliError::usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_fields() {
        let p = pairs(&["last_name=Smith".into(), "header_message=a=b".into()]).unwrap();
        assert_eq!(p[1], ("header_message".to_string(), "a=b".to_string()));
        assert_eq!(pairs(&["oops".into()]).unwrap_err().kind.code(), 2);
        assert_eq!(field("created_ts").unwrap(), ContactField::CreatedTs);
        let err = field("nope").unwrap_err();
        assert!(
            err.to_string().contains("last_name"),
            "the known fields are listed: {err}"
        );
    }
}
