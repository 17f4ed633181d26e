//! Which failures are retried (GET/PUT/DELETE by core's policy; POST only when the connection
//! was refused), how each error status surfaces, and paging over scripted pages.

use std::collections::HashSet;

use shoal_core::TransportErrorKind;
use shoal_core::test_util::Scripted;
use shoal_paya::{ContactUpdate, ErrorKind, NewContact, PayaErrorExt};

use crate::support::{CONTACT, LOCATION, captured, contact_json, create_err, every_contact};

fn new_contact() -> NewContact {
    NewContact::new(LOCATION, "Smith").contact_api_id("crm-1")
}

#[tokio::test]
async fn a_create_answered_500_is_sent_once_and_may_have_been_processed() {
    let (client, transport) = captured([
        Scripted::status(500),
        Scripted::json(201, serde_json::json!({"contact": {}})),
    ]);
    let err = create_err(&client, new_contact()).await;
    assert_eq!(
        transport.requests().len(),
        1,
        "a POST is never resent after a 500"
    );
    assert!(err.may_have_been_processed());
    assert_eq!(err.kind(), ErrorKind::MaybeProcessed);
    assert!(err.to_string().contains("may have been processed"), "{err}");
}

#[tokio::test]
async fn a_create_that_timed_out_or_broke_is_not_resent() {
    for kind in [TransportErrorKind::Timeout, TransportErrorKind::Io] {
        let (client, transport) = captured([Scripted::Fail(kind)]);
        let err = create_err(&client, new_contact()).await;
        assert_eq!(transport.requests().len(), 1, "{kind:?}");
        assert!(err.may_have_been_processed(), "{kind:?}: {err}");
    }
}

#[tokio::test]
async fn a_create_whose_connection_was_refused_is_sent_again() {
    let (client, transport) = captured([
        Scripted::Fail(TransportErrorKind::ConnectRefused),
        Scripted::json(201, serde_json::json!({"contact": contact_json(3)})),
    ]);
    let created = client
        .contacts()
        .create(new_contact())
        .send()
        .await
        .unwrap();
    assert_eq!(created.last_name.as_deref(), Some("Name003"));
    assert_eq!(transport.requests().len(), 2);
}

#[tokio::test]
async fn reads_updates_and_deletes_are_retried() {
    let (client, transport) = captured([
        Scripted::status(503),
        Scripted::json(200, serde_json::json!({"contact": contact_json(1)})),
        Scripted::status(500),
        Scripted::json(200, serde_json::json!({"contact": contact_json(1)})),
        Scripted::Fail(TransportErrorKind::Io),
        Scripted::status(204),
    ]);
    client.contacts().get(CONTACT).send().await.unwrap();
    client
        .contacts()
        .update(CONTACT, ContactUpdate::new().city("Albany"))
        .send()
        .await
        .unwrap();
    client.contacts().delete(CONTACT).send().await.unwrap();
    let methods: Vec<String> = transport
        .requests()
        .iter()
        .map(|r| r.method().to_string())
        .collect();
    assert_eq!(methods, ["GET", "GET", "PUT", "PUT", "DELETE", "DELETE"]);
}

#[tokio::test]
async fn each_error_status_is_distinguishable() {
    let message = |status, text: &str| Scripted::json(status, serde_json::json!({"message": text}));
    let not_signed_up = message(403, "The merchant is not signed up for this service");
    let invalid_zip = serde_json::json!({"errors": {"zip": ["Zip is invalid."]}});
    let cases = [
        (Scripted::status(401), ErrorKind::Unauthorized, false),
        (message(403, "Forbidden"), ErrorKind::Forbidden, false),
        (not_signed_up, ErrorKind::Forbidden, true),
        (Scripted::status(404), ErrorKind::NotFound, false),
        (Scripted::status(405), ErrorKind::MethodNotAllowed, false),
        (message(409, "Gone"), ErrorKind::Gone, false),
        (
            Scripted::json(422, invalid_zip),
            ErrorKind::Validation,
            false,
        ),
    ];
    for (answer, kind, not_signed_up) in cases {
        let (client, transport) = captured([answer]);
        let err = client.contacts().get(CONTACT).send().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(err.is_not_signed_up(), not_signed_up, "{err}");
        assert_eq!(transport.requests().len(), 1, "{kind:?} is not retried");
    }
}

