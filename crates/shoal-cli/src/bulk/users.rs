//! `shoal pebblepad users import FILE.csv`: PebblePad users from a CSV with the columns
//! `Username, Forename, Surname, Email[, CustomId, Expiry, Notes, Password]` (any order, names
//! case-insensitive).
//!
//! Every row is checked first — the four required fields present, `Email` shaped like an
//! address, `Expiry` an ISO date (`2026-09-30`, midnight UTC) or RFC 3339 date-time, `Username`
//! and `CustomId` unique within the file — and the job does not start while a row is invalid
//! unless `--skip-invalid`. Rows go out concurrently through the client's limiter, which paces
//! every call within the installation's per-method window and concurrency limit.
//!
//! # Why a resend is safe
//! PebblePad does not process a call that ends in an error response, and creating a username
//! that exists answers 400 "Username already exists". A row whose answer was lost (a crash, a
//! timeout) is therefore simply sent again: either it is created now, or the earlier attempt
//! went through and the answer says the username exists — which counts as done (outcome
//! `exists`, id unknown: no read-by-username action is documented).

use std::time::Duration;

use futures_util::future::BoxFuture;
use shoal::auth::Password;
use shoal::core::{Clock as _, Error, SystemClock};
use shoal::pebblepad::{BasicUserInfo, PebblePadClient, PebblePadErrorExt as _};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use super::import::{self, FirstSeen, Plan, RowSender, Sent, TableRow, email_problem};
use super::journal::Entry;
use crate::args::ImportArgs;
use crate::exit::{CliError, CliResult};
use crate::ui::Ui;

/// The columns, in the documented order, and whether each is required.
pub const COLUMNS: &[(&str, bool)] = &[
    ("Username", true),
    ("Forename", true),
    ("Surname", true),
    ("Email", true),
    ("CustomId", false),
    ("Expiry", false),
    ("Notes", false),
    ("Password", false),
];
const USERNAME: usize = 0;
const FORENAME: usize = 1;
const SURNAME: usize = 2;
const EMAIL: usize = 3;
const CUSTOM_ID: usize = 4;
const EXPIRY: usize = 5;
const NOTES: usize = 6;
const PASSWORD: usize = 7;

/// Attempts per row for failures that may pass (5xx, timeouts, refused connections).
const ATTEMPTS: u32 = 4;

/// `Expiry`: an ISO date (midnight UTC) or an RFC 3339 date-time.
pub fn parse_expiry(value: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(t);
    }
    let date = Date::parse(value, format_description!("[year]-[month]-[day]")).ok()?;
    Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc())
}

/// Validates every row: the users to create and the rows refused, with every reason.
pub fn plan(rows: Vec<TableRow>) -> Plan<BasicUserInfo> {
    let job = Entry::Job {
        kind: "pebblepad-users".into(),
        location_id: None,
    };
    let mut plan = Plan::new(job, "username");
    let mut usernames = FirstSeen::default();
    let mut custom_ids = FirstSeen::default();
    for row in rows {
        let mut reasons: Vec<String> = row.error.iter().cloned().collect();
        for (i, name) in [
            (USERNAME, "Username"),
            (FORENAME, "Forename"),
            (SURNAME, "Surname"),
            (EMAIL, "Email"),
        ] {
            if row.get(i).is_none() {
                reasons.push(format!("{name} is required"));
            }
        }
        let username = row.get(USERNAME).unwrap_or_default().to_string();
        if !username.is_empty() {
            // Usernames are unique regardless of case.
            let key = username.to_lowercase();
            reasons.extend(usernames.repeat("Username", key, &username, row.line));
        }
        if let Some(c) = row.get(CUSTOM_ID) {
            reasons.extend(custom_ids.repeat("CustomId", c.to_string(), c, row.line));
        }
        if let Some(problem) = row.get(EMAIL).and_then(email_problem) {
            reasons.push(format!("Email {problem}"));
        }
        let expiry = row.get(EXPIRY).map(|e| {
            parse_expiry(e).ok_or_else(|| {
                format!("Expiry {e:?} is not an ISO date (2026-09-30) or date-time (2026-09-30T08:00:00Z)")
            })
        });
        if let Some(Err(e)) = &expiry {
            reasons.push(e.clone());
        }
        plan.add(row.line, username.clone(), &reasons, || {
            let mut user = BasicUserInfo::new(username)
                .name(
                    row.get(FORENAME).unwrap_or_default(),
                    row.get(SURNAME).unwrap_or_default(),
                )
                .email(row.get(EMAIL).unwrap_or_default());
            if let Some(c) = row.get(CUSTOM_ID) {
                user = user.custom_id(c);
            }
            if let Some(Ok(t)) = expiry {
                user = user.expiry(t);
            }
            if let Some(n) = row.raw(NOTES) {
                user = user.notes(n);
            }
            if let Some(p) = row.raw(PASSWORD) {
                user = user.password(Password::from(p.to_string()));
            }
            user
        });
    }
    plan
}

struct Sender<'c> {
    client: &'c PebblePadClient,
}

fn may_pass(e: &Error) -> bool {
    e.is_retryable() || matches!(e, Error::MaybeProcessed { .. })
}

