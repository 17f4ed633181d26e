//! [`Call`]: one API operation, ready to send — the builder every vendor endpoint returns unless
//! it has settings of its own.

use std::fmt;

use http::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::request::{Request, Response};

/// How a call's answer becomes its output.
pub type Decode<T> = fn(&Response) -> Result<T>;

/// One API call: a request (or the input error that stops it), the pipeline it goes through,
/// and how its answer is read. Finish with [`send`](Self::send).
///
/// ```
/// # use bytes::Bytes;
/// use shoal_core::{Call, Pipeline, Request, TransportError};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// # let transport = |_r: http::Request<Bytes>| async {
/// #     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(br#"{"n":3}"#)))
/// # };
/// let pipeline = Pipeline::builder("https://api.example.test/v1".parse()?)
///     # .transport(transport)
///     .build()?;
/// let call: Call<serde_json::Value> = Call::json(&pipeline, Ok(Request::get("things/3")));
/// assert_eq!(call.request().map(|r| r.target()).ok(), Some("things/3"));
/// assert_eq!(call.send().await?["n"], 3);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[must_use = "a call does nothing until `.send()` is awaited"]
pub struct Call<T> {
    pipeline: Pipeline,
    request: Result<Request>,
    decode: Decode<T>,
}

impl<T> fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("request", &self.request.as_ref().map_err(|e| e.to_string()))
            .finish()
    }
}

impl<T> Call<T> {
    /// A call of `request` through `pipeline`, its answer read by `decode`. An `Err` request
    /// (input refused before sending) is returned by [`send`](Self::send) without sending.
    pub fn new(pipeline: &Pipeline, request: Result<Request>, decode: Decode<T>) -> Self {
        Self {
            pipeline: pipeline.clone(),
            request,
            decode,
        }
    }

    /// Changes the request before it is sent (a vendor header, say); an error stops the call.
    pub fn map_request(mut self, f: impl FnOnce(Request) -> Result<Request>) -> Self {
        self.request = self.request.and_then(f);
        self
    }

    /// Sets a header on the request.
    pub fn header(self, name: HeaderName, value: HeaderValue) -> Self {
        self.map_request(|r| Ok(r.header(name, value)))
    }

    /// The request as it will be sent (before authentication), or the input error that stops it.
    pub fn request(&self) -> Result<&Request, &Error> {
        self.request.as_ref()
    }

    /// Sends the call through the pipeline (pacing, authentication, retries) and reads the
    /// answer.
    pub async fn send(self) -> Result<T> {
        let response = self.pipeline.execute(self.request?).await?;
        (self.decode)(&response)
    }
}

impl<T: DeserializeOwned> Call<T> {
    /// A call whose answer is JSON for `T`.
    pub fn json(pipeline: &Pipeline, request: Result<Request>) -> Self {
        Self::new(pipeline, request, |r| r.json())
    }
}

impl Call<()> {
    /// A call whose answer's body is not used: it must be empty or JSON
    /// ([`Response::expect_json_or_empty`]).
    pub fn unit(pipeline: &Pipeline, request: Result<Request>) -> Self {
        Self::new(pipeline, request, Response::expect_json_or_empty)
    }
}
