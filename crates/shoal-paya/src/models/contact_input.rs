//! What a caller sends: [`NewContact`] for a create and [`ContactUpdate`] for a partial update,
//! each a set of fields checked against the documented limits before sending. Both are driven
//! by the one field declaration ([`ContactField`]): typed setters, [`set`](NewContact::set) by
//! name, and the checks.

use std::collections::BTreeMap;

use serde::Serialize;
use shoal_core::{Error, Result};

use super::fields::{Access, ContactField, FieldValue};

/// The fields set so far, in the declaration's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Fields(BTreeMap<ContactField, FieldValue>);

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(f, v)| (f.as_str(), v)))
    }
}

impl Fields {
    fn check(&self) -> Result<()> {
        self.0
            .iter()
            .try_for_each(|(field, value)| field.rule().check(field.as_str(), value))
    }

    fn text(&self, field: ContactField) -> Option<&str> {
        match self.0.get(&field)? {
            FieldValue::Text(s) => Some(s),
            _ => None,
        }
    }
}

fn settable(field: ContactField, create: bool) -> Result<()> {
    match (field.access(), create) {
        (Access::ReadOnly, _) => Err(Error::invalid(
            field.as_str(),
            "is set by the server and cannot be written",
        )),
        (Access::CreateOnly, false) => {
            Err(Error::invalid(field.as_str(), "can be set on create only"))
        }
        _ => Ok(()),
    }
}

/// A contact to create: `location_id` and `last_name` are required, the rest optional.
///
/// ```
/// use shoal_paya::{ContactField, NewContact};
/// let c = NewContact::new("11e95f8ec39de8fbdb0a4f1b", "Smith").first_name("Ann").state("NY");
/// assert!(c.validate().is_ok());
/// let bad = c.clone().cell_phone("555-1234");
/// assert_eq!(bad.validate().unwrap_err().to_string(), "invalid cell_phone: must be exactly 10 digits (got 8 characters)");
/// let by_name = c.set(ContactField::Zip, "10001")?;
/// assert_eq!(by_name.get(ContactField::Zip), Some("10001"));
/// # Ok::<_, shoal_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewContact {
    #[serde(flatten)]
    fields: Fields,
}

impl NewContact {
    /// A contact with the two required fields.
    pub fn new(location_id: impl Into<String>, last_name: impl Into<String>) -> Self {
        let mut fields = BTreeMap::new();
        fields.insert(
            ContactField::LocationId,
            FieldValue::Text(location_id.into()),
        );
        fields.insert(ContactField::LastName, FieldValue::Text(last_name.into()));
        Self {
            fields: Fields(fields),
        }
    }

    pub(crate) fn put(mut self, field: ContactField, value: FieldValue) -> Self {
        self.fields.0.insert(field, value);
        self
    }

    /// Sets a field by name from text, as a person types it (see
    /// [`ContactField::parse_value`]); a read-only field is refused.
    pub fn set(self, field: ContactField, text: &str) -> Result<Self> {
        settable(field, true)?;
        Ok(self.put(field, field.parse_value(text)?))
    }

    /// The text of a field, when it is set to text.
    pub fn get(&self, field: ContactField) -> Option<&str> {
        self.fields.text(field)
    }

    /// The merchant's own id, when set.
    pub fn contact_api_id_value(&self) -> Option<&str> {
        self.get(ContactField::ContactApiId)
    }

    /// Checks every field against its limit (documented, or *assumed* where
    /// [`FieldRule`](crate::FieldRule) says so). A client sending the contact runs this unless
    /// its input checks are off.
    pub fn validate(&self) -> Result<()> {
        for required in [ContactField::LocationId, ContactField::LastName] {
            if !self.fields.0.contains_key(&required) {
                return Err(Error::invalid(required.as_str(), "is required on create"));
            }
        }
        self.fields.check()
    }
}

/// A partial update: only the fields set here are sent; the rest stay as they are on the server.
/// (`location_id` cannot be changed.) Set a field to `""` to clear it where the limits allow.
///
/// ```
/// use shoal_paya::ContactUpdate;
/// let u = ContactUpdate::new().email("ann@example.test").email_trx_receipt(true);
/// assert_eq!(serde_json::to_string(&u)?, r#"{"email":"ann@example.test","email_trx_receipt":"1"}"#);
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContactUpdate {
    #[serde(flatten)]
    fields: Fields,
}

