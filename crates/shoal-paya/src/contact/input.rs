//! What a caller sends: [`NewContact`] for a create and [`ContactUpdate`] for a partial update,
//! sharing [`ContactDetails`], each validated against the documented limits before sending.

use serde::Serialize;
use serde_with::{serde_as, skip_serializing_none};
use shoal_core::Result;

use crate::validate::{self, optional};
use crate::wire_format::FlagOneZero;

/// The optional contact fields a create and an update share. Only fields that are set are sent.
#[serde_as]
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ContactDetails {
    /// Account number (≤ 32).
    pub account_number: Option<String>,
    /// The merchant's own id (≤ 36); required for an upsert.
    pub contact_api_id: Option<String>,
    /// Company name (≤ 64).
    pub company_name: Option<String>,
    /// First name (≤ 64).
    pub first_name: Option<String>,
    /// E-mail (5–64).
    pub email: Option<String>,
    /// Address (≤ 255).
    pub address: Option<String>,
    /// City (≤ 100).
    pub city: Option<String>,
    /// State (exactly 2 letters).
    pub state: Option<String>,
    /// Zip (4–12: letters, digits, space, dash).
    pub zip: Option<String>,
    /// Home phone (exactly 10 digits).
    pub home_phone: Option<String>,
    /// Cell phone (exactly 10 digits).
    pub cell_phone: Option<String>,
    /// Office phone (exactly 10 digits).
    pub office_phone: Option<String>,
    /// Office extension (≤ 10).
    pub office_ext_phone: Option<String>,
    /// Balance as a string (≤ 12).
    pub contact_balance: Option<String>,
    /// Custom field 1 (≤ 128).
    pub contact_c1: Option<String>,
    /// Custom field 2 (≤ 128).
    pub contact_c2: Option<String>,
    /// Custom field 3 (≤ 128).
    pub contact_c3: Option<String>,
    /// Date of birth, `yyyy-mm-dd`.
    pub date_of_birth: Option<String>,
    /// E-mail a receipt per transaction (sent as `"1"`/`"0"`).
    #[serde_as(as = "Option<FlagOneZero>")]
    pub email_trx_receipt: Option<bool>,
    /// Header message (≤ 250).
    pub header_message: Option<String>,
    /// 0 popup, 1–4 banners.
    pub header_message_type: Option<u8>,
}

impl ContactDetails {
    /// Checks every set field against its documented limit.
    pub fn validate(&self) -> Result<()> {
        use validate::length;
        fn o(v: &Option<String>) -> Option<&str> {
            v.as_deref()
        }
        optional(o(&self.account_number), |v| {
            length("account_number", v, 0, 32)
        })?;
        optional(o(&self.contact_api_id), |v| {
            length("contact_api_id", v, 0, 36)
        })?;
        optional(o(&self.company_name), |v| length("company_name", v, 0, 64))?;
        optional(o(&self.first_name), |v| length("first_name", v, 0, 64))?;
        optional(o(&self.email), |v| validate::email("email", v))?;
        optional(o(&self.address), |v| length("address", v, 0, 255))?;
        optional(o(&self.city), |v| length("city", v, 0, 100))?;
        optional(o(&self.state), |v| validate::state("state", v))?;
        optional(o(&self.zip), |v| validate::zip("zip", v))?;
        optional(o(&self.home_phone), |v| validate::phone("home_phone", v))?;
        optional(o(&self.cell_phone), |v| validate::phone("cell_phone", v))?;
        optional(o(&self.office_phone), |v| {
            validate::phone("office_phone", v)
        })?;
        optional(o(&self.office_ext_phone), |v| {
            length("office_ext_phone", v, 0, 10)
        })?;
        optional(o(&self.contact_balance), |v| {
            length("contact_balance", v, 0, 12)
        })?;
        optional(o(&self.contact_c1), |v| length("contact_c1", v, 0, 128))?;
        optional(o(&self.contact_c2), |v| length("contact_c2", v, 0, 128))?;
        optional(o(&self.contact_c3), |v| length("contact_c3", v, 0, 128))?;
        optional(o(&self.date_of_birth), |v| {
            validate::date("date_of_birth", v)
        })?;
        optional(o(&self.header_message), |v| {
            length("header_message", v, 0, 250)
        })?;
        if let Some(t) = self.header_message_type {
            validate::range("header_message_type", u32::from(t), 0, 4)?;
        }
        Ok(())
    }
}

