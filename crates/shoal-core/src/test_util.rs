//! Test doubles beside the seams they fake (feature `test-util`): a scripted transport that
//! records what it was sent, and the mockall mocks of [`Transport`] and [`Authenticator`].
//!
//! [`Authenticator`]: crate::Authenticator

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;

use crate::error::{TransportError, TransportErrorKind};
use crate::transport::Transport;

pub use crate::auth::MockAuthenticator;
pub use crate::transport::MockTransport;

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Scripted {
    /// A response with a status, headers and a body.
    Response(StatusCode, Vec<(String, String)>, Bytes),
    /// A transport failure.
    Fail(TransportErrorKind),
}

impl Scripted {
    /// A JSON response.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::Response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            vec![("content-type".into(), "application/json".into())],
            Bytes::from(body.to_string()),
        )
    }
    /// A bodiless response.
    pub fn status(status: u16) -> Self {
        Self::Response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            vec![],
            Bytes::new(),
        )
    }
    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Response(_, headers, _) = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// A transport that answers from a script, in order, and records every request.
/// When the script runs out it answers 200 with an empty JSON object.
#[derive(Clone, Debug, Default)]
pub struct CaptureTransport {
    script: Arc<Mutex<VecDeque<Scripted>>>,
    sent: Arc<Mutex<Vec<http::Request<Bytes>>>>,
}

impl CaptureTransport {
    /// A transport with this script.
    pub fn new(script: impl IntoIterator<Item = Scripted>) -> Self {
        Self {
            script: Arc::new(Mutex::new(script.into_iter().collect())),
            sent: Arc::default(),
        }
    }
    /// Appends answers to the script.
    pub fn push(&self, answer: Scripted) {
        self.script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(answer);
    }
    /// Every request received so far.
    pub fn requests(&self) -> Vec<http::Request<Bytes>> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Transport for CaptureTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
        let next = self
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        match next.unwrap_or_else(|| Scripted::json(200, serde_json::json!({}))) {
            Scripted::Fail(kind) => Err(TransportError::new(kind, "scripted failure")),
            Scripted::Response(status, headers, body) => {
                let mut r = http::Response::new(body);
                *r.status_mut() = status;
                for (k, v) in headers {
                    if let (Ok(k), Ok(v)) = (
                        http::HeaderName::try_from(k),
                        http::HeaderValue::try_from(v),
                    ) {
                        r.headers_mut().append(k, v);
                    }
                }
                Ok(r)
            }
        }
    }
}

/// Everything tracing emits at TRACE on this thread, kept in memory for canary tests (secrets
/// must not appear). Use a current-thread runtime so every task logs to the capture.
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture").finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Starts capturing on this thread until the capture is dropped.
    pub fn start() -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = CaptureWriter(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// What has been logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}
