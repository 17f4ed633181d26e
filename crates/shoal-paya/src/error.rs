//! Paya's error bodies read into core's [`ServiceDetail`], and [`PayaErrorExt`]: typed Paya
//! detail on core's [`Error`] (422 field messages, "not signed up", deleted records) — no second
//! error hierarchy.

use http::{HeaderMap, StatusCode};
use shoal_core::{CommonErrorDecoder, Error, ErrorDecoder, ServiceDetail};

/// Reads Paya error bodies: 422 `{"errors": {field: [messages]}}` into per-field messages, and a
/// `message`/`error` text (or a short plain-text body) into the message. Bodies of other statuses
/// are undocumented, so whatever arrives is kept in the error's raw body too.
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

/// What a Paya call's failure means, for a `match`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PayaErrorKind {
    /// Refused before sending: the input broke a documented limit.
    InvalidInput,
    /// 400: usually a malformed body.
    BadRequest,
    /// 401: bad `developer-id`, `user-id`, `user-api-key` or token (after one re-login).
    Unauthorized,
    /// 403: no access to this endpoint.
    Forbidden,
    /// 403: the merchant is not signed up for this service (e.g. ACH).
    NotSignedUp,
    /// 404: no such record (or endpoint).
    NotFound,
    /// 405: method not allowed.
    MethodNotAllowed,
    /// 409: the record was deleted ("Gone").
    Deleted,
    /// 422: the server refused fields; see [`PayaErrorExt::validation_errors`].
    Validation,
    /// 5xx or no answer on a call that may have been processed and was not resent
    /// (a create): check before sending again.
    MaybeProcessed,
    /// 5xx after any retries.
    Server,
    /// Anything else (transport, timeout, decode, configuration, authentication setup).
    Other,
}

/// Paya detail on a Shoal [`Error`].
///
/// ```
/// use shoal_paya::{PayaErrorExt, PayaErrorKind};
/// let err = shoal_core::Error::invalid("zip", "must be 4 to 12 characters (got 3)");
/// assert_eq!(err.paya_kind(), PayaErrorKind::InvalidInput);
/// assert!(err.validation_errors().is_none());
/// ```
pub trait PayaErrorExt {
    /// What the failure means.
    fn paya_kind(&self) -> PayaErrorKind;
    /// A 422's per-field messages, in the server's order.
    fn validation_errors(&self) -> Option<&[(String, Vec<String>)]>;
    /// The messages the server gave for one field of a 422.
    fn field_errors(&self, field: &str) -> Option<&[String]>;
    /// 403 because the merchant is not signed up for the service.
    fn is_not_signed_up(&self) -> bool;
    /// 404.
    fn is_not_found(&self) -> bool;
    /// 409: the record was deleted.
    fn is_deleted(&self) -> bool;
    /// The request may have been processed although it failed (not resent): look the record
    /// up (by `contact_api_id`) before sending it again.
    fn may_have_been_processed(&self) -> bool;
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

impl PayaErrorExt for Error {
    fn paya_kind(&self) -> PayaErrorKind {
        match self {
            Error::InvalidInput { .. } => return PayaErrorKind::InvalidInput,
            Error::MaybeProcessed { .. } => return PayaErrorKind::MaybeProcessed,
            _ => {}
        }
        let Some(status) = self.status() else {
            return PayaErrorKind::Other;
        };
        match status.as_u16() {
            400 => PayaErrorKind::BadRequest,
            401 => PayaErrorKind::Unauthorized,
            403 if not_signed_up(self) => PayaErrorKind::NotSignedUp,
            403 => PayaErrorKind::Forbidden,
            404 => PayaErrorKind::NotFound,
            405 => PayaErrorKind::MethodNotAllowed,
            409 | 410 => PayaErrorKind::Deleted,
            422 => PayaErrorKind::Validation,
            500..=599 => PayaErrorKind::Server,
            _ => PayaErrorKind::Other,
        }
    }

    fn validation_errors(&self) -> Option<&[(String, Vec<String>)]> {
        let s = self.service()?;
        (s.status == StatusCode::UNPROCESSABLE_ENTITY).then_some(s.detail.fields.as_slice())
    }

    fn field_errors(&self, field: &str) -> Option<&[String]> {
        self.validation_errors()?
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_slice())
    }

    fn is_not_signed_up(&self) -> bool {
        self.paya_kind() == PayaErrorKind::NotSignedUp
    }

    fn is_not_found(&self) -> bool {
        self.paya_kind() == PayaErrorKind::NotFound
    }

    fn is_deleted(&self) -> bool {
        self.paya_kind() == PayaErrorKind::Deleted
    }

    fn may_have_been_processed(&self) -> bool {
        matches!(self, Error::MaybeProcessed { .. })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::Method;
    use shoal_core::{RequestSummary, ServiceError};

    use super::*;

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
        assert_eq!(err.paya_kind(), PayaErrorKind::Validation);
        assert_eq!(err.field_errors("email").unwrap().len(), 2);
        assert_eq!(err.validation_errors().unwrap().len(), 2);
        assert!(err.to_string().contains("zip: Zip is invalid."), "{err}");
    }

    #[test]
    fn each_status_is_distinct() {
        let kinds: Vec<PayaErrorKind> = [
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
        .map(|e| e.paya_kind())
        .collect();
        use PayaErrorKind::*;
        assert_eq!(
            kinds,
            vec![
                BadRequest,
                Unauthorized,
                Forbidden,
                NotSignedUp,
                NotFound,
                MethodNotAllowed,
                Deleted,
                Validation,
                Server
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
        assert!(maybe.may_have_been_processed() && maybe.paya_kind() == MaybeProcessed);
    }
}
