//! [`Request`]: what a vendor client asks the pipeline to send, and the [`Response`] it gets back.

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, RequestSummary, Result};
use crate::redact::Redactor;

/// A request body, kept as bytes so every attempt can resend it.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// `application/json`.
    Json(Bytes),
    /// `application/x-www-form-urlencoded`.
    Form(Bytes),
}

impl Body {
    /// The bytes to send.
    pub fn bytes(&self) -> Bytes {
        match self {
            Body::Empty => Bytes::new(),
            Body::Json(b) | Body::Form(b) => b.clone(),
        }
    }

    fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Empty => None,
            Body::Json(_) => Some("application/json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(b) => write!(f, "Json({})", Redactor::standard().body(b, 4000)),
            Body::Form(b) => write!(f, "Form({})", Redactor::standard().body(b, 4000)),
        }
    }
}

/// One API call, before the pipeline authenticates and sends it.
///
/// The target is a path relative to the client's base URL (`audiences/17`), or an absolute URL
/// for calls to another host (a token endpoint).
///
/// ```
/// use shoal_core::Request;
/// let req = Request::get("audiences/17").query("range", "30");
/// assert!(req.is_idempotent());
/// ```
#[derive(Clone)]
pub struct Request {
    method: Method,
    target: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Body,
    idempotent: bool,
    display_target: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = Redactor::standard();
        let query: Vec<_> = self
            .query
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    if r.is_secret_field(k) {
                        crate::redact::REDACTED
                    } else {
                        v
                    },
                )
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("target", &self.display_target())
            .field("query", &query)
            .field("headers", &r.headers(&self.headers))
            .field("body", &self.body)
            .field("idempotent", &self.idempotent)
            .finish()
    }
}

impl Request {
    /// A request; idempotent unless the method is POST or PATCH.
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        let idempotent = !matches!(method, Method::POST | Method::PATCH);
        Self {
            method,
            target: target.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            idempotent,
            display_target: None,
        }
    }

    /// A GET request.
    pub fn get(target: impl Into<String>) -> Self {
        Self::new(Method::GET, target)
    }
    /// A POST request (not idempotent).
    pub fn post(target: impl Into<String>) -> Self {
        Self::new(Method::POST, target)
    }
    /// A PUT request.
    pub fn put(target: impl Into<String>) -> Self {
        Self::new(Method::PUT, target)
    }
    /// A DELETE request.
    pub fn delete(target: impl Into<String>) -> Self {
        Self::new(Method::DELETE, target)
    }

    /// Appends a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Appends every field of a `Serialize` struct as query parameters (`None` fields skipped).
    pub fn query_struct<T: Serialize + ?Sized>(mut self, query: &T) -> Result<Self> {
        let encoded = serde_urlencoded::to_string(query)
            .map_err(|e| Error::invalid("query", e.to_string()))?;
        self.query.extend(
            url::form_urlencoded::parse(encoded.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
        Ok(self)
    }

    /// Sets a header, replacing any of the same name.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::invalid("body", e.to_string()))?;
        self.body = Body::Json(bytes.into());
        Ok(self)
    }

    /// Sets a form body from name/value pairs.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k.as_ref(), v.as_ref());
        }
        self.body = Body::Form(s.finish().into());
        self
    }

    crate::builder_setters! {
        /// Declares whether sending this request twice has the same effect as once.
        idempotent(idempotent: bool) => idempotent;
        /// Replaces the target in every printed form (logs, errors) — for targets that carry a
        /// secret in the path itself, such as `DELETE /v2/token/{token}`.
        display_as(target: impl Into<String>) => display_target = Some(target.into());
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The path or absolute URL.
    pub fn target(&self) -> &str {
        &self.target
    }
    /// The target as it may be printed.
    pub fn display_target(&self) -> &str {
        self.display_target.as_deref().unwrap_or(&self.target)
    }
    /// The query parameters in order.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }
    /// The headers set so far.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// Mutable headers, for authenticators.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }
    /// Appends a query parameter in place, for authenticators.
    pub fn push_query(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.query.push((name.into(), value.into()));
    }
    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }
    /// Whether the request may be sent more than once.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The full URL against a base (a base path is kept: `…/v1` + `audiences` → `…/v1/audiences`).
    pub fn url(&self, base: &Url) -> Result<Url> {
        let mut url = if self.target.starts_with("http://") || self.target.starts_with("https://") {
            Url::parse(&self.target).map_err(|e| Error::invalid("url", e.to_string()))?
        } else {
            join(base, &self.target)?
        };
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(self.query.iter());
        }
        Ok(url)
    }

    /// The method and redacted URL, for errors and logs.
    pub fn summary(&self, base: &Url, redactor: &Redactor) -> RequestSummary {
        match self.url(base) {
            Ok(url) => self.summary_at(&url, base, redactor),
            Err(_) => RequestSummary {
                method: self.method.clone(),
                url: redactor.form(self.display_target()),
            },
        }
    }

    /// [`summary`](Self::summary) given the request's already resolved URL.
    pub fn summary_at(&self, url: &Url, base: &Url, redactor: &Redactor) -> RequestSummary {
        let url = match &self.display_target {
            None => redactor.url(url),
            Some(shown) => {
                let shown = Request {
                    target: shown.clone(),
                    ..self.clone()
                };
                match shown.url(base) {
                    Ok(u) => redactor.url(&u),
                    Err(_) => redactor.form(shown.display_target()),
                }
            }
        };
        RequestSummary {
            method: self.method.clone(),
            url,
        }
    }

    /// The `http::Request` to hand to a transport.
    pub fn to_http(&self, base: &Url) -> Result<http::Request<Bytes>> {
        let url = self.url(base)?;
        self.clone().into_http(&url)
    }

    /// The `http::Request` for an already resolved URL, consuming the request.
    pub fn into_http(self, url: &Url) -> Result<http::Request<Bytes>> {
        let mut request = self.into_unaddressed();
        *request.uri_mut() = url
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| Error::invalid("url", e.to_string()))?;
        Ok(request)
    }

    /// The `http::Request` with its URI left unset, for [`Transport::send_to`], which takes the
    /// URL already parsed.
    ///
    /// [`Transport::send_to`]: crate::Transport::send_to
    pub(crate) fn into_unaddressed(self) -> http::Request<Bytes> {
        let content_type = self.body.content_type();
        let mut request = http::Request::new(self.body.bytes());
        *request.method_mut() = self.method;
        let headers = request.headers_mut();
        *headers = self.headers;
        if let Some(ct) = content_type {
            headers
                .entry(CONTENT_TYPE)
                .or_insert(HeaderValue::from_static(ct));
        }
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("application/json"));
        request
    }
}

