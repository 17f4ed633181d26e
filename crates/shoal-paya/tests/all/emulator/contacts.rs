//! The contact lifecycle with every credential method, and upserts by `contact_api_id`.

use shoal_paya::{ContactField, ContactUpdate, ErrorKind, NewContact};

use crate::support::{create_err, full_contact};

use super::{Auth, SEEDED, assert_credentials, body, logins, start};

#[tokio::test]
async fn the_full_contact_lifecycle_works_with_every_credential_method() {
    for auth in [Auth::Headers, Auth::Query, Auth::Basic, Auth::Session] {
        let (_clock, emu, client) = start(auth).await;
        let contacts = client.contacts();
        let location = emu.endpoints().location_id.clone();
        let api_id = format!("life-{auth:?}");

        let created = contacts
            .create(
                full_contact(&location, "Lifecycle")
                    .email_trx_receipt(false)
                    .contact_api_id(&api_id),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{auth:?}: create: {e}"));
        let id = created.id.clone().expect("an id");
        assert_eq!(created.location_id.as_deref(), Some(location.as_str()));
        assert_eq!(created.email_trx_receipt, Some(false));
        assert!(created.created_ts.is_some(), "{created:?}");
        assert!(
            created
                .links
                .as_ref()
                .and_then(|l| l.self_link.as_ref())
                .is_some_and(|l| l.href.ends_with(&format!("/v2/contacts/{id}"))),
            "{created:?}"
        );

        let read = contacts.get(&id).send().await.unwrap();
        assert_eq!(read, created, "{auth:?}");

        let updated = contacts
            .update(
                &id,
                ContactUpdate::new()
                    .city("Springfield")
                    .email_trx_receipt(true),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(updated.city.as_deref(), Some("Springfield"));
        assert_eq!(updated.email_trx_receipt, Some(true));
        assert_eq!(updated.first_name.as_deref(), Some("Ann"), "kept");
        assert_eq!(updated.zip.as_deref(), Some("10001"), "kept");
        let puts = emu.traffic().matching("PUT", &format!("/v2/contacts/{id}"));
        assert_eq!(puts.len(), 1);
        assert_eq!(
            body(&puts[0]),
            serde_json::json!({"contact": {"city": "Springfield", "email_trx_receipt": "1"}}),
            "{auth:?}: a partial update sends only the fields set"
        );

        let listed = contacts
            .list()
            .filter(ContactField::ContactApiId, &api_id)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_eq!(listed.items[0], updated);

        contacts.delete(&id).send().await.unwrap();
        assert_eq!(emu.contacts().len(), SEEDED, "{auth:?}: deleted");
        let after = contacts.get(&id).send().await.unwrap_err();
        // A deleted record answers 409 "Gone" (paya.md, Errors); an unknown one 404.
        assert!(after.kind() == ErrorKind::Gone, "{auth:?}: {after}");
        let again = contacts.delete(&id).send().await.unwrap_err();
        assert!(again.kind() == ErrorKind::NotFound, "{auth:?}: {again}");
        let unknown = contacts
            .get("000000000000000000000000")
            .send()
            .await
            .unwrap_err();
        assert!(unknown.kind() == ErrorKind::NotFound, "{auth:?}: {unknown}");

        let sent = emu.traffic().requests();
        let calls: Vec<String> = sent
            .iter()
            .map(|r| format!("{} {} {:?}", r.method, r.path, r.status))
            .collect();
        let logged_in = usize::from(auth == Auth::Session);
        assert_eq!(sent.len(), 8 + logged_in, "{auth:?}: {calls:#?}");
        assert_eq!(logins(&emu), logged_in, "{auth:?}");
        for r in sent.iter().filter(|r| r.path != "/v2/token") {
            assert_credentials(r, auth);
        }
        let statuses: Vec<Option<u16>> = sent
            .iter()
            .filter(|r| r.path != "/v2/token")
            .map(|r| r.status)
            .collect();
        assert_eq!(
            statuses,
            [201, 200, 200, 200, 204, 409, 404, 404].map(Some),
            "{auth:?}: {calls:#?}"
        );
        emu.shutdown().await;
    }
}

#[tokio::test]
async fn update_if_exists_updates_the_contact_with_the_same_api_id() {
    let (_clock, emu, client) = start(Auth::Headers).await;
    let contacts = client.contacts();
    let loc = emu.endpoints().location_id.clone();
    let upsert = |first_name: &str| {
        NewContact::new(&loc, "Upsert")
            .first_name(first_name)
            .contact_api_id("up-1")
    };
    let first = contacts.create(upsert("Ann")).send().await.unwrap();

    let plain = create_err(&client, upsert("Bea")).await;
    assert_eq!(plain.kind(), ErrorKind::Validation, "{plain}");
    assert!(plain.field_errors("contact_api_id").is_some(), "{plain}");

    let second = contacts
        .create(upsert("Bea").city("Albany"))
        .update_if_exists()
        .send()
        .await
        .unwrap();
    assert_eq!(second.id, first.id, "the same record");
    assert_eq!(second.first_name.as_deref(), Some("Bea"));
    assert_eq!(second.city.as_deref(), Some("Albany"));
    let same: Vec<_> = emu
        .contacts()
        .into_iter()
        .filter(|c| c["contact_api_id"] == "up-1")
        .collect();
    assert_eq!(same.len(), 1, "no duplicate");
    assert_eq!(same[0]["first_name"], "Bea");
    assert_eq!(emu.contacts().len(), SEEDED + 1);

    // A first-time upsert creates.
    let fresh = contacts
        .create(NewContact::new(&loc, "Fresh").contact_api_id("up-2"))
        .update_if_exists()
        .send()
        .await
        .unwrap();
    assert!(fresh.id.is_some() && fresh.id != first.id);
    assert_eq!(emu.contacts().len(), SEEDED + 2);

    let posts = emu.traffic().matching("POST", "/v2/contacts");
    let statuses: Vec<_> = posts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 422, 200, 201].map(Some));
    let sent = body(&posts[2]);
    assert_eq!(sent["contact"]["update_if_exists"], 1, "{sent}");
    assert!(posts[2].query.is_none());
    assert!(body(&posts[0])["contact"].get("update_if_exists").is_none());
}
