//! The exact request each operation sends (snapshots), and validation that stops a request
//! before anything reaches the transport.

use shoal_core::test_util::Scripted;
use shoal_paya::{
    ContactExpand, ContactField, ContactQuery, ContactUpdate, ErrorKind, NewContact, Relationship,
    SortOrder,
};

use crate::support::{
    CONTACT, LOCATION, captured, contact_json, create_err, full_contact, render, sandbox,
};

fn created() -> Scripted {
    Scripted::json(201, serde_json::json!({"contact": contact_json(1)}))
}

#[tokio::test]
async fn every_operation_sends_the_documented_request() {
    let list_body =
        serde_json::json!({"contacts": [], "meta": {"pagination": {"links": {}, "pageCount": 0}}});
    let (client, transport) = captured([
        created(),
        created(),
        Scripted::json(200, serde_json::json!({"contact": contact_json(1)})),
        Scripted::json(200, serde_json::json!({"contact": contact_json(1)})),
        Scripted::status(204),
        Scripted::json(200, list_body),
        Scripted::json(200, serde_json::json!({"locationinfos": []})),
    ]);
    let contacts = client.contacts();
    let full = full_contact(LOCATION, "Smith")
        .email_trx_receipt(true)
        .header_message_type(1)
        .contact_api_id("crm-1017");
    contacts.create(full.clone()).send().await.unwrap();
    contacts
        .create(full)
        .update_if_exists()
        .send()
        .await
        .unwrap();
    contacts
        .get(CONTACT)
        .expand(ContactExpand::Notes)
        .expand(ContactExpand::CreatedUser)
        .send()
        .await
        .unwrap();
    contacts
        .update(
            CONTACT,
            ContactUpdate::new()
                .last_name("Jones")
                .email_trx_receipt(false),
        )
        .send()
        .await
        .unwrap();
    contacts.delete(CONTACT).send().await.unwrap();
    contacts
        .list()
        .filter(ContactField::LastName, "Smith")
        .sort(ContactField::CreatedTs, SortOrder::Descending)
        .expand(ContactExpand::Location)
        .page_size(20)
        .send()
        .await
        .unwrap();
    client
        .location_infos()
        .list()
        .relationship(Relationship::All)
        .product_transaction_active(true)
        .expand_terminals()
        .send()
        .await
        .unwrap();

    let sent = transport.requests();
    assert_eq!(sent.len(), 7);
    for r in &sent {
        assert_eq!(r.headers()["developer-id"], "dev-shoal", "{}", r.uri());
        assert!(r.uri().path().starts_with("/v2/"));
    }
    let names = [
        "create",
        "create_upsert",
        "get_expand",
        "update_partial",
        "delete",
        "list_query",
        "locationinfos_query",
    ];
    for (name, request) in names.iter().zip(&sent) {
        insta::assert_snapshot!(format!("request_{name}"), render(request));
    }
}

