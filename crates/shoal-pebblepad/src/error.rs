//! PebblePad's error answers read into core's [`ServiceDetail`] ([`PebblePadErrorDecoder`]), and
//! [`PebblePadErrorExt`]: typed PebblePad detail on core's [`Error`] — no second hierarchy.

use http::{HeaderMap, StatusCode};
use shoal_core::{CommonErrorDecoder, Error, ErrorDecoder, Redactor, ServiceDetail};

/// What a 403 means at PebblePad, said in every 403's message.
pub const FORBIDDEN_EXPLANATION: &str = "the token is valid but its user cannot be authenticated: \
     the user was deleted or has expired, or an access policy of Deny applies to the user, one \
     of their groups or the organisation";

/// What a 429 means at PebblePad.
pub const RATE_LIMITED_EXPLANATION: &str =
    "a per-method rate limit or the concurrency limit was exceeded; the call was not processed";

/// Reads PebblePad error bodies: 400 `{"errormessage": …}`; 401 JSON detail (any object: its
/// `error`/`message` when present, otherwise the whole object, redacted, as the message — the
/// raw body is always kept on the error); 403 explained; 429 explained.
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

/// What a PebblePad call's failure means, for a `match`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PebblePadErrorKind {
    /// Refused before sending: the input was invalid.
    InvalidInput,
    /// 400 because the username exists (creating a user).
    UsernameExists,
    /// 400: malformed request; see [`PebblePadErrorExt::error_message`].
    BadRequest,
    /// 401 (after one refresh): token missing, malformed, expired, or its scope does not cover
    /// the endpoint; see [`PebblePadErrorExt::unauthorized_detail`].
    Unauthorized,
    /// 403: the token's user was deleted or expired, or an access policy denies them.
    Forbidden,
    /// 404: no such record or action.
    NotFound,
    /// 429 after retries (the call was not processed).
    RateLimited,
    /// 5xx after retries.
    Server,
    /// Authentication could not complete (refresh refused, token store failure).
    Auth,
    /// Anything else (transport, timeout, decode, configuration).
    Other,
}

/// PebblePad detail on a Shoal [`Error`].
///
/// ```
/// use shoal_pebblepad::{PebblePadErrorExt, PebblePadErrorKind};
/// let err = shoal_core::Error::invalid("id", "empty");
/// assert_eq!(err.pebblepad_kind(), PebblePadErrorKind::InvalidInput);
/// assert!(!err.is_username_exists());
/// ```
pub trait PebblePadErrorExt {
    /// What the failure means.
    fn pebblepad_kind(&self) -> PebblePadErrorKind;
    /// The server's `errormessage` (or other message), redacted.
    fn error_message(&self) -> Option<&str>;
    /// A 401's JSON body, whole.
    fn unauthorized_detail(&self) -> Option<serde_json::Value>;
    /// A 400 saying the username already exists (matched on the word "exists").
    fn is_username_exists(&self) -> bool;
}

impl PebblePadErrorExt for Error {
    fn pebblepad_kind(&self) -> PebblePadErrorKind {
        match self {
            Error::InvalidInput { .. } => return PebblePadErrorKind::InvalidInput,
            Error::RateLimited { .. } => return PebblePadErrorKind::RateLimited,
            Error::Auth(_) => return PebblePadErrorKind::Auth,
            _ => {}
        }
        let Some(status) = self.status() else {
            return PebblePadErrorKind::Other;
        };
        match status.as_u16() {
            400 if username_exists(self) => PebblePadErrorKind::UsernameExists,
            400 => PebblePadErrorKind::BadRequest,
            401 => PebblePadErrorKind::Unauthorized,
            403 => PebblePadErrorKind::Forbidden,
            404 => PebblePadErrorKind::NotFound,
            429 => PebblePadErrorKind::RateLimited,
            500..=599 => PebblePadErrorKind::Server,
            _ => PebblePadErrorKind::Other,
        }
    }

    fn error_message(&self) -> Option<&str> {
        self.service()?.detail.message.as_deref()
    }

    fn unauthorized_detail(&self) -> Option<serde_json::Value> {
        let s = self.service()?;
        if s.status != StatusCode::UNAUTHORIZED {
            return None;
        }
        serde_json::from_slice(&s.body).ok()
    }

    fn is_username_exists(&self) -> bool {
        self.pebblepad_kind() == PebblePadErrorKind::UsernameExists
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
        assert_eq!(err.error_message(), Some("Username already exists"));
        assert!(err.to_string().contains("Username already exists"), "{err}");
        let other = answered(400, r#"{"errormessage": "Surname is required"}"#);
        assert_eq!(other.pebblepad_kind(), PebblePadErrorKind::BadRequest);
    }

    #[test]
    fn unauthorized_detail_is_kept_whole_and_redacted_in_text() {
        let body = r#"{"Reason":"scope","Required":"admin_grade:r","access_token":"CANARY"}"#;
        let err = answered(401, body);
        assert_eq!(err.pebblepad_kind(), PebblePadErrorKind::Unauthorized);
        let detail = err.unauthorized_detail().unwrap();
        assert_eq!(detail["Required"], "admin_grade:r");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("admin_grade:r"), "{shown}");
        assert!(!shown.contains("CANARY"), "{shown}");
    }

    #[test]
    fn asp_net_messages_are_read_in_any_case() {
        let err = answered(404, r#"{"Message":"No HTTP resource was found"}"#);
        assert_eq!(err.error_message(), Some("No HTTP resource was found"));
        assert_eq!(err.pebblepad_kind(), PebblePadErrorKind::NotFound);
    }

    #[test]
    fn forbidden_is_explained() {
        let err = answered(403, "");
        assert_eq!(err.pebblepad_kind(), PebblePadErrorKind::Forbidden);
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
