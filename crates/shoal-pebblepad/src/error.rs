//! PebblePad's error answers read into core's [`ServiceDetail`] ([`PebblePadErrorDecoder`]), and
//! [`PebblePadErrorExt`]: what only PebblePad errors say (a duplicate username, a 401's detail)
//! on core's [`Error`] — no second hierarchy.

use http::{HeaderMap, StatusCode};
use shoal_core::{CommonErrorDecoder, Error, ErrorDecoder, Redactor, ServiceDetail};

/// What a 403 means at PebblePad, said in every 403's message.
pub const FORBIDDEN_EXPLANATION: &str = "the token is valid but its user cannot be authenticated: \
     the user was deleted or has expired, or an access policy of Deny applies to the user, one \
     of their groups or the organisation";

/// What a 429 means at PebblePad. That a 429'd call "was not processed" — whatever its method,
/// so that even a POST is resent after one — is *assumed*: the vendor says it of limit errors
/// under *Usage Limits*, and the contract (`shared/api/pebblepad.md`, "Errors") takes it as the
/// safe reading; a 5xx is not covered.
pub const RATE_LIMITED_EXPLANATION: &str =
    "a per-method rate limit or the concurrency limit was exceeded; the call was not processed";

/// Reads PebblePad error bodies: 400 `{"errormessage": …}`; 401 JSON detail (any object: its
/// `error`/`message` when present, otherwise the whole object, redacted, as the message — the
/// raw body is always kept on the error — its shape is *assumed*, `shared/api/pebblepad.md`
/// "Errors"); 403 explained; 429 explained.
#[derive(Clone, Copy, Debug, Default)]
pub struct PebblePadErrorDecoder;

impl ErrorDecoder for PebblePadErrorDecoder {
    fn decode(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceDetail {
        let common = CommonErrorDecoder.decode(status, headers, body);
        let code = common.code.clone();
        let message = match status.as_u16() {
            // Kept whole: the 401 detail's shape is not documented.
            401 => whole_json(body).or(common.message.clone()),
            _ => any_case_message(body).or(common.message.clone()),
        };
        let message = match status.as_u16() {
            403 => Some(match message {
                Some(m) => format!("{m} ({FORBIDDEN_EXPLANATION})"),
                None => FORBIDDEN_EXPLANATION.to_string(),
            }),
            429 => message.or_else(|| Some(RATE_LIMITED_EXPLANATION.to_string())),
            _ => message,
        };
        ServiceDetail::new(code, message).with_fields(common.fields)
    }
}

/// An `errormessage`, `error_description` or `message` key in any case (ASP.NET answers
/// `{"Message": …}`), redacted as free text.
fn any_case_message(body: &[u8]) -> Option<String> {
    let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    ["errormessage", "error_description", "message"]
        .iter()
        .find_map(|want| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(want))
                .and_then(|(_, v)| v.as_str())
        })
        .map(str::to_string)
}

/// A JSON body, compacted and redacted, when it is small enough to be a message.
fn whole_json(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.is_null() || value.as_object().is_some_and(|m| m.is_empty()) {
        return None;
    }
    let compact = serde_json::to_vec(&value).ok()?;
    Some(Redactor::standard().body(&compact, 1000))
}

/// What only PebblePad errors say, on a Shoal [`Error`] (everything else is core's
/// [`Error::kind`] and [`Error::message`]).
///
/// ```
/// use shoal_pebblepad::PebblePadErrorExt as _;
/// let err = shoal_core::Error::invalid("id", "empty");
/// assert_eq!(err.kind(), shoal_core::ErrorKind::InvalidInput);
/// assert!(!err.is_username_exists());
/// ```
pub trait PebblePadErrorExt {
    /// A 401's JSON body, whole (its shape is *assumed* to be any JSON object:
    /// `shared/api/pebblepad.md` "Errors").
    fn unauthorized_detail(&self) -> Option<serde_json::Value>;
    /// A 400 saying the username already exists, matched on the status and the word "exists"
    /// in any case: the wording `Username already exists` is *assumed*
    /// (`shared/api/pebblepad.md` "Version 1.1 resources").
    fn is_username_exists(&self) -> bool;
}

impl PebblePadErrorExt for Error {
    fn unauthorized_detail(&self) -> Option<serde_json::Value> {
        let s = self.service()?;
        if s.status != StatusCode::UNAUTHORIZED {
            return None;
        }
        serde_json::from_slice(&s.body).ok()
    }

    fn is_username_exists(&self) -> bool {
        self.status() == Some(StatusCode::BAD_REQUEST) && username_exists(self)
    }
}

fn username_exists(err: &Error) -> bool {
    let Some(s) = err.service() else {
        return false;
    };
    let body: Option<serde_json::Value> = serde_json::from_slice(&s.body).ok();
    let text = body
        .as_ref()
        .and_then(|b| b.get("errormessage"))
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .or_else(|| s.detail.message.clone())
        .unwrap_or_default()
        .to_ascii_lowercase();
    text.contains("exists")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;
    use shoal_core::{Bytes, RequestSummary, ServiceError};

    fn answered(status: u16, body: &str) -> Error {
        let status = StatusCode::from_u16(status).unwrap();
        let detail = PebblePadErrorDecoder.decode(status, &HeaderMap::new(), body.as_bytes());
        Error::Status(Box::new(ServiceError {
            request: RequestSummary {
                method: Method::POST,
                url: "https://h/api/1.1/User/Create".into(),
            },
            status,
            headers: HeaderMap::new(),
            body: Bytes::copy_from_slice(body.as_bytes()),
            detail,
        }))
    }

    #[test]
    fn duplicate_username_is_recognised() {
        let err = answered(400, r#"{"errormessage": "Username already exists"}"#);
        assert!(err.is_username_exists());
        assert_eq!(err.message(), Some("Username already exists"));
        assert!(err.to_string().contains("Username already exists"), "{err}");
        let other = answered(400, r#"{"errormessage": "Surname is required"}"#);
        assert!(!other.is_username_exists());
        assert_eq!(other.kind(), shoal_core::ErrorKind::BadRequest);
    }

    #[test]
    fn unauthorized_detail_is_kept_whole_and_redacted_in_text() {
        let body = r#"{"Reason":"scope","Required":"admin_grade:r","access_token":"CANARY"}"#;
        let err = answered(401, body);
        assert_eq!(err.kind(), shoal_core::ErrorKind::Unauthorized);
        let detail = err.unauthorized_detail().unwrap();
        assert_eq!(detail["Required"], "admin_grade:r");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("admin_grade:r"), "{shown}");
        assert!(!shown.contains("CANARY"), "{shown}");
    }

    #[test]
    fn asp_net_messages_are_read_in_any_case() {
        let err = answered(404, r#"{"Message":"No HTTP resource was found"}"#);
        assert_eq!(err.message(), Some("No HTTP resource was found"));
        assert_eq!(err.kind(), shoal_core::ErrorKind::NotFound);
    }

    #[test]
    fn forbidden_is_explained() {
        let err = answered(403, "");
        assert_eq!(err.kind(), shoal_core::ErrorKind::Forbidden);
        assert!(err.to_string().contains("deleted or has expired"), "{err}");
        let with_message = answered(403, r#"{"errormessage":"Denied"}"#);
        assert!(
            with_message.to_string().contains("Denied (the token"),
            "{with_message}"
        );
    }

    #[test]
    fn too_many_requests_says_not_processed() {
        let err = answered(429, "");
        assert!(err.to_string().contains("not processed"), "{err}");
    }
}
