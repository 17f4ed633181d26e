//! `GET /v2/locationinfos`: the seeded locations a user reaches, with their product transactions.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::PayaState;
use super::list::ListRequest;
use crate::synth::Synth;
use crate::wire::json_response;

/// A deposit account of a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductTransaction {
    /// 24-character id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// `cc` or `ach`.
    pub payment_method: String,
    /// Whether it can take transactions.
    pub active: bool,
}

/// A location the user reaches, directly or as a child of a direct one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// 24-character id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Parent location, for children.
    pub parent_id: Option<String>,
    /// `direct` or `child`.
    pub relationship: String,
    /// Deposit accounts.
    pub product_transactions: Vec<ProductTransaction>,
}

/// One direct location and two children, each with a card and an ACH account.
pub fn seeded_locations(seed: u64) -> Vec<Location> {
    let s = Synth::new(seed);
    let names = [
        "Example Labs HQ",
        "Example Labs North",
        "Example Labs South",
    ];
    let root = s.hex(61, 0, 24);
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let i = i as u64;
            Location {
                id: if i == 0 {
                    root.clone()
                } else {
                    s.hex(61, i, 24)
                },
                name: (*name).into(),
                parent_id: (i > 0).then(|| root.clone()),
                relationship: if i == 0 { "direct" } else { "child" }.into(),
                product_transactions: vec![
                    ProductTransaction {
                        id: s.hex(62, i * 2, 24),
                        title: format!("{name} Cards"),
                        payment_method: "cc".into(),
                        active: true,
                    },
                    ProductTransaction {
                        id: s.hex(62, i * 2 + 1, 24),
                        title: format!("{name} ACH"),
                        payment_method: "ach".into(),
                        active: i != 2,
                    },
                ],
            }
        })
        .collect()
}

/// A location as `locationinfos` shows it.
pub fn location_json(base: &str, loc: &Location, active: Option<bool>, terminals: bool) -> Value {
    let pts: Vec<Value> = loc
        .product_transactions
        .iter()
        .filter(|p| active.is_none_or(|a| a == p.active))
        .map(|p| json!({"id": p.id, "title": p.title, "payment_method": p.payment_method, "active": p.active, "location_id": loc.id}))
        .collect();
    let mut v = json!({
        "id": loc.id,
        "name": loc.name,
        "parent_id": loc.parent_id,
        "relationship": loc.relationship,
        "product_transactions": pts,
        "_links": {"self": {"href": format!("{base}/v2/locationinfos/{}", loc.id)}},
    });
    if terminals {
        v["terminals"] = json!([{"id": format!("{}t", &loc.id[..23]), "title": format!("{} Terminal", loc.name), "active": true}]);
    }
    v
}

/// `GET /v2/locationinfos?relationship=&product_transaction_active=&expand=terminals`.
pub(crate) async fn list(State(st): State<Arc<PayaState>>, req: ListRequest) -> Response {
    let query = &req.query;
    let mut errors = serde_json::Map::new();
    let relationship = query
        .get("relationship")
        .map(String::as_str)
        .unwrap_or("direct");
    if !matches!(relationship, "all" | "direct" | "child") {
        errors.insert("relationship".into(), json!(["Relationship is invalid."]));
    }
    let active = match query.get("product_transaction_active").map(String::as_str) {
        None => None,
        Some("1") => Some(true),
        Some("0") => Some(false),
        Some(_) => {
            errors.insert(
                "product_transaction_active".into(),
                json!(["Product Transaction Active is invalid."]),
            );
            None
        }
    };
    if !errors.is_empty() {
        return json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "errors": errors }),
        );
    }
    let terminals = query
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x == "terminals"));
    let items: Vec<Value> = st
        .locations
        .iter()
        .filter(|l| relationship == "all" || l.relationship == relationship)
        .map(|l| location_json(&req.base, l, active, terminals))
        .collect();
    req.page(&st, "locationinfos", items, None)
}
