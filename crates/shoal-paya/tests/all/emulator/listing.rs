//! Paging over the 57 seeded contacts, sorted both ways, and location infos with filters.

use std::collections::HashSet;

use futures_util::TryStreamExt;
use shoal_paya::{Contact, ContactField, ContactQuery, PayaClient, Relationship, SortOrder};

use crate::support::every_contact;

use super::{Auth, SEEDED, start};

async fn stream_sorted(
    client: &PayaClient,
    field: ContactField,
    order: SortOrder,
) -> Vec<Vec<Contact>> {
    client
        .contacts()
        .list()
        .sort(field, order)
        .page_size(20)
        .by_page()
        .map_ok(|p| p.items)
        .try_collect()
        .await
        .expect("every page")
}

#[tokio::test]
async fn fifty_seven_contacts_stream_over_three_pages_sorted_as_asked() {
    let (_clock, emu, client) = start(Auth::Headers).await;
    assert_eq!(emu.contacts().len(), SEEDED, "the emulator seeds 57");
    let seeded: HashSet<String> = emu
        .contacts()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();

    let pages = stream_sorted(&client, ContactField::LastName, SortOrder::Ascending).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [20, 20, 17]);
    let all: Vec<Contact> = pages.into_iter().flatten().collect();
    let ids: HashSet<String> = all.iter().map(|c| c.id.clone().unwrap()).collect();
    assert_eq!(ids, seeded, "57 unique contacts, every seeded one");
    let names: Vec<String> = all.iter().map(|c| c.last_name.clone().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "ascending by last name");
    assert_ne!(names.first(), names.last());
    let gets = emu.traffic().matching("GET", "/v2/contacts");
    let queries: Vec<String> = gets.iter().map(|r| r.query.clone().unwrap()).collect();
    assert_eq!(queries.len(), 3, "{queries:?}");
    for (n, q) in queries.iter().enumerate() {
        let mut parts: Vec<&str> = q.split('&').collect();
        parts.sort();
        let page = format!("page={}", n + 1);
        assert_eq!(parts, [page.as_str(), "page_size=20", "sort=last_name"]);
    }

    let pages = stream_sorted(&client, ContactField::CreatedTs, SortOrder::Descending).await;
    assert_eq!(pages.len(), 3);
    let all: Vec<Contact> = pages.into_iter().flatten().collect();
    assert_eq!(all.len(), SEEDED);
    let stamps: Vec<_> = all.iter().map(|c| c.created_ts.unwrap()).collect();
    assert!(
        stamps.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first: {stamps:?}"
    );
    let last = emu.traffic().matching("GET", "/v2/contacts");
    assert!(
        last[3]
            .query
            .as_deref()
            .unwrap()
            .contains("sort=-created_ts")
    );

    // The same 57 through the flat stream.
    let flat = every_contact(client.contacts().list()).await;
    let unique: HashSet<_> = flat.iter().map(|c| c.id.clone()).collect();
    assert_eq!((flat.len(), unique.len()), (SEEDED, SEEDED));
}

#[tokio::test]
async fn location_infos_are_listed_with_filters() {
    let (_clock, emu, client) = start(Auth::Basic).await;
    let infos = client.location_infos();
    let root = emu.endpoints().location_id.clone();

    let direct = infos.list().send().await.unwrap();
    let ids: Vec<_> = direct.items.iter().map(|l| l.id.clone().unwrap()).collect();
    assert_eq!(
        ids,
        std::slice::from_ref(&root),
        "the default is direct locations"
    );
    assert_eq!(direct.items[0].product_transactions.len(), 2);
    assert!(direct.items[0].terminals.is_none());

    let all = infos
        .list()
        .relationship(Relationship::All)
        .send()
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3);
    let children = infos
        .list()
        .relationship(Relationship::Child)
        .expand_terminals()
        .send()
        .await
        .unwrap();
    assert_eq!(children.items.len(), 2);
    for l in &children.items {
        assert_eq!(l.parent_id.as_deref(), Some(root.as_str()));
        assert_eq!(l.terminals.as_ref().map(Vec::len), Some(1));
        assert_eq!(l.extra["relationship"], "child");
    }

    let by_activity = |active| {
        infos
            .list()
            .relationship(Relationship::All)
            .product_transaction_active(active)
    };
    let inactive = by_activity(false).send().await.unwrap();
    let accounts: Vec<_> = inactive
        .items
        .iter()
        .flat_map(|l| &l.product_transactions)
        .collect();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0].active, Some(false));
    assert_eq!(accounts[0].payment_method.as_deref(), Some("ach"));
    let active = by_activity(true).send().await.unwrap();
    let n: usize = active
        .items
        .iter()
        .map(|l| l.product_transactions.len())
        .sum();
    assert_eq!(n, 5);
    assert!(
        active
            .items
            .iter()
            .flat_map(|l| &l.product_transactions)
            .all(|p| p.active == Some(true))
    );

    let queries: Vec<Option<String>> = emu
        .traffic()
        .matching("GET", "/v2/locationinfos")
        .into_iter()
        .map(|r| r.query)
        .collect();
    assert_eq!(
        queries,
        [
            None,
            Some("relationship=all".into()),
            Some("relationship=child&expand=terminals".into()),
            Some("relationship=all&product_transaction_active=0".into()),
            Some("relationship=all&product_transaction_active=1".into()),
        ]
    );
    let with_query = ContactQuery::new().contact_api_id("crm-0003");
    let found = client
        .contacts()
        .list()
        .query(with_query)
        .send()
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].location_id.as_deref(), Some(root.as_str()));
}
