//! The one error type of Shoal, with what the server said and nothing secret.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use crate::redact::Redactor;

/// A shorthand for results carrying a Shoal [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which request an error is about: method and redacted URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestSummary {
    /// The HTTP method.
    pub method: Method,
    /// The URL with secrets already redacted.
    pub url: String,
}

impl fmt::Debug for RequestSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

impl fmt::Display for RequestSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

/// What a vendor's error body says, decoded by the vendor crate's [`ErrorDecoder`](crate::ErrorDecoder).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceDetail {
    /// A machine-readable code (`invalid_grant`, …).
    pub code: Option<String>,
    /// The human message, redacted.
    pub message: Option<String>,
    /// Per-field validation messages, in the order the server gave them.
    pub fields: Vec<(String, Vec<String>)>,
}

impl ServiceDetail {
    /// A detail with a code and a message.
    pub fn new(code: Option<String>, message: Option<String>) -> Self {
        Self {
            code,
            message,
            fields: Vec::new(),
        }
    }

    /// Adds per-field messages.
    pub fn with_fields(mut self, fields: Vec<(String, Vec<String>)>) -> Self {
        self.fields = fields;
        self
    }
}

/// A non-success HTTP response: status, headers, body and what the vendor crate made of it.
#[derive(Clone)]
pub struct ServiceError {
    /// The request that got this answer.
    pub request: RequestSummary,
    /// The status the server answered with.
    pub status: StatusCode,
    /// Response headers (secret ones are redacted when printed).
    pub headers: HeaderMap,
    /// The raw body, possibly empty (Pearl Diver sends none).
    pub body: Bytes,
    /// The vendor's code and message, when its body carries them.
    pub detail: ServiceDetail,
}

impl ServiceError {
    /// The body as UTF-8 text, lossily, with secret fields redacted.
    pub fn body_text(&self) -> String {
        Redactor::standard().body(&self.body, 2000)
    }
}

impl fmt::Debug for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceError")
            .field("request", &self.request)
            .field("status", &self.status)
            .field("headers", &Redactor::standard().headers(&self.headers))
            .field("body", &self.body_text())
            .field("detail", &self.detail)
            .finish()
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", self.request, self.status)?;
        if let Some(code) = &self.detail.code {
            write!(f, " {}", OneLine(code))?;
        }
        if let Some(message) = &self.detail.message {
            write!(f, ": {}", OneLine(message))?;
        }
        for (field, messages) in &self.detail.fields {
            write!(f, "; {}: {}", OneLine(field), OneLine(&messages.join(", ")))?;
        }
        Ok(())
    }
}

/// Server text shown on one line: control characters (newlines, escape sequences a terminal
/// would obey, NUL) become spaces. Errors use it for what a vendor wrote; so does any program
/// printing an error line, as the CLI does.
///
/// ```
/// assert_eq!(shoal_core::OneLine("a\nb\u{1b}[0m").to_string(), "a b [0m");
/// ```
pub struct OneLine<'a>(pub &'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(char::is_control) {
            f.write_str(&rest[..at])?;
            f.write_str(" ")?;
            let width = rest[at..].chars().next().map_or(1, char::len_utf8);
            rest = &rest[at + width..];
        }
        f.write_str(rest)
    }
}

/// How a request failed before any response came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection was refused: the request provably never reached the server.
    ConnectRefused,
    /// Connecting failed in another way (DNS, TLS handshake, unreachable).
    Connect,
    /// The attempt timed out (connect or read).
    Timeout,
    /// The connection broke while the request or response was in flight.
    Io,
    /// The response body was larger than the client accepts; it was not read.
    TooLarge,
    /// The request could not be built or sent for another reason.
    Other,
}

/// A failure below HTTP: no response was received.
#[derive(Clone, Debug)]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// A description with no URL in it (the URL is in [`Error`]'s request summary).
    pub message: String,
}

impl TransportError {
    /// A transport error of a kind.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A body larger than `max` bytes was refused.
    pub fn too_large(max: usize) -> Self {
        Self::new(
            TransportErrorKind::TooLarge,
            format!("the response body is larger than the {max}-byte limit (see `max_body_bytes`)"),
        )
    }

    /// Whether the request provably never reached the server, so even a non-idempotent request
    /// may be sent again.
    pub fn not_sent(&self) -> bool {
        self.kind == TransportErrorKind::ConnectRefused
    }
}

impl std::error::Error for TransportError {}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportErrorKind::ConnectRefused => "connection refused",
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection failed mid-request",
            TransportErrorKind::TooLarge => "response refused",
            TransportErrorKind::Other => "request failed",
        };
        write!(f, "{what}: {}", self.message)
    }
}

