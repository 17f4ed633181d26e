//! No silent duplicate: a create answered 500 is sent once; invalid input never leaves.

use futures_util::StreamExt;
use shoal_paya::{ContactUpdate, ErrorKind, NewContact};
use shoal_testkit::Fault;

use super::{Auth, SEEDED, start};

#[tokio::test]
async fn a_create_answered_500_is_sent_once_and_may_have_been_processed() {
    let (_clock, emu, client) = start(Auth::Headers).await;
    let contacts = client.contacts();
    let new = NewContact::new(&emu.endpoints().location_id, "Once").contact_api_id("crm-500");
    emu.faults().push(
        Fault::status(500)
            .always()
            .on_method("POST")
            .on_path("/v2/contacts"),
    );
    let err = contacts.create(new.clone()).send().await.unwrap_err();
    emu.faults().clear();
    assert_eq!(
        emu.traffic().count("POST", "/v2/contacts"),
        1,
        "never resent"
    );
    assert!(err.may_have_been_processed(), "{err}");
    assert_eq!(err.kind(), ErrorKind::MaybeProcessed);
    assert!(err.to_string().contains("may have been processed"), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(client.pipeline().stats().retries, 0);

    // What the docs of `create` say to do: look it up, then send again only if it is absent.
    assert!(contacts.find_by_api_id("crm-500").await.unwrap().is_none());
    let created = contacts.create(new).send().await.unwrap();
    assert_eq!(created.contact_api_id.as_deref(), Some("crm-500"));
    assert_eq!(emu.traffic().count("POST", "/v2/contacts"), 2);
    assert_eq!(emu.contacts().len(), SEEDED + 1);

    // A read answered 500 is retried by core's policy, for contrast.
    let id = created.id.unwrap();
    emu.faults()
        .push(Fault::status(500).on_path(format!("/v2/contacts/{id}")));
    contacts.get(&id).send().await.unwrap();
    assert_eq!(emu.traffic().count("GET", &format!("/v2/contacts/{id}")), 2);
}

fn invalid_field(err: shoal_core::Error) -> String {
    match err {
        shoal_core::Error::InvalidInput { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn every_documented_limit_is_refused_before_any_request() {
    // A session client: not even a login may be sent for an invalid input.
    let (_clock, emu, client) = start(Auth::Session).await;
    let contacts = client.contacts();
    let loc = emu.endpoints().location_id.clone();
    let base = || NewContact::new(&loc, "Smith");
    let long = |n: usize| "x".repeat(n);
    let creates: Vec<(NewContact, &str)> = vec![
        (NewContact::new("short", "Smith"), "location_id"),
        (NewContact::new(long(37), "Smith"), "location_id"),
        (NewContact::new(&loc, ""), "last_name"),
        (NewContact::new(&loc, long(65)), "last_name"),
        (base().first_name(long(65)), "first_name"),
        (base().company_name(long(65)), "company_name"),
        (base().account_number(long(33)), "account_number"),
        (base().contact_api_id(long(37)), "contact_api_id"),
        (base().email("a@b"), "email"),
        (base().email(format!("{}@b.c", long(61))), "email"),
        (base().address(long(256)), "address"),
        (base().city(long(101)), "city"),
        (base().state("NYC"), "state"),
        (base().state("N1"), "state"),
        (base().zip("123"), "zip"),
        (base().zip("1234567890123"), "zip"),
        (base().zip("12#45"), "zip"),
        (base().home_phone("555123456"), "home_phone"),
        (base().cell_phone("55512345678"), "cell_phone"),
        (base().office_phone("555-123-45"), "office_phone"),
        (base().office_ext_phone(long(11)), "office_ext_phone"),
        (base().contact_balance("1234567890123"), "contact_balance"),
        (base().contact_c1(long(129)), "contact_c1"),
        (base().contact_c2(long(129)), "contact_c2"),
        (base().contact_c3(long(129)), "contact_c3"),
        (base().date_of_birth("04/01/1990"), "date_of_birth"),
        (base().date_of_birth("1990-02-30"), "date_of_birth"),
        (base().header_message(long(251)), "header_message"),
        (base().header_message_type(5), "header_message_type"),
    ];
    for (contact, field) in creates {
        let err = contacts.create(contact).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(field), "{field}: {err}");
        assert_eq!(invalid_field(err), field);
    }
    let upsert = contacts.create(base()).update_if_exists().send().await;
    assert_eq!(invalid_field(upsert.unwrap_err()), "contact_api_id");
    let id = "11e95f8ec39de8fbdb0a4f1a";
    let updates: Vec<(ContactUpdate, &str)> = vec![
        (ContactUpdate::new().last_name(""), "last_name"),
        (ContactUpdate::new().state("n"), "state"),
        (ContactUpdate::new().cell_phone("123"), "cell_phone"),
        (ContactUpdate::new().zip("1"), "zip"),
        (ContactUpdate::new(), "update"),
    ];
    for (update, field) in updates {
        let err = contacts.update(id, update).send().await.unwrap_err();
        assert_eq!(invalid_field(err), field);
    }
    let list = contacts.list().page_size(101).send().await.unwrap_err();
    assert_eq!(invalid_field(list), "page_size");
    let mut stream = std::pin::pin!(contacts.list().page_size(0).by_item());
    assert_eq!(
        invalid_field(stream.next().await.unwrap().unwrap_err()),
        "page_size"
    );
    let bad_id = contacts.get("../token").send().await.unwrap_err();
    assert_eq!(invalid_field(bad_id), "id");
    assert!(
        emu.traffic().requests().is_empty(),
        "{:#?}",
        emu.traffic().requests()
    );

    // What passes the client's checks but not the server's comes back as a typed 422.
    let unknown_location = NewContact::new("ffffffffffffffffffffffff", "Smith");
    let err = contacts.create(unknown_location).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert_eq!(
        err.field_errors("location_id"),
        Some(&["Location Id is invalid.".to_string()][..])
    );
}
