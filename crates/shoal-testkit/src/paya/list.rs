//! Paya lists: `page`, `page_size`, `sort` (`-field` descending), column filters, `expand`, and
//! the `meta.pagination` envelope with its links.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::response::Response;
use http::StatusCode;
use http::request::Parts;
use serde_json::{Map, Value, json};

use super::PayaState;
use super::contacts::{
    READ_ONLY, RESERVED, SECRET, base_url, contact_json, expand_list, lock, one, unprocessable,
};
use super::validate::{FieldErrors, writable_fields};
use crate::wire::{form_map, json_response};

type Fields = Map<String, Value>;

fn link(base: &str, path: &str, query: &HashMap<String, String>, page: u64) -> Value {
    let mut pairs: Vec<(&String, &String)> = query
        .iter()
        .filter(|(k, _)| !SECRET.contains(&k.as_str()) && k.as_str() != "page")
        .collect();
    pairs.sort();
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.append_pair("page", &page.to_string());
    json!({"href": format!("{base}{path}?{}", ser.finish())})
}

/// The list envelope for `items` (already filtered and sorted): one page plus `meta`.
pub(crate) fn envelope(
    key: &str,
    items: Vec<Value>,
    base: &str,
    path: &str,
    query: &HashMap<String, String>,
    sort: Option<(&str, bool)>,
) -> Value {
    let per_page = query
        .get("page_size")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len() as u64;
    let page_count = total.div_ceil(per_page).max(1);
    let start = ((page - 1) * per_page).min(total) as usize;
    let slice: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(per_page as usize)
        .collect();
    let mut links = Map::new();
    links.insert("self".into(), link(base, path, query, page));
    links.insert("first".into(), link(base, path, query, 1));
    if page > 1 {
        links.insert(
            "prev".into(),
            link(base, path, query, (page - 1).min(page_count)),
        );
    }
    if page < page_count {
        links.insert("next".into(), link(base, path, query, page + 1));
    }
    links.insert("last".into(), link(base, path, query, page_count));
    let attributes = match sort {
        Some((f, desc)) => json!({ f: if desc { "desc" } else { "asc" } }),
        None => json!({}),
    };
    json!({
        key: slice,
        "meta": {
            "pagination": {"links": links, "totalCount": total, "pageCount": page_count, "currentPage": page, "perPage": per_page},
            "sort": {"attributes": attributes},
        },
    })
}

/// What a list handler reads from its request: the query map and the base of its links.
pub(crate) struct ListRequest {
    /// The query pairs (first value of a repeated key).
    pub query: HashMap<String, String>,
    /// `http://{Host}`, for `_links`.
    pub base: String,
}

impl<S: Sync> FromRequestParts<S> for ListRequest {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self {
            query: form_map(parts.uri.query().unwrap_or_default()),
            base: base_url(&parts.headers),
        })
    }
}

impl ListRequest {
    /// The page of `items` (already filtered and sorted) of the list at `/v2/{key}`, paginated as
    /// the emulator's listing shape says now.
    pub fn page(
        &self,
        st: &PayaState,
        key: &str,
        items: Vec<Value>,
        sort: Option<(&str, bool)>,
    ) -> Response {
        let path = format!("/v2/{key}");
        let mut body = envelope(key, items, &self.base, &path, &self.query, sort);
        reshape(&mut body, key, st.listing());
        json_response(StatusCode::OK, &body)
    }
}

/// How list pages are paginated: as documented, or in a way a client must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListingShape {
    /// `links.next` up to the last page; `totalCount` and `pageCount` agree with the pages.
    #[default]
    Documented,
    /// The listing stops early: from `last_page` on there is no `links.next`, and pages after it
    /// come back empty, while `totalCount` and `pageCount` still count every record.
    EndsEarly {
        /// The last page that carries records.
        last_page: u64,
    },
    /// From page 2 on, `links.next` is the page's own href: following it repeats forever.
    NextRepeats,
}

/// Rewrites a documented list envelope (`key` holding the items) into `shape`.
pub(crate) fn reshape(body: &mut Value, key: &str, shape: ListingShape) {
    let page = body["meta"]["pagination"]["currentPage"]
        .as_u64()
        .unwrap_or(1);
    let links = &mut body["meta"]["pagination"]["links"];
    match shape {
        ListingShape::Documented => {}
        ListingShape::EndsEarly { last_page } => {
            if page >= last_page {
                if let Some(l) = links.as_object_mut() {
                    l.remove("next");
                }
            }
            if page > last_page {
                body[key] = json!([]);
            }
        }
        ListingShape::NextRepeats => {
            if page >= 2 && links.get("next").is_some() {
                links["next"] = links["self"].clone();
            }
        }
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn filter_matches(v: Option<&Value>, wanted: &str) -> bool {
    match v {
        Some(Value::String(s)) => s == wanted,
        Some(Value::Number(n)) => n.to_string() == wanted,
        Some(Value::Bool(b)) => wanted == if *b { "1" } else { "0" } || wanted == b.to_string(),
        _ => wanted.is_empty(),
    }
}

/// `GET /v2/contacts?page&page_size&sort&<column>=…&expand`.
pub(crate) async fn list(State(st): State<Arc<PayaState>>, req: ListRequest) -> Response {
    let query = &req.query;
    let known = |f: &str| READ_ONLY.contains(&f) || writable_fields().any(|w| w == f);
    let sort = query.get("sort").map(|s| match s.strip_prefix('-') {
        Some(f) => (f, true),
        None => (s.as_str(), false),
    });
    if let Some((f, _)) = sort {
        if !known(f) {
            let mut e = FieldErrors::new();
            one(&mut e, "sort", format!("Unknown sort field: {f}"));
            return unprocessable(e);
        }
    }
    let filters: Vec<(&String, &String)> = query
        .iter()
        .filter(|(k, _)| !RESERVED.contains(&k.as_str()) && known(k))
        .collect();
    let g = lock(&st);
    let mut rows: Vec<&Fields> =
        g.0.iter()
            .filter(|c| !c.deleted)
            .map(|c| &c.fields)
            .filter(|f| {
                filters
                    .iter()
                    .all(|(k, v)| filter_matches(f.get(k.as_str()), v))
            })
            .collect();
    if let Some((field, desc)) = sort {
        rows.sort_by(|a, b| {
            let o = compare(a.get(field), b.get(field));
            if desc { o.reverse() } else { o }
        });
    }
    let expand = expand_list(query);
    let items: Vec<Value> = rows
        .iter()
        .map(|f| contact_json(&req.base, f, &expand))
        .collect();
    req.page(&st, "contacts", items, sort)
}
