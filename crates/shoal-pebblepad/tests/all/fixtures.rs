//! Decoded fixtures (insta): documented shapes, missing optional fields, unknown extra fields
//! and unknown enum values all decode, and nothing secret survives decoding.

use shoal_pebblepad::{
    ApplicationReference, BasicUserInfo, Grade, Group, GroupMember, RateLimitsInfo, UserStatus,
};

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/all/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn users() {
    let user: BasicUserInfo = fixture("user.json");
    assert!(user.password.is_none());
    assert_eq!(user.extra.len(), 2, "ContactDetails and Faculty kept");
    let shown = format!("{user:#?}");
    assert!(!shown.contains("echoed-by-a-careless-server"));
    insta::assert_snapshot!("user", shown);
    let minimal: BasicUserInfo = fixture("user_minimal.json");
    assert_eq!(
        minimal.status,
        Some(UserStatus::Unknown("Hibernating".into()))
    );
    insta::assert_debug_snapshot!("user_minimal", minimal);
}

#[test]
fn groups_and_members() {
    let group: Group = fixture("group.json");
    assert_eq!(group.name.as_deref(), Some("Nursing 2026"));
    insta::assert_debug_snapshot!("group", group);
    let members: Vec<GroupMember> = fixture("group_members.json");
    assert_eq!(members[1].role.as_deref(), Some("Tutor"));
    insta::assert_debug_snapshot!("group_members", members);
}

#[test]
fn grades() {
    let grades: Vec<Grade> = fixture("grades.json");
    assert_eq!(grades[1].grade.as_deref(), Some("72.5"));
    insta::assert_debug_snapshot!("grades", grades);
}

#[test]
fn application_references() {
    let r: ApplicationReference = fixture("application_reference.json");
    assert_eq!(r.applicationid.as_deref(), Some("app-9"));
    insta::assert_debug_snapshot!("application_reference", r);
}

#[test]
fn rate_limits() {
    let info: RateLimitsInfo = fixture("rate_limits.json");
    insta::assert_debug_snapshot!("rate_limits", info.to_core());
}

#[test]
fn round_trips_keep_every_field_the_server_sent() {
    for name in ["group.json", "application_reference.json"] {
        let raw: serde_json::Value = fixture(name);
        let back = match name {
            "group.json" => serde_json::to_value(fixture::<Group>(name)).unwrap(),
            _ => serde_json::to_value(fixture::<ApplicationReference>(name)).unwrap(),
        };
        let mut raw = raw;
        // `null` optional fields are skipped on write.
        if let serde_json::Value::Object(m) = &mut raw {
            m.retain(|_, v| !v.is_null());
        }
        assert_eq!(back, raw, "{name}");
    }
}
