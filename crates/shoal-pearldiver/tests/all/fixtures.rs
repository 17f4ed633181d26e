//! Decoded forms of the checked-in fixture page (snapshots), unknown fields included.

use serde_json::Value;
use shoal_pearldiver::{Audience, LenientDateTime};

const PAGE: &str = include_str!("../fixtures/audience_page.json");

#[test]
fn the_fixture_page_decodes_with_everything_kept() {
    let page: Audience = serde_json::from_str(PAGE).unwrap();
    let first = &page.records[0];
    assert_eq!(first.phones.as_ref().unwrap()[1].order, Some(2));
    assert_eq!(first.company.as_ref().unwrap().company_count, Some(3));
    assert_eq!(first.extra["segments"][1], "high-intent");
    let visits = first.sessions.as_ref().unwrap()[0].visits.as_ref().unwrap();
    assert!(matches!(
        visits[0].time,
        Some(LenientDateTime::Offset { .. })
    ));
    assert!(matches!(
        visits[1].time,
        Some(LenientDateTime::Local { .. })
    ));
    assert!(matches!(visits[2].time, Some(LenientDateTime::Unparsed(_))));
    assert!(matches!(visits[3].time, Some(LenientDateTime::NotText(_))));
    assert_eq!(page.extra["generatedAt"], "2026-01-01T00:00:00Z");
    insta::assert_debug_snapshot!("fixture_page_decoded", page);
}

#[test]
fn the_fixture_page_re_encodes_to_the_same_json_apart_from_normalised_values() {
    let page: Audience = serde_json::from_str(PAGE).unwrap();
    let mut expected: Value = serde_json::from_str(PAGE).unwrap();
    // The documented normalisations: numeric strings become integers; explicit nulls of
    // documented fields are dropped.
    let record = &mut expected["records"][0];
    record["phones"][1]["order"] = 2.into();
    record["company"]["companyCount"] = 3.into();
    record["company"].as_object_mut().unwrap().remove("sic3");
    expected["records"][1]
        .as_object_mut()
        .unwrap()
        .remove("email");
    assert_eq!(serde_json::to_value(&page).unwrap(), expected);
}

/// The generated fixtures (`cargo xtask fixtures`), read from the workspace's `fixtures/`.
fn generated(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pearldiver/");
    std::fs::read_to_string(format!("{path}{name}")).unwrap()
}

#[test]
fn every_generated_page_and_record_fixture_decodes_and_round_trips() {
    for name in [
        "audience_empty.json",
        "audience_page_first.json",
        "audience_page_last.json",
        "audience_page_last_null_token.json",
    ] {
        let page: Audience = serde_json::from_str(&generated(name)).unwrap();
        let again: Audience = serde_json::from_value(serde_json::to_value(&page).unwrap()).unwrap();
        assert_eq!(again.records.len(), page.records.len(), "{name}");
    }
    let first: Audience = serde_json::from_str(&generated("audience_page_first.json")).unwrap();
    assert!(first.page_token.is_some() && !first.records.is_empty());
    let last: Audience =
        serde_json::from_str(&generated("audience_page_last_null_token.json")).unwrap();
    assert!(last.page_token.is_none());
    let list: shoal_pearldiver::AudienceList =
        serde_json::from_str(&generated("audiences.json")).unwrap();
    assert!(!list.audiences.is_empty());
}

#[test]
fn the_generated_record_with_unknown_fields_keeps_them() {
    let text = generated("record_unknown_fields.json");
    let record: shoal_pearldiver::Record = serde_json::from_str(&text).unwrap();
    assert!(!record.extra.is_empty(), "unknown fields were dropped");
    insta::assert_debug_snapshot!("generated_record_unknown_fields", record);
}
