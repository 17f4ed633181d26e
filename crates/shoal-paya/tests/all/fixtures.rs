//! Decoded forms of representative response bodies (snapshots), including a 422 body.

use shoal_core::test_util::Scripted;
use shoal_paya::{Contact, LocationInfo};

use crate::support::{CONTACT, captured};

const CONTACT_BODY: &str = r#"{"contact": {
  "id": "11e95f8ec39de8fbdb0a4f1a", "location_id": "11e95f8ec39de8fbdb0a4f1b",
  "account_number": "A-1", "contact_api_id": "crm-1017", "company_name": "Acme",
  "first_name": "Ann", "last_name": "Smith", "email": "ann@example.test",
  "address": "1 Main St", "city": "Albany", "state": "NY", "zip": "12207",
  "home_phone": "5185550100", "cell_phone": "5185550101", "office_phone": "5185550102",
  "office_ext_phone": "12", "contact_balance": "10.50", "contact_c1": "c1", "contact_c2": null,
  "contact_c3": "", "date_of_birth": "1990-04-01", "email_trx_receipt": "1",
  "header_message": "VIP", "header_message_type": 2,
  "created_ts": 1700000000, "modified_ts": 1700003600,
  "_links": {"self": {"href": "https://api.sandbox.payaconnect.com/v2/contacts/11e95f8ec39de8fbdb0a4f1a"}},
  "created_user": {"id": "u1", "username": "clerk"},
  "some_new_field": [1, 2]
}}"#;

#[test]
fn a_full_contact_decodes() {
    let c: serde_json::Value = serde_json::from_str(CONTACT_BODY).unwrap();
    let contact: Contact = serde_json::from_value(c["contact"].clone()).unwrap();
    assert_eq!(contact.email_trx_receipt, Some(true));
    insta::assert_debug_snapshot!("decoded_contact", contact);
    insta::assert_json_snapshot!("reencoded_contact", contact);
}

#[test]
fn a_location_info_list_decodes() {
    let body = serde_json::json!({"locationinfos": [{
        "id": "11e95f8ec39de8fbdb0a4f1b", "name": "Main St", "parent_id": null,
        "product_transactions": [{"id": "pt-cc", "title": "Cards", "payment_method": "cc", "active": true},
                                 {"id": "pt-ach", "title": "ACH", "payment_method": "ach", "active": "0"}],
        "terminals": [{"id": "t1", "title": "Front desk"}]
    }]});
    let items: Vec<LocationInfo> = serde_json::from_value(body["locationinfos"].clone()).unwrap();
    assert_eq!(items[0].product_transactions[1].active, Some(false));
    insta::assert_debug_snapshot!("decoded_locationinfos", items);
}

#[tokio::test]
async fn a_422_body_decodes_into_field_messages() {
    let body = serde_json::json!({"errors": {
        "last_name": ["Last Name cannot be blank."],
        "zip": ["Zip should contain at least 4 characters.", "Zip is invalid."]
    }});
    let (client, _) = captured([Scripted::json(422, body)]);
    let err = client.contacts().get(CONTACT).send().await.unwrap_err();
    assert_eq!(err.field_errors("zip").map(<[_]>::len), Some(2));
    insta::assert_debug_snapshot!("decoded_422", err.validation_errors().unwrap());
    insta::assert_snapshot!("display_422", err.to_string());
}

#[tokio::test]
async fn a_list_page_keeps_its_meta() {
    let body = serde_json::json!({"contacts": [serde_json::from_str::<serde_json::Value>(CONTACT_BODY).unwrap()["contact"]],
        "meta": {"pagination": {"links": {"self": {"href": "https://h/v2/contacts?page=1"}, "last": {"href": "https://h/v2/contacts?page=1"}},
                 "totalCount": 1, "pageCount": 1, "currentPage": 0, "perPage": 20},
                 "sort": {"attributes": {"created_ts": "desc"}}}});
    let (client, _) = captured([Scripted::json(200, body)]);
    let page = client.contacts().list().send().await.unwrap();
    assert_eq!(page.items.len(), 1);
    insta::assert_debug_snapshot!("decoded_list_meta", page.meta);
}
