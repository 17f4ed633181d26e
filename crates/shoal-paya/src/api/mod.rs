//! The Paya Connect API, one module per endpoint group: [`contacts`] (create, get, update,
//! delete, list and stream every page) with its [`contact_query`], and [`location_infos`].

/// A listing builder's setters that each hand their arguments on to its query's setter of the
/// same name, so the builder and the query cannot drift apart.
macro_rules! query_setters {
    ($( $(#[$doc:meta])* $name:ident($($arg:ident: $t:ty),*); )*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $($arg: $t),*) -> Self {
                self.query = self.query.$name($($arg),*);
                self
            }
        )*
    };
}

pub mod contact_query;
pub mod contacts;
pub mod location_infos;