/// Why authentication failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// The refresh token is dead (expired, revoked, rotated away): a person must log in again.
    ReauthenticationRequired,
    /// The token endpoint answered an OAuth error.
    OAuth(OAuthErrorCode),
    /// The authorization redirect carried an error (`access_denied`, …).
    Authorization(OAuthErrorCode),
    /// The redirect's `state` was missing or did not match: possibly forged.
    StateMismatch,
    /// The token store failed to load or save.
    TokenStore,
    /// A login (session token, loopback) did not complete.
    Login,
    /// The server refused the credentials (401/403) after any refresh.
    Unauthorized,
}

/// An OAuth 2.0 error code (RFC 6749 §4.1.2.1 and §5.2), with unknown codes kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `access_denied`
    AccessDenied,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `unsupported_request_type` (PebblePad's spelling)
    UnsupportedRequestType,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// Any other code, as sent.
    Other(String),
}

impl OAuthErrorCode {
    /// Parses a code as sent by a server.
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "unsupported_request_type" => Self::UnsupportedRequestType,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            other => Self::Other(other.to_string()),
        }
    }

    /// What the code means, as RFC 6749 and PebblePad document it, for a person.
    pub fn meaning(&self) -> Option<&'static str> {
        Some(match self {
            Self::InvalidRequest => {
                "the request was refused: a parameter was missing, unknown or repeated"
            }
            Self::InvalidClient => "the client id or secret (or the redirect URI) was not accepted",
            Self::InvalidGrant => "the code or refresh token is invalid, expired, used or revoked",
            Self::UnauthorizedClient => "this client may not use this grant",
            Self::UnsupportedGrantType => "the server does not support this grant type",
            Self::InvalidScope => "the scope asked for is unknown or wider than granted",
            Self::AccessDenied => "the user denied access (or had already authorised it)",
            Self::UnsupportedResponseType | Self::UnsupportedRequestType => {
                "the server does not accept this response_type (it must be `code`)"
            }
            Self::ServerError => "the authorization server failed",
            Self::TemporarilyUnavailable => "the authorization server is temporarily unavailable",
            Self::Other(_) => return None,
        })
    }

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::UnsupportedRequestType => "unsupported_request_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authentication failure: what kind, and a message with no secret in it.
#[derive(Clone, Debug)]
pub struct AuthError {
    /// What kind of failure.
    pub kind: AuthErrorKind,
    /// What happened, for a person (never a token or secret).
    pub message: String,
}

impl AuthError {
    /// An authentication error.
    pub fn new(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            AuthErrorKind::ReauthenticationRequired => {
                write!(f, "re-authentication required: {}", self.message)
            }
            AuthErrorKind::OAuth(code) => {
                write!(f, "token endpoint refused ({code}): {}", self.message)
            }
            AuthErrorKind::Authorization(code) => {
                write!(f, "authorization refused ({code}): {}", self.message)
            }
            AuthErrorKind::StateMismatch => write!(f, "OAuth state mismatch: {}", self.message),
            AuthErrorKind::TokenStore => write!(f, "token store failed: {}", self.message),
            AuthErrorKind::Login => write!(f, "login failed: {}", self.message),
            AuthErrorKind::Unauthorized => write!(f, "unauthorized: {}", self.message),
        }
    }
}

/// What a failure means, the same for every vendor: see [`Error::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Refused before sending: the input was invalid.
    InvalidInput,
    /// 400: the server refused the request as malformed.
    BadRequest,
    /// 401 after any refresh: the credentials were refused.
    Unauthorized,
    /// 403: the credentials are valid but may not do this.
    Forbidden,
    /// 404: no such record or endpoint.
    NotFound,
    /// 405: the method is not allowed there.
    MethodNotAllowed,
    /// 409 or 410: the record was deleted.
    Gone,
    /// 422: the server refused fields (see [`Error::validation_errors`]).
    Validation,
    /// 429 after retries, or a `Retry-After` longer than allowed.
    RateLimited,
    /// 5xx after retries.
    Server,
    /// Another status.
    OtherStatus,
    /// Authentication could not complete: a refresh refused, a login needed, a token store
    /// failure.
    Auth,
    /// A non-idempotent call failed in a way that means it may have been processed.
    MaybeProcessed,
    /// No answer: connection refused or broken, an attempt timed out.
    Transport,
    /// The call's overall deadline passed.
    Timeout,
    /// The answer did not have the expected shape.
    Decode,
    /// Pagination could not continue safely.
    Pagination,
    /// The client is configured wrongly.
    Config,
}