impl RowSender<BasicUserInfo> for Sender<'_> {
    fn send<'a>(&'a self, user: &'a BasicUserInfo, _resend: bool) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self.client.users().create(user).send().await {
                    Ok(created) => return Sent::Done("created", created.id),
                    // A CustomId clash also says "exists" but is not this user.
                    Err(e)
                        if e.is_username_exists()
                            && !e.to_string().to_ascii_lowercase().contains("customid") =>
                    {
                        return Sent::Done("exists", None);
                    }
                    Err(e) if e.is_auth() => return Sent::Fatal(CliError::from(e)),
                    Err(e) if may_pass(&e) && attempt < ATTEMPTS => {
                        SystemClock
                            .sleep(Duration::from_millis(250 << attempt))
                            .await;
                    }
                    Err(e) => return Sent::Failed(e.to_string()),
                }
            }
        })
    }

    fn stats(&self) -> shoal::core::PipelineStats {
        self.client.pipeline().stats()
    }
}

/// Runs the import; the `--json` summary.
pub async fn run(
    client: &PebblePadClient,
    args: &ImportArgs,
    ui: Ui,
) -> CliResult<serde_json::Value> {
    let rows = import::read_table(&args.file, COLUMNS)?;
    let plan = plan(rows);
    import::run(args, ui, plan, &Sender { client }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Vec<TableRow> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u.csv");
        std::fs::write(&p, text).unwrap();
        import::read_table(&p, COLUMNS).unwrap()
    }

    #[test]
    fn every_bad_row_is_listed_with_its_line_and_reasons() {
        let rows = table(
            "Username,Forename,Surname,Email,CustomId,Expiry,Notes,Password\n\
             ann,Ann,Lee,ann@uni.test,S1,2026-09-30,, secret \n\
             bob,Bob,,bob@uni.test,S2,,,\n\
             cy,Cy,Ng,not-an-email,S3,,,\n\
             dee,Dee,Ho,dee@uni.test,S4,30/09/2026,,\n\
             ANN,Ann,Again,ann2@uni.test,S5,,,\n\
             eve,Eve,Oh,eve@uni.test,S1,,,\n\
             fay,Fay,Ma,fay@uni.test\n\
             ,Gus,Li,gus@uni.test,S7,2026-09-30T08:00:00Z,note,\n",
        );
        let plan = plan(rows);
        assert_eq!(plan.rows.len(), 1);
        assert_eq!(plan.rows[0].line, 2);
        let user = &plan.rows[0].item;
        assert_eq!(user.username.as_deref(), Some("ann"));
        assert_eq!(
            user.expiry.unwrap().to_string(),
            "2026-09-30 0:00:00.0 +00:00:00"
        );
        assert!(user.password.is_some());
        let reasons: Vec<(u64, &str)> = plan
            .invalid
            .iter()
            .map(|i| (i.line, i.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (3, "Surname is required"),
                (4, "Email \"not-an-email\" is not an e-mail address"),
                (
                    5,
                    "Expiry \"30/09/2026\" is not an ISO date (2026-09-30) or date-time (2026-09-30T08:00:00Z)"
                ),
                (6, "Username \"ANN\" repeats row 2"),
                (7, "CustomId \"S1\" repeats row 2"),
                (8, "has 4 fields, the header has 8"),
                (9, "Username is required"),
            ]
        );
    }

    #[test]
    fn the_header_must_name_the_documented_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u.csv");
        std::fs::write(&p, "username,forename,surname\nann,Ann,Lee\n").unwrap();
        let err = import::read_table(&p, COLUMNS).unwrap_err();
        assert!(err.to_string().contains("Email is missing"), "{err}");
        std::fs::write(&p, "Username,Forename,Surname,Email,Emial\n").unwrap();
        let err = import::read_table(&p, COLUMNS).unwrap_err();
        assert!(
            err.to_string().contains("unknown column \"Emial\""),
            "{err}"
        );
        // Column order is free, a BOM and blank lines are fine.
        std::fs::write(
            &p,
            "\u{feff}Email, Surname ,Forename,Username\n\nann@x.test,Lee,Ann,ann\n",
        )
        .unwrap();
        let rows = import::read_table(&p, COLUMNS).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 3);
        assert_eq!(rows[0].get(USERNAME), Some("ann"));
        assert_eq!(rows[0].get(EMAIL), Some("ann@x.test"));
    }

    #[test]
    fn expiry_accepts_dates_and_date_times() {
        assert!(parse_expiry("2026-09-30").is_some());
        assert!(parse_expiry("2014-09-28T08:00:00Z").is_some());
        assert!(parse_expiry("2014-09-28T08:00:00+02:00").is_some());
        assert!(parse_expiry("2026-02-30").is_none());
        assert!(parse_expiry("tomorrow").is_none());
    }

    #[test]
    fn email_shapes() {
        assert_eq!(email_problem("a@b.co"), None);
        for bad in [
            "a", "@b.co", "a@b", "a@@b.co", "a b@c.co", "a@.co", "a@b..co",
        ] {
            assert!(email_problem(bad).is_some(), "{bad}");
        }
    }
}
