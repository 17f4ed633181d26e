//! `shoal pearldiver export` as a real process: a 50,000-record audience exported whole, and
//! exported again with SIGKILLs after the first page, mid-run and near the end, each followed by
//! `--resume`: the two files are byte-identical (NDJSON and CSV).

use std::path::Path;

use crate::bulk_support::{
    AUDIENCE, export_args, kill, pearldiver, poll_for, runtime_and_dir, shoal, spawn,
};
use crate::support::{stderr, success_json};

const RECORDS: u64 = 50_000;
/// The emulator serves 1000 records a page.
const PAGES: u64 = 50;

fn pages_done(checkpoint: &Path) -> u64 {
    std::fs::read(checkpoint)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["pages"].as_u64())
        .unwrap_or(0)
}

fn killed_and_resumed_matches_uninterrupted(format: &str) {
    let (rt, dir) = runtime_and_dir();
    let (_pd, env) = pearldiver(&rt, RECORDS, dir.path());
    let export = |out: &Path, resume: bool| {
        // Checkpointed after every page, so that the test sees the export's progress.
        let mut extra = vec!["--days", "90", "--format", format, "--commit-every", "0"];
        if resume {
            extra.push("--resume");
        }
        export_args(out, &extra)
    };

    // Run to its end: the `--json` summary, and the output.
    let finished = |out: &Path, resume: bool| {
        let run = shoal(&env)
            .args(export(out, resume))
            .arg("--json")
            .output()
            .unwrap();
        (success_json(&run), run)
    };

    let clean = dir.path().join(format!("clean.{format}"));
    let (summary, out) = finished(&clean, false);
    assert_eq!(summary["records"], RECORDS, "{summary}");
    assert_eq!(summary["pages"], PAGES, "{summary}");
    assert!(
        stderr(&out).is_empty(),
        "no progress when not a terminal: {}",
        stderr(&out)
    );

    let file = dir.path().join(format!("killed.{format}"));
    let checkpoint = dir.path().join(format!("killed.{format}.checkpoint"));
    let log = dir.path().join("export.log");
    let mut kills = 0;
    for (i, at_pages) in [1, PAGES / 2, PAGES - 3].into_iter().enumerate() {
        let mut child = spawn(&env, export(&file, i > 0), &log);
        assert!(
            poll_for(60, || pages_done(&checkpoint) >= at_pages
                || child.0.try_wait().unwrap().is_some()),
            "no progress to page {at_pages}"
        );
        if kill(&mut child) {
            kills += 1;
            assert!(checkpoint.exists(), "a killed export keeps its checkpoint");
        }
    }
    assert!(
        kills >= 2,
        "the export was killed mid-run at least twice ({kills})"
    );

    let (summary, _) = finished(&file, true);
    assert_eq!(summary["resumed"], true, "{summary}");
    assert_eq!(summary["records"], RECORDS, "{summary}");
    assert!(
        !checkpoint.exists(),
        "a finished export removes its checkpoint"
    );

    let (a, b) = (
        std::fs::read(&clean).unwrap(),
        std::fs::read(&file).unwrap(),
    );
    assert!(
        a == b,
        "resumed export differs from the uninterrupted one ({} vs {} bytes)",
        b.len(),
        a.len()
    );
    let text = String::from_utf8(b).unwrap();
    let expected_lines = if format == "csv" {
        RECORDS + 1
    } else {
        RECORDS
    };
    assert_eq!(text.lines().count() as u64, expected_lines);
    // Every record once, in order.
    let ids: Vec<&str> = text
        .lines()
        .skip(usize::from(format == "csv"))
        .map(|l| {
            let start = l.find("pd-").unwrap();
            &l[start..start + 3 + 2 + 1 + 9]
        })
        .collect();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(*id, format!("pd-{AUDIENCE}-{i:09}"));
    }

    // Done means done: exporting again over it needs a decision.
    let out = shoal(&env).args(export(&file, false)).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
}

#[test]
fn ndjson_export_killed_three_times_resumes_byte_identical() {
    killed_and_resumed_matches_uninterrupted("ndjson");
}

#[test]
fn csv_export_killed_three_times_resumes_byte_identical() {
    killed_and_resumed_matches_uninterrupted("csv");
}

#[test]
fn a_checkpoint_of_another_job_is_refused() {
    let (rt, dir) = runtime_and_dir();
    let (_pd, env) = pearldiver(&rt, RECORDS, dir.path());
    let file = dir.path().join("a.ndjson");
    let checkpoint = dir.path().join("a.ndjson.checkpoint");
    let args =
        |days: &str| export_args(&file, &["--days", days, "--resume", "--commit-every", "0"]);
    let log = dir.path().join("log");
    let mut child = spawn(&env, args("90"), &log);
    poll_for(30, || {
        pages_done(&checkpoint) >= 1 || child.0.try_wait().unwrap().is_some()
    });
    assert!(
        kill(&mut child),
        "killed after its first page: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert!(pages_done(&checkpoint) >= 1);
    let out = shoal(&env).args(args("30")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("another export"), "{}", stderr(&out));
}

/// Issue 18 #5: a page of a shape we do not know is an error naming its keys, not 0 records.
#[test]
fn pages_without_records_fail_the_export_naming_the_keys_they_had() {
    let (rt, dir) = runtime_and_dir();
    let (pd, env) = pearldiver(&rt, 5_000, dir.path());
    pd.set_page_shape(shoal_testkit::pearldiver::PageShape::RecordsMissing);
    let file = dir.path().join("a.ndjson");
    let out = shoal(&env).args(export_args(&file, &[])).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("records") && err.contains("pageToken") && err.contains("name"),
        "names what is missing and the keys there were: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!file.exists(), "no empty output left behind");
}

/// Issue 17 #9: a cursor that repeats stops the export, and `--resume` refuses to fetch the
/// pages again instead of exporting them twice.
#[test]
fn a_repeating_cursor_stops_the_export_for_good() {
    let (rt, dir) = runtime_and_dir();
    let (pd, env) = pearldiver(&rt, 10_000, dir.path());
    pd.set_page_shape(shoal_testkit::pearldiver::PageShape::NextRepeatsAt(3));
    let file = dir.path().join("a.ndjson");
    let out = shoal(&env).args(export_args(&file, &[])).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("repeated the cursor"),
        "{}",
        stderr(&out)
    );
    let lines = |f: &Path| std::fs::read_to_string(f).unwrap().lines().count();
    // Pages 0, 1, 2 and 3 (whose next cursor points back at itself) are in the file.
    assert_eq!(lines(&file), 4_000);
    let before = std::fs::read(&file).unwrap();
    let served = pd.stats().pages_served;

    let out = shoal(&env)
        .args(export_args(&file, &["--resume"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stopped for good"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "nothing exported twice"
    );
    assert_eq!(pd.stats().pages_served, served, "no page fetched again");
}
