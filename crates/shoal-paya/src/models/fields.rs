//! The contact fields, declared once: each column's wire name, whether it may be written, and
//! its documented limit. The declaration drives the [`ContactField`] names (filters, sorting,
//! the CLI's `field=value`), the setters of [`NewContact`](crate::NewContact) and
//! [`ContactUpdate`](crate::ContactUpdate), their setting by name, the checks made before
//! sending, and the testkit emulator's own validation.

use std::fmt;

use shoal_core::{Error, Result};

/// Whether and when a field may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Access {
    /// Set by the server only (`id`, timestamps).
    ReadOnly,
    /// Set on create, never changed (`location_id`).
    CreateOnly,
    /// Set on create or update.
    Writable,
}

/// A field's limit, checked before anything is sent while
/// [input checks](crate::PayaClientBuilder::input_checks) are on (the default). The lengths are
/// the documented ones; what a variant adds to them is marked *assumed*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldRule {
    /// Not written by clients.
    None,
    /// A record id: 24 to 36 characters.
    Id,
    /// `min..=max` characters.
    Length {
        /// The fewest characters.
        min: usize,
        /// The most characters.
        max: usize,
    },
    /// Exactly this many digits (phone numbers: 10). The contract (`shared/api/paya.md`,
    /// "Contacts — `/v2/contacts`") says "exactly 10"; that they are digits is *assumed*.
    Digits(usize),
    /// Exactly two letters (a state). The contract says "exactly 2"; that they are letters is
    /// *assumed*.
    State,
    /// 4 to 12 letters, digits, spaces or dashes.
    Zip,
    /// 5 to 64 characters with an `@` (the length is documented; the `@` is *assumed*).
    Email,
    /// `yyyy-mm-dd`.
    Date,
    /// A flag: documented as `"1"`/`"0"`, returned as a boolean.
    Flag,
    /// 0 (popup) or 1–4 (banners).
    HeaderType,
}

/// A value for a field: text, a flag or a small number, as its rule wants.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldValue {
    /// Text (most fields).
    Text(String),
    /// A flag, sent as `"1"`/`"0"`.
    Flag(bool),
    /// A small number (`header_message_type`).
    Number(u8),
}

impl FieldValue {
    /// The value as the text a person would type.
    pub fn to_text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Flag(b) => if *b { "1" } else { "0" }.to_string(),
            Self::Number(n) => n.to_string(),
        }
    }
}

impl From<String> for FieldValue {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&str> for FieldValue {
    fn from(value: &str) -> Self {
        Self::Text(value.to_string())
    }
}

impl From<bool> for FieldValue {
    fn from(value: bool) -> Self {
        Self::Flag(value)
    }
}

impl From<u8> for FieldValue {
    fn from(value: u8) -> Self {
        Self::Number(value)
    }
}

impl serde::Serialize for FieldValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(s) => serializer.serialize_str(s),
            Self::Flag(b) => serializer.serialize_str(if *b { "1" } else { "0" }),
            Self::Number(n) => serializer.serialize_u8(*n),
        }
    }
}

/// One typed setter, chosen by the model's type: text fields take anything that becomes a
/// `String`, the flag a `bool`, the header type a `u8`.
macro_rules! field_setter {
    (String, $name:ident, $variant:ident, $doc:literal) => {
        #[doc = concat!("Sets ", $doc)]
        pub fn $name(self, value: impl Into<String>) -> Self {
            self.put(ContactField::$variant, FieldValue::Text(value.into()))
        }
    };
    (bool, $name:ident, $variant:ident, $doc:literal) => {
        #[doc = concat!("Sets ", $doc)]
        pub fn $name(self, value: bool) -> Self {
            self.put(ContactField::$variant, FieldValue::Flag(value))
        }
    };
    (u8, $name:ident, $variant:ident, $doc:literal) => {
        #[doc = concat!("Sets ", $doc)]
        pub fn $name(self, value: u8) -> Self {
            self.put(ContactField::$variant, FieldValue::Number(value))
        }
    };
}

