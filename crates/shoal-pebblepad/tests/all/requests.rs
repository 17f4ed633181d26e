//! insta snapshots of the exact request every resource action sends (headers redacted).

use shoal_auth::Password;
use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_pebblepad::{
    ApplicationReference, BasicUserInfo, Grade, Group, GroupMember, IdKind, Impersonate as _,
    Target, UserDetails, UserStatus,
};
use time::macros::datetime;

use crate::support::{Shot, captured, shots};

/// A transport answering `{}` for a record and `[]` for a list, in the order given (`'r'`, `'l'`).
fn answering(kinds: &str) -> CaptureTransport {
    CaptureTransport::new(kinds.chars().map(|k| match k {
        'l' => Scripted::json(200, serde_json::json!([])),
        _ => Scripted::json(200, serde_json::json!({})),
    }))
}

fn named(names: &[&str], shots: Vec<Shot>) -> Vec<(String, Shot)> {
    assert_eq!(names.len(), shots.len());
    names.iter().map(|n| n.to_string()).zip(shots).collect()
}

#[tokio::test]
async fn user_actions() {
    let t = CaptureTransport::default();
    let c = captured(&t).await;
    let user = BasicUserInfo::new("jbloggs")
        .custom_id("S1234567")
        .name("Jo", "Bloggs")
        .email("jo.bloggs@example.ac.uk")
        .expiry(datetime!(2027-07-31 23:59:59 UTC))
        .notes("Year 1")
        .password(Password::new("CANARY-password"))
        .status(UserStatus::Active);
    c.users()
        .create(&user)
        .impersonate("admin.user")
        .send()
        .await
        .unwrap();
    c.users()
        .delete(Target::id("0b6a7c1e"))
        .send()
        .await
        .unwrap();
    let details = UserDetails::new().set("Telephone", "01632 960000");
    c.users()
        .add_contact_details(Target::custom_id("S1234567"), &details)
        .send()
        .await
        .unwrap();
    c.users()
        .add_other_details(Target::id("0b6a7c1e"), &details)
        .send()
        .await
        .unwrap();
    c.users()
        .delete_contact_details(Target::id("0b6a7c1e"), &["Telephone"])
        .send()
        .await
        .unwrap();
    c.users()
        .delete_other_details(Target::custom_id("S 1/2"), &["Faculty"])
        .send()
        .await
        .unwrap();
    let shots = shots(&t);
    assert!(!format!("{shots:?}").contains("CANARY-password"));
    insta::assert_yaml_snapshot!(named(
        &[
            "create",
            "delete",
            "add_contact_details",
            "add_other_details",
            "delete_contact_details",
            "delete_other_details"
        ],
        shots
    ));
}

#[tokio::test]
async fn group_actions() {
    let t = answering("rrrl");
    let c = captured(&t).await;
    let g = c.groups();
    g.create(&Group::new("Nursing 2026").custom_id("NUR-2026"))
        .send()
        .await
        .unwrap();
    g.update(
        Target::custom_id("NUR-2026"),
        &Group::default().field("Description", "Cohort"),
    )
    .send()
    .await
    .unwrap();
    g.delete(Target::id("g-1")).send().await.unwrap();
    g.members(Target::id("g-1"))
        .impersonate("tutor")
        .send()
        .await
        .unwrap();
    let members = [
        GroupMember::custom_id("S1234567"),
        GroupMember::id("u-2").role("Tutor"),
    ];
    g.add_members(Target::custom_id("NUR-2026"), &members)
        .send()
        .await
        .unwrap();
    g.remove_members(Target::id("g-1"), &members[..1])
        .send()
        .await
        .unwrap();
    insta::assert_yaml_snapshot!(named(
        &[
            "create",
            "update",
            "delete",
            "members",
            "add_members",
            "remove_members"
        ],
        shots(&t)
    ));
}

#[tokio::test]
async fn grade_actions() {
    let t = answering("lllll");
    let c = captured(&t).await;
    let g = c.grades();
    g.get(Target::id("gr-1")).send().await.unwrap();
    g.for_user(Target::id("u-1")).send().await.unwrap();
    g.for_user(Target::custom_id("S1234567"))
        .send()
        .await
        .unwrap();
    g.import(
        IdKind::Id,
        &[Grade::for_user_id("u-1", "72").field("AssessmentId", "A-7")],
    )
    .send()
    .await
    .unwrap();
    g.import(
        IdKind::CustomId,
        &[Grade::for_user_custom_id("S1234567", "Merit")],
    )
    .send()
    .await
    .unwrap();
    g.recall(Target::custom_id("GR-9")).send().await.unwrap();
    g.update(Target::id("gr-1"), &Grade::value("Distinction"))
        .send()
        .await
        .unwrap();
    insta::assert_yaml_snapshot!(named(
        &[
            "get",
            "for_user_id",
            "for_user_custom_id",
            "import",
            "import_on_custom_user_id",
            "recall",
            "update"
        ],
        shots(&t)
    ));
}

#[tokio::test]
async fn application_reference_actions() {
    let t = answering("rrrl");
    let c = captured(&t).await;
    let a = c.application_references();
    let reference = ApplicationReference::new("ref-1", "app-9")
        .name("Dr A. Referee")
        .organisation("Example University")
        .post("Senior Lecturer")
        .statement("An excellent candidate.");
    a.create(&reference).send().await.unwrap();
    a.update(&reference.clone().statement("Revised."))
        .send()
        .await
        .unwrap();
    a.get("ref-1").send().await.unwrap();
    a.for_application("app-9").send().await.unwrap();
    a.delete("ref-1").send().await.unwrap();
    insta::assert_yaml_snapshot!(named(
        &["create", "update", "get", "for_application", "delete"],
        shots(&t)
    ));
}

/// DESIGN.md's "Adding an endpoint", followed from outside the crate: (1) a model that keeps
/// what it does not name, (2) the operation as a `Call` through `client.call` on a `Target`'s
/// path, (3) the exact request asserted.
#[tokio::test]
async fn an_endpoint_added_by_following_the_three_steps() {
    // 1. The model.
    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Workspace {
        id: Option<String>,
        #[serde(flatten)]
        extra: std::collections::BTreeMap<String, serde_json::Value>,
    }
    let t = CaptureTransport::default();
    t.push(shoal_core::test_util::Scripted::json(
        200,
        serde_json::json!({"Id": "w1", "Title": "Placement"}),
    ));
    let c = captured(&t).await;
    // 2. The operation: addressed by Id or CustomId like every action.
    let ws: Workspace = c
        .call(
            Target::custom_id("WS-1")
                .path("Workspace", "Get")
                .map(shoal_core::Request::get),
        )
        .impersonate("course.admin")
        .send()
        .await
        .unwrap();
    assert_eq!(ws.id.as_deref(), Some("w1"));
    assert_eq!(ws.extra["Title"], "Placement");
    // 3. The exact request.
    let shot = &shots(&t)[0];
    assert_eq!(shot.method, "GET");
    assert_eq!(shot.path, "/api/1.1/Workspace/GetOnCustomId/WS-1");
    assert!(
        shot.headers
            .contains(&("x-impersonateuser".to_string(), "course.admin".to_string()))
    );
}
