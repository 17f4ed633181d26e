//! [`HostileResponse`]: one answer described compactly (repeats instead of megabytes), with the
//! caps that bound what the hostile server sends, and how it goes on the wire.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Most body bytes one answer sends (16 MiB); longer bodies are cut there.
pub const MAX_BODY_BYTES: u64 = 16 << 20;
/// Most bytes in one header value (64 KiB); longer values are cut there.
pub const MAX_HEADER_VALUE_BYTES: u64 = 64 << 10;
/// Most headers one answer sends besides its framing header (32).
pub const MAX_HEADERS: usize = 32;
/// Longest a stall holds a connection, on the server's clock (one hour).
pub const MAX_STALL: Duration = Duration::from_secs(3600);
/// Most bytes one answer puts on the wire: status line, headers and body.
pub const MAX_WIRE_BYTES: u64 =
    MAX_BODY_BYTES + (MAX_HEADERS as u64 + 1) * (MAX_HEADER_VALUE_BYTES + 256) + 256;

/// Bytes described compactly: literal bytes, or a unit repeated (`[` × 100,000).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Chunk {
    /// These bytes as given.
    Bytes(Vec<u8>),
    /// `unit` written `times` times.
    Repeat {
        /// What is repeated.
        unit: Vec<u8>,
        /// How many times.
        times: u64,
    },
}

impl Chunk {
    /// Literal text.
    pub fn text(s: impl Into<String>) -> Self {
        Self::Bytes(s.into().into_bytes())
    }

    /// `unit` repeated `times` times.
    pub fn repeat(unit: impl Into<Vec<u8>>, times: u64) -> Self {
        Self::Repeat {
            unit: unit.into(),
            times,
        }
    }

    /// Bytes this chunk stands for (before any cap).
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::Repeat { unit, times } => (unit.len() as u64).saturating_mul(*times),
        }
    }

    /// Whether it stands for no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes `off..off + n` of what it stands for (`n` within its length).
    fn slice(&self, off: u64, n: u64) -> Vec<u8> {
        let (off, n) = (off as usize, n as usize); // both below a piece or a Vec's length
        match self {
            Self::Bytes(b) => b[off..off + n].to_vec(),
            Self::Repeat { unit, .. } => {
                let mut out = Vec::with_capacity(n);
                let mut at = off % unit.len().max(1);
                while out.len() < n {
                    let take = (unit.len() - at).min(n - out.len());
                    out.extend_from_slice(&unit[at..at + take]);
                    at = 0;
                }
                out
            }
        }
    }
}

/// Bytes handed to the socket at once.
const PIECE: u64 = 64 << 10;

/// The bytes of some chunks, at most `left` of them, in pieces of at most [`PIECE`].
pub(crate) struct Pieces<'a> {
    chunks: std::slice::Iter<'a, Chunk>,
    current: Option<(&'a Chunk, u64)>,
    left: u64,
}

impl<'a> Pieces<'a> {
    pub(crate) fn new(chunks: &'a [Chunk], limit: u64) -> Self {
        Self {
            chunks: chunks.iter(),
            current: None,
            left: limit,
        }
    }
}

impl Iterator for Pieces<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        while self.left > 0 {
            let (chunk, off) = match self.current.take() {
                Some(c) => c,
                None => (self.chunks.next()?, 0),
            };
            let len = chunk.len();
            if off >= len {
                continue;
            }
            let n = (len - off).min(PIECE).min(self.left);
            self.current = Some((chunk, off + n));
            self.left -= n;
            return Some(chunk.slice(off, n));
        }
        None
    }
}

impl From<&str> for Chunk {
    fn from(s: &str) -> Self {
        Self::text(s)
    }
}

impl From<Vec<u8>> for Chunk {
    fn from(b: Vec<u8>) -> Self {
        Self::Bytes(b)
    }
}

/// A header value as sent: any bytes but CR, LF and NUL (those become spaces so the head stays
/// one header), so obs-text (0x80–0xFF) and UTF-8 go out raw; at most
/// [`MAX_HEADER_VALUE_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeaderText(pub Vec<Chunk>);

