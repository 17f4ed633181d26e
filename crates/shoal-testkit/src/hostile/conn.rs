//! One connection of the hostile server: read a request (HTTP/1.1, bounded), record it, apply a
//! scripted fault or write the chosen answer byte for byte, and keep the connection only when the
//! answer was framed.

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::response::{Framing, HostileResponse, MAX_BODY_BYTES, MAX_STALL, Pieces};
use super::{HostileState, generate::Asked};
use crate::faults::FaultKind;
use crate::traffic::counters;
use crate::wire::form_map;

/// Largest request head read; a longer one closes the connection.
const MAX_REQUEST_HEAD: usize = 64 << 10;
/// Largest request body read.
const MAX_REQUEST_BODY: usize = 16 << 20;
/// Headers parsed per request.
const MAX_REQUEST_HEADERS: usize = 128;

/// A request as read off the socket.
struct Incoming {
    parts: http::request::Parts,
    body: Vec<u8>,
    close: bool,
}

/// Serves calls on `stream` until the peer leaves, an answer ends the connection, or `stop`.
pub(crate) async fn serve(
    state: Arc<HostileState>,
    mut stream: TcpStream,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    loop {
        let incoming = tokio::select! {
            r = read_request(&mut stream, &mut buf) => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok(Some(req)) = incoming else { return };
        let seq = state
            .common
            .traffic
            .record(&state.common.redactor, &req.parts, &req.body);
        let asked = Asked {
            endpoint: super::Endpoint::classify(req.parts.method.as_str(), req.parts.uri.path()),
            method: req.parts.method.as_str(),
            path: req.parts.uri.path(),
            query: form_map(req.parts.uri.query().unwrap_or_default()),
        };
        let traffic = &state.common.traffic;
        let (answer, label) = match state.common.faults.decide(asked.method, asked.path) {
            Some(FaultKind::Reset) => {
                traffic.incr(counters::RESETS);
                traffic.finish(seq, None, Some("reset"));
                let _ = stream.set_zero_linger();
                return;
            }
            Some(FaultKind::Status {
                status,
                retry_after,
            }) => {
                let mut r = HostileResponse::new(status);
                if let Some(v) = retry_after {
                    r = r.header("retry-after", v);
                }
                (r, "status".to_string())
            }
            Some(FaultKind::LostAnswer { status }) => {
                (HostileResponse::new(status), "lost_answer".to_string())
            }
            stall_or_slow => {
                if stall_or_slow == Some(FaultKind::Stall) {
                    tokio::select! {
                        _ = state.common.faults.stall() => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
                let answer = state.answer(seq, &asked);
                let label = answer.label();
                (answer, label)
            }
        };
        traffic.finish(seq, Some(answer.wire_status()), Some(&label));
        let written = tokio::select! {
            r = write_answer(&state, &mut stream, &answer) => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        if written.is_err() || req.close || !answer.keeps_alive() {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Reads one request; `Ok(None)` when the peer closed cleanly between requests.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<Incoming>> {
    let (head_len, parts, framing) = loop {
        if let Some(parsed) = parse_head(buf)? {
            break parsed;
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return Err(io::Error::other("request head too large"));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    buf.drain(..head_len);
    let body = match framing {
        BodyFraming::Length(n) => read_exact_buffered(stream, buf, n).await?,
        BodyFraming::Chunked => read_chunked(stream, buf).await?,
    };
    let close = parts
        .headers
        .get(http::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    Ok(Some(Incoming { parts, body, close }))
}

enum BodyFraming {
    Length(usize),
    Chunked,
}

type Head = (usize, http::request::Parts, BodyFraming);

fn parse_head(buf: &[u8]) -> io::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(io::Error::other(e)),
    };
    let mut builder = http::Request::builder()
        .method(req.method.unwrap_or("GET"))
        .uri(req.path.unwrap_or("/"));
    let mut framing = BodyFraming::Length(0);
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| *n <= MAX_REQUEST_BODY)
                .ok_or_else(|| io::Error::other("bad request content-length"))?;
            framing = BodyFraming::Length(n);
        }
        if h.name.eq_ignore_ascii_case("transfer-encoding")
            && h.value.eq_ignore_ascii_case(b"chunked")
        {
            framing = BodyFraming::Chunked;
        }
        builder = builder.header(h.name, h.value);
    }
    let parts = builder.body(()).map_err(io::Error::other)?.into_parts().0;
    Ok(Some((len, parts, framing)))
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, at_least: usize) -> io::Result<()> {
    while buf.len() < at_least {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

async fn read_exact_buffered(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    n: usize,
) -> io::Result<Vec<u8>> {
    fill(stream, buf, n).await?;
    Ok(buf.drain(..n).collect())
}

async fn read_line(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = buf.drain(..i + 2).take(i).collect();
            return Ok(line);
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return Err(io::Error::other("chunk line too long"));
        }
        let need = buf.len() + 1;
        fill(stream, buf, need).await?;
    }
}

async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf).await?;
        let size = std::str::from_utf8(&line)
            .ok()
            .and_then(|l| usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16).ok())
            .ok_or_else(|| io::Error::other("bad chunk size"))?;
        if size == 0 {
            while !read_line(stream, buf).await?.is_empty() {} // trailers
            return Ok(body);
        }
        if body.len() + size > MAX_REQUEST_BODY {
            return Err(io::Error::other("request body too large"));
        }
        body.extend(
            read_exact_buffered(stream, buf, size + 2)
                .await?
                .drain(..size),
        );
    }
}

async fn write_answer(
    state: &HostileState,
    stream: &mut TcpStream,
    answer: &HostileResponse,
) -> io::Result<()> {
    let len = answer.body_len();
    stream.write_all(&answer.head(len)).await?;
    match &answer.framing {
        Framing::Chunked => {
            for piece in Pieces::new(&answer.body, MAX_BODY_BYTES) {
                stream
                    .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                    .await?;
                stream.write_all(&piece).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        Framing::Stall { after, hold } => {
            for piece in Pieces::new(&answer.body, (*after).min(len)) {
                stream.write_all(&piece).await?;
            }
            stream.flush().await?;
            state.common.clock.sleep((*hold).min(MAX_STALL)).await;
        }
        Framing::Length | Framing::Close | Framing::DeclaredLength(_) => {
            for piece in Pieces::new(&answer.body, MAX_BODY_BYTES) {
                stream.write_all(&piece).await?;
            }
        }
    }
    stream.flush().await
}
