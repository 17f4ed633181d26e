//! `shoal pebblepad users import` and `shoal paya contacts import` as real processes against
//! emulators hosted here: pacing (zero 429s), SIGKILL mid-run then `--resume` (every record
//! exactly once, a report of every row), 5% of POSTs answered 500, and bad rows that stop the
//! job before anything is sent.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shoal_testkit::Fault;

use crate::bulk_support::{
    kill, lines, paya, pebblepad, poll_for, report, runtime_and_dir, shoal, spawn,
};
use crate::support::{stderr, success_json};

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

/// Runs `cmd INPUT --concurrency 4` (stderr to `log`) and SIGKILLs it once its journal holds
/// more than half of the `rows`.
fn kill_mid_run(env: &[(String, String)], cmd: &[&str], input: &Path, rows: usize, log: &Path) {
    let file = input.display().to_string();
    let journal = PathBuf::from(format!("{file}.journal"));
    let mut child = spawn(env, args(cmd, &file, &["--concurrency", "4"]), log);
    let log = || std::fs::read_to_string(log).unwrap_or_default();
    assert!(
        poll_for(60, || lines(&journal) > rows / 2
            || child.0.try_wait().unwrap().is_some()),
        "no progress: {}",
        log()
    );
    assert!(kill(&mut child), "killed mid-run: {}", log());
}

/// `cmd INPUT --concurrency 4 --resume --report REPORT --json`, run to its end.
fn resume(env: &[(String, String)], cmd: &[&str], input: &Path, report: &Path) -> Output {
    let (file, report) = (input.display().to_string(), report.display().to_string());
    shoal(env)
        .args(args(
            cmd,
            &file,
            &[
                "--concurrency",
                "4",
                "--resume",
                "--report",
                &report,
                "--json",
            ],
        ))
        .output()
        .unwrap()
}

/// Asserts that `records` hold each of `rows` distinct `key` values exactly once.
fn assert_each_once(records: Vec<serde_json::Value>, key: &str, rows: usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in records {
        *seen
            .entry(r[key].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), rows);
    assert!(seen.values().all(|&n| n == 1), "every {key} exactly once");
}

/// Runs `cmd INPUT`, which must refuse to start (exit 2) and list each `(row, why)` on a line
/// of its own that says `why`; its stderr.
fn assert_refused(
    env: &[(String, String)],
    cmd: &[&str],
    input: &Path,
    listed: &[(usize, &str)],
) -> String {
    let out = shoal(env).args(cmd).arg(input).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for &(row, why) in listed {
        let line = err
            .lines()
            .find(|l| {
                l.starts_with(&format!("row {row}:")) || l.starts_with(&format!("row {row} ("))
            })
            .unwrap_or_else(|| panic!("row {row} ({why}) is not listed: {err}"));
        assert!(line.contains(why), "{line}");
    }
    err
}

include!("../data/contact_limits.rs");

#[test]
fn user_import_is_paced_and_a_killed_run_resumes_without_doubles() {
    const ROWS: usize = 2_000;
    let (rt, dir) = runtime_and_dir();
    // 120 POST per one-second "minute": the whole import takes ~17 s of pacing.
    let (pp, env) = pebblepad(&rt, 120, Duration::from_secs(1), dir.path());
    let input = dir.path().join("users.csv");
    users_csv(&input, ROWS);
    let report_path = dir.path().join("report.csv");
    let cmd = ["pebblepad", "users", "import"];

    // Killed once about a quarter of the rows have been answered.
    kill_mid_run(&env, &cmd, &input, ROWS, &dir.path().join("first.log"));
    assert_eq!(pp.traffic().rate_limited(), 0, "zero 429s while paced");
    let sent_before_resume = pp.traffic().requests().len();

    let out = resume(&env, &cmd, &input, &report_path);
    let summary = success_json(&out);
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
    assert_each_once(pp.users(), "Username", ROWS);

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
    let (rt, dir) = runtime_and_dir();
    let (py, env) = paya(&rt);
    let input = dir.path().join("contacts.csv");
    contacts_csv(&input, ROWS);
    let file = input.display().to_string();
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

    kill_mid_run(&env, &cmd, &input, ROWS, &dir.path().join("first.log"));
    let out = resume(&env, &cmd, &input, &report_path);
    stop.store(true, Ordering::SeqCst);
    injector.join().unwrap();
    let summary = success_json(&out);
    assert_eq!(summary["failed"], 0, "{summary}");

    let answered_500 = py
        .traffic()
        .matching("POST", "/v2/contacts")
        .iter()
        .filter(|r| r.status == Some(500))
        .count();
    assert!(answered_500 >= 30, "faults were injected ({answered_500})");

    assert_each_once(py.contacts(), "contact_api_id", ROWS);

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
    let (rt, dir) = runtime_and_dir();
    let (py, env) = paya(&rt);
    let mut bad: Vec<(&str, String)> = vec![
        ("contact_api_id", String::new()),
        ("last_name", String::new()),
    ];
    bad.extend(contact_limit_breakers());
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
    let mut rows = vec![("first_name", "Valid".to_string())];
    rows.extend(bad.iter().cloned());
    let text = contacts_csv_setting(&columns, &rows);
    let input = dir.path().join("bad.csv");
    std::fs::write(&input, text).unwrap();
    let listed: Vec<(usize, &str)> = bad
        .iter()
        .enumerate()
        .map(|(i, (field, _))| (i + 3, *field))
        .collect();
    let err = assert_refused(&env, &["paya", "contacts", "import"], &input, &listed);
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
    let (rt, dir) = runtime_and_dir();
    let (pp, env) = pebblepad(&rt, 120, Duration::from_secs(60), dir.path());
    let input = dir.path().join("users.csv");
    std::fs::write(
        &input,
        "Username,Forename,Surname,Email,CustomId,Expiry,Notes,Password\n\
         ann,Ann,Lee,ann@uni.test,S1,2026-09-30,,Sekr3t-Pass-9931\n\
         ,Bob,Ray,bob@uni.test,S2,,,\n\
         cy,,Ng,cy@uni.test,S3,,,\n\
         dee,Dee,,dee@uni.test,S4,,,\n\
         eve,Eve,Oh,,S5,,,\n\
         fay,Fay,Ma,fay-at-uni,S6,,,\n\
         gus,Gus,Li,gus@uni.test,S7,31/12/2026,,\n\
         Ann,Ann,Twice,ann2@uni.test,S8,,,\n",
    )
    .unwrap();
    let err = assert_refused(
        &env,
        &["pebblepad", "users", "import"],
        &input,
        &[
            (3, "Username is required"),
            (4, "Forename is required"),
            (5, "Surname is required"),
            (6, "Email is required"),
            (7, "not an e-mail address"),
            (8, "Expiry"),
            (9, "repeats row 2"),
        ],
    );
    // A password no temp directory's random name can contain by chance (`pw` once did).
    assert!(!err.contains("Sekr3t-Pass-9931"), "no password printed");
    let creates = pp
        .traffic()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains("/User/"))
        .count();
    assert_eq!(creates, 0, "nothing sent");
    assert!(pp.users().is_empty(), "nothing sent");
}