fn join(base: &Url, path: &str) -> Result<Url> {
    let path = path.trim_start_matches('/');
    let joined = if base.path().ends_with('/') {
        base.join(path)
    } else {
        directory(base).join(path)
    };
    joined.map_err(|e| Error::invalid("path", e.to_string()))
}

/// `base` with its path ending in `/`, so that relative targets join below it (a pipeline
/// keeps one, and a call's join copies nothing).
pub(crate) fn directory(base: &Url) -> Url {
    let mut dir = base.clone();
    if !dir.path().ends_with('/') {
        let p = format!("{}/", dir.path());
        dir.set_path(&p);
    }
    dir
}

/// A successful response: status, headers and the whole body.
#[derive(Clone)]
pub struct Response {
    /// The status (2xx, or 3xx when a redirect was not followed).
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    summary: Summary,
}

/// Which request a response answers. A pipeline's responses carry the parts and redact the URL
/// only when asked (an error, a log line): most responses are never asked.
#[derive(Clone)]
enum Summary {
    Ready(RequestSummary),
    Lazy {
        method: Method,
        url: Url,
        redactor: Arc<Redactor>,
        built: OnceLock<RequestSummary>,
    },
}

impl Summary {
    fn get(&self) -> &RequestSummary {
        match self {
            Summary::Ready(s) => s,
            Summary::Lazy {
                method,
                url,
                redactor,
                built,
            } => built.get_or_init(|| RequestSummary {
                method: method.clone(),
                url: redactor.url(url),
            }),
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("request", self.request())
            .field("status", &self.status)
            .field("headers", &Redactor::standard().headers(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// A response for a request (used by pipelines and test doubles).
    pub fn new(
        summary: RequestSummary,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        Self {
            status,
            headers,
            body,
            summary: Summary::Ready(summary),
        }
    }

    /// A pipeline's answer to `request`, sent to `url`: its summary is built when first asked.
    pub(crate) fn answering(
        request: &Request,
        url: Url,
        base: &Url,
        redactor: &Arc<Redactor>,
        (status, headers, body): (StatusCode, HeaderMap, Bytes),
    ) -> Self {
        let summary = if request.display_target.is_some() {
            Summary::Ready(request.summary_at(&url, base, redactor))
        } else {
            Summary::Lazy {
                method: request.method.clone(),
                url,
                redactor: redactor.clone(),
                built: OnceLock::new(),
            }
        };
        Self {
            status,
            headers,
            body,
            summary,
        }
    }

    /// Which request this answers.
    pub fn request(&self) -> &RequestSummary {
        self.summary.get()
    }

    /// Decodes the body as JSON; a failure names the JSON path where it happened.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        // Only a failure needs the request's summary.
        if let Ok(value) = serde_json::from_slice(&self.body) {
            return Ok(value);
        }
        decode_json(self.request(), &self.body)
    }

    /// Checks the answer of a call whose body is not used: empty (or blank), or JSON. Anything
    /// else — an HTML page from a proxy, a truncated body — is [`Error::Decode`]: the success
    /// status may not be the vendor's, though the effect may have happened.
    pub fn expect_json_or_empty(&self) -> Result<()> {
        if self.body.trim_ascii().is_empty() {
            return Ok(());
        }
        serde_json::from_slice::<serde::de::IgnoredAny>(&self.body)
            .map(|_| ())
            .map_err(|e| Error::Decode {
                request: self.request().clone(),
                path: String::new(),
                message: format!(
                    "a success answer that is neither empty nor JSON ({e}); the call may have \
                     taken effect"
                ),
            })
    }
}

/// The keys of a JSON object body, sorted (`None` when the body is not a JSON object): what
/// an error about an unexpected shape names instead of the values, which may be secrets.
pub fn object_keys(body: &[u8]) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Keys(std::collections::BTreeMap<String, serde::de::IgnoredAny>);
    serde_json::from_slice::<Keys>(body)
        .ok()
        .map(|Keys(keys)| keys.into_keys().collect())
}

/// The keys of a JSON object body that has none of `wanted` (`None` when the body is not an
/// object, or has one of them): what a strict list decoder names when its array is missing.
/// Read only after a decode came out empty or failed, so a full page is parsed once.
pub fn keys_lacking(body: &[u8], wanted: &[&str]) -> Option<Vec<String>> {
    object_keys(body).filter(|keys| !keys.iter().any(|k| wanted.contains(&k.as_str())))
}

/// Keys for a message: at most 20, each cut at 64 bytes, `, …` when there are more, `none` for
/// none — so a server's million keys or megabyte key make a short message.
pub fn shown_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    const MAX_KEYS: usize = 20;
    const MAX_KEY_BYTES: usize = 64;
    let mut keys = keys.into_iter();
    let shown: Vec<&str> = keys
        .by_ref()
        .take(MAX_KEYS)
        .map(|k| {
            let mut cut = k.len().min(MAX_KEY_BYTES);
            while !k.is_char_boundary(cut) {
                cut -= 1;
            }
            &k[..cut]
        })
        .collect();
    if shown.is_empty() {
        return "none".into();
    }
    let more = if keys.next().is_some() { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// The time a server says it answered at (its `Date` header), when it sent a valid one — to
/// compare its clock with ours.
pub fn server_date(headers: &HeaderMap) -> Option<std::time::SystemTime> {
    let value = headers.get(http::header::DATE)?.to_str().ok()?;
    httpdate::parse_http_date(value).ok()
}

/// Decodes JSON bytes, naming the path of a failure (`records[3].phones[0].order`).
pub fn decode_json<T: DeserializeOwned>(request: &RequestSummary, body: &[u8]) -> Result<T> {
    // Plain serde on the hot path; only a failure pays for tracking the path.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let decoded = serde_path_to_error::deserialize(&mut *de).map_err(|e| Error::Decode {
        request: request.clone(),
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })?;
    // The path-tracking pass stops after one value: what follows it (`{…}{…}`) is refused here,
    // as the plain pass refused it.
    de.end().map_err(|e| Error::Decode {
        request: request.clone(),
        path: String::new(),
        message: e.to_string(),
    })?;
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17: a success whose body is an HTML page is not taken for an empty answer.
    #[test]
    fn a_body_that_is_neither_empty_nor_json_is_refused() {
        let base = Url::parse("https://h/v1").unwrap();
        let summary = Request::delete("x").summary(&base, Redactor::standard());
        let answer = |body: &'static str| {
            Response::new(
                summary.clone(),
                StatusCode::OK,
                HeaderMap::new(),
                Bytes::from(body),
            )
        };
        assert!(answer("").expect_json_or_empty().is_ok());
        assert!(answer(" \n").expect_json_or_empty().is_ok());
        assert!(answer(r#"{"ok":true}"#).expect_json_or_empty().is_ok());
        let err = answer("<html>proxy</html>")
            .expect_json_or_empty()
            .unwrap_err();
        assert!(err.to_string().contains("neither empty nor JSON"), "{err}");
        assert!(answer("{\"a\":").expect_json_or_empty().is_err());
    }

    /// Issue 17 (found by the hostile suite): `{"key":1}{"key":2}` failed the plain pass, then
    /// passed the path-tracking one, which reads one value only.
    #[test]
    fn a_second_value_after_the_first_is_refused() {
        #[derive(serde::Deserialize, Debug)]
        struct Keyed {
            #[allow(dead_code)]
            key: u64,
        }
        let base = Url::parse("https://h/v1").unwrap();
        let summary = Request::get("x").summary(&base, Redactor::standard());
        let err = decode_json::<Keyed>(&summary, br#"{"key":1}{"key":2}"#).unwrap_err();
        assert!(err.to_string().contains("trailing characters"), "{err}");
        assert!(decode_json::<Keyed>(&summary, br#" {"key":1} "#).is_ok());
    }

    /// Issue 17: a key of 10,000 digits made a 10 KB decode error.
    #[test]
    fn shown_keys_are_few_and_short() {
        let long = "9".repeat(10_000);
        let many: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
        assert_eq!(shown_keys([long.as_str()]), "9".repeat(64));
        let shown = shown_keys(many.iter().map(String::as_str));
        assert!(shown.ends_with("k19, …"), "{shown}");
        assert_eq!(shown_keys(["é".repeat(40).as_str()]), "é".repeat(32));
        assert_eq!(shown_keys([]), "none");
        assert_eq!(
            object_keys(br#"{"b":1,"a":{"x":2}}"#),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(object_keys(b"[1]"), None);
        assert_eq!(
            keys_lacking(br#"{"b":1}"#, &["a", "c"]),
            Some(vec!["b".into()])
        );
        assert_eq!(keys_lacking(br#"{"c":1}"#, &["a", "c"]), None);
    }

    #[test]
    fn relative_targets_keep_the_base_path() {
        let base = Url::parse("https://api.example.test/v1").unwrap();
        let url = Request::get("/audiences/17")
            .query("range", "30")
            .url(&base)
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.example.test/v1/audiences/17?range=30"
        );
        let abs = Request::post("https://auth.example.test/oauth/token?audience=x")
            .url(&base)
            .unwrap();
        assert_eq!(
            abs.as_str(),
            "https://auth.example.test/oauth/token?audience=x"
        );
    }

    #[test]
    fn debug_and_summary_hide_secrets() {
        let base = Url::parse("https://h/v2").unwrap();
        let req = Request::delete("token/SECRETTOKEN")
            .display_as("token/{token}")
            .query("user-api-key", "KEY123")
            .form(&[("password", "PW1")]);
        let shown = format!("{req:?} {}", req.summary(&base, Redactor::standard()));
        for s in ["SECRETTOKEN", "KEY123", "PW1"] {
            assert!(!shown.contains(s), "{s} leaked in {shown}");
        }
    }

    #[test]
    fn decode_failure_names_the_json_path() {
        #[derive(serde::Deserialize, Debug)]
        struct Page {
            #[allow(dead_code)]
            records: Vec<Rec>,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Rec {
            #[allow(dead_code)]
            order: u32,
        }
        let summary = RequestSummary {
            method: Method::GET,
            url: "u".into(),
        };
        let err = decode_json::<Page>(&summary, br#"{"records":[{"order":1},{"order":"x"}]}"#)
            .unwrap_err();
        match err {
            Error::Decode { path, .. } => assert_eq!(path, "records[1].order"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
