//! insta snapshots of the exact request every resource action sends (headers redacted).

use shoal_auth::Password;
use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_pebblepad::{
    ApplicationReference, BasicUserInfo, Call, Grade, Group, GroupMember, IdKind, Impersonate as _,
    PebblePadClient, Target, UserDetails, UserStatus,
};
use time::macros::datetime;

use crate::support::{Shot, captured, send_ok, shots};

/// A transport answering `{}` for a record and `[]` for a list, in the order given (`'r'`, `'l'`).
fn answering(kinds: &str) -> CaptureTransport {
    CaptureTransport::new(kinds.chars().map(|k| match k {
        'l' => Scripted::json(200, serde_json::json!([])),
        _ => Scripted::json(200, serde_json::json!({})),
    }))
}

/// A test's calls, each sent under the name its request has in the snapshot.
struct Named {
    transport: CaptureTransport,
    names: Vec<&'static str>,
}

impl Named {
    /// A captured client answered as [`answering`] says, and the record of its calls.
    async fn client(kinds: &str) -> (PebblePadClient, Self) {
        let transport = answering(kinds);
        let client = captured(&transport).await;
        let names = Vec::new();
        (client, Self { transport, names })
    }

    /// Sends `call`, which must succeed, as `name`.
    async fn send<T: std::fmt::Debug>(&mut self, name: &'static str, call: Call<T>) {
        send_ok(call).await;
        self.names.push(name);
    }

    /// Every request sent, under its call's name.
    fn shots(&self) -> Vec<(String, Shot)> {
        let shots = shots(&self.transport);
        assert_eq!(self.names.len(), shots.len());
        self.names
            .iter()
            .map(|n| n.to_string())
            .zip(shots)
            .collect()
    }
}

#[tokio::test]
async fn user_actions() {
    let (c, mut sent) = Named::client("").await;
    let user = BasicUserInfo::new("jbloggs")
        .custom_id("S1234567")
        .name("Jo", "Bloggs")
        .email("jo.bloggs@example.ac.uk")
        .expiry(datetime!(2027-07-31 23:59:59 UTC))
        .notes("Year 1")
        .password(Password::new("CANARY-password"))
        .status(UserStatus::Active);
    let u = c.users();
    sent.send("create", u.create(&user).impersonate("admin.user"))
        .await;
    sent.send("delete", u.delete(Target::id("0b6a7c1e"))).await;
    let details = UserDetails::new().set("Telephone", "01632 960000");
    let by_custom_id = Target::custom_id("S1234567");
    sent.send(
        "add_contact_details",
        u.add_contact_details(by_custom_id, &details),
    )
    .await;
    sent.send(
        "add_other_details",
        u.add_other_details(Target::id("0b6a7c1e"), &details),
    )
    .await;
    sent.send(
        "delete_contact_details",
        u.delete_contact_details(Target::id("0b6a7c1e"), &["Telephone"]),
    )
    .await;
    sent.send(
        "delete_other_details",
        u.delete_other_details(Target::custom_id("S 1/2"), &["Faculty"]),
    )
    .await;
    let shots = sent.shots();
    assert!(!format!("{shots:?}").contains("CANARY-password"));
    insta::assert_yaml_snapshot!(shots);
}

#[tokio::test]
async fn group_actions() {
    let (c, mut sent) = Named::client("rrrl").await;
    let g = c.groups();
    let group = Group::new("Nursing 2026").custom_id("NUR-2026");
    sent.send("create", g.create(&group)).await;
    let changes = Group::default().field("Description", "Cohort");
    sent.send("update", g.update(Target::custom_id("NUR-2026"), &changes))
        .await;
    sent.send("delete", g.delete(Target::id("g-1"))).await;
    let members = g.members(Target::id("g-1")).impersonate("tutor");
    sent.send("members", members).await;
    let members = [
        GroupMember::custom_id("S1234567"),
        GroupMember::id("u-2").role("Tutor"),
    ];
    let add = g.add_members(Target::custom_id("NUR-2026"), &members);
    sent.send("add_members", add).await;
    let remove = g.remove_members(Target::id("g-1"), &members[..1]);
    sent.send("remove_members", remove).await;
    insta::assert_yaml_snapshot!(sent.shots());
}

#[tokio::test]
async fn grade_actions() {
    let (c, mut sent) = Named::client("lllll").await;
    let g = c.grades();
    sent.send("get", g.get(Target::id("gr-1"))).await;
    sent.send("for_user_id", g.for_user(Target::id("u-1")))
        .await;
    let by_custom_id = g.for_user(Target::custom_id("S1234567"));
    sent.send("for_user_custom_id", by_custom_id).await;
    let grades = [Grade::for_user_id("u-1", "72").field("AssessmentId", "A-7")];
    sent.send("import", g.import(IdKind::Id, &grades)).await;
    let grades = [Grade::for_user_custom_id("S1234567", "Merit")];
    let import = g.import(IdKind::CustomId, &grades);
    sent.send("import_on_custom_user_id", import).await;
    sent.send("recall", g.recall(Target::custom_id("GR-9")))
        .await;
    let update = g.update(Target::id("gr-1"), &Grade::value("Distinction"));
    sent.send("update", update).await;
    insta::assert_yaml_snapshot!(sent.shots());
}

#[tokio::test]
async fn application_reference_actions() {
    let (c, mut sent) = Named::client("rrrl").await;
    let reference = ApplicationReference::new("ref-1", "app-9")
        .name("Dr A. Referee")
        .organisation("Example University")
        .post("Senior Lecturer")
        .statement("An excellent candidate.");
    let a = c.application_references();
    sent.send("create", a.create(&reference)).await;
    let revised = reference.clone().statement("Revised.");
    sent.send("update", a.update(&revised)).await;
    sent.send("get", a.get("ref-1")).await;
    sent.send("for_application", a.for_application("app-9"))
        .await;
    sent.send("delete", a.delete("ref-1")).await;
    insta::assert_yaml_snapshot!(sent.shots());
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
    let ws: Workspace = send_ok(
        c.call(
            Target::custom_id("WS-1")
                .path("Workspace", "Get")
                .map(shoal_core::Request::get),
        )
        .impersonate("course.admin"),
    )
    .await;
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