#[tokio::test]
async fn invalid_input_never_reaches_the_transport() {
    let (client, transport) = captured([]);
    let c = client.contacts();
    let base = || NewContact::new(LOCATION, "Smith");
    let creates = [
        ("location_id", NewContact::new("too-short", "Smith")),
        ("last_name", NewContact::new(LOCATION, "")),
        ("cell_phone", base().cell_phone("555123")),
        ("state", base().state("NYC")),
        ("zip", base().zip("1!2345")),
        ("date_of_birth", base().date_of_birth("1990/04/01")),
        ("email", base().email("a@b")),
        ("header_message_type", base().header_message_type(7)),
    ];
    let mut failures = Vec::new();
    for (field, contact) in creates {
        failures.push((field, create_err(&client, contact).await));
    }
    failures.extend([
        (
            "contact_api_id",
            c.create(base())
                .update_if_exists()
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "zip",
            c.update(CONTACT, ContactUpdate::new().zip("12"))
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "update",
            c.update(CONTACT, ContactUpdate::new())
                .send()
                .await
                .unwrap_err(),
        ),
        ("id", c.get("../../v2/users/me").send().await.unwrap_err()),
        ("id", c.delete("short").send().await.unwrap_err()),
        (
            "page_size",
            c.list().page_size(101).send().await.unwrap_err(),
        ),
    ]);
    for (field, err) in failures {
        match &err {
            shoal_core::Error::InvalidInput { field: f, .. } => assert_eq!(f, field, "{err}"),
            other => panic!("{field}: expected invalid input, got {other:?}"),
        }
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
    use futures_util::StreamExt;
    let first = c
        .list()
        .query(ContactQuery::new().page_size(0))
        .by_item()
        .next()
        .await
        .unwrap();
    assert!(matches!(first, Err(shoal_core::Error::InvalidInput { .. })));
    assert!(transport.requests().is_empty(), "nothing was sent");
}

/// `input_checks(false)` lets through what a limit refuses — the assumed ones above all (digits
/// only in a phone, letters only in a state, an `@` in an e-mail address, `page_size` at most
/// 100) — so the server judges; with checks on, the same input is refused before sending.
#[tokio::test]
async fn with_input_checks_off_what_the_assumed_limits_refuse_is_sent() {
    use shoal_core::test_util::CaptureTransport;
    use shoal_paya::{ApiKey, ConfigureClient as _, KeyPlacement};
    let list_body =
        serde_json::json!({"contacts": [], "meta": {"pagination": {"links": {}, "pageCount": 0}}});
    let client = |checks: bool, transport: &CaptureTransport| {
        sandbox(&shoal_core::ManualClock::new())
            .api_key("user-1", ApiKey::new("k"), KeyPlacement::Headers)
            .transport(transport.clone())
            .input_checks(checks)
            .build()
            .unwrap()
    };
    // Each input breaks exactly one rule of ours that the vendor's contract does not state.
    let contact = || {
        NewContact::new(LOCATION, "Smith")
            .cell_phone("(555)12345")
            .state("N1")
            .email("ann.example")
    };
    let update = || ContactUpdate::new().home_phone("555 123 45");

    let on = CaptureTransport::default();
    let checked = client(true, &on);
    let refused = [
        create_err(&checked, contact()).await,
        create_err(&checked, NewContact::new(LOCATION, "Smith").state("N1")).await,
        create_err(
            &checked,
            NewContact::new(LOCATION, "Smith").email("ann.example"),
        )
        .await,
        checked
            .contacts()
            .update(CONTACT, update())
            .send()
            .await
            .unwrap_err(),
        checked
            .contacts()
            .list()
            .page_size(250)
            .send()
            .await
            .unwrap_err(),
    ];
    for err in &refused {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
    assert!(on.requests().is_empty(), "checks on: nothing sent");

    let off = CaptureTransport::new([
        created(),
        Scripted::json(200, serde_json::json!({"contact": contact_json(1)})),
        Scripted::json(200, list_body),
    ]);
    let unchecked = client(false, &off);
    unchecked.contacts().create(contact()).send().await.unwrap();
    unchecked
        .contacts()
        .update(CONTACT, update())
        .send()
        .await
        .unwrap();
    unchecked
        .contacts()
        .list()
        .page_size(250)
        .send()
        .await
        .unwrap();
    let sent = off.requests();
    assert_eq!(sent.len(), 3, "checks off: every call sent");
    let body = |i: usize| serde_json::from_slice::<serde_json::Value>(sent[i].body()).unwrap();
    let created = body(0);
    assert_eq!(created["contact"]["cell_phone"], "(555)12345");
    assert_eq!(created["contact"]["state"], "N1");
    assert_eq!(created["contact"]["email"], "ann.example");
    assert_eq!(body(1)["contact"]["home_phone"], "555 123 45");
    assert!(
        sent[2]
            .uri()
            .query()
            .unwrap_or_default()
            .contains("page_size=250"),
        "{}",
        sent[2].uri()
    );
    // Structural checks stay on: an id that would change the path is never sent.
    assert!(
        unchecked
            .contacts()
            .get("../users/me")
            .send()
            .await
            .is_err()
    );
    assert_eq!(off.requests().len(), 3);
}

/// DESIGN.md's "Adding an endpoint", followed from outside the crate: (1) a model that keeps
/// what it does not name, (2) the operation as a `Call` through `client.call`, (3) the exact
/// request asserted.
#[tokio::test]
async fn an_endpoint_added_by_following_the_three_steps() {
    // 1. The model, in Paya's wrapped shape.
    #[derive(Debug, serde::Deserialize)]
    struct Me {
        user: User,
    }
    #[derive(Debug, serde::Deserialize)]
    struct User {
        id: Option<String>,
        #[serde(flatten)]
        extra: std::collections::BTreeMap<String, serde_json::Value>,
    }
    let (client, transport) = captured([Scripted::json(
        200,
        serde_json::json!({"user": {"id": "11e95f8ec39de8fbdb0a4f1c", "user_type_id": 200}}),
    )]);
    // 2. The operation.
    let me: Me = client
        .call(Ok(shoal_core::Request::get("v2/users/me")))
        .send()
        .await
        .unwrap();
    assert_eq!(me.user.id.as_deref(), Some("11e95f8ec39de8fbdb0a4f1c"));
    assert_eq!(me.user.extra["user_type_id"], 200);
    // 3. The exact request: the host, developer-id and the key headers (redacted).
    let sent = render(&transport.requests()[0]);
    assert!(sent.starts_with("GET /v2/users/me\n"), "{sent}");
    assert!(sent.contains("developer-id: dev-shoal"), "{sent}");
    assert!(sent.contains("user-api-key: [redacted]"), "{sent}");
}
