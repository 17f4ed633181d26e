//! Location info (`GET /v2/locationinfos`): the locations the credentials reach, with their
//! deposit accounts — how an integration discovers its `location_id`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use serde_with::{serde_as, skip_serializing_none};
use shoal_core::{Pipeline, Request, Result};

use crate::contact::model::Links;
use crate::wire::{ListPage, LocationInfosEnvelope};
use crate::wire_format::FlagOneZero;

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
    /// Its terminals, when asked for with [`LocationInfoQuery::expand_terminals`].
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

fn one_zero<S: Serializer>(value: &Option<bool>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(true) => serializer.serialize_str("1"),
        Some(false) => serializer.serialize_str("0"),
        None => serializer.serialize_none(),
    }
}

fn terminals<S: Serializer>(_: &bool, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("terminals")
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The query of a location-info list.
///
/// ```
/// use shoal_paya::{LocationInfoQuery, Relationship};
/// let q = LocationInfoQuery::new().relationship(Relationship::All).product_transaction_active(true).expand_terminals();
/// assert_eq!(q.to_query_string()?, "relationship=all&product_transaction_active=1&expand=terminals");
/// # Ok::<_, shoal_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LocationInfoQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship: Option<Relationship>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "one_zero")]
    product_transaction_active: Option<bool>,
    #[serde(
        rename = "expand",
        skip_serializing_if = "is_false",
        serialize_with = "terminals"
    )]
    expand_terminals: bool,
}

impl LocationInfoQuery {
    /// The server's defaults (direct locations, every deposit account).
    pub fn new() -> Self {
        Self::default()
    }
    /// Which locations, relative to the user's own.
    pub fn relationship(mut self, relationship: Relationship) -> Self {
        self.relationship = Some(relationship);
        self
    }
    /// Only locations whose deposit accounts are (`true`) or are not (`false`) active.
    pub fn product_transaction_active(mut self, active: bool) -> Self {
        self.product_transaction_active = Some(active);
        self
    }
    /// Embeds each location's terminals.
    pub fn expand_terminals(mut self) -> Self {
        self.expand_terminals = true;
        self
    }
    /// The query string this sends (without credentials).
    pub fn to_query_string(&self) -> Result<String> {
        let req = Request::get("").query_struct(self)?;
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(req.query_pairs().iter());
        Ok(s.finish())
    }
}

/// Location-info operations: `client.location_infos()`.
#[derive(Clone, Debug)]
pub struct LocationInfos {
    pipeline: Pipeline,
}

impl LocationInfos {
    pub(crate) fn new(pipeline: Pipeline) -> Self {
        Self { pipeline }
    }

    /// `GET /v2/locationinfos`.
    pub fn list(&self) -> ListLocationInfos {
        ListLocationInfos {
            pipeline: self.pipeline.clone(),
            query: LocationInfoQuery::new(),
        }
    }
}

/// A pending `GET /v2/locationinfos`; finish with [`send`](Self::send).
#[derive(Clone, Debug)]
pub struct ListLocationInfos {
    pipeline: Pipeline,
    query: LocationInfoQuery,
}

impl ListLocationInfos {
    /// Replaces the whole query.
    pub fn query(mut self, query: LocationInfoQuery) -> Self {
        self.query = query;
        self
    }
    /// Which locations, relative to the user's own.
    pub fn relationship(mut self, relationship: Relationship) -> Self {
        self.query = self.query.relationship(relationship);
        self
    }
    /// Only locations whose deposit accounts are (or are not) active.
    pub fn product_transaction_active(mut self, active: bool) -> Self {
        self.query = self.query.product_transaction_active(active);
        self
    }
    /// Embeds each location's terminals.
    pub fn expand_terminals(mut self) -> Self {
        self.query = self.query.expand_terminals();
        self
    }
    /// The request this sends (before credentials).
    pub fn request(&self) -> Result<Request> {
        Request::get("v2/locationinfos").query_struct(&self.query)
    }
    /// Sends it.
    pub async fn send(self) -> Result<ListPage<LocationInfo>> {
        let env: LocationInfosEnvelope<LocationInfo> = self.pipeline.json(self.request()?).await?;
        Ok(ListPage {
            items: env.locationinfos,
            meta: env.meta,
        })
    }
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

    #[test]
    fn the_default_query_is_empty_and_filters_serialize() {
        assert_eq!(LocationInfoQuery::new().to_query_string().unwrap(), "");
        let q = LocationInfoQuery::new()
            .relationship(Relationship::Child)
            .product_transaction_active(false);
        assert_eq!(
            q.to_query_string().unwrap(),
            "relationship=child&product_transaction_active=0"
        );
    }
}
