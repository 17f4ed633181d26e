//! Location info (`GET /v2/locationinfos`): the locations the credentials reach — how an
//! integration discovers its `location_id`.

use serde::{Serialize, Serializer};
use shoal_core::{Pipeline, Request, Result};

use crate::client::PayaClient;
use crate::models::envelope::{ListPage, LocationInfosEnvelope, strict};
use crate::models::location_info::{LocationInfo, Relationship};

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
    shoal_core::builder_setters! {
        /// Which locations, relative to the user's own.
        relationship(relationship: Relationship) => relationship = Some(relationship);
        /// Only locations whose deposit accounts are (`true`) or are not (`false`) active.
        product_transaction_active(active: bool) => product_transaction_active = Some(active);
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
#[derive(Clone, Copy, Debug)]
pub struct LocationInfos<'a> {
    client: &'a PayaClient,
}

impl<'a> LocationInfos<'a> {
    pub(crate) fn new(client: &'a PayaClient) -> Self {
        Self { client }
    }

    /// `GET /v2/locationinfos`.
    pub fn list(&self) -> ListLocationInfos {
        ListLocationInfos {
            pipeline: self.client.pipeline().clone(),
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
    query_setters! {
        /// Which locations, relative to the user's own.
        relationship(relationship: Relationship);
        /// Only locations whose deposit accounts are (or are not) active.
        product_transaction_active(active: bool);
        /// Embeds each location's terminals.
        expand_terminals();
    }
    /// The request this sends (before credentials).
    pub fn request(&self) -> Result<Request> {
        Request::get("v2/locationinfos").query_struct(&self.query)
    }
    /// Sends it.
    pub async fn send(self) -> Result<ListPage<LocationInfo>> {
        let response = self.pipeline.execute(self.request()?).await?;
        let env: LocationInfosEnvelope<LocationInfo> = strict(&response, "locationinfos")?;
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
