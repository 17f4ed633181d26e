//! [`Target`]: one typed parameter for addressing a record by PebblePad `Id` or by the
//! institution's `CustomId`, and the `1.1/<Controller>/<Action>/{id}` paths built from it.

use std::fmt;

use serde::Serialize;
use shoal_core::{Error, Request, Result};

/// The API version every path starts with.
pub(crate) const VERSION: &str = "1.1";

/// Which key addresses a record: PebblePad's GUID `Id` or the institution's `CustomId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdKind {
    /// PebblePad's `Id` (a GUID).
    Id,
    /// The institution's own `CustomId`.
    CustomId,
}

/// A record addressed by `Id` or by `CustomId`.
///
/// Every action that has an `…OnCustomId` twin takes a `Target`: [`Target::Id`] calls
/// `Action/{id}`, [`Target::CustomId`] calls `ActionOnCustomId/{id}`.
///
/// ```
/// use shoal_pebblepad::Target;
/// let by_guid = Target::id("0b6a7c1e-6a4e-4f7e-9c55-2c8f0e2c1a11");
/// let by_student_number = Target::custom_id("S1234567");
/// assert_eq!(by_student_number.value(), "S1234567");
/// assert_ne!(by_guid.kind(), by_student_number.kind());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// By PebblePad's `Id`.
    Id(String),
    /// By the institution's `CustomId`.
    CustomId(String),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(v) => write!(f, "Id({v:?})"),
            Self::CustomId(v) => write!(f, "CustomId({v:?})"),
        }
    }
}

impl Target {
    /// By PebblePad's `Id`.
    pub fn id(id: impl Into<String>) -> Self {
        Self::Id(id.into())
    }

    /// By the institution's `CustomId`.
    pub fn custom_id(custom_id: impl Into<String>) -> Self {
        Self::CustomId(custom_id.into())
    }

    /// Which key this is.
    pub fn kind(&self) -> IdKind {
        match self {
            Self::Id(_) => IdKind::Id,
            Self::CustomId(_) => IdKind::CustomId,
        }
    }

    /// The key's value.
    pub fn value(&self) -> &str {
        match self {
            Self::Id(v) | Self::CustomId(v) => v,
        }
    }

    /// `1.1/<controller>/<action>[OnCustomId]/{value}`, the value percent-encoded as one path
    /// segment; refused when empty (how every action addresses its record — and a new one).
    pub fn path(&self, controller: &str, action: &str) -> Result<String> {
        let action = match self.kind() {
            IdKind::Id => action.to_string(),
            IdKind::CustomId => format!("{action}OnCustomId"),
        };
        with_id(controller, &action, self.value())
    }

    /// `PUT` of `body` as JSON to [`path`](Self::path): how updates and the details and
    /// membership actions send.
    pub(crate) fn put_json<B: Serialize + ?Sized>(
        &self,
        controller: &str,
        action: &str,
        body: &B,
    ) -> Result<Request> {
        self.path(controller, action)
            .and_then(|path| Request::put(path).json(body))
    }
}

/// `1.1/<controller>/<action>` (no id: create and import actions).
pub(crate) fn action(controller: &str, action: &str) -> String {
    format!("{VERSION}/{controller}/{action}")
}

/// `1.1/<controller>/<action>/{id}`, the id percent-encoded as one path segment.
pub(crate) fn with_id(controller: &str, action: &str, id: &str) -> Result<String> {
    if id.trim().is_empty() {
        return Err(Error::invalid(
            "id",
            format!("`{controller}/{action}` needs a non-empty id"),
        ));
    }
    // URLs treat `.`, `..` and their encodings `%2E` as path steps: no URL can carry them as ids.
    if id == "." || id == ".." {
        return Err(Error::invalid(
            "id",
            format!("`{id}` cannot be sent as a path segment"),
        ));
    }
    Ok(format!(
        "{}/{}",
        self::action(controller, action),
        encode_segment(id)
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so an id with `/`, `?`, `#`,
/// `%` or spaces stays one path segment.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn custom_id_picks_the_twin_action() {
        assert_eq!(
            Target::id("g-1").path("User", "Delete").unwrap(),
            "1.1/User/Delete/g-1"
        );
        assert_eq!(
            Target::custom_id("S 1/2").path("User", "Delete").unwrap(),
            "1.1/User/DeleteOnCustomId/S%201%2F2"
        );
    }

    #[test]
    fn empty_ids_are_refused_before_sending() {
        let err = Target::custom_id("  ").path("Group", "Update").unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    }

    #[test]
    fn dot_segments_are_refused() {
        assert!(with_id("User", "Delete", "..").is_err());
        assert!(with_id("User", "Delete", ".").is_err());
        assert_eq!(
            with_id("User", "Delete", "a.b").unwrap(),
            "1.1/User/Delete/a.b"
        );
    }

    proptest! {
        #[test]
        fn any_id_stays_one_segment_and_round_trips(id in "\\PC{1,40}") {
            let base = url::Url::parse("https://h/api/").unwrap();
            let path = with_id("User", "Delete", &id);
            prop_assume!(path.is_ok());
            let url = base.join(&path.unwrap()).unwrap();
            let segments: Vec<_> = url.path_segments().unwrap().collect();
            prop_assert_eq!(segments.len(), 5);
            let last = segments[4];
            let decoded: String = url::form_urlencoded::parse(format!("x={}", last.replace('+', "%2B")).as_bytes())
                .next().unwrap().1.into_owned();
            prop_assert_eq!(decoded, id);
        }
    }
}
