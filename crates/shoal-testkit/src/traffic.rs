//! The traffic record: every request an emulator received (secrets redacted) plus named counters.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use shoal_core::Redactor;

/// One request as the emulator saw it, secrets replaced by `[redacted]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// Sequence number, from 0, across the emulator's life (survives [`Traffic::clear`] gaps).
    pub seq: u64,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path without the query, e.g. `/oauth/token`.
    pub path: String,
    /// Query string with secret parameters redacted, if any.
    pub query: Option<String>,
    /// Header pairs in arrival order, secret values redacted.
    pub headers: Vec<(String, String)>,
    /// Body as text (JSON or form), secret fields redacted.
    pub body: String,
    /// Status answered, once known (`None` for a reset or a still-running call).
    pub status: Option<u16>,
    /// The injected fault that answered this call, if any (`status`, `lost_answer`, `reset`, `stall`,
    /// `slow_body`); on the hostile server, the answer's label (e.g. `599 chunked 12B`).
    pub fault: Option<String>,
}

impl RecordedRequest {
    /// The value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Well-known counter names, incremented by the emulators.
pub mod counters {
    /// Token-endpoint calls; suffixed with `.<grant_type>`, e.g. `token.refresh_token`.
    pub const TOKEN: &str = "token";
    /// Responses with status 429 (rate limited or injected).
    pub const RATE_LIMITED: &str = "http.429";
    /// Reuse of an already-rotated refresh token (Pearl Diver revokes the family).
    pub const REFRESH_REUSE: &str = "oauth.refresh_reuse";
    /// `invalid_grant` answers of any cause.
    pub const INVALID_GRANT: &str = "oauth.invalid_grant";
    /// Refresh-token families revoked.
    pub const FAMILY_REVOKED: &str = "oauth.family_revoked";
    /// Connections reset by fault injection.
    pub const RESETS: &str = "fault.reset";
}

/// A shared, cloneable record of the traffic one emulator received.
#[derive(Clone, Debug)]
pub struct Traffic {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    next_seq: u64,
    capacity: usize,
    requests: VecDeque<RecordedRequest>,
    counters: BTreeMap<String, u64>,
}

impl Traffic {
    /// A record that keeps the last `capacity` requests (counters are never dropped).
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                next_seq: 0,
                capacity,
                requests: VecDeque::new(),
                counters: BTreeMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request still held, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    /// Requests whose method and path match exactly (method case-insensitive).
    pub fn matching(&self, method: &str, path: &str) -> Vec<RecordedRequest> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .cloned()
            .collect()
    }

    /// How many held requests hit `method path` exactly.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .count()
    }

    /// A named counter (see [`counters`]); 0 when never incremented.
    pub fn counter(&self, name: &str) -> u64 {
        self.lock().counters.get(name).copied().unwrap_or(0)
    }

    /// All counters, sorted by name.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.lock().counters.clone()
    }

    /// Token-endpoint calls with this `grant_type` (`authorization_code`, `refresh_token`, …).
    pub fn token_calls(&self, grant_type: &str) -> u64 {
        self.counter(&format!("{}.{grant_type}", counters::TOKEN))
    }

    /// Responses sent with status 429.
    pub fn rate_limited(&self) -> u64 {
        self.counter(counters::RATE_LIMITED)
    }

    /// Times a rotated refresh token was presented again.
    pub fn refresh_reuse(&self) -> u64 {
        self.counter(counters::REFRESH_REUSE)
    }

    /// `invalid_grant` answers sent.
    pub fn invalid_grants(&self) -> u64 {
        self.counter(counters::INVALID_GRANT)
    }

    /// Forgets held requests and resets every counter.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.requests.clear();
        g.counters.clear();
    }

    /// Adds one to a counter.
    pub fn incr(&self, name: &str) {
        *self.lock().counters.entry(name.to_string()).or_insert(0) += 1;
    }

    pub(crate) fn record(
        &self,
        redactor: &Redactor,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> u64 {
        let query = parts.uri.query().map(|q| redactor.form(q));
        let req = RecordedRequest {
            seq: 0,
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query,
            headers: redactor.headers(&parts.headers),
            body: redactor.body(body, 64 * 1024),
            status: None,
            fault: None,
        };
        let mut g = self.lock();
        let seq = g.next_seq;
        g.next_seq += 1;
        if g.capacity == 0 {
            return seq;
        }
        if g.requests.len() >= g.capacity {
            g.requests.pop_front();
        }
        g.requests.push_back(RecordedRequest { seq, ..req });
        seq
    }

    pub(crate) fn finish(&self, seq: u64, status: Option<u16>, fault: Option<&str>) {
        let mut g = self.lock();
        if status == Some(429) {
            *g.counters
                .entry(counters::RATE_LIMITED.to_string())
                .or_insert(0) += 1;
        }
        if let Some(r) = g.requests.iter_mut().rev().find(|r| r.seq == seq) {
            r.status = status;
            r.fault = fault.map(str::to_string);
        }
    }
}
