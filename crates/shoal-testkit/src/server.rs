//! The plumbing every emulator shares: accept loop, connection resets, traffic recording, fault
//! injection middleware and shutdown.
//!
//! axum routes; the accept loop is ours (hyper-util) because a fault must be able to kill one
//! connection with a TCP reset, which `axum::serve` cannot do.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use shoal_core::{Redactor, SharedClock};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::faults::{FaultKind, Faults};
use crate::traffic::{Traffic, counters};

/// Largest request body an emulator reads.
const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// How long a graceful shutdown waits for open calls before aborting them.
const GRACE: Duration = Duration::from_secs(5);

/// The vendor's body for an error it answers itself: `(content type, bytes)`, or `None` for none.
pub(crate) type ErrorBody = fn(u16) -> Option<(&'static str, Vec<u8>)>;

/// State every emulator's outer middleware needs.
#[derive(Clone)]
pub(crate) struct Common {
    pub clock: SharedClock,
    pub traffic: Traffic,
    pub faults: Faults,
    pub redactor: Arc<Redactor>,
    pub error_body: ErrorBody,
}

impl Common {
    pub(crate) fn new(
        clock: SharedClock,
        seed: u64,
        capacity: usize,
        error_body: ErrorBody,
    ) -> Self {
        Self {
            clock,
            traffic: Traffic::new(capacity),
            faults: Faults::new(seed),
            redactor: Arc::new(Redactor::standard().clone().with_header("user-id")),
            error_body,
        }
    }

    /// Now as Unix seconds, from the emulator's clock.
    pub(crate) fn unix_now(&self) -> i64 {
        self.clock
            .system_now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    /// An error response in the vendor's shape.
    pub(crate) fn error(&self, status: u16) -> Response {
        error_response(self.error_body, status)
    }
}

pub(crate) fn error_response(error_body: ErrorBody, status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match error_body(status) {
        Some((ctype, body)) => {
            let mut r = Response::new(Body::from(body));
            r.headers_mut()
                .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ctype));
            r
        }
        None => Response::new(Body::empty()),
    };
    *resp.status_mut() = code;
    resp
}

/// Marks a request that must stall at the innermost layer (after rate accounting).
#[derive(Clone, Copy)]
struct StallHere;

/// Wraps a vendor router: `inner` layers (e.g. rate limits) sit between the stall point and the
/// outer recording/fault layer.
pub(crate) fn wrap(
    router: Router,
    common: &Common,
    inner: impl FnOnce(Router) -> Router,
) -> Router {
    let router = router.layer(middleware::from_fn_with_state(
        common.faults.clone(),
        stall_point,
    ));
    inner(router).layer(middleware::from_fn_with_state(common.clone(), observe))
}

async fn stall_point(State(faults): State<Faults>, req: Request, next: Next) -> Response {
    if req.extensions().get::<StallHere>().is_some() {
        faults.stall().await;
    }
    next.run(req).await
}

async fn observe(State(c): State<Common>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return c.error(413),
    };
    let seq = c.traffic.record(&c.redactor, &parts, &bytes);
    let fault = c.faults.decide(parts.method.as_str(), parts.uri.path());
    let mut label = None;
    let mut slow = None;
    match fault {
        Some(FaultKind::Status {
            status,
            retry_after,
        }) => {
            let mut resp = c.error(status);
            if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                resp.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            c.traffic.finish(seq, Some(status), Some("status"));
            return resp;
        }
        Some(FaultKind::Reset) => {
            c.traffic.incr(counters::RESETS);
            c.traffic.finish(seq, None, Some("reset"));
            if let Some(ctl) = parts.extensions.get::<ConnCtl>() {
                ctl.reset();
                std::future::pending::<()>().await;
            }
            return c.error(500);
        }
        Some(FaultKind::Stall) => {
            parts.extensions.insert(StallHere);
            label = Some("stall");
        }
        Some(FaultKind::Delay(delay)) => {
            c.clock.sleep(delay).await;
            label = Some("delay");
        }
        Some(FaultKind::SlowBody { chunk, delay }) => {
            slow = Some((chunk, delay));
            label = Some("slow_body");
        }
        None => {}
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    c.traffic.finish(seq, Some(resp.status().as_u16()), label);
    match slow {
        Some((chunk, delay)) => slow_body(resp, chunk, delay, c.clock.clone()).await,
        None => resp,
    }
}

async fn slow_body(resp: Response, chunk: usize, delay: Duration, clock: SharedClock) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return error_response(|_| None, 500);
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let stream =
        futures_util::stream::unfold((bytes, true), move |(rest, first): (Bytes, bool)| {
            let clock = clock.clone();
            async move {
                if rest.is_empty() {
                    return None;
                }
                if !first {
                    clock.sleep(delay).await;
                }
                let mut rest = rest;
                let head = rest.split_to(chunk.min(rest.len()));
                Some((Ok::<_, Infallible>(head), (rest, false)))
            }
        });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Per-connection control: lets a handler ask for its connection to be reset.
#[derive(Clone)]
struct ConnCtl {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl ConnCtl {
    fn reset(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }
}

/// A TCP stream that closes with RST instead of FIN when its connection was reset.
struct ResetOnDrop {
    stream: TcpStream,
    flag: Arc<AtomicBool>,
}

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        if self.flag.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResetOnDrop {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResetOnDrop {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A running listener; shuts down gracefully on [`Server::shutdown`] and in the background on drop.
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    faults: Faults,
}

impl Server {
    /// Binds `127.0.0.1:port` (0 for any free port) and serves `router`.
    pub(crate) async fn bind(port: u16, router: Router, faults: Faults) -> io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, rx));
        Ok(Self {
            addr,
            stop,
            task: Some(task),
            faults,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets open calls finish (stalls are released), then returns.
    pub(crate) async fn shutdown(mut self) {
        self.signal();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal(&self) {
        self.faults.release_stalls();
        self.stop.send_replace(true);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.signal();
    }
}

async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    let conn_stop = stop.clone();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    conns.spawn(serve_conn(stream, router.clone(), conn_stop.clone()));
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, drain).await.is_err() {
        conns.abort_all();
    }
}

async fn serve_conn(stream: TcpStream, router: Router, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let ctl = ConnCtl {
        flag: Arc::new(AtomicBool::new(false)),
        notify: Arc::new(Notify::new()),
    };
    let io = TokioIo::new(ResetOnDrop {
        stream,
        flag: ctl.flag.clone(),
    });
    let tower = TowerToHyperService::new(router);
    let req_ctl = ctl.clone();
    let svc = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(req_ctl.clone());
        tower.call(req)
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, svc);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = ctl.notify.notified() => return, // dropping `conn` closes the socket with RST
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
