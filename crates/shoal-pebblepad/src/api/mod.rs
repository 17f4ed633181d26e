//! The PebblePad v1.1 API, one module per controller ([`users`], [`groups`], [`grades`],
//! [`application_references`]), each action returning core's [`Call`] — add
//! [`.impersonate(username)`](Impersonate::impersonate) if needed, then `.send()`. Records are
//! addressed by [`Target`] (`Id` or `CustomId`).

pub mod application_references;
pub mod grades;
pub mod groups;
pub mod target;
pub mod users;

use http::{HeaderName, HeaderValue};
use shoal_core::{Call, Error};

pub use target::{IdKind, Target};

/// The header that makes a call act as another user.
pub const IMPERSONATE_HEADER: &str = "x-impersonateuser";

/// Acts as another user on a call (`X-ImpersonateUser`): PebblePad's one addition to core's
/// [`Call`].
///
/// ```no_run
/// # async fn demo(client: shoal_pebblepad::PebblePadClient) -> shoal_core::Result<()> {
/// use shoal_pebblepad::{Impersonate as _, Target};
/// let members = client
///     .groups()
///     .members(Target::custom_id("NUR-2026"))
///     .impersonate("course.admin")
///     .send()
///     .await?;
/// # let _ = members; Ok(()) }
/// ```
pub trait Impersonate: Sized {
    /// Acts as `username`. Not every endpoint honours it.
    fn impersonate(self, username: impl AsRef<str>) -> Self;
}

impl<T> Impersonate for Call<T> {
    fn impersonate(self, username: impl AsRef<str>) -> Self {
        let username = username.as_ref().trim().to_string();
        self.map_request(move |r| {
            let value = HeaderValue::from_str(&username)
                .ok()
                .filter(|_| !username.is_empty())
                .ok_or_else(|| {
                    Error::invalid(
                        "impersonate",
                        "a username must be non-empty visible ASCII to go in X-ImpersonateUser",
                    )
                })?;
            Ok(r.header(HeaderName::from_static(IMPERSONATE_HEADER), value))
        })
    }
}

/// How PebblePad's answers become values: lenient about lists and records, since most bodies
/// are undocumented.
pub mod decode {
    use serde::de::DeserializeOwned;
    use shoal_core::{Error, Response, Result};

    use crate::models::one_or_many;

    /// Decodes a JSON body.
    pub fn json<T: DeserializeOwned>(response: &Response) -> Result<T> {
        response.json()
    }

    /// Decodes a list that may arrive as an array, one object, `null` or an empty body.
    pub fn list<T: DeserializeOwned>(response: &Response) -> Result<Vec<T>> {
        if is_blank(&response.body) {
            return Ok(Vec::new());
        }
        let value: serde_json::Value = response.json()?;
        one_or_many(value).map_err(|e| Error::Decode {
            request: response.request().clone(),
            path: String::new(),
            message: e.to_string(),
        })
    }

    /// Decodes a record that may arrive as the record, as just its id (a JSON string), or as an
    /// empty body (then the default record).
    pub fn record<T: DeserializeOwned + Default>(response: &Response) -> Result<T> {
        if is_blank(&response.body) {
            return Ok(T::default());
        }
        let value: serde_json::Value = response.json()?;
        let value = match value {
            serde_json::Value::String(id) => serde_json::json!({ "Id": id }),
            serde_json::Value::Null => return Ok(T::default()),
            other => other,
        };
        serde_json::from_value(value).map_err(|e| Error::Decode {
            request: response.request().clone(),
            path: String::new(),
            message: e.to_string(),
        })
    }

    /// Ignores the body (actions that answer with nothing or with nothing documented).
    pub fn unit(_response: &Response) -> Result<()> {
        Ok(())
    }

    fn is_blank(body: &[u8]) -> bool {
        body.iter().all(u8::is_ascii_whitespace)
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, Method, StatusCode};
    use shoal_core::{Bytes, RequestSummary, Response};

    use super::decode::{list, record};
    use crate::models::group::Group;

    fn response(body: &'static str) -> Response {
        Response::new(
            RequestSummary {
                method: Method::GET,
                url: "https://h/api/1.1/Group/Get".into(),
            },
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::from_static(body.as_bytes()),
        )
    }

    #[test]
    fn lists_accept_arrays_objects_and_nothing() {
        assert_eq!(
            list::<Group>(&response(r#"[{"Id":"a"},{"Id":"b"}]"#))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(list::<Group>(&response(r#"{"Id":"a"}"#)).unwrap().len(), 1);
        assert!(list::<Group>(&response("")).unwrap().is_empty());
        assert!(list::<Group>(&response("null")).unwrap().is_empty());
    }

    #[test]
    fn records_accept_a_bare_id() {
        let g: Group = record(&response(r#""0b6a""#)).unwrap();
        assert_eq!(g.id.as_deref(), Some("0b6a"));
        let empty: Group = record(&response(" ")).unwrap();
        assert_eq!(empty, Group::default());
        assert!(record::<Group>(&response("[1]")).is_err());
    }
}
