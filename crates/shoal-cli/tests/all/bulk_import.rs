//! `shoal pebblepad users import` and `shoal paya contacts import` as real processes against
//! emulators hosted here: pacing (zero 429s), SIGKILL mid-run then `--resume` (every record
//! exactly once, a report of every row), 5% of POSTs answered 500, and bad rows that stop the
//! job before anything is sent.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shoal_testkit::Fault;

use crate::bulk_support::{kill, lines, paya, pebblepad, poll_for, report, runtime, shoal, spawn};
use crate::support::{stderr, stdout};

fn users_csv(path: &Path, n: usize) {
    let mut text = String::from("Username,Forename,Surname,Email,CustomId,Expiry\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "student{i:05},Stu{i},Dent,student{i:05}@uni.test,S{i:07},2027-07-31"
        );
    }
    std::fs::write(path, text).unwrap();
}

fn contacts_csv(path: &Path, n: usize) {
    let mut text = String::from("contact_api_id,last_name,first_name,email,state,zip\n");
    for i in 0..n {
        let _ = writeln!(text, "crm-{i:05},Smith{i},Ann,ann{i}@shop.test,NY,10001");
    }
    std::fs::write(path, text).unwrap();
}

fn args<'a>(vendor: &[&'a str], file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vendor.to_vec();
    a.push(file);
    a.extend_from_slice(extra);
    a
}