impl HeaderText {
    /// `unit` repeated `times` times (a huge value).
    pub fn repeat(unit: impl Into<Vec<u8>>, times: u64) -> Self {
        Self(vec![Chunk::repeat(unit, times)])
    }

    /// Raw bytes, e.g. obs-text.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Self {
        Self(vec![Chunk::Bytes(b.into())])
    }

    /// The bytes that go on the wire (capped, CR/LF/NUL replaced).
    pub fn wire(&self) -> Vec<u8> {
        let mut out = Pieces::new(&self.0, MAX_HEADER_VALUE_BYTES)
            .flatten()
            .collect::<Vec<_>>();
        for b in &mut out {
            if matches!(*b, b'\r' | b'\n' | 0) {
                *b = b' ';
            }
        }
        out
    }
}

impl From<&str> for HeaderText {
    fn from(s: &str) -> Self {
        Self(vec![Chunk::text(s)])
    }
}

impl From<String> for HeaderText {
    fn from(s: String) -> Self {
        Self(vec![Chunk::Bytes(s.into_bytes())])
    }
}

impl From<Vec<u8>> for HeaderText {
    fn from(b: Vec<u8>) -> Self {
        Self::bytes(b)
    }
}

macro_rules! header_text_from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for HeaderText {
            fn from(n: $t) -> Self {
                Self::from(n.to_string())
            }
        }
    )*};
}
header_text_from_number!(u64, i64, u128, i128, f64);

/// How the body is delimited — honestly, or not.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Framing {
    /// `Content-Length` of the body as sent; the connection stays open for the next call.
    Length,
    /// No length: the body ends when the server closes the connection.
    Close,
    /// `Transfer-Encoding: chunked`, one chunk per 64 KiB.
    Chunked,
    /// `Content-Length: <this>` whatever the body is (larger than sent: a truncated body;
    /// `u64::MAX`, `-1`, `abc`, obs-text), then the body as is, then the connection closes.
    DeclaredLength(HeaderText),
    /// An honest `Content-Length`, the first `after` body bytes, then nothing for `hold` on the
    /// server's clock (at most [`MAX_STALL`]), then the connection closes short.
    Stall {
        /// Body bytes sent before the stall (0: headers then nothing).
        after: u64,
        /// How long nothing more comes.
        hold: Duration,
    },
}

/// One hostile answer: any status, any headers, a described body and its framing. Build one with
/// the methods below, or generate them with `hostile::strategy` (feature `proptest`).
///
/// ```
/// use shoal_testkit::hostile::{Framing, HostileResponse};
/// let r = HostileResponse::new(429)
///     .header("retry-after", u64::MAX)
///     .repeat("[", 100_000)
///     .framing(Framing::DeclaredLength("999999".into()));
/// assert_eq!(r.body_len(), 100_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostileResponse {
    /// The status code; sent as clamped to 100..=999, the range the `http` crate accepts.
    pub status: u16,
    /// Headers in order, sent as given (at most [`MAX_HEADERS`]); the framing adds its own.
    pub headers: Vec<(String, HeaderText)>,
    /// The body (at most [`MAX_BODY_BYTES`]).
    pub body: Vec<Chunk>,
    /// How the body is delimited.
    pub framing: Framing,
}

impl HostileResponse {
    /// `status`, no headers, an empty body, honest length.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            framing: Framing::Length,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<HeaderText>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Appends bytes to the body.
    pub fn body(mut self, bytes: impl Into<Chunk>) -> Self {
        self.body.push(bytes.into());
        self
    }

    /// Appends `unit` repeated `times` times to the body.
    pub fn repeat(mut self, unit: impl Into<Vec<u8>>, times: u64) -> Self {
        self.body.push(Chunk::repeat(unit, times));
        self
    }

