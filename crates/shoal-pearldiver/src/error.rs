//! Pearl Diver errors: it answers failures with no body, so meaning comes from the status
//! ([`PearlDiverErrorDecoder`]); [`PearlDiverErrorExt`] adds the one Pearl Diver fact a caller
//! asks about (an audience that does not exist). Everything else is core's
//! [`Error::kind`](shoal_core::Error::kind).

use shoal_core::http::{HeaderMap, StatusCode};
use shoal_core::{AuthErrorKind, CommonErrorDecoder, Error, ErrorDecoder, ServiceDetail};

/// The `code` given to a 404 on an audience.
pub const AUDIENCE_NOT_FOUND: &str = "audience_not_found";

/// Reads Pearl Diver's error responses.
///
/// API failures have no body, so the detail is built from the status line (a code and a
/// sentence a person can act on). Bodies that do exist — the token endpoint's RFC 6749 JSON
/// *(assumed, RFC 6749 + Auth0: `shared/api/pearldiver.md` "Authentication")* — are read by
/// core's [`CommonErrorDecoder`], so OAuth error codes survive.
///
/// On the API pipeline it also gives a failed call its Pearl Diver meaning, once: a 401 that
/// survived a token refresh means the user must log in again; a 404 on an audience names it.
#[derive(Clone, Copy, Debug)]
pub struct PearlDiverErrorDecoder {
    api: bool,
}

impl PearlDiverErrorDecoder {
    /// For the API: bodiless statuses read, final errors given their meaning.
    pub fn api() -> Self {
        Self { api: true }
    }

    /// For the token endpoint: its RFC 6749 bodies read, errors left for the OAuth client to
    /// type (`invalid_grant`, …).
    pub fn token_endpoint() -> Self {
        Self { api: false }
    }
}

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

    fn refine(&self, error: Error) -> Error {
        if self.api { for_call(error) } else { error }
    }
}

/// A final 401 means the user must log in again; a 404 on `audiences/{key}` names the audience.
fn for_call(err: Error) -> Error {
    match err {
        Error::Status(mut service) => match service.status {
            StatusCode::UNAUTHORIZED => Error::auth(
                AuthErrorKind::ReauthenticationRequired,
                format!(
                    "{} answered 401 even after a token refresh: the grant is gone, so a new login is needed",
                    service.request
                ),
            ),
            StatusCode::NOT_FOUND => {
                if let Some(key) = audience_key(&service.request.url) {
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

/// The key in a URL ending in `/audiences/{key}` (query aside).
fn audience_key(url: &str) -> Option<u64> {
    let path = url.split(['?', '#']).next()?;
    let (head, key) = path.trim_end_matches('/').rsplit_once('/')?;
    head.ends_with("/audiences").then(|| key.parse().ok())?
}

/// Pearl Diver detail on a Shoal [`Error`].
///
/// ```
/// use shoal_pearldiver::PearlDiverErrorExt as _;
/// let err = shoal_core::Error::invalid("range", "must be 1..=90");
/// assert!(!err.is_audience_not_found());
/// ```
pub trait PearlDiverErrorExt {
    /// Whether the audience asked for does not exist (or this user may not see it).
    fn is_audience_not_found(&self) -> bool;
}

impl PearlDiverErrorExt for Error {
    fn is_audience_not_found(&self) -> bool {
        self.vendor_code() == Some(AUDIENCE_NOT_FOUND)
    }
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
            detail: PearlDiverErrorDecoder::api().decode(status, &HeaderMap::new(), b""),
        }))
    }

    #[test]
    fn a_404_names_the_audience() {
        let err = PearlDiverErrorDecoder::api().refine(status(404));
        assert_eq!(
            err.to_string(),
            "GET https://api.test/v1/audiences/17 answered 404 Not Found audience_not_found: audience 17 not found"
        );
        assert!(err.is_audience_not_found());
        assert_eq!(err.kind(), shoal_core::ErrorKind::NotFound);
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_final_401_asks_for_a_new_login() {
        let err = PearlDiverErrorDecoder::api().refine(status(401));
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
        let err = PearlDiverErrorDecoder::api().refine(status(503));
        assert_eq!(err.vendor_code(), Some("server_error"));
        assert!(err.is_retryable());
        assert!(err.to_string().contains("Pearl Diver failed on its side"));
    }

    #[test]
    fn only_the_api_pipeline_refines() {
        let err = PearlDiverErrorDecoder::token_endpoint().refine(status(401));
        assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(audience_key("https://h/v1/audiences/17?range=3"), Some(17));
        assert_eq!(audience_key("https://h/v1/audiences"), None);
        assert_eq!(audience_key("https://h/v1/other/17"), None);
    }

    #[test]
    fn oauth_json_bodies_keep_their_code() {
        let detail = PearlDiverErrorDecoder::token_endpoint().decode(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#,
        );
        assert_eq!(detail.code.as_deref(), Some("invalid_grant"));
    }
}
