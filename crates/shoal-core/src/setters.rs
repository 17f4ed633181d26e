//! [`builder_setters!`](crate::builder_setters): the by-value setters every builder has, written
//! once.

/// Builder setters, each `pub fn name(mut self, arg: Type) -> Self`, that store the argument
/// (`=> field;`) or an expression of it (`=> field = Some(arg.into());`) and return the builder.
/// Used inside an `impl` block:
///
/// ```
/// use std::time::Duration;
///
/// #[derive(Default)]
/// pub struct Options {
///     timeout: Duration,
///     name: Option<String>,
/// }
///
/// impl Options {
///     shoal_core::builder_setters! {
///         /// How long to wait.
///         timeout(timeout: Duration) => timeout;
///         /// A name.
///         name(name: impl Into<String>) => name = Some(name.into());
///     }
/// }
///
/// let o = Options::default().timeout(Duration::from_secs(3)).name("x");
/// assert_eq!((o.timeout, o.name.as_deref()), (Duration::from_secs(3), Some("x")));
/// ```
#[macro_export]
macro_rules! builder_setters {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $t:ty) => $field:ident $(= $value:expr)?;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $arg: $t) -> Self {
                self.$field = $crate::builder_setters!(@value $arg $(, $value)?);
                self
            }
        )*
    };
    (@value $arg:ident) => {
        $arg
    };
    (@value $arg:ident, $value:expr) => {
        $value
    };
}