/// A contact to create: `location_id` and `last_name` are required, the rest optional.
///
/// ```
/// use shoal_paya::NewContact;
/// let c = NewContact::new("11e95f8ec39de8fbdb0a4f1b", "Smith").first_name("Ann").state("NY");
/// assert!(c.validate().is_ok());
/// let bad = c.clone().cell_phone("555-1234");
/// assert_eq!(bad.validate().unwrap_err().to_string(), "invalid cell_phone: must be exactly 10 digits (got 8 characters)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewContact {
    /// The location to create the contact at (24–36); cannot be changed later.
    pub location_id: String,
    /// Last name (1–64).
    pub last_name: String,
    /// Everything else.
    #[serde(flatten)]
    pub details: ContactDetails,
}

impl NewContact {
    /// A contact with the two required fields.
    pub fn new(location_id: impl Into<String>, last_name: impl Into<String>) -> Self {
        Self {
            location_id: location_id.into(),
            last_name: last_name.into(),
            details: ContactDetails::default(),
        }
    }

    /// Checks every field against its documented limit.
    pub fn validate(&self) -> Result<()> {
        validate::id("location_id", &self.location_id)?;
        validate::length("last_name", &self.last_name, 1, 64)?;
        self.details.validate()
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
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ContactUpdate {
    /// Last name (1–64).
    pub last_name: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub details: ContactDetails,
}

impl ContactUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the last name (1–64).
    pub fn last_name(mut self, value: impl Into<String>) -> Self {
        self.last_name = Some(value.into());
        self
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks every set field against its documented limit.
    pub fn validate(&self) -> Result<()> {
        optional(self.last_name.as_deref(), |v| {
            validate::length("last_name", v, 1, 64)
        })?;
        self.details.validate()
    }
}

macro_rules! detail_setters {
    ($ty:ty) => {
        impl $ty {
            detail_setters!(@text
                account_number "account number (≤ 32)",
                contact_api_id "merchant's own id (≤ 36)",
                company_name "company name (≤ 64)",
                first_name "first name (≤ 64)",
                email "e-mail (5–64)",
                address "address (≤ 255)",
                city "city (≤ 100)",
                state "state (2 letters)",
                zip "zip (4–12 letters, digits, spaces, dashes)",
                home_phone "home phone (10 digits)",
                cell_phone "cell phone (10 digits)",
                office_phone "office phone (10 digits)",
                office_ext_phone "office extension (≤ 10)",
                contact_balance "balance (≤ 12)",
                contact_c1 "custom field 1 (≤ 128)",
                contact_c2 "custom field 2 (≤ 128)",
                contact_c3 "custom field 3 (≤ 128)",
                date_of_birth "date of birth (`yyyy-mm-dd`)",
                header_message "header message (≤ 250)"
            );

            /// Sets whether a receipt is e-mailed per transaction.
            pub fn email_trx_receipt(mut self, value: bool) -> Self {
                self.details.email_trx_receipt = Some(value);
                self
            }

            /// Sets how the header message is shown (0 popup, 1–4 banners).
            pub fn header_message_type(mut self, value: u8) -> Self {
                self.details.header_message_type = Some(value);
                self
            }
        }
    };
    (@text $($field:ident $what:literal),* $(,)?) => {
        $(
            #[doc = concat!("Sets the ", $what, ".")]
            pub fn $field(mut self, value: impl Into<String>) -> Self {
                self.details.$field = Some(value.into());
                self
            }
        )*
    };
}

detail_setters!(NewContact);
detail_setters!(ContactUpdate);

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
}
