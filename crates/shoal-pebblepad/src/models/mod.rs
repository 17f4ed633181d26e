//! PebblePad's v1.1 records: typed where the vendor documents them, tolerant elsewhere (every
//! model keeps the fields it does not name in `extra`, so a read → write round trip loses
//! nothing).

/// Builder-style setters of a model's optional fields: `text` ones take anything
/// `Into<String>`, `(Type)` ones their type, and `extra` is `field(name, value)` for a field the
/// model does not name.
macro_rules! setters {
    ($ty:ty { $($(#[$doc:meta])* $name:ident: $kind:tt),* $(,)? }) => {
        impl $ty {
            $( setters!(@one $(#[$doc])* $name $kind); )*
        }
    };
    (@one $(#[$doc:meta])* $name:ident text) => {
        $(#[$doc])*
        pub fn $name(mut self, $name: impl Into<String>) -> Self {
            self.$name = Some($name.into());
            self
        }
    };
    (@one $(#[$doc:meta])* $name:ident ($t:ty)) => {
        $(#[$doc])*
        pub fn $name(mut self, $name: $t) -> Self {
            self.$name = Some($name);
            self
        }
    };
    (@one $(#[$doc:meta])* $name:ident extra) => {
        $(#[$doc])*
        pub fn $name(mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
            self.extra.insert(name.into(), value.into());
            self
        }
    };
}

pub mod application_reference;
pub mod datetime;
pub mod grade;
pub mod group;
pub mod rate_limits;
pub mod user;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// Fields a model does not name, kept as the server sent them.
pub type Extra = BTreeMap<String, serde_json::Value>;

/// Reads an optional string that the server may send as a string, a number or a boolean.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}