/// Everything that can go wrong in a Shoal call.
///
/// `Display` says what the server said (vendor code and message) and which request it was, with
/// secrets redacted; `Debug` is just as safe to log.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No response: connection refused, reset, TLS, attempt timeout.
    #[error("{request}: {source}")]
    Transport {
        /// The request that failed.
        request: RequestSummary,
        /// What failed.
        source: TransportError,
    },
    /// The call's overall deadline passed.
    #[error("{request}: no answer within the {deadline:?} deadline")]
    Timeout {
        /// The request that timed out.
        request: RequestSummary,
        /// The deadline that passed.
        deadline: Duration,
    },
    /// The server answered with a non-success status.
    #[error("{0}")]
    Status(Box<ServiceError>),
    /// The server answered 429 and retries did not get past it.
    #[error("rate limited: {service}{}", retry_after_text(*.retry_after))]
    RateLimited {
        /// The server's answer.
        service: Box<ServiceError>,
        /// How long the server asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// The server asked to wait longer than the configured maximum.
    #[error(
        "{request}: server asked to retry after {requested:?}, more than the {cap:?} allowed; giving up instead of waiting"
    )]
    RetryAfterTooLong {
        /// The request.
        request: RequestSummary,
        /// How long the server asked for.
        requested: Duration,
        /// The configured maximum.
        cap: Duration,
    },
    /// The client's retry budget is spent: the service is failing too often to keep retrying.
    #[error("retry budget exhausted, not retrying: {last}")]
    RetryBudgetExhausted {
        /// The failure that would have been retried.
        last: Box<Error>,
    },
    /// A non-idempotent request failed in a way that means it may have been processed; it was
    /// not sent again.
    #[error(
        "{last} — the request may have been processed and was not resent; check before sending it again"
    )]
    MaybeProcessed {
        /// The failure.
        last: Box<Error>,
    },
    /// A response body did not match the expected shape.
    // The path and message quote what the server sent: shown on one line.
    #[error(
        "{request}: could not decode response at `{}`: {}",
        OneLine(path),
        OneLine(message)
    )]
    Decode {
        /// The request whose answer failed to decode.
        request: RequestSummary,
        /// The JSON path of the failure (`records[3].phones[0].order`).
        path: String,
        /// What was wrong.
        message: String,
    },
    /// The caller's input was refused before anything was sent.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The field or argument at fault.
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Pagination could not continue safely.
    #[error("pagination stopped: {0}")]
    Pagination(String),
    /// Authentication failed.
    #[error("{0}")]
    Auth(AuthError),
    /// The client is configured wrongly.
    #[error("configuration: {0}")]
    Config(String),
}

fn retry_after_text(d: Option<Duration>) -> String {
    d.map(|d| format!(" (retry after {}s)", d.as_secs()))
        .unwrap_or_default()
}

impl Error {
    /// An [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An [`Error::Auth`].
    pub fn auth(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        Self::Auth(AuthError::new(kind, message))
    }

