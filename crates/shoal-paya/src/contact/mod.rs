//! Contacts: the [`Contact`](model::Contact) model, the create and update inputs, the list
//! query, and the operations on `/v2/contacts`.

pub(crate) mod input;
pub(crate) mod model;
mod ops;
pub(crate) mod query;

pub use ops::{Contacts, CreateContact, DeleteContact, GetContact, ListContacts, UpdateContact};
