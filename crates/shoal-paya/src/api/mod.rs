//! The Paya Connect API, one module per endpoint group: [`contacts`] (create, get, update,
//! delete, list and stream every page) with its [`contact_query`], and [`location_infos`].

pub mod contact_query;
pub mod contacts;
pub mod location_infos;
