//! `shoal demo`: exits 0 and prints the summary table (a small audience keeps debug builds fast).

use crate::support::{shoal, stderr, stdout, success_json};

#[test]
fn demo_walks_every_service_and_ends_with_the_summary() {
    let out = shoal()
        .args(["demo", "--records", "3000"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "exit {:?}\n{text}\n{}",
        out.status.code(),
        stderr(&out)
    );
    for needle in [
        "logged in",
        "Pearl Diver",
        "PebblePad",
        "Paya Connect",
        "refreshes",
        "retries",
        "429s",
        "elapsed",
        "total",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(text.contains("streamed 3000 records"), "{text}");
    assert!(text.contains("Every step did what it says."), "{text}");
}

#[test]
fn demo_json_is_one_object_with_a_row_per_service() {
    let out = shoal()
        .args(["--json", "demo", "--records", "1000"])
        .output()
        .unwrap();
    let v = success_json(&out);
    assert_eq!(v["ok"], true);
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), 3);
    assert_eq!(services[0]["records"], 1000);
    assert_eq!(
        services[1]["rate_limited"], 0,
        "PebblePad pacing avoids every 429"
    );
}
