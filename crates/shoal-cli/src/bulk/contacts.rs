//! `shoal paya contacts import FILE.csv --location-id ID`: Paya Connect contacts from a CSV whose
//! columns are the documented contact fields — `contact_api_id` and `last_name` required on every
//! row; `first_name`, `company_name`, `account_number`, `email`, `address`, `city`, `state`,
//! `zip`, `home_phone`, `cell_phone`, `office_phone`, `office_ext_phone`, `contact_balance`,
//! `contact_c1`..`contact_c3`, `date_of_birth` (`yyyy-mm-dd`), `email_trx_receipt` (`1`/`0`,
//! `true`/`false`), `header_message`, `header_message_type` (0–4) optional.
//!
//! Every row is checked against the field limits (shoal-paya's `validate()`; some are assumed,
//! and `--no-input-checks` leaves them to Paya), and `contact_api_id` must be present and unique
//! within the file; the job does not start while a row is invalid unless `--skip-invalid`.
//!
//! # Why a resend is safe
//! A contact create is not idempotent: after a 500 or a timeout the contact may or may not exist,
//! and sending the same POST again could create a second one. So every row is sent as an
//! **upsert** (`update_if_exists=1`), which Paya matches on `contact_api_id`: if the earlier
//! attempt went through, the resend updates that contact with the same fields instead of adding
//! another. That is why `contact_api_id` is required on every row, and why the job resends a row
//! whose answer was ambiguous (5xx, timeout, broken connection) — a few times within a run, and
//! again on `--resume` for a row the journal shows started but not done.

use futures_util::future::BoxFuture;
use shoal::core::Error;
use shoal::paya::{Access, ContactField, NewContact, PayaClient};

use super::import::{self, FirstSeen, Plan, RowSender, Sent, TableRow};
use super::journal::Entry;
use crate::args::ImportArgs;
use crate::exit::{CliError, CliResult};
use crate::ui::Ui;

/// The columns: `contact_api_id` and `last_name` first and required, then every other writable
/// contact field in the declared order (shoal-paya's one field declaration).
pub fn columns() -> Vec<(&'static str, bool)> {
    let mut columns = vec![("contact_api_id", true), ("last_name", true)];
    columns.extend(
        ContactField::ALL
            .iter()
            .filter(|f| f.access() == Access::Writable)
            .map(|f| (f.as_str(), false))
            .filter(|(name, _)| !matches!(*name, "contact_api_id" | "last_name")),
    );
    columns
}

fn cell(row: &TableRow, columns: &[(&str, bool)], name: &str) -> Option<String> {
    let i = columns.iter().position(|(n, _)| *n == name)?;
    row.get(i).map(str::to_string)
}

/// Checks `--location-id` once, before any row (unless `checks` are off).
pub fn check_location(location_id: &str, checks: bool) -> CliResult<()> {
    if !checks {
        return Ok(());
    }
    NewContact::new(location_id, "x")
        .validate()
        .map_err(|e| CliError::from(e).hint("--location-id takes a location id (24 to 36 characters); `shoal paya locations` lists them"))
}

/// Validates every row: the contacts to upsert and the rows refused, with every reason. With
/// `checks` off the field limits are not checked (the values must still parse, and
/// `contact_api_id` and `last_name` be there).
pub fn plan(rows: Vec<TableRow>, location_id: &str, checks: bool) -> Plan<NewContact> {
    let job = Entry::Job {
        kind: "paya-contacts".into(),
        location_id: Some(location_id.to_string()),
    };
    let mut plan = Plan::new(job, "contact_api_id");
    let mut seen = FirstSeen::default();
    let columns = columns();
    for row in rows {
        let mut reasons: Vec<String> = row.error.iter().cloned().collect();
        let api_id = cell(&row, &columns, "contact_api_id").unwrap_or_default();
        if api_id.is_empty() {
            reasons.push("contact_api_id is required (it makes a resend safe)".into());
        } else {
            reasons.extend(seen.repeat("contact_api_id", api_id.clone(), &api_id, row.line));
        }
        let last_name = cell(&row, &columns, "last_name");
        if last_name.is_none() {
            reasons.push("last_name is required".into());
        }
        let mut contact = NewContact::new(location_id, last_name.as_deref().unwrap_or("-"));
        if !api_id.is_empty() {
            contact = contact.contact_api_id(api_id.clone());
        }
        // The same setting by name as `shoal paya contacts create field=value`.
        for (name, _) in &columns {
            let name = *name;
            if matches!(name, "contact_api_id" | "last_name") {
                continue;
            }
            let Some(value) = cell(&row, &columns, name) else {
                continue;
            };
            match name.parse::<ContactField>() {
                Ok(field) => match contact.clone().set(field, &value) {
                    Ok(c) => contact = c,
                    Err(e) => reasons.push(e.to_string()),
                },
                Err(e) => reasons.push(e.to_string()),
            }
        }
        if let Some(Err(e)) = checks.then(|| contact.validate()) {
            reasons.push(e.to_string());
        }
        plan.add(row.line, api_id, &reasons, || contact);
    }
    plan
}