impl ContactUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn put(mut self, field: ContactField, value: FieldValue) -> Self {
        self.fields.0.insert(field, value);
        self
    }

    /// Sets a field by name from text (see [`ContactField::parse_value`]); read-only and
    /// create-only fields are refused.
    pub fn set(self, field: ContactField, text: &str) -> Result<Self> {
        settable(field, false)?;
        Ok(self.put(field, field.parse_value(text)?))
    }

    /// The text of a field, when it is set to text.
    pub fn get(&self, field: ContactField) -> Option<&str> {
        self.fields.text(field)
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.fields.0.is_empty()
    }

    /// Checks every set field against its limit (documented, or *assumed* where
    /// [`FieldRule`](crate::FieldRule) says so). A client sending the update runs this unless
    /// its input checks are off.
    pub fn validate(&self) -> Result<()> {
        if let Some(f) = self
            .fields
            .0
            .keys()
            .find(|f| f.access() != Access::Writable)
        {
            settable(*f, false)?;
        }
        self.fields.check()
    }
}

#[cfg(test)]
mod tests {
    use shoal_core::Error;

    use super::*;

    const LOC: &str = "11e95f8ec39de8fbdb0a4f1b";

    fn field(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("expected an invalid-input error, got {other:?}"),
        }
    }

    #[test]
    fn every_documented_limit_names_its_field() {
        let base = || NewContact::new(LOC, "Smith");
        let long = |n: usize| "x".repeat(n);
        let cases: Vec<(NewContact, &str)> = vec![
            (NewContact::new("short", "Smith"), "location_id"),
            (NewContact::new(long(37), "Smith"), "location_id"),
            (NewContact::new(LOC, ""), "last_name"),
            (NewContact::new(LOC, long(65)), "last_name"),
            (base().first_name(long(65)), "first_name"),
            (base().company_name(long(65)), "company_name"),
            (base().account_number(long(33)), "account_number"),
            (base().contact_api_id(long(37)), "contact_api_id"),
            (base().email("a@b"), "email"),
            (base().email(format!("{}@b.c", long(61))), "email"),
            (base().address(long(256)), "address"),
            (base().city(long(101)), "city"),
            (base().state("New York"), "state"),
            (base().zip("123"), "zip"),
            (base().zip("12#45"), "zip"),
            (base().home_phone("123456789"), "home_phone"),
            (base().cell_phone("12345678901"), "cell_phone"),
            (base().office_phone("12345abcde"), "office_phone"),
            (base().office_ext_phone(long(11)), "office_ext_phone"),
            (base().contact_balance("1234567890123"), "contact_balance"),
            (base().contact_c1(long(129)), "contact_c1"),
            (base().contact_c2(long(129)), "contact_c2"),
            (base().contact_c3(long(129)), "contact_c3"),
            (base().date_of_birth("04/01/1990"), "date_of_birth"),
            (base().header_message(long(251)), "header_message"),
            (base().header_message_type(5), "header_message_type"),
        ];
        for (contact, expected) in cases {
            assert_eq!(field(contact.validate()), expected);
        }
        let full = base()
            .first_name(long(64))
            .email("ann@example.test")
            .zip("SW1A 1AA")
            .cell_phone("5551234567")
            .date_of_birth("1990-04-01")
            .header_message_type(4)
            .contact_balance("123456789012");
        assert!(full.validate().is_ok());
    }

    #[test]
    fn an_update_sends_only_what_is_set_and_checks_it() {
        let u = ContactUpdate::new().last_name("Jones").zip("10001");
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            serde_json::json!({"last_name": "Jones", "zip": "10001"})
        );
        assert!(u.validate().is_ok());
        assert!(ContactUpdate::new().is_empty());
        assert_eq!(
            field(ContactUpdate::new().last_name("").validate()),
            "last_name"
        );
        assert_eq!(field(ContactUpdate::new().state("n").validate()), "state");
    }

    #[test]
    fn fields_set_by_name_follow_their_access_and_rule() {
        let c = NewContact::new(LOC, "Smith")
            .set(ContactField::EmailTrxReceipt, "1")
            .unwrap()
            .set(ContactField::HeaderMessageType, "2")
            .unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"location_id": LOC, "last_name": "Smith", "email_trx_receipt": "1", "header_message_type": 2})
        );
        assert_eq!(
            field(
                NewContact::new(LOC, "S")
                    .set(ContactField::Id, "x")
                    .map(|_| ())
            ),
            "id"
        );
        assert_eq!(
            field(
                ContactUpdate::new()
                    .set(ContactField::LocationId, LOC)
                    .map(|_| ())
            ),
            "location_id"
        );
        assert_eq!(
            field(
                NewContact::new(LOC, "S")
                    .set(ContactField::HeaderMessageType, "x")
                    .map(|_| ())
            ),
            "header_message_type"
        );
    }
}
