//! The [`Contact`] record as the server returns it, with its read-only fields and `_links`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::{serde_as, skip_serializing_none};
use time::OffsetDateTime;

use super::fields::with_contact_fields;
use super::wire_format::{FlagOneZero, LenientString, LenientU8, UnixSeconds};

/// A link in a record's `_links`: `{"href": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The URL.
    pub href: String,
}

/// A record's `_links`: `self` and any others the server adds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    /// `_links.self`: where the record lives.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<Link>,
    /// Every other link, kept as sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// Related records a contact list or read can embed (`expand=…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ContactExpand {
    /// `created_user`: the user who created the contact.
    CreatedUser,
    /// `notes`: the contact's notes.
    Notes,
    /// `location`: the location the contact belongs to.
    Location,
    /// `user`: the user linked to the contact.
    User,
}

impl ContactExpand {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedUser => "created_user",
            Self::Notes => "notes",
            Self::Location => "location",
            Self::User => "user",
        }
    }
}

/// Emits [`Contact`] from the one field declaration, one `Option` per field in the declared
/// order (the documents' order, which is also the order written back out).
macro_rules! contact_model {
    ($( $access:ident { $( $name:ident: $ty:ident $(as $adapter:tt)? => $variant:ident, $rule:expr, $doc:tt; )* } )*) => {
        /// A customer record ("contact") as Paya Connect returns it.
        ///
        /// Every documented field is typed; anything else the server sends (expanded records, fields
        /// added later) is kept in [`extra`](Self::extra) and written back out unchanged.
        ///
        /// ```
        /// use shoal_paya::Contact;
        /// let c: Contact = serde_json::from_str(r#"{
        ///     "id": "11e95f8ec39de8fbdb0a4f1a", "location_id": "11e95f8ec39de8fbdb0a4f1b",
        ///     "last_name": "Smith", "email_trx_receipt": "1", "created_ts": 1700000000,
        ///     "_links": {"self": {"href": "https://api.sandbox.payaconnect.com/v2/contacts/11e95f8ec39de8fbdb0a4f1a"}},
        ///     "loyalty_tier": "gold"
        /// }"#)?;
        /// assert_eq!(c.email_trx_receipt, Some(true));
        /// assert_eq!(c.created_ts.map(|t| t.year()), Some(2023));
        /// assert_eq!(c.extra["loyalty_tier"], "gold");
        /// # Ok::<_, serde_json::Error>(())
        /// ```
        #[serde_as]
        #[skip_serializing_none]
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct Contact {
            $($(
                #[doc = $doc]
                $( #[serde_as(as = $adapter)] #[serde(default)] )?
                pub $name: Option<$ty>,
            )*)*
            /// Read-only: links to this record.
            #[serde(rename = "_links")]
            pub links: Option<Links>,
            /// Every field not listed above (including expanded records), kept as sent.
            #[serde(flatten)]
            pub extra: BTreeMap<String, Value>,
        }
    };
}

with_contact_fields!(contact_model);

impl Contact {
    /// An expanded related record, when the request asked for it with `expand`.
    pub fn expanded(&self, which: ContactExpand) -> Option<&Value> {
        self.extra.get(which.as_str()).filter(|v| !v.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::fields::ContactField;

    #[test]
    fn the_model_has_exactly_the_declared_fields() {
        // Every declared field set (as text where the model takes text), nothing else.
        let mut full = serde_json::Map::new();
        for f in ContactField::ALL {
            let value = match f {
                ContactField::EmailTrxReceipt => serde_json::json!(true),
                ContactField::HeaderMessageType => serde_json::json!(1),
                ContactField::CreatedTs | ContactField::ModifiedTs => {
                    serde_json::json!(1_700_000_000)
                }
                _ => serde_json::json!("x"),
            };
            full.insert(f.as_str().to_string(), value);
        }
        let c: Contact = serde_json::from_value(serde_json::Value::Object(full)).unwrap();
        assert!(
            c.extra.is_empty(),
            "fields the model does not name: {:?}",
            c.extra.keys()
        );
        let back = serde_json::to_value(&c).unwrap();
        let names: Vec<&str> = back
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut declared: Vec<&str> = ContactField::ALL.iter().map(|f| f.as_str()).collect();
        declared.sort_unstable();
        let mut names = names;
        names.sort_unstable();
        assert_eq!(names, declared);
    }

    #[test]
    fn read_only_fields_and_unknown_fields_survive_a_round_trip() {
        let json = serde_json::json!({
            "id": "11e95f8ec39de8fbdb0a4f1a",
            "last_name": "Smith",
            "email_trx_receipt": false,
            "header_message_type": "2",
            "contact_balance": 12.5,
            "created_ts": 1_700_000_000,
            "modified_ts": "1700000100",
            "_links": {"self": {"href": "https://h/v2/contacts/11e95f8ec39de8fbdb0a4f1a"}, "location": {"href": "x"}},
            "notes": [{"id": "n1"}],
            "future_field": {"nested": true}
        });
        let c: Contact = serde_json::from_value(json).unwrap();
        assert_eq!(c.email_trx_receipt, Some(false));
        assert_eq!(c.header_message_type, Some(2));
        assert_eq!(c.contact_balance.as_deref(), Some("12.5"));
        assert_eq!(c.modified_ts.unwrap().unix_timestamp(), 1_700_000_100);
        assert_eq!(
            c.links.as_ref().unwrap().self_link.as_ref().unwrap().href,
            "https://h/v2/contacts/11e95f8ec39de8fbdb0a4f1a"
        );
        assert!(c.expanded(ContactExpand::Notes).is_some());
        assert!(c.expanded(ContactExpand::User).is_none());
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["email_trx_receipt"], "0");
        assert_eq!(back["created_ts"], 1_700_000_000);
        assert_eq!(back["future_field"]["nested"], true);
        assert_eq!(back["_links"]["location"]["href"], "x");
        assert!(
            back.get("first_name").is_none(),
            "unset fields are not written"
        );
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let err = serde_json::from_str::<Contact>(r#"{"created_ts": "yesterday"}"#).unwrap_err();
        assert!(err.to_string().contains("Unix seconds"), "{err}");
    }
}
