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

/// A PebblePad record: `Clone, Debug, Default, Serialize, Deserialize` and `#[non_exhaustive]`,
/// every missing field read as its default and every `Option` field left out when `None` (the
/// server omits what it does not know); a body ending in `..` keeps the rest in `extra`. Other
/// attributes, `rename_all` included, are the caller's.
macro_rules! record {
    // An optional field: not written when `None`.
    (@fields $head:tt [$($done:tt)*]
        $(#[$attr:meta])* pub $field:ident: Option<$ty:ty>, $($rest:tt)*) => {
        record!(@fields $head [$($done)*
            $(#[$attr])*
            #[serde(skip_serializing_if = "Option::is_none")]
            pub $field: Option<$ty>,
        ] $($rest)*);
    };
    (@fields $head:tt [$($done:tt)*]
        $(#[$attr:meta])* pub $field:ident: $ty:ty, $($rest:tt)*) => {
        record!(@fields $head [$($done)* $(#[$attr])* pub $field: $ty,] $($rest)*);
    };
    // `..` last: every field the record does not name is kept.
    (@fields $head:tt [$($done:tt)*] ..) => {
        record!(@fields $head [$($done)*
            /// Everything else the server sent, kept.
            #[serde(flatten)]
            pub extra: $crate::models::Extra,
        ]);
    };
    (@fields [$(#[$attr:meta])* $name:ident] [$($done:tt)*]) => {
        #[derive(Clone, Debug, Default, ::serde::Serialize, ::serde::Deserialize)]
        $(#[$attr])*
        #[serde(default)]
        #[non_exhaustive]
        pub struct $name {
            $($done)*
        }
    };
    ($(#[$attr:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        record!(@fields [$(#[$attr])* $name] [] $($fields)*);
    };
}

/// A `record!` addressed by `Id` or `CustomId` (what a [`Target`](crate::Target) names): both
/// keys come first, and its fields are PascalCase like theirs.
macro_rules! keyed_record {
    ($(#[$attr:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        record! {
            $(#[$attr])*
            #[serde(rename_all = "PascalCase")]
            pub struct $name {
                /// PebblePad's GUID (`Id`), assigned by the server.
                pub id: Option<String>,
                /// The institution's own id (`CustomId`).
                pub custom_id: Option<String>,
                $($fields)*
            }
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
