//! Location info: the locations the credentials reach, with their deposit accounts — how an
//! integration discovers its `location_id`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::{serde_as, skip_serializing_none};

use super::contact::Links;
use super::wire_format::FlagOneZero;

/// A deposit account ("product transaction") of a location.
#[serde_as]
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProductTransaction {
    /// Its id.
    pub id: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// `cc` or `ach`.
    pub payment_method: Option<String>,
    /// Whether it is active (boolean or `"1"`/`"0"`).
    #[serde_as(as = "Option<FlagOneZero>")]
    #[serde(default)]
    pub active: Option<bool>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A location the user can reach.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LocationInfo {
    /// The location id: use it as a contact's `location_id`.
    pub id: Option<String>,
    /// The location's name.
    pub name: Option<String>,
    /// The parent location, for child locations.
    pub parent_id: Option<String>,
    /// Its deposit accounts.
    #[serde(default)]
    pub product_transactions: Vec<ProductTransaction>,
    /// Its terminals, when asked for with [`LocationInfoQuery::expand_terminals`](crate::LocationInfoQuery::expand_terminals).
    pub terminals: Option<Vec<Value>>,
    /// Links to this record.
    #[serde(rename = "_links")]
    pub links: Option<Links>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Which locations to list, relative to the user's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Relationship {
    /// Every location reachable.
    All,
    /// The user's own locations (the server's default).
    Direct,
    /// Only child locations.
    Child,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_with_accounts_decodes_and_keeps_extras() {
        let l: LocationInfo = serde_json::from_value(serde_json::json!({
            "id": "11e95f8ec39de8fbdb0a4f1b", "name": "Main St",
            "product_transactions": [{"id": "pt1", "payment_method": "cc", "active": "1", "processor": "x"}],
            "terminals": [{"id": "t1"}], "branding_domain_id": null
        }))
        .unwrap();
        assert_eq!(l.product_transactions[0].active, Some(true));
        assert_eq!(l.product_transactions[0].extra["processor"], "x");
        assert_eq!(l.terminals.as_ref().map(Vec::len), Some(1));
        assert!(l.extra.contains_key("branding_domain_id"));
    }
}
