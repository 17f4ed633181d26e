//! [`Call`]: the builder every resource action returns — add `.impersonate(username)` if needed,
//! then `.send()`.

use std::fmt;

use http::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use shoal_core::{Error, Request, Response, Result};

use crate::client::PebblePad;
use crate::models::one_or_many;

/// The header that makes a call act as another user.
pub const IMPERSONATE_HEADER: &str = "x-impersonateuser";

/// How a call's answer becomes its output.
pub(crate) type Decoder<T> = fn(&Response) -> Result<T>;

/// One API call, ready to send.
///
/// ```no_run
/// # async fn demo(client: shoal_pebblepad::PebblePad) -> shoal_core::Result<()> {
/// use shoal_pebblepad::Target;
/// let members = client
///     .groups()
///     .members(Target::custom_id("NUR-2026"))
///     .impersonate("course.admin")
///     .send()
///     .await?;
/// # let _ = members; Ok(()) }
/// ```
#[must_use = "a call does nothing until `.send()` is awaited"]
pub struct Call<T> {
    client: PebblePad,
    request: Result<Request>,
    decode: Decoder<T>,
}

impl<T> fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("request", &self.request.as_ref().map_err(|e| e.to_string()))
            .finish()
    }
}

impl<T> Call<T> {
    pub(crate) fn new(client: &PebblePad, request: Result<Request>, decode: Decoder<T>) -> Self {
        Self {
            client: client.clone(),
            request,
            decode,
        }
    }

    /// Acts as `username` (`X-ImpersonateUser`). Not every endpoint honours it.
    pub fn impersonate(mut self, username: impl AsRef<str>) -> Self {
        let username = username.as_ref().trim();
        self.request = self.request.and_then(|r| {
            let value = HeaderValue::from_str(username)
                .ok()
                .filter(|_| !username.is_empty())
                .ok_or_else(|| {
                    Error::invalid(
                        "impersonate",
                        "a username must be non-empty visible ASCII to go in X-ImpersonateUser",
                    )
                })?;
            Ok(r.header(HeaderName::from_static(IMPERSONATE_HEADER), value))
        });
        self
    }

    /// The request as it will be sent (before authentication), or the input error that stops it.
    pub fn request(&self) -> Result<&Request, &Error> {
        self.request.as_ref()
    }

    /// Sends the call: learns the rate limits first if this client has not yet, waits for the
    /// limiter, authenticates, retries per policy (a 429 for any method), and decodes the answer.
    pub async fn send(self) -> Result<T> {
        let request = self.request?;
        self.client.ensure_rate_limits().await;
        let method = request.method().clone();
        let result = self.client.pipeline().execute(request).await;
        let headers = match &result {
            Ok(r) => Some(&r.headers),
            Err(e) => e.service().map(|s| &s.headers),
        };
        if let Some(headers) = headers {
            self.client.note_limit_headers(&method, headers).await;
        }
        (self.decode)(&result?)
    }
}

/// Decodes a JSON body.
pub(crate) fn json<T: DeserializeOwned>(response: &Response) -> Result<T> {
    response.json()
}

/// Decodes a list that may arrive as an array, one object, `null` or an empty body.
pub(crate) fn list<T: DeserializeOwned>(response: &Response) -> Result<Vec<T>> {
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
pub(crate) fn record<T: DeserializeOwned + Default>(response: &Response) -> Result<T> {
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
pub(crate) fn unit(_response: &Response) -> Result<()> {
    Ok(())
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method, StatusCode};
    use shoal_core::{Bytes, RequestSummary};

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
