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

/// What both inputs share: `put` (behind the typed setters), [`set`](NewContact::set) by name
/// and [`get`](NewContact::get). `$create` says whether create-only fields may be set.
macro_rules! field_access {
    (create: $create:literal, refused: $refused:literal) => {
        pub(crate) fn put(mut self, field: ContactField, value: FieldValue) -> Self {
            self.fields.0.insert(field, value);
            self
        }

        #[doc = concat!("Sets a field by name from text, as a person types it (see [`ContactField::parse_value`]); ", $refused, " refused.")]
        pub fn set(self, field: ContactField, text: &str) -> Result<Self> {
            settable(field, $create)?;
            Ok(self.put(field, field.parse_value(text)?))
        }

        /// The text of a field, when it is set to text.
        pub fn get(&self, field: ContactField) -> Option<&str> {
            self.fields.text(field)
        }
    };
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

    field_access!(create: true, refused: "a read-only field is");

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

    field_access!(create: false, refused: "read-only and create-only fields are");

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
    use crate::models::fields::FieldRule;

    const LOC: &str = "11e95f8ec39de8fbdb0a4f1b";

    fn field(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("expected an invalid-input error, got {other:?}"),
        }
    }

    /// Values `rule` refuses: either side of each length, a wrong character, a bad format.
    fn breaking(rule: FieldRule) -> Vec<FieldValue> {
        let long = |n: usize| "x".repeat(n);
        let digits = |n: usize| "1234567890".chars().cycle().take(n).collect::<String>();
        let texts: Vec<String> = match rule {
            FieldRule::Id => vec!["short".into(), long(37)],
            FieldRule::Length { min, max } => {
                let mut v = vec![long(max + 1)];
                v.extend(min.checked_sub(1).map(long));
                v
            }
            FieldRule::Digits(n) => vec![
                digits(n - 1),
                digits(n + 1),
                digits(n / 2) + &"abcdefghij"[..n - n / 2],
            ],
            FieldRule::State => vec!["New York".into()],
            FieldRule::Zip => vec!["123".into(), "12#45".into()],
            FieldRule::Email => vec!["a@b".into(), format!("{}@b.c", long(61))],
            FieldRule::Date => vec!["04/01/1990".into()],
            FieldRule::HeaderType => return vec![FieldValue::Number(5)],
            FieldRule::Flag | FieldRule::None => return Vec::new(),
        };
        texts.into_iter().map(FieldValue::Text).collect()
    }

    #[test]
    fn every_documented_limit_names_its_field() {
        // Driven by the declaration: every field a client writes, every value its rule refuses.
        for &f in ContactField::ALL {
            let values = breaking(f.rule());
            let unbreakable = f.access() == Access::ReadOnly || f.rule() == FieldRule::Flag;
            assert_eq!(values.is_empty(), unbreakable, "{f}");
            for value in values {
                let contact = NewContact::new(LOC, "Smith").put(f, value.clone());
                assert_eq!(field(contact.validate()), f.as_str(), "{value:?}");
            }
        }
        let base = || NewContact::new(LOC, "Smith");
        let long = |n: usize| "x".repeat(n);
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
        let refused = [
            (
                NewContact::new(LOC, "S")
                    .set(ContactField::Id, "x")
                    .map(drop),
                "id",
            ),
            (
                ContactUpdate::new()
                    .set(ContactField::LocationId, LOC)
                    .map(drop),
                "location_id",
            ),
            (
                NewContact::new(LOC, "S")
                    .set(ContactField::HeaderMessageType, "x")
                    .map(drop),
                "header_message_type",
            ),
        ];
        for (result, expected) in refused {
            assert_eq!(field(result), expected);
        }
    }
}
