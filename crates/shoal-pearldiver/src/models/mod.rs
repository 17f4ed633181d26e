//! The Pearl Diver payloads: lenient, loss-free serde models (they need no client).
//!

/// Declares a record model with the convention all of them share: every field is optional (an
/// absent or `null` field decodes to `None`, a `None` is left out when serializing), the wire
/// names are camelCase, and fields this version does not know are kept in a flattened `extra`
/// map — so a decoded value serializes back to the JSON object that was received.
///
/// The derives are fixed (`Clone, Debug, Default, PartialEq, Serialize, Deserialize`) and the
/// struct is `#[serde_as]`, so a field may carry a `#[serde_as(as = "…")]`. A field that is not
/// an `Option` does not compile.
macro_rules! model {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[serde_with::serde_as]
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[$field_meta])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: $ty,
            )*
            /// Fields this version does not know, kept as received.
            #[serde(flatten)]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }
    };
}

mod audience;
mod datetime;
mod record;
mod session;

pub use audience::{Audience, AudienceList, AudienceSummary, RawRecord};
pub use datetime::LenientDateTime;
pub use record::{Address, Company, Phone, Record};
pub use session::{Session, Utm, Visit};