/// The declaration of every contact field, handed to the macro `$then` (the field enum below, the
/// [`Contact`](crate::Contact) model). Each entry: the wire name, the model's type (and its
/// serde_with adapter, if the wire format is odd), the [`ContactField`] variant, the rule, the
/// description. The groups are in the model's (and the documents') order; the enum lists the
/// read-only fields first.
macro_rules! with_contact_fields {
    ($then:ident) => {
        $then! {
            ReadOnly {
                id: String => Id, FieldRule::None, "the record's id (24–36 characters, read-only).";
            }
            CreateOnly {
                location_id: String => LocationId, FieldRule::Id, "the location the contact belongs to (24–36 characters; set on create only).";
            }
            Writable {
                account_number: String => AccountNumber, FieldRule::Length { min: 0, max: 32 }, "the account number (at most 32 characters).";
                contact_api_id: String => ContactApiId, FieldRule::Length { min: 0, max: 36 }, "the merchant's own id for the customer (at most 36 characters).";
                company_name: String => CompanyName, FieldRule::Length { min: 0, max: 64 }, "the company name (at most 64 characters).";
                first_name: String => FirstName, FieldRule::Length { min: 0, max: 64 }, "the first name (at most 64 characters).";
                last_name: String => LastName, FieldRule::Length { min: 1, max: 64 }, "the last name (1–64 characters; required on create).";
                email: String => Email, FieldRule::Email, "the e-mail address (5–64 characters, with an `@` — *assumed*).";
                address: String => Address, FieldRule::Length { min: 0, max: 255 }, "the street address (at most 255 characters).";
                city: String => City, FieldRule::Length { min: 0, max: 100 }, "the city (at most 100 characters).";
                state: String => State, FieldRule::State, "the state (exactly 2 letters — letters *assumed*).";
                zip: String => Zip, FieldRule::Zip, "the zip code (4–12 letters, digits, spaces or dashes).";
                home_phone: String => HomePhone, FieldRule::Digits(10), "the home phone (exactly 10 digits — digits *assumed*).";
                cell_phone: String => CellPhone, FieldRule::Digits(10), "the cell phone (exactly 10 digits — digits *assumed*).";
                office_phone: String => OfficePhone, FieldRule::Digits(10), "the office phone (exactly 10 digits — digits *assumed*).";
                office_ext_phone: String => OfficeExtPhone, FieldRule::Length { min: 0, max: 10 }, "the office extension (at most 10 characters).";
                contact_balance: String as "Option<LenientString>" => ContactBalance, FieldRule::Length { min: 0, max: 12 }, "the balance, as text (at most 12 characters).";
                contact_c1: String => ContactC1, FieldRule::Length { min: 0, max: 128 }, "custom field 1 (at most 128 characters).";
                contact_c2: String => ContactC2, FieldRule::Length { min: 0, max: 128 }, "custom field 2 (at most 128 characters).";
                contact_c3: String => ContactC3, FieldRule::Length { min: 0, max: 128 }, "custom field 3 (at most 128 characters).";
                date_of_birth: String => DateOfBirth, FieldRule::Date, "the date of birth (`yyyy-mm-dd`).";
                email_trx_receipt: bool as "Option<FlagOneZero>" => EmailTrxReceipt, FieldRule::Flag, "whether a receipt is e-mailed per transaction (sent as `\"1\"`/`\"0\"`).";
                header_message: String => HeaderMessage, FieldRule::Length { min: 0, max: 250 }, "the header message (at most 250 characters).";
                header_message_type: u8 as "Option<LenientU8>" => HeaderMessageType, FieldRule::HeaderType, "how the header message shows (0 popup, 1–4 banners).";
            }
            ReadOnly {
                created_ts: OffsetDateTime as "Option<UnixSeconds>" => CreatedTs, FieldRule::None, "when the record was created (Unix seconds, read-only).";
                modified_ts: OffsetDateTime as "Option<UnixSeconds>" => ModifiedTs, FieldRule::None, "when the record last changed (Unix seconds, read-only).";
            }
        }
    };
}
pub(crate) use with_contact_fields;

