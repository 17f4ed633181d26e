//! Sharing one failure with every task that waited on the same refresh or login.

use shoal_core::{AuthErrorKind, Error};

/// A copy of an error for the other waiters of a single-flight operation (core's `Error` is not
/// `Clone`; every variant's parts are, so the copy is faithful).
pub(crate) fn clone_error(e: &Error) -> Error {
    match e {
        Error::Transport { request, source } => Error::Transport {
            request: request.clone(),
            source: source.clone(),
        },
        Error::Timeout { request, deadline } => Error::Timeout {
            request: request.clone(),
            deadline: *deadline,
        },
        Error::Status(s) => Error::Status(s.clone()),
        Error::RateLimited {
            service,
            retry_after,
        } => Error::RateLimited {
            service: service.clone(),
            retry_after: *retry_after,
        },
        Error::RetryAfterTooLong {
            request,
            requested,
            cap,
        } => Error::RetryAfterTooLong {
            request: request.clone(),
            requested: *requested,
            cap: *cap,
        },
        Error::RetryBudgetExhausted { last } => Error::RetryBudgetExhausted {
            last: Box::new(clone_error(last)),
        },
        Error::MaybeProcessed { last } => Error::MaybeProcessed {
            last: Box::new(clone_error(last)),
        },
        Error::Decode {
            request,
            path,
            message,
        } => Error::Decode {
            request: request.clone(),
            path: path.clone(),
            message: message.clone(),
        },
        Error::InvalidInput { field, message } => Error::InvalidInput {
            field: field.clone(),
            message: message.clone(),
        },
        Error::Pagination(m) => Error::Pagination(m.clone()),
        Error::Auth(a) => Error::Auth(a.clone()),
        Error::Config(m) => Error::Config(m.clone()),
        other => Error::auth(AuthErrorKind::Login, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::{RequestSummary, TransportError, TransportErrorKind};

    #[test]
    fn copies_keep_kind_and_text() {
        let request = RequestSummary {
            method: http::Method::POST,
            url: "https://h/t".into(),
        };
        let errors = [
            Error::Transport {
                request,
                source: TransportError::new(TransportErrorKind::Io, "reset"),
            },
            Error::auth(AuthErrorKind::ReauthenticationRequired, "log in"),
            Error::invalid("f", "m"),
        ];
        for e in &errors {
            let c = clone_error(e);
            assert_eq!(c.to_string(), e.to_string());
            assert_eq!(c.is_retryable(), e.is_retryable());
        }
    }
}