struct Sender<'c> {
    client: &'c PayaClient,
}

fn describe(e: &Error) -> String {
    match e.validation_errors() {
        Some(fields) if !fields.is_empty() => fields
            .iter()
            .map(|(f, m)| format!("{f}: {}", m.join(" ")))
            .collect::<Vec<_>>()
            .join("; "),
        _ => e.to_string(),
    }
}

impl RowSender<NewContact> for Sender<'_> {
    fn send<'a>(&'a self, contact: &'a NewContact, _resend: bool) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            // An upsert is idempotent: the client's retry policy already resent it after a 5xx
            // or a timeout, and a later `--resume` may send it again for the same reason.
            let sent = self
                .client
                .contacts()
                .create(contact.clone())
                .update_if_exists()
                .send()
                .await;
            match sent {
                Ok(c) => Sent::Done("upserted", c.id),
                Err(e) if e.is_auth() => Sent::Fatal(CliError::from(e)),
                Err(e) => Sent::Failed(describe(&e)),
            }
        })
    }

    fn stats(&self) -> shoal::core::PipelineStats {
        self.client.pipeline().stats()
    }
}

/// Runs the import; the `--json` summary.
pub async fn run(
    client: &PayaClient,
    args: &ImportArgs,
    location_id: &str,
    ui: Ui,
) -> CliResult<serde_json::Value> {
    let checks = client.input_checks();
    check_location(location_id, checks)?;
    let rows = import::read_table(&args.file, &columns())?;
    let plan = plan(rows, location_id, checks);
    import::run(args, ui, plan, &Sender { client }).await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    const LOC: &str = "11e95f8ec39de8fbdb0a4f1b";

    fn table(text: &str) -> Vec<TableRow> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.csv");
        std::fs::write(&p, text).unwrap();
        import::read_table(&p, &columns()).unwrap()
    }

    include!("../../tests/data/contact_limits.rs");

    #[test]
    fn each_documented_limit_is_caught() {
        let names: Vec<&str> = columns().iter().map(|(n, _)| *n).collect();
        let bad = contact_limit_breakers();
        let mut rows = vec![("email", "ok@example.test".to_string())];
        rows.extend(bad.iter().cloned());
        let text = contacts_csv_setting(&names, &rows);
        let plan = plan(table(&text), LOC, true);
        assert_eq!(plan.rows.len(), 1, "{:?}", plan.invalid);
        assert_eq!(plan.invalid.len(), bad.len());
        for (i, (field, _)) in bad.iter().enumerate() {
            let inv = &plan.invalid[i];
            assert_eq!(inv.line, i as u64 + 3);
            assert!(
                inv.reason.contains(field),
                "row for {field}: {}",
                inv.reason
            );
        }
    }

    /// Issue 17: the whole import dropped at every pending point against the Paya emulator
    /// (a row's journal entry being synced, its upsert on the way or answered but not yet
    /// journaled, the ticker): every contact the server holds for the job has its row in the
    /// journal (started or done), so `--resume` sends it again as an upsert — and after it the
    /// server holds exactly one contact per row, and the journal says each is done.
    #[tokio::test]
    async fn an_import_dropped_anywhere_loses_no_contact_the_server_created() {
        use shoal::core::{ConfigureClient as _, ManualClock};
        use shoal::paya::{ApiKey, Environment, KeyPlacement};
        use shoal_core::test_util::drop_at_every_pending_point;
        use shoal_testkit::paya::{Paya, PayaConfig};

        use crate::bulk::journal::{Replay, RowState};

        const ROWS: u64 = 4;
        let clock = ManualClock::new();
        let paya = Paya::start(PayaConfig {
            clock: clock.shared(),
            ..Default::default()
        })
        .await
        .unwrap();
        let ep = paya.endpoints().clone();
        let client = &PayaClient::builder(Environment::custom(&ep.base_url).unwrap())
            .developer_id(ep.developer_id.clone())
            .api_key(
                ep.user_id.clone(),
                ApiKey::new(ep.user_api_key.clone()),
                KeyPlacement::Headers,
            )
            .clock(clock.shared())
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let args = |resume: bool| ImportArgs {
            file: dir.path().join("contacts.csv"),
            resume,
            skip_invalid: false,
            concurrency: 2,
            report: None,
        };
        let (fresh, resumed) = (&args(false), &args(true));
        let journal = &import::journal_path(&fresh.file);
        let ui = Ui {
            json: true,
            progress: false,
            timeout: 120,
        };
        let (paya, location, round_no) = (&paya, ep.location_id.as_str(), &Mutex::new(0u32));
        // Contact api ids of this round's rows, by row line.
        let keys = |round: u32| (0..ROWS).map(move |i| (i + 2, format!("r{round}-c{i}")));
        let on_server = |round: u32| {
            let prefix = format!("r{round}-");
            paya.contacts()
                .into_iter()
                .filter_map(|c| c["contact_api_id"].as_str().map(str::to_string))
                .filter(|id| id.starts_with(&prefix))
                .collect::<Vec<_>>()
        };

        let points = drop_at_every_pending_point(
            || {
                let round = {
                    let mut n = round_no.lock().unwrap();
                    *n += 1;
                    *n
                };
                let mut csv = String::from("contact_api_id,last_name\n");
                for (_, key) in keys(round) {
                    csv.push_str(&format!("{key},Smith\n"));
                }
                std::fs::write(&fresh.file, csv).unwrap();
                let _ = std::fs::remove_file(journal);
                run(client, fresh, location, ui)
            },
            |outcome| async move {
                let what = outcome.to_string();
                let round = *round_no.lock().unwrap();
                if let Some(summary) = outcome.into_output() {
                    assert_eq!(summary.unwrap()["upserted"], ROWS, "{what}");
                }
                // The dropped import closed its journal (its writer thread is joined on drop).
                let replay = Replay::parse(&std::fs::read(journal).unwrap());
                assert!(!replay.torn, "{what}");
                for id in on_server(round) {
                    let (line, key) = keys(round).find(|(_, k)| *k == id).unwrap();
                    assert!(
                        replay.state(line, &key).is_some(),
                        "{what}: the server created {key} but the journal does not know its row"
                    );
                }
                run(client, resumed, location, ui).await.unwrap();
                let mut created = on_server(round);
                created.sort();
                let expected: Vec<_> = keys(round).map(|(_, k)| k).collect();
                assert_eq!(
                    created, expected,
                    "{what}: one contact per row, after --resume"
                );
                let replay = Replay::parse(&std::fs::read(journal).unwrap());
                for (line, key) in keys(round) {
                    assert!(
                        matches!(replay.state(line, &key), Some(RowState::Done { .. })),
                        "{what}: {key} done"
                    );
                }
            },
        )
        .await;
        assert!(points >= ROWS as usize, "at least a wait per row: {points}");
    }

    #[test]
    fn with_checks_off_the_limits_are_left_to_paya() {
        let text = "contact_api_id,last_name,state,cell_phone,email,email_trx_receipt\n\
                    crm-1,Smith,N1,(555)12345,ann.example,\n\
                    crm-2,Jones,,,,maybe\n\
                    ,Brown,,,,\n";
        let checked = plan(table(text), LOC, true);
        assert_eq!(checked.rows.len(), 0);
        let reasons: Vec<_> = checked.invalid.iter().map(|i| i.reason.as_str()).collect();
        assert!(
            ["state", "cell_phone", "email"]
                .iter()
                .any(|f| reasons[0].starts_with(&format!("invalid {f}:"))),
            "checks on: {reasons:?}"
        );
        let unchecked = plan(table(text), LOC, false);
        assert_eq!(unchecked.rows.len(), 1, "{:?}", unchecked.invalid);
        let sent = &unchecked.rows[0].item;
        assert_eq!(sent.get(ContactField::State), Some("N1"));
        assert_eq!(sent.get(ContactField::CellPhone), Some("(555)12345"));
        assert_eq!(sent.get(ContactField::Email), Some("ann.example"));
        // What does not parse, and what makes a resend safe, is still refused.
        let reasons: Vec<_> = unchecked
            .invalid
            .iter()
            .map(|i| i.reason.as_str())
            .collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("email_trx_receipt"), "{reasons:?}");
        assert!(
            reasons[1].contains("contact_api_id is required"),
            "{reasons:?}"
        );
    }

    #[test]
    fn contact_api_id_is_required_and_unique() {
        let plan = plan(
            table("contact_api_id,last_name\ncrm-1,Smith\n,Jones\ncrm-1,Again\ncrm-2,\n"),
            LOC,
            true,
        );
        assert_eq!(plan.rows.len(), 1);
        let reasons: Vec<_> = plan.invalid.iter().map(|i| i.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "contact_api_id is required (it makes a resend safe)",
                "contact_api_id \"crm-1\" repeats row 2",
                "last_name is required",
            ]
        );
        assert!(check_location("short", true).is_err());
        assert!(check_location(LOC, true).is_ok());
        assert!(check_location("short", false).is_ok(), "checks off");
    }
}
