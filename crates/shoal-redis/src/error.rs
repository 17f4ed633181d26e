//! How Redis failures become Shoal [`Error`]s (with no URL or secret in the message).

use shoal_core::http::Method;
use shoal_core::{AuthErrorKind, Error, RequestSummary, TransportError, TransportErrorKind};

/// A failure talking to Redis from the rate limiter: a transport error about `method`'s call.
pub(crate) fn limiter_error(method: &str, e: &redis::RedisError) -> Error {
    Error::Transport {
        request: RequestSummary {
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            url: "redis (shared rate limiter)".into(),
        },
        source: TransportError::new(kind(e), format!("redis: {}", describe(e))),
    }
}

/// A failure talking to Redis from the token store.
pub(crate) fn store_error(what: &str, e: &redis::RedisError) -> Error {
    Error::auth(
        AuthErrorKind::TokenStore,
        format!("redis {what}: {}", describe(e)),
    )
}

fn kind(e: &redis::RedisError) -> TransportErrorKind {
    if e.is_connection_refusal() {
        TransportErrorKind::ConnectRefused
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else {
        // Broken connections and Redis-side refusals (BUSY, NOSCRIPT, OOM) alike: the API call
        // was not sent, and trying again later may work.
        TransportErrorKind::Io
    }
}

/// The error's category and detail. Redis errors carry no command arguments, so no token or
/// password can appear here.
fn describe(e: &redis::RedisError) -> String {
    match e.detail() {
        Some(detail) => format!("{:?}: {detail}", e.kind()),
        None => format!("{:?}", e.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_redis_and_are_typed() {
        let e =
            redis::RedisError::from((redis::ErrorKind::ResponseError, "boom", "NOSCRIPT".into()));
        let err = limiter_error("GET", &e);
        assert!(err.to_string().contains("redis"), "{err}");
        assert!(err.is_retryable());
        let err = store_error("load", &e);
        assert!(err.is_auth());
        assert!(err.to_string().contains("redis load"), "{err}");
    }
}