    /// A JSON body (with `content-type: application/json`).
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("content-type", "application/json")
            .body(Chunk::text(value.to_string()))
    }

    /// Sets the framing.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// The status as sent.
    pub fn wire_status(&self) -> u16 {
        self.status.clamp(100, 999)
    }

    /// Body bytes as sent (after the cap).
    pub fn body_len(&self) -> u64 {
        self.body
            .iter()
            .fold(0u64, |n, c| n.saturating_add(c.len()))
            .min(MAX_BODY_BYTES)
    }

    /// The body as sent (capped), in one buffer.
    pub fn body_bytes(&self) -> Vec<u8> {
        Pieces::new(&self.body, MAX_BODY_BYTES).flatten().collect()
    }

    /// A short description for the traffic record, e.g. `599 chunked 12B`.
    pub fn label(&self) -> String {
        let framing = match &self.framing {
            Framing::Length => "length",
            Framing::Close => "close",
            Framing::Chunked => "chunked",
            Framing::DeclaredLength(_) => "declared-length",
            Framing::Stall { .. } => "stall",
        };
        format!("{} {framing} {}B", self.wire_status(), self.body_len())
    }

    /// Whether the connection can carry another call after this answer.
    pub(crate) fn keeps_alive(&self) -> bool {
        let s = self.wire_status();
        matches!(self.framing, Framing::Length | Framing::Chunked)
            && s >= 200
            && s != 204
            && s != 304
    }

    /// The status line and headers, framing header included, ending with the blank line.
    pub(crate) fn head(&self, body_len: u64) -> Vec<u8> {
        let status = self.wire_status();
        let reason = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Hostile");
        let mut out = Vec::with_capacity(256);
        let mut line = String::new();
        let _ = write!(line, "HTTP/1.1 {status} {reason}\r\n");
        out.extend_from_slice(line.as_bytes());
        for (name, value) in self.headers.iter().take(MAX_HEADERS) {
            out.extend_from_slice(header_name(name).as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&value.wire());
            out.extend_from_slice(b"\r\n");
        }
        match &self.framing {
            Framing::Length | Framing::Stall { .. } => {
                out.extend_from_slice(format!("content-length: {body_len}\r\n").as_bytes());
            }
            Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            Framing::DeclaredLength(v) => {
                out.extend_from_slice(b"content-length: ");
                out.extend_from_slice(&v.wire());
                out.extend_from_slice(b"\r\n");
            }
            Framing::Close => {}
        }
        if !self.keeps_alive() {
            out.extend_from_slice(b"connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// A header name as sent: token characters only (others become `-`), never empty.
fn header_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .take(256)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "x-hostile".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_whatever_is_described() {
        let r = HostileResponse::new(0)
            .repeat("ab", u64::MAX)
            .header("x\r\nInjected", HeaderText::repeat("9", u64::MAX));
        assert_eq!(r.wire_status(), 100);
        assert_eq!(r.body_len(), MAX_BODY_BYTES);
        let head = r.head(r.body_len());
        let text = String::from_utf8_lossy(&head);
        assert!(text.starts_with("HTTP/1.1 100 Continue\r\nx--Injected: 999"));
        assert!(head.len() as u64 <= MAX_WIRE_BYTES);
        assert_eq!(
            text.matches("\r\n").count(),
            5,
            "status, header, length, close, blank"
        );
        let v = HeaderText::bytes(b"a\r\nb\0\xff".to_vec()).wire();
        assert_eq!(v, b"a  b \xff");
    }

    #[test]
    fn repeats_are_sliced_across_pieces() {
        let chunks = [
            Chunk::text("<"),
            Chunk::repeat("abc", 50_000),
            Chunk::text(">"),
        ];
        let all: Vec<u8> = Pieces::new(&chunks, u64::MAX).flatten().collect();
        assert_eq!(all.len(), 150_002);
        assert!(all.starts_with(b"<abcabc") && all.ends_with(b"bcabc>"));
        assert!(Pieces::new(&chunks, u64::MAX).all(|p| p.len() as u64 <= PIECE));
        let cut: Vec<u8> = Pieces::new(&chunks, 5).flatten().collect();
        assert_eq!(cut, b"<abca");
        assert_eq!(Pieces::new(&[Chunk::repeat("", 9)], 99).count(), 0);
    }

    #[test]
    fn keep_alive_only_when_framed_honestly() {
        assert!(HostileResponse::new(200).keeps_alive());
        assert!(!HostileResponse::new(204).keeps_alive());
        assert!(
            !HostileResponse::new(200)
                .framing(Framing::Close)
                .keeps_alive()
        );
        assert!(!HostileResponse::new(101).keeps_alive());
    }
}
