//! Paya's error bodies read into core's [`ServiceDetail`] ([`PayaErrorDecoder`]: 422 field
//! messages, nested messages), and [`PayaErrorExt`]: what only Paya errors say ("not signed up")
//! on core's [`Error`] — no second error hierarchy.

use http::{HeaderMap, StatusCode};
use shoal_core::{CommonErrorDecoder, Error, ErrorDecoder, ServiceDetail};

/// Reads Paya error bodies: 422 `{"errors": {field: [messages]}}` into per-field messages, and a
/// `message`/`error` text (or a short plain-text body) into the message. Bodies of other statuses
/// are undocumented *(assumed: maybe JSON, maybe empty — `shared/api/paya.md` "Errors")*, so
/// whatever arrives is kept in the error's raw body too.
#[derive(Clone, Copy, Debug, Default)]
pub struct PayaErrorDecoder;

impl ErrorDecoder for PayaErrorDecoder {
    fn decode(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceDetail {
        let mut detail = CommonErrorDecoder.decode(status, headers, body);
        if detail.message.is_none() {
            if let Ok(serde_json::Value::Object(map)) =
                serde_json::from_slice::<serde_json::Value>(body)
            {
                // `{"error": {"message": "…"}}` and `{"errors": "…"}` shapes.
                let nested = map
                    .get("error")
                    .and_then(|e| e.get("message"))
                    .and_then(|m| m.as_str());
                let plain = map.get("errors").and_then(|e| e.as_str());
                detail.message = nested.or(plain).map(str::to_string);
            } else if !body.is_empty() && body.len() <= 500 && !body.starts_with(b"<") {
                let text = String::from_utf8_lossy(body).trim().to_string();
                if !text.is_empty() {
                    detail.message = Some(text);
                }
            }
        }
        detail
    }
}

/// What only Paya errors say, on a Shoal [`Error`] (everything else is core's [`Error::kind`],
/// [`Error::validation_errors`], [`Error::field_errors`] and
/// [`Error::may_have_been_processed`]).
///
/// ```
/// use shoal_paya::PayaErrorExt as _;
/// let err = shoal_core::Error::invalid("zip", "too short");
/// assert_eq!(err.kind(), shoal_core::ErrorKind::InvalidInput);
/// assert!(!err.is_not_signed_up());
/// ```
pub trait PayaErrorExt {
    /// A 403 saying the merchant is not signed up for the service (ACH, say). The 403's body is
    /// undocumented, so the words matched (`not signed up`, `signed up for`, in the message or
    /// the raw body, any case) are *assumed* (`shared/api/paya.md` "Errors").
    fn is_not_signed_up(&self) -> bool;
}

impl PayaErrorExt for Error {
    fn is_not_signed_up(&self) -> bool {
        not_signed_up(self)
    }
}

fn not_signed_up(err: &Error) -> bool {
    let Some(s) = err.service() else { return false };
    if s.status != StatusCode::FORBIDDEN {
        return false;
    }
    let message = s
        .detail
        .message
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = String::from_utf8_lossy(&s.body).to_ascii_lowercase();
    ["not signed up", "not signed-up", "signed up for"]
        .iter()
        .any(|p| message.contains(p) || body.contains(p))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::Method;
    use shoal_core::{RequestSummary, ServiceError};

    use super::*;
    use shoal_core::ErrorKind;

    fn answered(status: u16, body: &str) -> Error {
        let status = StatusCode::from_u16(status).unwrap();
        let detail = PayaErrorDecoder.decode(status, &HeaderMap::new(), body.as_bytes());
        Error::Status(Box::new(ServiceError {
            request: RequestSummary {
                method: Method::POST,
                url: "https://h/v2/contacts".into(),
            },
            status,
            headers: HeaderMap::new(),
            body: Bytes::copy_from_slice(body.as_bytes()),
            detail,
        }))
    }

    #[test]
    fn a_422_carries_its_field_messages() {
        let err = answered(
            422,
            r#"{"errors":{"zip":["Zip is invalid."],"email":["Email is too short.","Email is invalid."]}}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert_eq!(err.field_errors("email").unwrap().len(), 2);
        assert_eq!(err.validation_errors().unwrap().len(), 2);
        assert!(err.to_string().contains("zip: Zip is invalid."), "{err}");
    }

    #[test]
    fn each_status_is_distinct() {
        let kinds: Vec<(ErrorKind, bool)> = [
            answered(400, "{}"),
            answered(401, ""),
            answered(403, r#"{"message":"Forbidden"}"#),
            answered(403, "Merchant is not signed up for this service"),
            answered(404, ""),
            answered(405, ""),
            answered(409, r#"{"message":"Gone"}"#),
            answered(422, r#"{"errors":{}}"#),
            answered(500, ""),
        ]
        .iter()
        .map(|e| (e.kind(), e.is_not_signed_up()))
        .collect();
        use ErrorKind::*;
        assert_eq!(
            kinds,
            vec![
                (BadRequest, false),
                (Unauthorized, false),
                (Forbidden, false),
                (Forbidden, true),
                (NotFound, false),
                (MethodNotAllowed, false),
                (Gone, false),
                (Validation, false),
                (Server, false)
            ]
        );
        assert!(
            answered(
                403,
                r#"{"error":{"message":"User is not signed up for ACH"}}"#
            )
            .is_not_signed_up()
        );
        assert!(answered(404, "").validation_errors().is_none());
        let maybe = Error::MaybeProcessed {
            last: Box::new(answered(500, "")),
        };
        assert!(maybe.may_have_been_processed() && maybe.kind() == MaybeProcessed);
    }
}