#[tokio::test]
async fn deleting_a_missing_contact_is_a_not_found_error() {
    let (client, _) = captured([Scripted::json(
        404,
        serde_json::json!({"message": "Not found"}),
    )]);
    let err = client.contacts().delete(CONTACT).send().await.unwrap_err();
    assert!(err.kind() == ErrorKind::NotFound, "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
}

#[tokio::test]
async fn a_422_on_create_carries_each_fields_messages() {
    let body = serde_json::json!({"errors": {"email": ["Email is not a valid email address."], "contact_api_id": ["Contact Api Id has already been taken."]}});
    let (client, transport) = captured([Scripted::json(422, body)]);
    let err = create_err(&client, new_contact()).await;
    assert_eq!(transport.requests().len(), 1);
    assert!(
        !err.may_have_been_processed(),
        "a 422 was refused, not maybe processed"
    );
    assert_eq!(
        err.field_errors("contact_api_id"),
        Some(&["Contact Api Id has already been taken.".to_string()][..])
    );
    assert_eq!(err.validation_errors().map(<[_]>::len), Some(2));
}

fn page(items: std::ops::Range<usize>, current: u64, next: Option<u32>) -> Scripted {
    let contacts: Vec<_> = items.map(contact_json).collect();
    let mut links = serde_json::json!({"self": {"href": "https://h/v2/contacts"}});
    if let Some(n) = next {
        links["next"] =
            serde_json::json!({"href": format!("https://h/v2/contacts?page={n}&page_size=20")});
    }
    Scripted::json(
        200,
        serde_json::json!({"contacts": contacts, "meta": {"pagination": {
        "links": links, "totalCount": 57, "pageCount": 3, "currentPage": current, "perPage": 20}}}),
    )
}

#[tokio::test]
async fn streams_every_page_whether_current_page_counts_from_0_or_1() {
    for base in [0u64, 1] {
        let (client, transport) = captured([
            page(0..20, base, Some(2)),
            page(20..40, base + 1, Some(3)),
            page(40..57, base + 2, None),
            page(0..20, 0, None), // must never be asked for
        ]);
        let all = every_contact(client.contacts().list()).await;
        let ids: HashSet<_> = all.iter().map(|c| c.id.clone().unwrap()).collect();
        assert_eq!((all.len(), ids.len()), (57, 57), "base {base}");
        let pages: Vec<String> = transport
            .requests()
            .iter()
            .map(|r| r.uri().query().unwrap_or("").to_string())
            .collect();
        assert_eq!(
            pages,
            [
                "page=1&page_size=20",
                "page=2&page_size=20",
                "page=3&page_size=20"
            ],
            "base {base}"
        );
    }
}

#[tokio::test]
async fn a_stream_resumes_from_a_saved_cursor() {
    use futures_util::StreamExt;
    let (client, _) = captured([page(0..20, 1, Some(2))]);
    let first = client
        .contacts()
        .list()
        .page_size(20)
        .by_page()
        .next()
        .await
        .unwrap()
        .unwrap();
    let saved = first.next.clone().unwrap().to_string();
    let (client, transport) = captured([page(20..40, 2, Some(3)), page(40..57, 3, None)]);
    let resumed = client
        .contacts()
        .list()
        .resume_from(Some(saved.parse().unwrap()));
    let rest = every_contact(resumed).await;
    assert_eq!(rest.len(), 37);
    assert!(
        transport.requests()[0]
            .uri()
            .query()
            .unwrap()
            .contains("page=2")
    );
}
