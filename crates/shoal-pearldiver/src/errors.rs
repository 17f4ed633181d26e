//! Pearl Diver errors: it answers failures with no body, so meaning comes from the status.

use shoal_core::http::{HeaderMap, StatusCode};
use shoal_core::{AuthErrorKind, CommonErrorDecoder, Error, ErrorDecoder, ServiceDetail};

/// The `code` given to a 404 on an audience.
pub const AUDIENCE_NOT_FOUND: &str = "audience_not_found";

/// Reads Pearl Diver's error responses.
///
/// API failures have no body, so the detail is built from the status line (a code and a
/// sentence a person can act on). Bodies that do exist — the token endpoint's RFC 6749 JSON —
/// are read by core's [`CommonErrorDecoder`], so OAuth error codes survive.
#[derive(Clone, Copy, Debug, Default)]
pub struct PearlDiverErrorDecoder;

impl ErrorDecoder for PearlDiverErrorDecoder {
    fn decode(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceDetail {
        let detail = CommonErrorDecoder.decode(status, headers, body);
        if detail.code.is_some() || detail.message.is_some() {
            return detail;
        }
        let (code, message) = match status.as_u16() {
            400 => (
                "bad_request",
                "Pearl Diver refused the request (it gives no reason)",
            ),
            401 => ("unauthorized", "the access token was refused"),
            403 => ("forbidden", "this account may not read that resource"),
            404 => ("not_found", "no such resource"),
            429 => ("rate_limited", "too many requests"),
            s if s >= 500 => ("server_error", "Pearl Diver failed on its side"),
            _ => return detail,
        };
        ServiceDetail::new(Some(code.into()), Some(message.into()))
    }
}

/// Gives an API call's error its Pearl Diver meaning: a final 401 means the user must log in
/// again; a 404 on an audience names the audience.
pub(crate) fn for_call(err: Error, audience: Option<u64>) -> Error {
    match err {
        Error::Status(mut service) => match service.status {
            StatusCode::UNAUTHORIZED => Error::auth(
                AuthErrorKind::ReauthenticationRequired,
                format!(
                    "{} answered 401 even after a token refresh; log in to Pearl Diver again",
                    service.request
                ),
            ),
            StatusCode::NOT_FOUND => {
                if let Some(key) = audience {
                    service.detail = ServiceDetail::new(
                        Some(AUDIENCE_NOT_FOUND.into()),
                        Some(format!("audience {key} not found")),
                    );
                }
                Error::Status(service)
            }
            _ => Error::Status(service),
        },
        other => other,
    }
}

/// Whether an error is Pearl Diver's "audience not found".
pub fn is_audience_not_found(err: &Error) -> bool {
    err.vendor_code() == Some(AUDIENCE_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::http::Method;
    use shoal_core::{Bytes, RequestSummary, ServiceError};

    fn status(code: u16) -> Error {
        let status = StatusCode::from_u16(code).unwrap();
        Error::Status(Box::new(ServiceError {
            request: RequestSummary {
                method: Method::GET,
                url: "https://api.test/v1/audiences/17".into(),
            },
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            detail: PearlDiverErrorDecoder.decode(status, &HeaderMap::new(), b""),
        }))
    }

    #[test]
    fn a_404_names_the_audience() {
        let err = for_call(status(404), Some(17));
        assert_eq!(
            err.to_string(),
            "GET https://api.test/v1/audiences/17 answered 404 Not Found audience_not_found: audience 17 not found"
        );
        assert!(is_audience_not_found(&err));
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_final_401_asks_for_a_new_login() {
        let err = for_call(status(401), None);
        assert_eq!(
            err.auth_error().map(|a| &a.kind),
            Some(&AuthErrorKind::ReauthenticationRequired)
        );
        assert!(
            err.to_string().starts_with("re-authentication required"),
            "{err}"
        );
    }

    #[test]
    fn bodiless_statuses_get_a_readable_detail() {
        let err = for_call(status(503), Some(17));
        assert_eq!(err.vendor_code(), Some("server_error"));
        assert!(err.is_retryable());
        assert!(err.to_string().contains("Pearl Diver failed on its side"));
    }

    #[test]
    fn oauth_json_bodies_keep_their_code() {
        let detail = PearlDiverErrorDecoder.decode(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#,
        );
        assert_eq!(detail.code.as_deref(), Some("invalid_grant"));
    }
}
