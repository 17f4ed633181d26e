//! [`OAuthClient`]: the token endpoint (code exchange and refresh) on a derived Shoal pipeline,
//! and the lenient [`TokenResponse`] parser.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, header::AUTHORIZATION};
use serde_json::Value;
use shoal_core::{
    AuthErrorKind, Error, NoAuth, OAuthErrorCode, Pipeline, Request, RequestSummary, Result,
};

use super::authorize::AuthorizationRequest;
use super::config::{BasicEncoding, ClientAuth, OAuthConfig};
use crate::secret::{AccessToken, AuthorizationCode, ExposeSecret as _, RefreshToken};

/// The longest access-token lifetime believed (core's [`shoal_core::clamp`] range).
pub const MAX_EXPIRES_IN: Duration = shoal_core::clamp::MAX_TOKEN_EXPIRES_IN;

/// What a token endpoint answered, read leniently: `token_type` in any case (absent means
/// bearer), `expires_in` as a number or a string, refresh token optional.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// A new refresh token, when the server rotated or issued one.
    pub refresh_token: Option<RefreshToken>,
    /// How long the access token lives, when the server said.
    pub expires_in: Option<Duration>,
    /// The scopes granted, when the server said.
    pub scope: Option<String>,
}

impl TokenResponse {
    /// Parses a token endpoint's JSON body.
    pub fn parse(request: &RequestSummary, body: &[u8]) -> Result<Self> {
        let decode = |path: &str, message: &str| Error::Decode {
            request: request.clone(),
            path: path.into(),
            message: message.into(),
        };
        let value: Value = serde_json::from_slice(body).map_err(|e| decode("", &e.to_string()))?;
        let text = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let access = text("access_token")
            .ok_or_else(|| decode("access_token", "missing or not a string"))?;
        if let Some(kind) = text("token_type") {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(decode(
                    "token_type",
                    &format!("`{kind}` is not a bearer token"),
                ));
            }
        }
        let expires_in = match value.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(v @ (Value::Number(_) | Value::String(_))) => Some(
                shoal_core::clamp::json_integer(v)
                    .ok_or_else(|| decode("expires_in", "not a number of seconds"))?,
            ),
            Some(_) => return Err(decode("expires_in", "not a number of seconds")),
        };
        // 0 (or less) says nothing useful: treated as unknown (used until a 401). More than a
        // year is not believed beyond a year (refreshed sooner, never later).
        let expires_in = expires_in
            .filter(|s| *s > 0)
            .map(shoal_core::clamp::token_expires_in);
        Ok(Self {
            access_token: AccessToken::new(access),
            refresh_token: text("refresh_token").map(RefreshToken::new),
            expires_in,
            scope: text("scope").map(str::to_string),
        })
    }
}

/// The token endpoint of one OAuth client, reached through a pipeline derived from the
/// caller's: same transport, retry policy, redaction and tracing.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    config: Arc<OAuthConfig>,
    pipeline: Pipeline,
}

