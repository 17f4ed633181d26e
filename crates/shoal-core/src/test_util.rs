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
///
/// The subscriber is process-global and installed once; it records only events on threads with
/// a live capture. A per-thread default subscriber would miss events whose callsites other
/// tests' threads registered first (tracing caches each callsite's interest process-wide), so
/// canary tests passed alone and failed under `cargo test`.
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    previous: Option<Arc<Mutex<Vec<u8>>>>,
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture").finish_non_exhaustive()
    }
}

thread_local! {
    static ACTIVE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { std::cell::RefCell::new(None) };
}

fn capturing() -> bool {
    ACTIVE.with(|a| a.borrow().is_some())
}

/// Writes to this thread's capture, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        ACTIVE.with(|a| {
            if let Some(buffer) = a.borrow().as_ref() {
                buffer
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_global_subscriber() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        use tracing_subscriber::Layer as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| ThreadWriter)
            // Judged per event: a plain `filter_fn` caches each callsite as on or off for everyone.
            .with_filter(tracing_subscriber::filter::dynamic_filter_fn(|_, _| {
                capturing()
            }));
        let subscriber = tracing_subscriber::registry().with(layer);
        if tracing::subscriber::set_global_default(subscriber).is_err() {
            tracing::warn!(
                "LogCapture: another global subscriber is installed; captures may miss events"
            );
        }
    });
}

impl LogCapture {
    /// Starts capturing this thread's events at every level until the capture is dropped.
    pub fn start() -> Self {
        install_global_subscriber();
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let previous = ACTIVE.with(|a| a.borrow_mut().replace(buffer.clone()));
        Self { buffer, previous }
    }

    /// What has been logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        let previous = self.previous.take();
        ACTIVE.with(|a| *a.borrow_mut() = previous);
    }
}