#[test]
fn user_import_is_paced_and_a_killed_run_resumes_without_doubles() {
    const ROWS: usize = 2_000;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    // 120 POST per one-second "minute": the whole import takes ~17 s of pacing.
    let (pp, env) = pebblepad(&rt, 120, Duration::from_secs(1), dir.path());
    let input = dir.path().join("users.csv");
    users_csv(&input, ROWS);
    let file = input.display().to_string();
    let journal = dir.path().join("users.csv.journal");
    let report_path = dir.path().join("report.csv");
    let cmd = ["pebblepad", "users", "import"];

    let mut child = spawn(
        &env,
        &args(&cmd, &file, &["--concurrency", "4"]),
        &dir.path().join("first.log"),
    );
    // Kill once about a quarter of the rows have been answered.
    assert!(
        poll_for(60, || lines(&journal) > ROWS / 2
            || child.0.try_wait().unwrap().is_some()),
        "no progress: {}",
        std::fs::read_to_string(dir.path().join("first.log")).unwrap_or_default()
    );
    assert!(
        kill(&mut child),
        "killed mid-run: {}",
        std::fs::read_to_string(dir.path().join("first.log")).unwrap_or_default()
    );
    assert_eq!(pp.traffic().rate_limited(), 0, "zero 429s while paced");
    let sent_before_resume = pp.traffic().requests().len();

    let report_arg = report_path.display().to_string();
    let out = shoal(&env)
        .args(args(
            &cmd,
            &file,
            &[
                "--concurrency",
                "4",
                "--resume",
                "--report",
                &report_arg,
                "--json",
            ],
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(summary["done_before"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");

    // The resumed process cannot know how much of the window the killed one spent a moment
    // ago: its first POST goes alone (a probe) and learns the count from the answer, so a window
    // the dead process filled costs at most that one 429 (not processed, resent), never a burst.
    let rejected: Vec<String> = pp
        .traffic()
        .requests()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == Some(429))
        .map(|(i, r)| format!("#{i} {} {}", r.method, r.path))
        .collect();
    assert!(
        rejected.len() <= 1,
        "429s (the resumed run began at #{sent_before_resume}): {rejected:?}"
    );
    let mut seen: HashMap<String, usize> = HashMap::new();
    for u in pp.users() {
        *seen
            .entry(u["Username"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), ROWS);
    assert!(seen.values().all(|&n| n == 1), "every user exactly once");

    let rows = report(&report_path);
    assert_eq!(rows.len(), ROWS, "the report lists every row");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], (i + 2).to_string());
        assert_eq!(r[1], format!("student{i:05}"));
        assert!(r[2] == "created" || r[2] == "exists", "{r:?}");
        if r[2] == "created" {
            assert!(!r[3].is_empty(), "a created user has its id: {r:?}");
        }
    }
}

#[test]
fn contact_import_with_5_percent_500s_killed_and_resumed_creates_each_contact_once() {
    const ROWS: usize = 1_000;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (py, env) = paya(&rt);
    let input = dir.path().join("contacts.csv");
    contacts_csv(&input, ROWS);
    let file = input.display().to_string();
    let journal = dir.path().join("contacts.csv.journal");
    let report_path = dir.path().join("report.csv");
    let cmd = ["paya", "contacts", "import"];

    // One POST in twenty is answered 500.
    let stop = Arc::new(AtomicBool::new(false));
    let injector = {
        let (faults, traffic, stop) = (py.faults().clone(), py.traffic().clone(), stop.clone());
        std::thread::spawn(move || {
            let mut next = 10;
            while !stop.load(Ordering::SeqCst) {
                if traffic.count("POST", "/v2/contacts") >= next {
                    faults.push(Fault::status(500).on_method("POST").on_path("/v2/contacts"));
                    next += 20;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };

    let log = dir.path().join("first.log");
    let mut child = spawn(&env, &args(&cmd, &file, &["--concurrency", "4"]), &log);
    assert!(
        poll_for(60, || lines(&journal) > ROWS / 2
            || child.0.try_wait().unwrap().is_some()),
        "no progress: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        kill(&mut child),
        "killed mid-run: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let report_arg = report_path.display().to_string();
    let out = shoal(&env)
        .args(args(
            &cmd,
            &file,
            &[
                "--concurrency",
                "4",
                "--resume",
                "--report",
                &report_arg,
                "--json",
            ],
        ))
        .output()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    injector.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["failed"], 0, "{summary}");

    let answered_500 = py
        .traffic()
        .matching("POST", "/v2/contacts")
        .iter()
        .filter(|r| r.status == Some(500))
        .count();
    assert!(answered_500 >= 30, "faults were injected ({answered_500})");

    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in py.contacts() {
        *seen
            .entry(c["contact_api_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), ROWS);
    assert!(seen.values().all(|&n| n == 1), "every contact exactly once");

    let rows = report(&report_path);
    assert_eq!(rows.len(), ROWS);
    assert!(
        rows.iter().all(|r| r[2] == "upserted" && !r[3].is_empty()),
        "{:?}",
        &rows[..3]
    );

    // Resuming a finished import sends nothing more.
    let before = py.traffic().count("POST", "/v2/contacts");
    let out = shoal(&env)
        .args(args(&cmd, &file, &["--resume", "--json"]))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(py.traffic().count("POST", "/v2/contacts"), before);
}

#[test]
fn contact_rows_breaking_each_documented_limit_are_listed_and_nothing_is_sent() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (py, env) = paya(&rt);
    let long = |n: usize| "x".repeat(n);
    let bad: Vec<(&str, String)> = vec![
        ("contact_api_id", String::new()),
        ("last_name", String::new()),
        ("last_name", long(65)),
        ("first_name", long(65)),
        ("company_name", long(65)),
        ("account_number", long(33)),
        ("contact_api_id", long(37)),
        ("email", "a@b".into()),
        ("address", long(256)),
        ("city", long(101)),
        ("state", "NYC".into()),
        ("zip", "12".into()),
        ("home_phone", "555123".into()),
        ("cell_phone", "55512345678".into()),
        ("office_phone", "phone".into()),
        ("office_ext_phone", long(11)),
        ("contact_balance", long(13)),
        ("contact_c1", long(129)),
        ("contact_c2", long(129)),
        ("contact_c3", long(129)),
        ("date_of_birth", "1990/01/02".into()),
        ("email_trx_receipt", "maybe".into()),
        ("header_message", long(251)),
        ("header_message_type", "5".into()),
    ];
    let columns: Vec<&str> = vec![
        "contact_api_id",
        "last_name",
        "first_name",
        "company_name",
        "account_number",
        "email",
        "address",
        "city",
        "state",
        "zip",
        "home_phone",
        "cell_phone",
        "office_phone",
        "office_ext_phone",
        "contact_balance",
        "contact_c1",
        "contact_c2",
        "contact_c3",
        "date_of_birth",
        "email_trx_receipt",
        "header_message",
        "header_message_type",
    ];
    let mut text = columns.join(",") + "\n";
    let row = |field: &str, value: &str, i: usize| {
        columns
            .iter()
            .map(|c| match *c {
                c if c == field => value.to_string(),
                "contact_api_id" => format!("crm-{i}"),
                "last_name" => "Smith".into(),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    text.push_str(&row("first_name", "Valid", 0));
    text.push('\n');
    for (i, (field, value)) in bad.iter().enumerate() {
        text.push_str(&row(field, value, i + 1));
        text.push('\n');
    }
    let input = dir.path().join("bad.csv");
    std::fs::write(&input, text).unwrap();
    let out = shoal(&env)
        .args(["paya", "contacts", "import"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for (i, (field, _)) in bad.iter().enumerate() {
        let line = err
            .lines()
            .find(|l| {
                l.starts_with(&format!("row {}:", i + 3))
                    || l.starts_with(&format!("row {} (", i + 3))
            })
            .unwrap_or_else(|| panic!("row {} ({field}) is not listed: {err}", i + 3));
        assert!(line.contains(field), "{line}");
    }
    assert!(
        err.contains(&format!("{} of {} rows", bad.len(), bad.len() + 1)),
        "{err}"
    );
    assert!(err.contains("--skip-invalid"), "{err}");
    assert_eq!(
        py.traffic().count("POST", "/v2/contacts"),
        0,
        "nothing sent"
    );
    assert!(!dir.path().join("bad.csv.journal").exists());

    // With --skip-invalid the valid row goes, and the report says why the rest did not.
    let report_path = dir.path().join("report.csv");
    let out = shoal(&env)
        .args(["paya", "contacts", "import", "--skip-invalid", "--report"])
        .arg(&report_path)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(py.contacts().len(), 1);
    let rows = report(&report_path);
    assert_eq!(rows.len(), bad.len() + 1);
    assert_eq!(rows.iter().filter(|r| r[2] == "invalid").count(), bad.len());
}

#[test]
fn user_rows_with_each_problem_are_listed_and_nothing_is_sent() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (pp, env) = pebblepad(&rt, 120, Duration::from_secs(60), dir.path());
    let input = dir.path().join("users.csv");
    std::fs::write(
        &input,
        "Username,Forename,Surname,Email,CustomId,Expiry,Notes,Password\n\
         ann,Ann,Lee,ann@uni.test,S1,2026-09-30,,pw\n\
         ,Bob,Ray,bob@uni.test,S2,,,\n\
         cy,,Ng,cy@uni.test,S3,,,\n\
         dee,Dee,,dee@uni.test,S4,,,\n\
         eve,Eve,Oh,,S5,,,\n\
         fay,Fay,Ma,fay-at-uni,S6,,,\n\
         gus,Gus,Li,gus@uni.test,S7,31/12/2026,,\n\
         Ann,Ann,Twice,ann2@uni.test,S8,,,\n",
    )
    .unwrap();
    let out = shoal(&env)
        .args(["pebblepad", "users", "import"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for (line, why) in [
        (3, "Username is required"),
        (4, "Forename is required"),
        (5, "Surname is required"),
        (6, "Email is required"),
        (7, "not an e-mail address"),
        (8, "Expiry"),
        (9, "repeats row 2"),
    ] {
        let l = err
            .lines()
            .find(|l| {
                l.starts_with(&format!("row {line}:")) || l.starts_with(&format!("row {line} ("))
            })
            .unwrap_or_else(|| panic!("row {line} is not listed: {err}"));
        assert!(l.contains(why), "{l}");
    }
    assert!(!err.contains("pw"), "no password printed");
    let creates = pp
        .traffic()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains("/User/"))
        .count();
    assert_eq!(creates, 0, "nothing sent");
    assert!(pp.users().is_empty(), "nothing sent");
}
