//! Custom-id and id addressing pick the right path for every action that has both.

use shoal_core::test_util::CaptureTransport;
use shoal_pebblepad::{
    Call, Grade, Group, GroupMember, Impersonate as _, PebblePadClient, Target, UserDetails,
};

use crate::support::{captured, send_err};

fn path<T>(call: Call<T>) -> String {
    call.request().unwrap().target().to_string()
}

/// Builds one action's call for a target and returns its path.
type PathOf<'a> = Box<dyn Fn(Target) -> String + 'a>;

/// Every action with an `…OnCustomId` twin, as (controller/action, call for a target).
fn twins(c: &PebblePadClient) -> Vec<(&'static str, PathOf<'_>)> {
    let details = UserDetails::new().set("Town", "Leeds");
    let members = vec![GroupMember::id("u")];
    vec![
        ("User/Delete", Box::new(move |t| path(c.users().delete(t)))),
        ("User/AddContactDetails", {
            let d = details.clone();
            Box::new(move |t| path(c.users().add_contact_details(t, &d)))
        }),
        ("User/AddOtherDetails", {
            let d = details.clone();
            Box::new(move |t| path(c.users().add_other_details(t, &d)))
        }),
        (
            "User/DeleteContactDetails",
            Box::new(move |t| path(c.users().delete_contact_details(t, &["Town"]))),
        ),
        (
            "User/DeleteOtherDetails",
            Box::new(move |t| path(c.users().delete_other_details(t, &["Town"]))),
        ),
        (
            "Group/Update",
            Box::new(move |t| path(c.groups().update(t, &Group::new("n")))),
        ),
        (
            "Group/Delete",
            Box::new(move |t| path(c.groups().delete(t))),
        ),
        (
            "Group/GetMembers",
            Box::new(move |t| path(c.groups().members(t))),
        ),
        ("Group/AddMembers", {
            let m = members.clone();
            Box::new(move |t| path(c.groups().add_members(t, &m)))
        }),
        (
            "Group/RemoveMembers",
            Box::new(move |t| path(c.groups().remove_members(t, &members))),
        ),
        ("Grade/Get", Box::new(move |t| path(c.grades().get(t)))),
        (
            "Grade/Recall",
            Box::new(move |t| path(c.grades().recall(t))),
        ),
        (
            "Grade/Update",
            Box::new(move |t| path(c.grades().update(t, &Grade::value("A")))),
        ),
    ]
}

#[tokio::test]
async fn every_twin_action_switches_on_the_target() {
    let c = captured(&CaptureTransport::default()).await;
    let all = twins(&c);
    assert_eq!(all.len(), 13);
    for (action, call) in &all {
        assert_eq!(call(Target::id("ID-1")), format!("1.1/{action}/ID-1"));
        assert_eq!(
            call(Target::custom_id("CUST 1")),
            format!("1.1/{action}OnCustomId/CUST%201")
        );
    }
}

#[tokio::test]
async fn grades_by_user_and_imports_switch_on_the_user_key() {
    let c = captured(&CaptureTransport::default()).await;
    assert_eq!(
        path(c.grades().for_user(Target::id("u-1"))),
        "1.1/Grade/GetOnUserId/u-1"
    );
    assert_eq!(
        path(c.grades().for_user(Target::custom_id("S1"))),
        "1.1/Grade/GetOnCustomUserId/S1"
    );
    assert_eq!(
        path(c.grades().import(shoal_pebblepad::IdKind::Id, &[])),
        "1.1/Grade/Import"
    );
    assert_eq!(
        path(c.grades().import(shoal_pebblepad::IdKind::CustomId, &[])),
        "1.1/Grade/ImportOnCustomUserId"
    );
}

#[tokio::test]
async fn an_empty_id_is_refused_without_sending() {
    let t = CaptureTransport::default();
    let c = captured(&t).await;
    for err in [
        send_err(c.users().delete(Target::custom_id(""))).await,
        send_err(c.groups().members(Target::id("g")).impersonate("bad\nname")).await,
    ] {
        assert!(
            matches!(err, shoal_core::Error::InvalidInput { .. }),
            "{err}"
        );
    }
    assert!(t.requests().is_empty());
}
