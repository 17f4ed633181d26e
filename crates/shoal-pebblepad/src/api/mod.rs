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
use serde::Serialize;
use serde::de::DeserializeOwned;
use shoal_core::{Call, Error, Request};

use crate::client::PebblePadClient;

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

/// `POST 1.1/<controller>/Create` with `record` as JSON; the answer is the created record as far
/// as the server returns it ([`decode::record`]).
fn create<T: Serialize + DeserializeOwned + Default>(
    client: &PebblePadClient,
    controller: &str,
    record: &T,
) -> Call<T> {
    let request = Request::post(target::action(controller, "Create")).json(record);
    Call::new(client.pipeline(), request, decode::record)
}

/// How PebblePad's answers become values: lenient about records (most bodies are
/// undocumented), strict about lists.
///
/// A list answer is a JSON array — the vendor documents it for the `Grade` reads; for
/// `Group/GetMembers` and `di/ApplicationReference/GetOnApplicationId` the array is *assumed*
/// (the contract, `shared/api/pebblepad.md`, "Version 1.1 resources", names no response shape).
/// Any other answer — an object, `null`, a string, an empty body — is [`Error::Decode`] naming
/// what came back (an object by its keys), never an empty or one-element success: an envelope
/// this crate does not know must not read as "no members".
pub mod decode {
    use serde::de::DeserializeOwned;
    use shoal_core::{Error, Response, Result};

    /// Decodes a JSON body.
    pub fn json<T: DeserializeOwned>(response: &Response) -> Result<T> {
        response.json()
    }

    /// Decodes a list that must arrive as a JSON array; anything else is [`Error::Decode`]
    /// naming what came back.
    ///
    /// ```
    /// # use shoal_core::{Bytes, RequestSummary, Response};
    /// # let answer = |body: &'static str| Response::new(
    /// #     RequestSummary { method: http::Method::GET, url: "https://h/api/1.1/Group/GetMembers/g".into() },
    /// #     http::StatusCode::OK, http::HeaderMap::new(), Bytes::from_static(body.as_bytes()));
    /// use shoal_pebblepad::{GroupMember, api::decode};
    /// let members: Vec<GroupMember> = decode::list(&answer(r#"[{"Id":"a"}]"#))?;
    /// assert_eq!(members.len(), 1);
    /// let err = decode::list::<GroupMember>(&answer(r#"{"Members":[],"Total":0}"#)).unwrap_err();
    /// assert!(err.to_string().contains("its keys: Members, Total"), "{err}");
    /// # Ok::<_, shoal_core::Error>(())
    /// ```
    pub fn list<T: DeserializeOwned>(response: &Response) -> Result<Vec<T>> {
        if starts_array(&response.body) {
            return response.json();
        }
        Err(not_a_list(response, ""))
    }

    /// Decodes the records an action that *changes* them returns "as far as the server returns
    /// them" (`Grade/Import`, whose answer the vendor does not document): a JSON array as
    /// [`list`] reads it, or nothing at all — an empty body or `null` is an empty list, the
    /// call having succeeded. An object or any other value is [`Error::Decode`] naming what came
    /// back, and saying that the call was answered with success, so its effect may have happened.
    pub fn returned_list<T: DeserializeOwned>(response: &Response) -> Result<Vec<T>> {
        if starts_array(&response.body) {
            return response.json();
        }
        if is_blank(&response.body) || trimmed(&response.body) == b"null" {
            return Ok(Vec::new());
        }
        Err(not_a_list(
            response,
            " (the call was answered with success: its records may have been written)",
        ))
    }

    /// Decodes a record that may arrive as the record, as just its id (a JSON string), or as an
    /// empty body (then the default record): the answers of create, update and details actions,
    /// which the vendor does not document, are *assumed* to be one of these
    /// (`shared/api/pebblepad.md` "Version 1.1 resources").
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

    /// Actions that answer with nothing or with nothing documented: the body is not used, but
    /// must be empty or JSON ([`Response::expect_json_or_empty`]).
    pub fn unit(response: &Response) -> Result<()> {
        response.expect_json_or_empty()
    }

    fn trimmed(body: &[u8]) -> &[u8] {
        let start = body
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(body.len());
        let end = body
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(start, |i| i + 1);
        &body[start..end]
    }

