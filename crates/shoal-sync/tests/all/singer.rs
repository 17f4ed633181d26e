//! Singer export against the emulator: SCHEMA, RECORDs, a STATE per page; an interrupted
//! export continues from the STATE a target kept; a finished one goes incremental.

use std::time::Duration;

use serde_json::Value;
use shoal_core::{Clock, ManualClock};
use shoal_pearldiver::AudienceWindow;
use shoal_sync::WindowMode;
use shoal_sync::singer::{SingerOptions, SingerState, export};
use shoal_testkit::pearldiver::AudienceSpec;
use time::OffsetDateTime;

use crate::support::{client, emulator};

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_type<'a>(msgs: &'a [Value], t: &str) -> Vec<&'a Value> {
    msgs.iter().filter(|m| m["type"] == t).collect()
}

#[tokio::test]
async fn an_export_writes_singer_messages_and_continues_from_its_state() {
    let clock = ManualClock::new();
    let t0 = OffsetDateTime::from(clock.system_now());
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 2_500)]).await;
    let c = client(&pd, clock.shared());
    let opts = SingerOptions::default().clock(clock.shared());

    let mut state = SingerState::default();
    let mut out = Vec::new();
    let s = export(&c, 17, &mut state, &opts, &mut out).await.unwrap();
    assert_eq!(
        (s.pages, s.written, s.window),
        (3, 2_500, AudienceWindow::LastDays(90))
    );
    let msgs = lines(&out);
    assert_eq!(msgs[0]["type"], "SCHEMA");
    assert_eq!(of_type(&msgs, "RECORD").len(), 2_500);
    let states = of_type(&msgs, "STATE");
    assert_eq!(states.len(), 3);
    let bookmark = &states[2]["value"]["bookmarks"]["pearldiver_audience_17"];
    assert!(bookmark.get("cursor").is_none(), "{bookmark}");
    assert_eq!(bookmark["window_start"], "2025-10-03T00:00:00Z");
    assert_eq!(bookmark["started_at"], "2026-01-01T00:00:00Z");

    // A target kept the STATE after the first page: the export continues from page 2.
    let kept = serde_json::to_string(states[0]).unwrap();
    let mut resumed = SingerState::parse(&kept).unwrap();
    assert!(resumed.bookmark(17).unwrap().unwrap().cursor.is_some());
    let mut out2 = Vec::new();
    let s2 = export(&c, 17, &mut resumed, &opts, &mut out2)
        .await
        .unwrap();
    assert!(matches!(s2.mode, WindowMode::Resumed { .. }));
    assert_eq!((s2.pages, s2.written), (2, 1_500));
    let first_lines = lines(&out);
    let firsts: Vec<&Value> = of_type(&first_lines, "RECORD")[1_000..].to_vec();
    let again = lines(&out2);
    let seconds = of_type(&again, "RECORD");
    assert_eq!(
        firsts.iter().map(|m| &m["record"]).collect::<Vec<_>>(),
        seconds.iter().map(|m| &m["record"]).collect::<Vec<_>>()
    );
    assert_eq!(resumed, state, "the same final state");

    // Finished: the next export asks since the first start less the lag.
    clock.advance(Duration::from_secs(7_200));
    pd.add_records(17, 4);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    std::fs::write(&file, String::from_utf8_lossy(&out).lines().last().unwrap()).unwrap();
    let mut from_file = SingerState::read(&file).unwrap();
    let c = client(&pd, clock.shared());
    let mut out3 = Vec::new();
    let s3 = export(&c, 17, &mut from_file, &opts, &mut out3)
        .await
        .unwrap();
    assert_eq!(
        s3.window,
        AudienceWindow::Since(t0 - Duration::from_secs(3_600))
    );
    let ids: Vec<String> = of_type(&lines(&out3), "RECORD")
        .iter()
        .map(|m| m["record"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        [
            "pd-17-000000000",
            "pd-17-000002500",
            "pd-17-000002501",
            "pd-17-000002502",
            "pd-17-000002503"
        ]
    );
}

#[tokio::test]
async fn a_state_file_that_is_not_a_state_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    std::fs::write(&file, "{\"type\":\"STATE\",\"value\":[1,2]}").unwrap();
    let err = SingerState::read(&file).unwrap_err();
    assert!(err.to_string().contains("state.json"), "{err}");
    assert!(err.to_string().contains("not a state"), "{err}");
    let missing = SingerState::read(&dir.path().join("nope.json")).unwrap_err();
    assert!(missing.to_string().contains("nope.json"), "{missing}");
}