macro_rules! contact_field_enum {
    (
        ReadOnly { $( $id:ident: $id_ty:ident $(as $id_as:tt)? => $id_v:ident, $id_rule:expr, $id_doc:literal; )* }
        CreateOnly { $( $co:ident: $co_ty:ident $(as $co_as:tt)? => $co_v:ident, $co_rule:expr, $co_doc:literal; )* }
        Writable { $( $w:ident: $w_ty:ident $(as $w_as:tt)? => $w_v:ident, $w_rule:expr, $w_doc:literal; )* }
        ReadOnly { $( $ts:ident: $ts_ty:ident $(as $ts_as:tt)? => $ts_v:ident, $ts_rule:expr, $ts_doc:literal; )* }
    ) => {
        /// A contact column: for filters, sorting, and setting a field by name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ContactField {
            $( #[doc = $id_doc] $id_v, )*
            $( #[doc = $ts_doc] $ts_v, )*
            $( #[doc = $co_doc] $co_v, )*
            $( #[doc = $w_doc] $w_v, )*
        }

        impl ContactField {
            /// Every column, in the documented order.
            pub const ALL: &'static [ContactField] = &[
                $( ContactField::$id_v, )*
                $( ContactField::$ts_v, )*
                $( ContactField::$co_v, )*
                $( ContactField::$w_v, )*
            ];

            /// Its wire name, access, rule and description.
            fn facts(self) -> (&'static str, Access, FieldRule, &'static str) {
                match self {
                    $( Self::$id_v => (stringify!($id), Access::ReadOnly, $id_rule, $id_doc), )*
                    $( Self::$ts_v => (stringify!($ts), Access::ReadOnly, $ts_rule, $ts_doc), )*
                    $( Self::$co_v => (stringify!($co), Access::CreateOnly, $co_rule, $co_doc), )*
                    $( Self::$w_v => (stringify!($w), Access::Writable, $w_rule, $w_doc), )*
                }
            }
        }

        // The setters both contact inputs share: one per writable field.
        impl super::contact_input::NewContact {
            $( field_setter!($w_ty, $w, $w_v, $w_doc); )*
        }

        impl super::contact_input::ContactUpdate {
            $( field_setter!($w_ty, $w, $w_v, $w_doc); )*
        }
    };
}

with_contact_fields!(contact_field_enum);

impl ContactField {
    /// The column name on the wire.
    pub fn as_str(self) -> &'static str {
        self.facts().0
    }

    /// Whether and when the field may be written.
    pub fn access(self) -> Access {
        self.facts().1
    }

    /// The documented limit.
    pub fn rule(self) -> FieldRule {
        self.facts().2
    }

    /// What the field holds, for a person.
    pub fn describe(self) -> &'static str {
        self.facts().3
    }

    /// Reads a value for this field from text, as a person types it (`1`/`0`/`true`/`false`
    /// for a flag, `0`–`4` for the header message type); the field's limit is checked when the
    /// contact is sent.
    pub fn parse_value(self, text: &str) -> Result<FieldValue> {
        match self.rule() {
            FieldRule::Flag => match text.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => Ok(FieldValue::Flag(true)),
                "0" | "false" | "no" => Ok(FieldValue::Flag(false)),
                _ => Err(Error::invalid(self.as_str(), "must be 1 or 0")),
            },
            FieldRule::HeaderType => text
                .trim()
                .parse::<u8>()
                .map(FieldValue::Number)
                .map_err(|_| Error::invalid(self.as_str(), "must be a number from 0 to 4")),
            _ => Ok(FieldValue::Text(text.to_string())),
        }
    }
}

impl fmt::Display for ContactField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column name that is not a documented contact field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownContactField(pub String);

impl fmt::Display for UnknownContactField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = ContactField::ALL.iter().map(|c| c.as_str()).collect();
        write!(
            f,
            "unknown contact field {:?} (the fields are: {})",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownContactField {}

impl std::str::FromStr for ContactField {
    type Err = UnknownContactField;
    /// Parses the wire name (`last_name`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ContactField::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| UnknownContactField(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_every_field_has_a_rule_matching_its_access() {
        for f in ContactField::ALL {
            assert_eq!(f.as_str().parse::<ContactField>().unwrap(), *f);
            assert_eq!(
                f.access() == Access::ReadOnly,
                f.rule() == FieldRule::None,
                "{f}"
            );
        }
        assert!(
            "nope"
                .parse::<ContactField>()
                .unwrap_err()
                .to_string()
                .contains("last_name")
        );
    }

    #[test]
    fn values_parse_as_their_rule_wants() {
        assert_eq!(
            ContactField::EmailTrxReceipt.parse_value("true").unwrap(),
            FieldValue::Flag(true)
        );
        assert!(ContactField::EmailTrxReceipt.parse_value("maybe").is_err());
        assert_eq!(
            ContactField::HeaderMessageType.parse_value("3").unwrap(),
            FieldValue::Number(3)
        );
        assert_eq!(
            ContactField::City.parse_value(" Boston").unwrap(),
            FieldValue::Text(" Boston".into())
        );
    }
}
