//! [`ApiKeyAuth`]: a developer id plus a user id and API key on every request (Paya's "key
//! method"), each placed in headers, the query string or HTTP Basic.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;
use http::{HeaderName, HeaderValue};
use shoal_core::{AuthStamp, Authenticator, Error, Redactor, Request, Result};

use crate::secret::{ApiKey, ExposeSecret as _};

/// Where one value goes on the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ParamPlacement {
    /// A request header (default: kept out of URLs and so out of proxy logs).
    #[default]
    Header,
    /// A query parameter (redacted wherever the pipeline prints a URL).
    Query,
}

/// Where the user id and API key go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyPlacement {
    /// Two headers (default).
    #[default]
    Headers,
    /// Two query parameters.
    Query,
    /// HTTP Basic: the user id as username, the key as password.
    Basic,
}

/// A non-secret value sent with every request, such as Paya's `developer-id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedParam {
    /// Header or query parameter name.
    pub name: String,
    /// The value.
    pub value: String,
    /// Where it goes.
    pub placement: ParamPlacement,
}

impl PlacedParam {
    /// A value for `name` at `placement`.
    pub fn new(
        name: impl Into<String>,
        value: impl Into<String>,
        placement: ParamPlacement,
    ) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            placement,
        }
    }

    pub(crate) fn apply(&self, request: &mut Request) -> Result<()> {
        match self.placement {
            ParamPlacement::Header => {
                let (name, value) = header(&self.name, &self.value, false)?;
                request.headers_mut().insert(name, value);
            }
            ParamPlacement::Query => request.push_query(&self.name, &self.value),
        }
        Ok(())
    }
}

pub(crate) fn header(name: &str, value: &str, secret: bool) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::try_from(name)
        .map_err(|_| Error::Config(format!("`{name}` is not a header name")))?;
    let mut value = HeaderValue::try_from(value)
        .map_err(|_| Error::Config(format!("the value for `{name}` cannot go in a header")))?;
    value.set_sensitive(secret);
    Ok((name, value))
}

/// The headers a key placement adds (none for query placement).
fn key_headers(c: &ApiKeyConfig) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let key = c.api_key.expose_secret();
    Ok(match c.key_placement {
        KeyPlacement::Headers => vec![
            header(&c.user_id_name, &c.user_id, false)?,
            header(&c.api_key_name, key, true)?,
        ],
        KeyPlacement::Query => Vec::new(),
        KeyPlacement::Basic => {
            let encoded = STANDARD.encode(format!("{}:{key}", c.user_id));
            vec![header(
                AUTHORIZATION.as_str(),
                &format!("Basic {encoded}"),
                true,
            )?]
        }
    })
}

/// Key-method credentials and where each piece goes: a user id and its API key under the
/// service's names, plus fixed values sent with every request (Paya's `developer-id`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApiKeyConfig {
    params: Vec<PlacedParam>,
    user_id_name: String,
    user_id: String,
    api_key_name: String,
    api_key: ApiKey,
    key_placement: KeyPlacement,
}

impl ApiKeyConfig {
    /// `user_id` sent as `user_id_name` and `api_key` as `api_key_name` (both headers by
    /// default).
    pub fn new(
        user_id_name: impl Into<String>,
        user_id: impl Into<String>,
        api_key_name: impl Into<String>,
        api_key: ApiKey,
    ) -> Self {
        Self {
            params: Vec::new(),
            user_id_name: user_id_name.into(),
            user_id: user_id.into(),
            api_key_name: api_key_name.into(),
            api_key,
            key_placement: KeyPlacement::Headers,
        }
    }

    /// Sets where the user id and key go.
    pub fn key_placement(mut self, placement: KeyPlacement) -> Self {
        self.key_placement = placement;
        self
    }

    /// Adds a (non-secret) value sent with every request.
    pub fn param(mut self, param: PlacedParam) -> Self {
        self.params.push(param);
        self
    }
}

/// Adds the key-method credentials to every request. A 401 is final (there is nothing to
/// refresh).
#[derive(Clone, Debug)]
pub struct ApiKeyAuth {
    config: ApiKeyConfig,
    /// The key's headers (header or Basic placement), built once; the error, if they cannot be
    /// built, is reported on the first request as before.
    headers: Result<Vec<(HeaderName, HeaderValue)>>,
}

impl ApiKeyAuth {
    /// An authenticator for `config`.
    pub fn new(config: ApiKeyConfig) -> Self {
        let headers = key_headers(&config);
        Self { config, headers }
    }

    /// `base` plus the key's name as a secret header and query field — give the result to the
    /// pipeline builder so a query-placed key is redacted from every printed URL.
    pub fn redactor(&self, base: Redactor) -> Redactor {
        base.with_header(&self.config.api_key_name)
            .with_field(&self.config.api_key_name)
    }
}

impl ApiKeyAuth {
    fn stamp(&self, request: &mut Request) -> Result<AuthStamp> {
        let c = &self.config;
        for p in &c.params {
            p.apply(request)?;
        }
        if c.key_placement == KeyPlacement::Query {
            request.push_query(&c.user_id_name, &c.user_id);
            request.push_query(&c.api_key_name, c.api_key.expose_secret());
        }
        for (name, value) in self.headers.as_ref().map_err(Clone::clone)? {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        Ok(AuthStamp(1))
    }
}

#[async_trait]
impl Authenticator for ApiKeyAuth {
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

    fn config() -> ApiKeyConfig {
        ApiKeyConfig::new("user-id", "U1", "user-api-key", ApiKey::new("K1")).param(
            PlacedParam::new("developer-id", "DEV", ParamPlacement::Header),
        )
    }

    fn auth(placement: KeyPlacement) -> ApiKeyAuth {
        ApiKeyAuth::new(config().key_placement(placement))
    }

    #[tokio::test]
    async fn headers_by_default() {
        let mut req = Request::get("contacts");
        auth(KeyPlacement::Headers)
            .authenticate(&mut req)
            .await
            .unwrap();
        let h = req.headers();
        assert_eq!(h["developer-id"], "DEV");
        assert_eq!(h["user-id"], "U1");
        assert_eq!(h["user-api-key"], "K1");
        assert!(h["user-api-key"].is_sensitive());
        assert!(req.query_pairs().is_empty());
    }

    #[tokio::test]
    async fn query_placement_is_redacted_in_summaries() {
        let a = ApiKeyAuth::new(
            ApiKeyConfig::new("user-id", "U1", "user-api-key", ApiKey::new("K1"))
                .param(PlacedParam::new(
                    "developer-id",
                    "DEV",
                    ParamPlacement::Query,
                ))
                .key_placement(KeyPlacement::Query),
        );
        let mut req = Request::get("contacts");
        a.authenticate(&mut req).await.unwrap();
        let pairs: Vec<_> = req
            .query_pairs()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(pairs, ["developer-id=DEV", "user-id=U1", "user-api-key=K1"]);
        let base = "https://h/v2".parse().unwrap();
        let shown = req
            .summary(&base, &a.redactor(Redactor::empty()))
            .to_string();
        assert!(
            !shown.contains("K1") && shown.contains("user-id=U1"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn basic_placement() {
        let mut req = Request::get("contacts");
        let a = auth(KeyPlacement::Basic);
        let stamp = a.authenticate(&mut req).await.unwrap();
        assert_eq!(
            req.headers()[AUTHORIZATION],
            format!("Basic {}", STANDARD.encode("U1:K1")).as_str()
        );
        assert!(req.headers().get("user-api-key").is_none());
        assert!(!a.unauthorized(stamp).await.unwrap());
        assert!(!format!("{a:?}").contains("K1"));
    }
}
