//! The plumbing every emulator shares: the [`Emulator`] handle, accept loop, connection resets,
//! traffic recording, fault injection middleware and shutdown.
//!
//! axum routes; the accept loop is ours (hyper-util) because a fault must be able to kill one
//! connection with a TCP reset, which `axum::serve` cannot do — and the hostile server writes raw
//! bytes no HTTP library would.

use std::convert::Infallible;
use std::fmt;
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
use futures_util::future::BoxFuture;
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
pub type ErrorBody = fn(u16) -> Option<(&'static str, Vec<u8>)>;

/// State every emulator's outer middleware needs.
#[derive(Clone)]
pub struct Common {
    /// The emulator's only source of time.
    pub clock: SharedClock,
    /// What it received.
    pub traffic: Traffic,
    /// What it is told to do wrong.
    pub faults: Faults,
    /// Secrets kept out of the traffic record.
    pub redactor: Arc<Redactor>,
    /// The vendor's error bodies.
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
    let mut lost = None;
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
        Some(FaultKind::LostAnswer { status }) => {
            lost = Some(status);
            label = Some("lost_answer");
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
    if let Some(status) = lost {
        c.traffic.finish(seq, Some(status), label);
        return c.error(status);
    }
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

/// What every emulator's configuration carries (implemented with [`settings!`]).
pub trait Settings {
    /// Port on 127.0.0.1; 0 picks a free one.
    fn port(&self) -> u16;
    /// Seed for data, tokens and random faults.
    fn seed(&self) -> u64;
    /// Requests kept in the traffic record.
    fn traffic_capacity(&self) -> usize;
    /// The emulator's only source of time.
    fn clock(&self) -> &SharedClock;
    /// Replaces the clock.
    fn set_clock(&mut self, clock: SharedClock);
}

/// `settings!(Config => State)`: implements [`Settings`] for a configuration with `port`, `seed`,
/// `traffic_capacity` and `clock` fields, and an opaque `Debug` for the service state it starts.
macro_rules! settings {
    ($($config:ty => $state:ident),*) => {$(
        impl std::fmt::Debug for $state {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($state)).finish_non_exhaustive()
            }
        }

        impl $crate::server::Settings for $config {
            fn port(&self) -> u16 {
                self.port
            }
            fn seed(&self) -> u64 {
                self.seed
            }
            fn traffic_capacity(&self) -> usize {
                self.traffic_capacity
            }
            fn clock(&self) -> &shoal_core::SharedClock {
                &self.clock
            }
            fn set_clock(&mut self, clock: shoal_core::SharedClock) {
                self.clock = clock;
            }
        }
    )*};
}
pub(crate) use settings;

/// What a service supplies to the shared [`Emulator`] handle. Implemented by this crate's
/// emulators only (the trait cannot be named outside it).
pub trait Service: Send + Sync + Sized + 'static {
    /// How to start it.
    type Config: Settings + Default;
    /// What a client needs to reach it (hosts and credentials).
    type Endpoints: fmt::Debug;
    /// Builds the state and what serves each connection, around the shared `common`.
    fn launch(config: Self::Config, common: &Common) -> (Arc<Self>, RawHandler);
    /// The endpoints once the listener is bound at `base` (`http://127.0.0.1:port`).
    fn endpoints(&self, base: &str) -> Self::Endpoints;
    /// The body of errors the service answers itself (faults, rejections); none by default.
    fn error_body(_status: u16) -> Option<(&'static str, Vec<u8>)> {
        None
    }
}

/// A running emulator of one service: `PearlDiver`, `PebblePad`, `Paya` and `HostileServer` are
/// this handle. Dropping it stops the server (in the background); [`Emulator::shutdown`] waits.
pub struct Emulator<S: Service> {
    server: Server,
    common: Common,
    pub(crate) state: Arc<S>,
    endpoints: S::Endpoints,
}

impl<S: Service> fmt::Debug for Emulator<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.server.addr)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl<S: Service> Emulator<S> {
    /// Starts with the default configuration on a free port.
    pub async fn start_default() -> io::Result<Self> {
        Self::start(S::Config::default()).await
    }

    /// Starts with the default configuration on a free port, taking time from `clock`.
    pub async fn start_with_clock(clock: SharedClock) -> io::Result<Self> {
        let mut config = S::Config::default();
        config.set_clock(clock);
        Self::start(config).await
    }

    /// Starts the emulator on `127.0.0.1:{config.port}` (0: a free port).
    pub async fn start(config: S::Config) -> io::Result<Self> {
        let common = Common::new(
            config.clock().clone(),
            config.seed(),
            config.traffic_capacity(),
            S::error_body,
        );
        let port = config.port();
        let (state, handler) = S::launch(config, &common);
        let server = Server::bind(port, handler, common.faults.clone()).await?;
        let endpoints = state.endpoints(&format!("http://{}", server.addr()));
        Ok(Self {
            server,
            common,
            state,
            endpoints,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Base URLs and credentials.
    pub fn endpoints(&self) -> &S::Endpoints {
        &self.endpoints
    }

    /// The traffic record.
    pub fn traffic(&self) -> &Traffic {
        &self.common.traffic
    }

    /// The fault script.
    pub fn faults(&self) -> &Faults {
        &self.common.faults
    }

    /// Stops accepting, lets open calls finish (stalls are released), and waits.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Serves one accepted connection until it ends or the stop signal turns true.
pub(crate) type RawHandler =
    Arc<dyn Fn(TcpStream, watch::Receiver<bool>) -> BoxFuture<'static, ()> + Send + Sync>;

/// Serves connections with HTTP/1.1 through hyper and `router` (the vendor emulators).
pub(crate) fn router_handler(router: Router) -> RawHandler {
    Arc::new(move |stream, stop| Box::pin(serve_conn(stream, router.clone(), stop)))
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
    /// Binds `127.0.0.1:port` (0 for any free port) and serves each connection with `handler`.
    pub(crate) async fn bind(port: u16, handler: RawHandler, faults: Faults) -> io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, handler, rx));
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

async fn accept_loop(listener: TcpListener, handler: RawHandler, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    let conn_stop = stop.clone();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    conns.spawn(handler(stream, conn_stop.clone()));
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
