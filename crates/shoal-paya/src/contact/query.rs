//! [`ContactQuery`]: the typed query of `GET /v2/contacts` — filters by field, sort, expand and
//! paging — which serializes to exactly the query string sent.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use shoal_core::{Error, Result};

use super::model::ContactExpand;

/// The largest `page_size` accepted *(assumed from the contract: the vendor does not document it)*.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A column name that is not a documented contact field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownContactField(pub String);

impl std::fmt::Display for UnknownContactField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown contact field {:?}", self.0)
    }
}

impl std::error::Error for UnknownContactField {}

impl std::str::FromStr for ContactField {
    type Err = UnknownContactField;
    /// Parses the wire name (`last_name`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ContactField::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| UnknownContactField(name.to_string()))
    }
}

/// A contact column, for filters and sorting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the snake_case column of the same name
pub enum ContactField {
    Id,
    LocationId,
    AccountNumber,
    ContactApiId,
    CompanyName,
    FirstName,
    LastName,
    Email,
    Address,
    City,
    State,
    Zip,
    HomePhone,
    CellPhone,
    OfficePhone,
    OfficeExtPhone,
    ContactBalance,
    ContactC1,
    ContactC2,
    ContactC3,
    DateOfBirth,
    EmailTrxReceipt,
    HeaderMessage,
    HeaderMessageType,
    CreatedTs,
    ModifiedTs,
}

impl ContactField {
    /// Every column, in the documented order.
    pub const ALL: [ContactField; 26] = [
        ContactField::Id,
        ContactField::LocationId,
        ContactField::AccountNumber,
        ContactField::ContactApiId,
        ContactField::CompanyName,
        ContactField::FirstName,
        ContactField::LastName,
        ContactField::Email,
        ContactField::Address,
        ContactField::City,
        ContactField::State,
        ContactField::Zip,
        ContactField::HomePhone,
        ContactField::CellPhone,
        ContactField::OfficePhone,
        ContactField::OfficeExtPhone,
        ContactField::ContactBalance,
        ContactField::ContactC1,
        ContactField::ContactC2,
        ContactField::ContactC3,
        ContactField::DateOfBirth,
        ContactField::EmailTrxReceipt,
        ContactField::HeaderMessage,
        ContactField::HeaderMessageType,
        ContactField::CreatedTs,
        ContactField::ModifiedTs,
    ];

    /// The column name on the wire.
    pub fn as_str(self) -> &'static str {
        use ContactField::*;
        match self {
            Id => "id",
            LocationId => "location_id",
            AccountNumber => "account_number",
            ContactApiId => "contact_api_id",
            CompanyName => "company_name",
            FirstName => "first_name",
            LastName => "last_name",
            Email => "email",
            Address => "address",
            City => "city",
            State => "state",
            Zip => "zip",
            HomePhone => "home_phone",
            CellPhone => "cell_phone",
            OfficePhone => "office_phone",
            OfficeExtPhone => "office_ext_phone",
            ContactBalance => "contact_balance",
            ContactC1 => "contact_c1",
            ContactC2 => "contact_c2",
            ContactC3 => "contact_c3",
            DateOfBirth => "date_of_birth",
            EmailTrxReceipt => "email_trx_receipt",
            HeaderMessage => "header_message",
            HeaderMessageType => "header_message_type",
            CreatedTs => "created_ts",
            ModifiedTs => "modified_ts",
        }
    }
}

/// Which way a sort runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

    /// Which page (1-based). Streams set this themselves.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Contacts per page (1 to [`MAX_PAGE_SIZE`]).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// The page size asked for, if any.
    pub fn requested_page_size(&self) -> Option<u32> {
        self.page_size
    }

    /// The page asked for, if any.
    pub fn requested_page(&self) -> Option<u32> {
        self.page
    }

    /// Checks `page` ≥ 1 and `page_size` within 1 to [`MAX_PAGE_SIZE`].
    pub fn validate(&self) -> Result<()> {
        if let Some(size) = self.page_size {
            crate::validate::range("page_size", size, 1, MAX_PAGE_SIZE)?;
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
    #[test]
    fn every_field_parses_from_its_wire_name() {
        for f in super::ContactField::ALL {
            assert_eq!(f.as_str().parse::<super::ContactField>(), Ok(f));
        }
        assert!("nope".parse::<super::ContactField>().is_err());
    }

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
