//! Paya Connect's records and wire formats: the [`contact`] model, the contact inputs
//! ([`contact_input`]) and the one declaration of the contact fields ([`fields`]), location
//! info, the list envelope, odd wire formats, and the documented limits.

pub mod contact;
pub mod contact_input;
pub mod envelope;
pub mod fields;
pub mod location_info;
pub(crate) mod validate;
pub mod wire_format;