    /// Whether trying the same call again later could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { source, .. } => !matches!(
                source.kind,
                TransportErrorKind::Other | TransportErrorKind::TooLarge
            ),
            Error::Timeout { .. } | Error::RateLimited { .. } => true,
            Error::Status(s) => crate::retry::is_retryable_status(s.status),
            Error::RetryBudgetExhausted { .. } | Error::RetryAfterTooLong { .. } => true,
            _ => false,
        }
    }

    /// What the failure means, for a `match` — the same kinds for every vendor; a vendor crate's
    /// error extension adds only what is truly its own (PebblePad's "username exists", Paya's
    /// "not signed up").
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Transport { .. } => ErrorKind::Transport,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::RetryAfterTooLong { .. } => ErrorKind::RateLimited,
            Error::RetryBudgetExhausted { last } => last.kind(),
            Error::MaybeProcessed { .. } => ErrorKind::MaybeProcessed,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Pagination(_) => ErrorKind::Pagination,
            Error::Auth(_) => ErrorKind::Auth,
            Error::Config(_) => ErrorKind::Config,
            Error::Status(s) => match s.status.as_u16() {
                400 => ErrorKind::BadRequest,
                401 => ErrorKind::Unauthorized,
                403 => ErrorKind::Forbidden,
                404 => ErrorKind::NotFound,
                405 => ErrorKind::MethodNotAllowed,
                409 | 410 => ErrorKind::Gone,
                422 => ErrorKind::Validation,
                429 => ErrorKind::RateLimited,
                500..=599 => ErrorKind::Server,
                _ => ErrorKind::OtherStatus,
            },
        }
    }

    /// Whether a non-idempotent call may have been processed although it failed: check (by the
    /// caller's own id) before sending it again.
    pub fn may_have_been_processed(&self) -> bool {
        matches!(self, Error::MaybeProcessed { .. })
    }

    /// The vendor's message, when the answer carried one (redacted).
    pub fn message(&self) -> Option<&str> {
        self.service()?.detail.message.as_deref()
    }

    /// Per-field messages of a validation answer (422), in the server's order.
    pub fn validation_errors(&self) -> Option<&[(String, Vec<String>)]> {
        let s = self.service()?;
        (s.status == StatusCode::UNPROCESSABLE_ENTITY).then_some(s.detail.fields.as_slice())
    }

    /// The messages a validation answer gave for one field.
    pub fn field_errors(&self, field: &str) -> Option<&[String]> {
        self.validation_errors()?
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_slice())
    }

    /// Whether the error is about credentials (refused, expired, re-login needed).
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Auth(_) => true,
            Error::Status(s) => matches!(s.status.as_u16(), 401 | 403),
            _ => false,
        }
    }

    /// The HTTP status the server answered, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.service().map(|s| s.status)
    }

    /// The server's answer, if the error carries one.
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            Error::Status(s) | Error::RateLimited { service: s, .. } => Some(s),
            Error::MaybeProcessed { last } | Error::RetryBudgetExhausted { last } => last.service(),
            _ => None,
        }
    }

    /// The vendor's error code, if the body carried one.
    pub fn vendor_code(&self) -> Option<&str> {
        self.service().and_then(|s| s.detail.code.as_deref())
    }

    /// The authentication failure, if this is one.
    pub fn auth_error(&self) -> Option<&AuthError> {
        match self {
            Error::Auth(a) => Some(a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> RequestSummary {
        RequestSummary {
            method: Method::GET,
            url: "https://h/v1/audiences/17".into(),
        }
    }

    /// Issue 17 (the hostile suite's find): a body of `\x0e\n\0` made a two-line error, and
    /// an escape sequence in a vendor message would reach the user's terminal.
    #[test]
    fn server_text_is_shown_on_one_line_without_control_characters() {
        let err = Error::Status(Box::new(ServiceError {
            request: summary(),
            status: StatusCode::MOVED_PERMANENTLY,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            detail: ServiceDetail::new(
                Some("E\u{1b}[31m".into()),
                Some("\u{e}\n\0 Größe\r\n«x»".into()),
            )
            .with_fields(vec![("zi\np".into(), vec!["a\tb".into()])]),
        }));
        let shown = err.to_string();
        assert!(!shown.contains(char::is_control), "{shown:?}");
        assert!(
            shown.ends_with("E [31m:     Größe  «x»; zi p: a b"),
            "{shown:?}"
        );
    }

    /// The hostile suite's find: serde's "could not deserialize any variant" message spans
    /// lines; a decode error is one line too.
    #[test]
    fn a_decode_error_is_one_line() {
        let err = Error::Decode {
            request: summary(),
            path: "key\n".into(),
            message: "PickFirst:\n  First: bad\n  Second: \u{1b}[2Jbad".into(),
        };
        let shown = err.to_string();
        assert!(!shown.contains(char::is_control), "{shown:?}");
        assert!(
            shown.ends_with("at `key `: PickFirst:   First: bad   Second:  [2Jbad"),
            "{shown:?}"
        );
    }

    #[test]
    fn status_display_says_what_the_server_said() {
        let err = Error::Status(Box::new(ServiceError {
            request: summary(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            detail: ServiceDetail::new(None, Some("validation failed".into()))
                .with_fields(vec![("zip".into(), vec!["is invalid".into()])]),
        }));
        assert_eq!(
            err.to_string(),
            "GET https://h/v1/audiences/17 answered 422 Unprocessable Entity: validation failed; zip: is invalid"
        );
        assert!(!err.is_retryable());
        assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    }

    #[test]
    fn debug_hides_secret_headers_and_body_fields() {
        let mut headers = HeaderMap::new();
        headers.insert("set-cookie", "sid=SECRET1".parse().unwrap());
        let err = ServiceError {
            request: summary(),
            status: StatusCode::BAD_REQUEST,
            headers,
            body: Bytes::from_static(br#"{"access_token":"SECRET2"}"#),
            detail: ServiceDetail::default(),
        };
        let shown = format!("{err:?}");
        assert!(
            !shown.contains("SECRET1") && !shown.contains("SECRET2"),
            "{shown}"
        );
    }

    #[test]
    fn retryability_follows_the_failure() {
        let t = Error::Transport {
            request: summary(),
            source: TransportError::new(TransportErrorKind::Io, "reset"),
        };
        assert!(t.is_retryable());
        assert!(!Error::invalid("range", "must be 1..=90").is_retryable());
        let maybe = Error::MaybeProcessed { last: Box::new(t) };
        assert!(!maybe.is_retryable());
        assert!(maybe.to_string().contains("may have been processed"));
    }
}
