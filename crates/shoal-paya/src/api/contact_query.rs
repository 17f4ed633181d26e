//! [`ContactQuery`]: the typed query of `GET /v2/contacts` — filters by field, sort, expand and
//! paging — which serializes to exactly the query string sent.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use shoal_core::{Error, Result};

use crate::models::contact::ContactExpand;
use crate::models::fields::ContactField;

/// The largest `page_size` accepted with input checks on *(assumed: the vendor does not document
/// it; the contract, `shared/api/paya.md` "Conventions", fixes 100)*. Turn the check off with
/// [`PayaClientBuilder::input_checks`](crate::PayaClientBuilder::input_checks).
pub const MAX_PAGE_SIZE: u32 = 100;

/// Which way a sort runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortOrder {
    /// Smallest first (`sort=field`).
    Ascending,
    /// Largest first (`sort=-field`).
    Descending,
}

/// A sort on one column; serializes as `field` or `-field`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sort {
    /// The column.
    pub field: ContactField,
    /// The direction.
    pub order: SortOrder,
}

impl Serialize for Sort {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.order {
            SortOrder::Ascending => serializer.serialize_str(self.field.as_str()),
            SortOrder::Descending => {
                serializer.collect_str(&format_args!("-{}", self.field.as_str()))
            }
        }
    }
}

fn join_expand<S: Serializer>(expand: &[ContactExpand], serializer: S) -> Result<S::Ok, S::Error> {
    let names: Vec<&str> = expand.iter().map(|e| e.as_str()).collect();
    serializer.serialize_str(&names.join(","))
}

/// The query of a contact list.
///
/// ```
/// use shoal_paya::{ContactExpand, ContactField, ContactQuery, SortOrder};
/// let q = ContactQuery::new()
///     .filter(ContactField::LastName, "Smith")
///     .sort(ContactField::CreatedTs, SortOrder::Descending)
///     .expand(ContactExpand::Notes)
///     .page_size(50);
/// assert_eq!(q.to_query_string()?, "last_name=Smith&sort=-created_ts&expand=notes&page_size=50");
/// # Ok::<_, shoal_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContactQuery {
    #[serde(flatten)]
    filters: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sort: Option<Sort>,
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "join_expand")]
    expand: Vec<ContactExpand>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_size: Option<u32>,
}

impl ContactQuery {
    /// Every contact, in the server's order, default page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only contacts whose `field` equals `value` (`?last_name=Smith`); one value per field.
    pub fn filter(mut self, field: ContactField, value: impl Into<String>) -> Self {
        self.filters.insert(field.as_str(), value.into());
        self
    }

    /// Only the contact with the merchant's own id: the way to check whether a create that
    /// failed ambiguously went through.
    pub fn contact_api_id(self, value: impl Into<String>) -> Self {
        self.filter(ContactField::ContactApiId, value)
    }

    /// Sorts by one column.
    pub fn sort(mut self, field: ContactField, order: SortOrder) -> Self {
        self.sort = Some(Sort { field, order });
        self
    }

    /// Embeds related records (may be called for several).
    pub fn expand(mut self, what: ContactExpand) -> Self {
        if !self.expand.contains(&what) {
            self.expand.push(what);
        }
        self
    }

    shoal_core::builder_setters! {
        /// Which page (1-based). Streams set this themselves.
        page(page: u32) => page = Some(page);
        /// Contacts per page (1 to [`MAX_PAGE_SIZE`], whose maximum is *assumed* — see there).
        page_size(page_size: u32) => page_size = Some(page_size);
    }

    /// The page size asked for, if any.
    pub fn requested_page_size(&self) -> Option<u32> {
        self.page_size
    }

    /// The page asked for, if any.
    pub fn requested_page(&self) -> Option<u32> {
        self.page
    }

    /// Checks `page` ≥ 1 and `page_size` within 1 to [`MAX_PAGE_SIZE`] (the maximum is
    /// assumed: with input checks off, only `page_size` ≥ 1 is checked).
    pub fn validate(&self) -> Result<()> {
        self.validate_with(true)
    }

    pub(crate) fn validate_with(&self, checks: bool) -> Result<()> {
        if let Some(size) = self.page_size {
            let max = if checks { MAX_PAGE_SIZE } else { u32::MAX };
            crate::models::validate::range("page_size", size, 1, max)?;
        }
        if self.page == Some(0) {
            return Err(Error::invalid("page", "pages count from 1"));
        }
        Ok(())
    }

    /// The query string this sends (without credentials).
    pub fn to_query_string(&self) -> Result<String> {
        let pairs = shoal_core::Request::get("").query_struct(self)?;
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.extend_pairs(pairs.query_pairs().iter());
        Ok(s.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascending_sort_several_expands_and_paging() {
        let q = ContactQuery::new()
            .filter(ContactField::State, "NY")
            .contact_api_id("crm-17")
            .sort(ContactField::LastName, SortOrder::Ascending)
            .expand(ContactExpand::CreatedUser)
            .expand(ContactExpand::Location)
            .expand(ContactExpand::Location)
            .page(2)
            .page_size(20);
        assert_eq!(
            q.to_query_string().unwrap(),
            "contact_api_id=crm-17&state=NY&sort=last_name&expand=created_user%2Clocation&page=2&page_size=20"
        );
        assert!(q.validate().is_ok());
    }

    #[test]
    fn page_limits_are_checked() {
        let field = |q: ContactQuery| match q.validate() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(ContactQuery::new().page_size(101)), "page_size");
        assert_eq!(field(ContactQuery::new().page_size(0)), "page_size");
        assert_eq!(field(ContactQuery::new().page(0)), "page");
        assert_eq!(ContactQuery::new().to_query_string().unwrap(), "");
    }
}
