//! [`StaticToken`]: a fixed bearer token, for tests and simple scripts.

use async_trait::async_trait;
use http::HeaderValue;
use http::header::AUTHORIZATION;
use shoal_core::{AuthErrorKind, AuthStamp, Authenticator, Error, Request, Result};

use crate::secret::{AccessToken, ExposeSecret as _};

/// Sends `Authorization: Bearer <token>` and never refreshes: a 401 is final.
#[derive(Clone, Debug)]
pub struct StaticToken {
    /// `Bearer …`, built once (sensitive: `Debug` shows no token); `None` when the token cannot
    /// go in a header.
    header: Option<HeaderValue>,
}

impl StaticToken {
    /// A bearer authenticator for `token`.
    pub fn new(token: AccessToken) -> Self {
        Self {
            header: bearer(&token),
        }
    }
}

/// The sensitive `Authorization: Bearer <token>` value; `None` when the token has characters no
/// header may carry.
pub(crate) fn bearer(token: &AccessToken) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl StaticToken {
    fn stamp(&self, request: &mut Request) -> Result<AuthStamp> {
        let value = self.header.clone().ok_or_else(|| {
            Error::auth(
                AuthErrorKind::Unauthorized,
                "the token cannot go in a header",
            )
        })?;
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(AuthStamp(1))
    }
}

#[async_trait]
impl Authenticator for StaticToken {
    async fn authenticate(&self, request: &mut Request) -> Result<AuthStamp> {
        self.stamp(request)
    }

    fn authenticate_now(&self, request: &mut Request) -> Option<Result<AuthStamp>> {
        Some(self.stamp(request))
    }

    async fn unauthorized(&self, _stamp: AuthStamp) -> Result<bool> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn adds_a_sensitive_bearer_header_and_never_replays() {
        let auth = StaticToken::new(AccessToken::new("T1"));
        let mut req = Request::get("x");
        let stamp = auth.authenticate(&mut req).await.unwrap();
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer T1");
        assert!(req.headers()[AUTHORIZATION].is_sensitive());
        assert!(!auth.unauthorized(stamp).await.unwrap());
        assert_eq!(
            format!("{auth:?}"),
            "StaticToken { header: Some(Sensitive) }"
        );
    }
}
