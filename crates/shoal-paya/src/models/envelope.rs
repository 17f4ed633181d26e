//! The wrapped bodies Paya sends and expects (`{"contact": …}`, `{"contacts": […], "meta": …}`)
//! and the list envelope's `meta.pagination`, whose keys are camelCase.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use shoal_core::{Error, Response, Result};

use super::contact::Link;

/// A body wrapped in its record's singular name, as Paya wants create and update bodies:
/// `{"contact": {…}}`.
#[derive(Debug, Serialize)]
pub(crate) struct ContactBody<'a, T: Serialize> {
    pub contact: &'a T,
}

/// A single record's response: `{"contact": {…}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ContactEnvelope<T> {
    pub contact: T,
}

/// The links of a list page: `self`, `first`, `previous`, `next`, `last`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PaginationLinks {
    /// This page.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<Link>,
    /// The next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    /// The last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Link>,
    /// Any other links, kept as sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `meta.pagination` of a list page. Whether `current_page` counts from 0 or 1 differs between
/// the vendor's examples, so nothing in this crate relies on it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Links to neighbouring pages.
    #[serde(default)]
    pub links: PaginationLinks,
    /// Records across all pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
    /// How many pages there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u64>,
    /// This page's number, 0- or 1-based depending on who you ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_page: Option<u64>,
    /// Records per page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
}

impl Pagination {
    /// The `page` query parameter of `links.next`, if there is a next link carrying one.
    pub fn next_page_number(&self) -> Option<u32> {
        let href = &self.links.next.as_ref()?.href;
        let query = href.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
    }
}

/// The `meta` of a list page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListMeta {
    /// Paging details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    /// The sort applied, as the server reports it (`{"attributes": {"created_ts": "desc"}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Value>,
    /// Anything else in `meta`.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One page of a list: its records and `meta`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListPage<T> {
    /// The records, in server order.
    pub items: Vec<T>,
    /// Paging and sort details.
    pub meta: ListMeta,
}

impl<T> ListPage<T> {
    /// `meta.pagination`, or an empty one.
    pub fn pagination(&self) -> Pagination {
        self.meta.pagination.clone().unwrap_or_default()
    }
}

/// Decodes a list envelope strictly: its shape is this crate's reading of the contract, so a body
/// without the `plural` array is an error naming the keys it did have — never an empty list.
pub(crate) fn strict<T: serde::de::DeserializeOwned>(
    response: &Response,
    plural: &str,
) -> Result<T> {
    // The envelopes require their array: a decode that succeeds had it, and only a failure
    // pays for reading the keys.
    response.json().map_err(|e| {
        let aliases = [plural, "locationInfos", "location_infos"];
        match shoal_core::keys_lacking(&response.body, &aliases) {
            Some(keys) => Error::Decode {
                request: response.request().clone(),
                path: plural.to_string(),
                message: format!(
                    "the list has no `{plural}` array (its keys: {}); refused rather than taken as empty",
                    shoal_core::shown_keys(keys.iter().map(String::as_str))
                ),
            },
            None => e,
        }
    })
}

/// `{"contacts": […], "meta": {…}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ContactsEnvelope<T> {
    pub contacts: Vec<T>,
    #[serde(default)]
    pub meta: ListMeta,
}

/// `{"locationinfos": […], "meta": {…}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct LocationInfosEnvelope<T> {
    #[serde(alias = "locationInfos", alias = "location_infos")]
    pub locationinfos: Vec<T>,
    #[serde(default)]
    pub meta: ListMeta,
}