    fn starts_array(body: &[u8]) -> bool {
        trimmed(body).first() == Some(&b'[')
    }

    fn is_blank(body: &[u8]) -> bool {
        trimmed(body).is_empty()
    }

    /// The error for a list answer that is not an array: what it was instead.
    fn not_a_list(response: &Response, note: &str) -> Error {
        let got = if is_blank(&response.body) {
            "an empty body".to_string()
        } else {
            match serde_json::from_slice::<serde_json::Value>(&response.body) {
                Err(e) => return decode_failure(response, e),
                Ok(value) => describe(&value),
            }
        };
        Error::Decode {
            request: response.request().clone(),
            path: ".".into(),
            message: format!(
                "expected a JSON array of records, got {got}; refused rather than taken as a \
                 list{note}"
            ),
        }
    }

    fn decode_failure(response: &Response, e: serde_json::Error) -> Error {
        Error::Decode {
            request: response.request().clone(),
            path: ".".into(),
            message: format!("expected a JSON array of records, got invalid JSON: {e}"),
        }
    }

    /// `an object (its keys: A, B)`, `null`, `a string`, … — never the values (they may be
    /// anything, secrets included).
    fn describe(value: &serde_json::Value) -> String {
        use serde_json::Value;
        match value {
            Value::Object(map) if map.is_empty() => "an empty object".into(),
            Value::Object(map) => format!(
                "an object (its keys: {})",
                shoal_core::shown_keys(map.keys().map(String::as_str))
            ),
            Value::Null => "null".into(),
            Value::Bool(_) => "a boolean".into(),
            Value::Number(_) => "a number".into(),
            Value::String(_) => "a string".into(),
            Value::Array(_) => "an array".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, Method, StatusCode};
    use shoal_core::{Bytes, RequestSummary, Response};

    use super::decode::{list, record, returned_list};
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

    fn message(err: shoal_core::Error) -> String {
        match err {
            shoal_core::Error::Decode { message, .. } => message,
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn lists_are_arrays_and_nothing_else() {
        assert_eq!(
            list::<Group>(&response(r#" [{"Id":"a"},{"Id":"b"}]"#))
                .unwrap()
                .len(),
            2
        );
        assert!(list::<Group>(&response("[]")).unwrap().is_empty());
        for (body, got) in [
            (r#"{"Id":"a"}"#, "an object (its keys: Id)"),
            (
                r#"{"Members":[{"Id":"a"}],"Total":1}"#,
                "an object (its keys: Members, Total)",
            ),
            ("{}", "an empty object"),
            ("", "an empty body"),
            ("  \n", "an empty body"),
            ("null", "null"),
            (r#""0b6a""#, "a string"),
            ("3", "a number"),
            ("true", "a boolean"),
            ("<html>", "invalid JSON"),
        ] {
            let text = message(list::<Group>(&response(body)).unwrap_err());
            assert!(text.contains(got), "{body:?}: {text}");
        }
        let many: String = format!(
            "{{{}}}",
            (0..25)
                .map(|i| format!("\"k{i:02}\":1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let body: &'static str = Box::leak(many.into_boxed_str());
        let text = message(list::<Group>(&response(body)).unwrap_err());
        assert!(text.contains("k19, …") && !text.contains("k20"), "{text}");
        // An array whose items are not records says where.
        let err = list::<Group>(&response(r#"[{"Id":"a"}, 7]"#)).unwrap_err();
        assert!(
            matches!(&err, shoal_core::Error::Decode { path, .. } if path == "[1]"),
            "{err:?}"
        );
    }

    #[test]
    fn returned_lists_may_be_empty_but_not_another_shape() {
        assert_eq!(
            returned_list::<Group>(&response(r#"[{"Id":"a"}]"#))
                .unwrap()
                .len(),
            1
        );
        assert!(returned_list::<Group>(&response("")).unwrap().is_empty());
        assert!(
            returned_list::<Group>(&response(" null "))
                .unwrap()
                .is_empty()
        );
        let text = message(returned_list::<Group>(&response(r#"{"Imported":2}"#)).unwrap_err());
        assert!(
            text.contains("its keys: Imported") && text.contains("may have been written"),
            "{text}"
        );
        assert!(returned_list::<Group>(&response(r#""ok""#)).is_err());
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