impl OAuthClient {
    /// A client whose token calls go through a sibling of `pipeline` (no authenticator of its
    /// own: client authentication is in the form or a Basic header).
    pub fn new(config: OAuthConfig, pipeline: &Pipeline) -> Self {
        let derived = pipeline.derive(config.token_url.clone(), Arc::new(NoAuth));
        Self {
            config: Arc::new(config),
            pipeline: derived,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// The pipeline token calls go through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Starts an authorization with the configured redirect URI.
    pub fn authorize(&self) -> AuthorizationRequest {
        AuthorizationRequest::new(&self.config, &self.config.redirect_uri)
    }

    /// Starts an authorization with another redirect URI (the loopback helper's).
    pub fn authorize_with_redirect(&self, redirect_uri: &str) -> AuthorizationRequest {
        AuthorizationRequest::new(&self.config, redirect_uri)
    }

    /// Exchanges a code for tokens, repeating the request's exact redirect URI and its PKCE
    /// verifier.
    pub async fn exchange(
        &self,
        request: &AuthorizationRequest,
        code: &AuthorizationCode,
    ) -> Result<TokenResponse> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.expose_secret().to_string()),
            ("redirect_uri", request.redirect_uri().to_string()),
        ];
        if let Some(v) = request.verifier() {
            form.push(("code_verifier", v.expose_secret().to_string()));
        }
        self.token_call("authorization_code", form).await
    }

    /// Redeems a refresh token, optionally narrowing the scope.
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&str>,
    ) -> Result<TokenResponse> {
        let mut form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", refresh_token.expose_secret().to_string()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope.to_string()));
        }
        self.token_call("refresh_token", form).await
    }

    /// The token request as it will be sent, before the pipeline adds anything (for tests and
    /// snapshots; it carries secrets, so print it only with `{:?}`, which redacts).
    pub fn token_request(&self, mut form: Vec<(&'static str, String)>) -> Result<Request> {
        let cfg = &self.config;
        let mut basic = None;
        match (&cfg.client_secret, cfg.client_auth) {
            (Some(secret), ClientAuth::Basic { encoding }) => {
                let (id, secret) = match encoding {
                    BasicEncoding::FormEncoded => (
                        form_encode(&cfg.client_id),
                        form_encode(secret.expose_secret()),
                    ),
                    BasicEncoding::Raw => {
                        (cfg.client_id.clone(), secret.expose_secret().to_string())
                    }
                };
                let mut value = HeaderValue::try_from(format!(
                    "Basic {}",
                    STANDARD.encode(format!("{id}:{secret}"))
                ))
                .map_err(|_| Error::Config("client id or secret cannot go in a header".into()))?;
                value.set_sensitive(true);
                basic = Some(value);
            }
            (Some(secret), ClientAuth::SecretPost) => {
                form.push(("client_id", cfg.client_id.clone()));
                form.push(("client_secret", secret.expose_secret().to_string()));
            }
            (None, _) => form.push(("client_id", cfg.client_id.clone())),
        }
        // A lost answer has already spent the code or rotated the refresh token, so resending is
        // never worse than not — and lets a 503 or a server with a reuse grace period recover.
        let mut request = Request::post(cfg.token_url.as_str())
            .form(&form)
            .idempotent(true);
        for (k, v) in &cfg.token_query_params {
            request = request.query(k, v);
        }
        if let Some(value) = basic {
            request = request.header(AUTHORIZATION, value);
        }
        Ok(request)
    }

    async fn token_call(
        &self,
        grant: &'static str,
        form: Vec<(&'static str, String)>,
    ) -> Result<TokenResponse> {
        let request = self.token_request(form)?;
        let summary = self.pipeline.summary(&request);
        tracing::debug!(grant, "token request");
        match self.pipeline.execute(request).await {
            Ok(response) => TokenResponse::parse(&summary, &response.body),
            Err(err) => Err(oauth_error(err)),
        }
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Turns a token endpoint's 4xx with an RFC 6749 `error` into a typed OAuth error; anything
/// else (5xx after retries, transport) stays as it was.
pub(crate) fn oauth_error(err: Error) -> Error {
    let Error::Status(service) = &err else {
        return err;
    };
    if !service.status.is_client_error() {
        return err;
    }
    let Some(code) = service.detail.code.as_deref() else {
        return err;
    };
    let message = service
        .detail
        .message
        .clone()
        .unwrap_or_else(|| format!("{} answered {}", service.request, service.status));
    Error::auth(AuthErrorKind::OAuth(OAuthErrorCode::parse(code)), message)
}

/// Whether an error is the token endpoint's `invalid_grant`.
pub(crate) fn is_invalid_grant(err: &Error) -> bool {
    matches!(
        err.auth_error().map(|a| &a.kind),
        Some(AuthErrorKind::OAuth(OAuthErrorCode::InvalidGrant))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::test_util::{CaptureTransport, Scripted};
    use shoal_core::{Backoff, RetryPolicy};

    use crate::secret::ClientSecret;

    fn config(auth: ClientAuth) -> OAuthConfig {
        OAuthConfig::new(
            "https://auth.example.test/authorize".parse().unwrap(),
            "https://auth.example.test/oauth/token".parse().unwrap(),
            "my id",
            "http://127.0.0.1:9/cb",
        )
        .client_secret(ClientSecret::new("s&cret"))
        .client_auth(auth)
        .token_query_param("audience", "api")
    }

    fn client(auth: ClientAuth, transport: &CaptureTransport) -> OAuthClient {
        let policy = RetryPolicy::default().backoff(Backoff::new(Duration::ZERO, Duration::ZERO));
        let base = Pipeline::builder("https://api.example.test/v1".parse().unwrap())
            .transport(transport.clone())
            .retry_policy(policy)
            .build()
            .unwrap();
        OAuthClient::new(config(auth), &base)
    }

    fn ok_body() -> Scripted {
        Scripted::json(
            200,
            serde_json::json!({"access_token": "A1", "token_type": "bearer", "expires_in": 3600, "refresh_token": "R2"}),
        )
    }

    fn body(req: &http::Request<bytes::Bytes>) -> String {
        String::from_utf8(req.body().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn secret_post_refresh_sends_the_exact_form() {
        let t = CaptureTransport::new([ok_body()]);
        let got = client(ClientAuth::SecretPost, &t)
            .refresh(&RefreshToken::new("R1"), None)
            .await
            .unwrap();
        assert_eq!(got.access_token.expose_secret(), "A1");
        assert_eq!(got.refresh_token.unwrap().expose_secret(), "R2");
        assert_eq!(got.expires_in, Some(Duration::from_secs(3600)));
        let sent = t.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method(), http::Method::POST);
        assert_eq!(
            sent[0].uri().to_string(),
            "https://auth.example.test/oauth/token?audience=api"
        );
        assert_eq!(
            body(&sent[0]),
            "grant_type=refresh_token&refresh_token=R1&client_id=my+id&client_secret=s%26cret"
        );
        assert!(sent[0].headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            sent[0].headers()["content-type"],
            "application/x-www-form-urlencoded"
        );
    }

    #[tokio::test]
    async fn basic_auth_encodings() {
        let t = CaptureTransport::new([ok_body(), ok_body()]);
        let raw = client(
            ClientAuth::Basic {
                encoding: BasicEncoding::Raw,
            },
            &t,
        );
        raw.refresh(&RefreshToken::new("R1"), Some("admin_grade:r"))
            .await
            .unwrap();
        let enc = client(
            ClientAuth::Basic {
                encoding: BasicEncoding::FormEncoded,
            },
            &t,
        );
        enc.refresh(&RefreshToken::new("R1"), None).await.unwrap();
        let sent = t.requests();
        let basic = |i: usize| {
            sent[i].headers()[AUTHORIZATION]
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            basic(0),
            format!("Basic {}", STANDARD.encode("my id:s&cret"))
        );
        assert_eq!(
            basic(1),
            format!("Basic {}", STANDARD.encode("my+id:s%26cret"))
        );
        assert!(sent[0].headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(
            body(&sent[0]),
            "grant_type=refresh_token&refresh_token=R1&scope=admin_grade%3Ar"
        );
    }

    #[tokio::test]
    async fn exchange_repeats_redirect_and_verifier() {
        let t = CaptureTransport::new([ok_body()]);
        let c = client(ClientAuth::SecretPost, &t);
        let req = c.authorize_with_redirect("http://127.0.0.1:4242/cb");
        c.exchange(&req, &AuthorizationCode::new("C1"))
            .await
            .unwrap();
        let form = body(&t.requests()[0]);
        let verifier = req.verifier().unwrap().expose_secret().to_string();
        assert_eq!(
            form,
            format!(
                "grant_type=authorization_code&code=C1&redirect_uri=http%3A%2F%2F127.0.0.1%3A4242%2Fcb&code_verifier={verifier}&client_id=my+id&client_secret=s%26cret"
            )
        );
    }

    #[test]
    fn token_response_is_read_leniently() {
        let s = RequestSummary {
            method: http::Method::POST,
            url: "u".into(),
        };
        let r = TokenResponse::parse(
            &s,
            br#"{"access_token":"A","token_type":"BEARER","expires_in":"60"}"#,
        )
        .unwrap();
        assert_eq!(r.expires_in, Some(Duration::from_secs(60)));
        assert!(r.refresh_token.is_none());
        let r = TokenResponse::parse(
            &s,
            br#"{"access_token":"A","expires_in":59.9,"scope":"default"}"#,
        )
        .unwrap();
        assert_eq!(r.expires_in, Some(Duration::from_secs(59)));
        assert_eq!(r.scope.as_deref(), Some("default"));
        assert!(TokenResponse::parse(&s, br#"{"access_token":"A","token_type":"mac"}"#).is_err());
        assert!(TokenResponse::parse(&s, br#"{"token_type":"bearer"}"#).is_err());
        assert!(TokenResponse::parse(&s, br#"{"access_token":"A","expires_in":"soon"}"#).is_err());
    }

    #[tokio::test]
    async fn oauth_errors_are_typed_and_never_retried() {
        for (code, want) in [
            ("invalid_grant", OAuthErrorCode::InvalidGrant),
            ("invalid_client", OAuthErrorCode::InvalidClient),
            ("invalid_request", OAuthErrorCode::InvalidRequest),
            ("invalid_scope", OAuthErrorCode::InvalidScope),
            (
                "unsupported_grant_type",
                OAuthErrorCode::UnsupportedGrantType,
            ),
            ("weird", OAuthErrorCode::Other("weird".into())),
        ] {
            let t = CaptureTransport::new([Scripted::json(
                400,
                serde_json::json!({"error": code, "error_description": "nope"}),
            )]);
            let err = client(ClientAuth::SecretPost, &t)
                .refresh(&RefreshToken::new("R1"), None)
                .await
                .unwrap_err();
            let auth = err.auth_error().unwrap();
            assert_eq!(auth.kind, AuthErrorKind::OAuth(want));
            assert_eq!(auth.message, "nope");
            assert_eq!(t.requests().len(), 1);
        }
    }

    #[tokio::test]
    async fn a_503_from_the_token_endpoint_is_retried() {
        let t = CaptureTransport::new([Scripted::status(503), ok_body()]);
        let got = client(ClientAuth::SecretPost, &t)
            .refresh(&RefreshToken::new("R1"), None)
            .await
            .unwrap();
        assert_eq!(got.access_token.expose_secret(), "A1");
        assert_eq!(t.requests().len(), 2);
    }

    #[tokio::test]
    async fn a_bodiless_401_stays_a_status_error() {
        let t = CaptureTransport::new([Scripted::status(401)]);
        let err = client(ClientAuth::SecretPost, &t)
            .refresh(&RefreshToken::new("R1"), None)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(http::StatusCode::UNAUTHORIZED));
    }
}