/// Decides which page comes after page `page` (1-based, as this crate asks for it), without
/// trusting `currentPage`: stop on an empty or short page, when `page` reaches `pageCount`, or
/// when `page × perPage` reaches `totalCount`; otherwise go on — to `links.next`'s `page`, else
/// `page + 1`. A server that gives no hints at all costs one extra (empty) request after a full
/// last page, never a missed record.
///
/// The server's own hints are held against it: a page that comes back short (or empty) while
/// `pageCount` or `totalCount` say more follow, or a `links.next` that points at this page or an
/// earlier one, is an error (`Err` with the reason), never the quiet end of the listing.
pub(crate) fn next_page(
    page: u32,
    returned: usize,
    asked_size: Option<u32>,
    pagination: Option<&Pagination>,
) -> std::result::Result<Option<u32>, String> {
    let per_page = asked_size
        .map(u64::from)
        .or_else(|| pagination.and_then(|p| p.per_page));
    let short = returned == 0 || per_page.is_some_and(|size| (returned as u64) < size);
    let counted_pages = pagination.and_then(|p| p.page_count);
    let counted_total = pagination.and_then(|p| p.total_count);
    let size = per_page.unwrap_or(returned as u64);
    let pages_say_more = counted_pages.is_some_and(|count| u64::from(page) < count);
    let total_says_more = counted_total.is_some_and(|total| {
        let before = u64::from(page.saturating_sub(1)).saturating_mul(size);
        before.saturating_add(returned as u64) < total
    });
    if short {
        if pages_say_more || total_says_more {
            return Err(format!(
                "page {page} came back with {returned} record(s) although the listing says more follow (pageCount {}, totalCount {}); stopping instead of ending early",
                counted_pages.map_or("-".into(), |c| c.to_string()),
                counted_total.map_or("-".into(), |c| c.to_string()),
            ));
        }
        return Ok(None);
    }
    if counted_pages.is_some_and(|count| u64::from(page) >= count)
        || counted_total.is_some_and(|total| u64::from(page).saturating_mul(size) >= total)
    {
        return Ok(None);
    }
    match pagination.and_then(Pagination::next_page_number) {
        Some(n) if n <= page => Err(format!(
            "the next link of page {page} points at page {n}: the listing would loop"
        )),
        Some(n) => Ok(Some(n)),
        None => Ok(page.checked_add(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pagination(json: Value) -> Pagination {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_documented_envelope_decodes() {
        let body = serde_json::json!({
            "contacts": [{"last_name": "A"}],
            "meta": {"pagination": {"links": {"self": {"href": "/v2/contacts?page=1"}, "next": {"href": "/v2/contacts?page=2&page_size=20"}, "last": {"href": "/v2/contacts?page=3"}},
                                    "totalCount": 57, "pageCount": 3, "currentPage": 1, "perPage": 20},
                     "sort": {"attributes": {"created_ts": "desc"}}}
        });
        let env: ContactsEnvelope<Value> = serde_json::from_value(body).unwrap();
        let p = env.meta.pagination.unwrap();
        assert_eq!(
            (p.total_count, p.page_count, p.per_page),
            (Some(57), Some(3), Some(20))
        );
        assert_eq!(p.next_page_number(), Some(2));
        assert_eq!(env.meta.sort.unwrap()["attributes"]["created_ts"], "desc");
    }

    #[test]
    fn next_page_ignores_current_page_either_base() {
        for current in [0, 1] {
            let p = pagination(
                serde_json::json!({"links": {"next": {"href": "https://h/v2/contacts?page=2"}}, "pageCount": 3, "currentPage": current, "perPage": 20}),
            );
            assert_eq!(next_page(1, 20, Some(20), Some(&p)), Ok(Some(2)));
        }
        let last = pagination(serde_json::json!({"links": {}, "pageCount": 3, "currentPage": 2}));
        assert_eq!(
            next_page(3, 20, Some(20), Some(&last)),
            Ok(None),
            "page reached pageCount"
        );
        let short = pagination(serde_json::json!({"links": {"next": {"href": "?page=4"}}}));
        assert_eq!(
            next_page(3, 17, Some(20), Some(&short)),
            Ok(None),
            "a short page is the last"
        );
        assert_eq!(
            next_page(1, 0, None, None),
            Ok(None),
            "an empty page is the last"
        );
        let stale = pagination(serde_json::json!({"links": {"next": {"href": "?page=1"}}}));
        assert!(
            next_page(1, 20, Some(20), Some(&stale)).is_err(),
            "a next link that points back would loop"
        );
        let bare = pagination(serde_json::json!({"links": {}}));
        assert_eq!(
            next_page(1, 20, Some(20), Some(&bare)),
            Ok(Some(2)),
            "no hints: a full page may have a successor"
        );
        let counted = pagination(serde_json::json!({"links": {}, "totalCount": 40, "perPage": 20}));
        assert_eq!(
            next_page(2, 20, None, Some(&counted)),
            Ok(None),
            "totalCount reached"
        );
        let early = pagination(
            serde_json::json!({"links": {}, "totalCount": 57, "pageCount": 3, "perPage": 20}),
        );
        assert!(
            next_page(2, 3, Some(20), Some(&early)).is_err(),
            "a short page before pageCount"
        );
        assert!(
            next_page(1, 0, Some(20), Some(&early)).is_err(),
            "an empty page while totalCount says 57"
        );
    }

    proptest::proptest! {
        #[test]
        fn every_record_once_whatever_the_split_and_hints(
            total in 0usize..250, size in 1u32..=100, zero_based: bool, with_next: bool, with_count: bool, with_total: bool
        ) {
            let pages = (total as u64).div_ceil(u64::from(size));
            let mut seen = 0usize;
            let mut page = Some(1u32);
            let mut requests = 0;
            while let Some(n) = page {
                requests += 1;
                proptest::prop_assert!(requests <= pages + 2, "runaway paging");
                let start = (n as usize - 1) * size as usize;
                let returned = total.saturating_sub(start).min(size as usize);
                seen += returned;
                let more = u64::from(n) < pages;
                let p = Pagination {
                    links: PaginationLinks {
                        next: (with_next && more).then(|| Link { href: format!("https://h/v2/contacts?page={}", n + 1) }),
                        ..PaginationLinks::default()
                    },
                    page_count: with_count.then_some(pages),
                    current_page: Some(u64::from(n) - u64::from(zero_based)),
                    per_page: Some(u64::from(size)),
                    total_count: with_total.then_some(total as u64),
                };
                page = next_page(n, returned, Some(size), Some(&p)).unwrap();
            }
            // Without any hint a full last page costs one extra (empty) request, never a record twice.
            proptest::prop_assert_eq!(seen, total);
        }
    }
}
