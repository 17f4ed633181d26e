//! [`LoopbackLogin`]: the RFC 8252 native-app flow — a one-shot HTTP listener on 127.0.0.1
//! receives the browser's redirect, then the code is exchanged with PKCE.

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use shoal_core::{AuthErrorKind, Error, Redactor, Result, SharedClock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::oauth::{AuthorizationRequest, OAuthClient, TokenResponse};
use crate::secret::AuthorizationCode;

/// The redirect URI a loopback login uses unless told otherwise: register exactly this with
/// the service (servers compare redirect URIs exactly, port included).
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

/// Which registered redirect URI to listen on, and how long to wait.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopbackOptions {
    redirect_uri: Option<String>,
    timeout: Duration,
}

impl Default for LoopbackOptions {
    /// The client's configured redirect URI when it is a loopback one, else
    /// [`DEFAULT_REDIRECT_URI`]; 5 minutes to wait.
    fn default() -> Self {
        Self {
            redirect_uri: None,
            timeout: Duration::from_secs(300),
        }
    }
}

impl LoopbackOptions {
    shoal_core::builder_setters! {
        /// Listens on exactly this registered redirect URI (`http://127.0.0.1:PORT/path`, or
        /// `localhost` / `[::1]`). Port 0 picks a free port — only for servers that accept any
        /// loopback port (RFC 8252 §7.3), such as test servers.
        redirect_uri(uri: impl Into<String>) => redirect_uri = Some(uri.into());
        /// How long to wait for the browser (on the pipeline's clock).
        timeout(timeout: Duration) => timeout;
    }
    /// The redirect URI asked for, if one was.
    pub fn requested_redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }
}

/// A loopback redirect URI, checked: where to bind and what to send.
struct Redirect {
    host: String,
    port: u16,
    path: String,
}

fn parse_redirect(uri: &str) -> Result<Redirect> {
    let bad = |why: &str| {
        Error::auth(
            AuthErrorKind::Login,
            format!("the redirect URI {uri:?} cannot be used for a loopback login: {why}"),
        )
    };
    let url = Url::parse(uri).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" {
        return Err(bad(
            "it must be http:// (RFC 8252 loopback redirects are plain HTTP)",
        ));
    }
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => ip.to_string(),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => ip.to_string(),
        Some(url::Host::Domain("localhost")) => "127.0.0.1".to_string(),
        _ => return Err(bad("its host must be 127.0.0.1, [::1] or localhost")),
    };
    let port = url
        .port()
        .ok_or_else(|| bad("it must name a port (the one registered with the service)"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must have no query or fragment"));
    }
    Ok(Redirect {
        host,
        port,
        path: url.path().to_string(),
    })
}

type Outcome = Result<AuthorizationCode>;

struct Shared {
    request: AuthorizationRequest,
    path: String,
    done: Mutex<Option<oneshot::Sender<Outcome>>>,
}

/// A login in progress: show [`authorize_url`](Self::authorize_url) to the user (print it, or
/// open a browser), then await [`finish`](Self::finish).
///
/// Only a callback with the right `state` is accepted; any other is answered 400 and ignored
/// (a stale tab or a forged request must not end the login). An `error=` redirect with the
/// right state ends it with the typed error. Neither code nor state is ever logged.
pub struct LoopbackLogin {
    client: OAuthClient,
    shared: Arc<Shared>,
    rx: oneshot::Receiver<Outcome>,
    server: JoinHandle<()>,
    clock: SharedClock,
    timeout: Duration,
}

impl fmt::Debug for LoopbackLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackLogin")
            .field("redirect_uri", &self.shared.request.redirect_uri())
            .field(
                "authorize_url",
                &Redactor::standard().url(self.shared.request.url()),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Drop for LoopbackLogin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl LoopbackLogin {
    /// Binds the redirect URI's loopback address and port and prepares an authorization whose
    /// redirect URI is exactly that URI — the same string the exchange will send. The URI is the
    /// options', else the client's configured one when it is a loopback URI, else
    /// [`DEFAULT_REDIRECT_URI`]. A port already in use is a clear error, never another port.
    pub async fn start(client: &OAuthClient, options: LoopbackOptions) -> Result<Self> {
        let configured = &client.config().redirect_uri;
        let uri = match &options.redirect_uri {
            Some(uri) => uri.clone(),
            None if parse_redirect(configured).is_ok() => configured.clone(),
            None => DEFAULT_REDIRECT_URI.to_string(),
        };
        let target = parse_redirect(&uri)?;
        let listener = TcpListener::bind((target.host.as_str(), target.port))
            .await
            .map_err(|e| {
                let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                    " — another program (or another login) is using it; stop it, or register another loopback redirect URI with the service and pass it"
                } else {
                    ""
                };
                Error::auth(
                    AuthErrorKind::Login,
                    format!("cannot listen on {}:{} for the redirect: {e}{hint}", target.host, target.port),
                )
            })?;
        let redirect_uri = if target.port == 0 {
            let port = listener
                .local_addr()
                .map_err(|e| Error::auth(AuthErrorKind::Login, e.to_string()))?
                .port();
            let mut url =
                Url::parse(&uri).map_err(|e| Error::auth(AuthErrorKind::Login, e.to_string()))?;
            let _ = url.set_port(Some(port));
            url.to_string()
        } else {
            uri
        };
        let request = client.authorize_with_redirect(&redirect_uri);
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            request,
            path: target.path,
            done: Mutex::new(Some(tx)),
        });
        let clock = client.pipeline().clock().clone();
        let server = tokio::spawn(serve(listener, shared.clone(), clock.clone()));
        tracing::info!(redirect_uri = %redirect_uri, "waiting for the browser on the loopback interface");
        Ok(Self {
            client: client.clone(),
            shared,
            rx,
            server,
            clock,
            timeout: options.timeout,
        })
    }

    /// The URL to open in the browser (it carries the `state`: show it to the user, not to logs).
    pub fn authorize_url(&self) -> &Url {
        self.shared.request.url()
    }

    /// The redirect URI in use.
    pub fn redirect_uri(&self) -> &str {
        self.shared.request.redirect_uri()
    }

    /// Waits for the redirect (up to the timeout), then exchanges the code.
    ///
    /// The exchange runs in this future: dropped while its answer is on the way, the new tokens
    /// are lost (the code is spent). [`Login::loopback`](crate::Login::loopback) stores them
    /// whatever happens to its caller.
    pub async fn finish(mut self) -> Result<TokenResponse> {
        let code = self.code().await?;
        self.client.exchange(&self.shared.request, &code).await
    }

    /// Waits for the redirect (up to the timeout) and stops listening: the code it carried.
    pub(crate) async fn code(&mut self) -> Result<AuthorizationCode> {
        let timeout = self.timeout;
        let outcome = tokio::select! {
            r = &mut self.rx => r.unwrap_or_else(|_| Err(Error::auth(AuthErrorKind::Login, "the loopback listener stopped"))),
            _ = self.clock.sleep(timeout) => Err(Error::auth(AuthErrorKind::Login, format!("no redirect within {}s", timeout.as_secs()))),
        };
        self.server.abort();
        outcome
    }

    /// The authorization this login waits for (its redirect URI and PKCE verifier).
    pub(crate) fn request(&self) -> &AuthorizationRequest {
        &self.shared.request
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, clock: SharedClock) {
    let accept = || async { listener.accept().await.map(|(stream, _)| stream) };
    accept_each(accept, &clock, |stream| {
        let shared = shared.clone();
        tokio::spawn(async move { answer(stream, shared).await });
    })
    .await;
}

/// How long the listener waits after a failed accept.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Hands each accepted connection to `handle`, forever. A failed accept (out of descriptors,
/// say) is retried after [`ACCEPT_RETRY`]: at once, it would spin a core.
async fn accept_each<S, A, Fut>(mut accept: A, clock: &SharedClock, mut handle: impl FnMut(S))
where
    A: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<S>>,
{
    loop {
        match accept().await {
            Ok(stream) => handle(stream),
            Err(e) => {
                tracing::debug!(error = %e, "loopback: accept failed");
                clock.sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// Answers one browser connection.
async fn answer(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(&shared, &req)) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn page(status: u16, text: &str) -> http::Response<Full<Bytes>> {
    let html = format!("<!doctype html><meta charset=utf-8><title>Sign-in</title><p>{text}</p>");
    let mut r = http::Response::new(Full::new(Bytes::from(html)));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    r
}

fn handle<B>(shared: &Shared, req: &http::Request<B>) -> http::Response<Full<Bytes>> {
    if req.uri().path() != shared.path {
        return page(404, "Not found.");
    }
    let outcome = shared
        .request
        .parse_callback(req.uri().query().unwrap_or_default());
    if let Err(e) = &outcome {
        if e.auth_error()
            .is_some_and(|a| a.kind == AuthErrorKind::StateMismatch)
        {
            tracing::warn!("loopback: refused a callback whose state does not match");
            return page(
                400,
                "This sign-in response does not belong to the login in progress. Start again from the program.",
            );
        }
    }
    let Some(tx) = shared.done.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return page(400, "This sign-in has already completed.");
    };
    let ok = outcome.is_ok();
    let _ = tx.send(outcome);
    tracing::debug!(ok, "loopback: callback received");
    if ok {
        page(
            200,
            "Signed in. You can close this window and return to the program.",
        )
    } else {
        page(
            200,
            "Sign-in was not completed. You can close this window; the program shows why.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::OAuthConfig;
    use crate::secret::ExposeSecret as _;

    /// Regression (issue 17 #11): a persistent accept error (EMFILE) spun the listener; it
    /// now waits [`ACCEPT_RETRY`] between attempts and still takes the next connection.
    #[tokio::test(start_paused = true)]
    async fn a_failing_accept_waits_between_attempts_instead_of_spinning() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let clock = shoal_core::SystemClock::shared();
        let attempts = AtomicUsize::new(0);
        let handled = AtomicUsize::new(0);
        let accept = || {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    // Out of descriptors for a while, then one connection, then none.
                    0..30 => Err(std::io::Error::from_raw_os_error(24)),
                    30 => Ok(()),
                    _ => std::future::pending().await,
                }
            }
        };
        let run = accept_each(accept, &clock, |()| {
            handled.fetch_add(1, Ordering::SeqCst);
        });
        tokio::pin!(run);
        // One virtual second: ten waits of 100 ms, not thirty attempts at once.
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut run).await;
        let tried = attempts.load(Ordering::SeqCst);
        assert!((10..=11).contains(&tried), "{tried} accepts in one second");
        assert_eq!(handled.load(Ordering::SeqCst), 0);
        // And it recovers: the connection after the errors is handled.
        let _ = tokio::time::timeout(Duration::from_secs(9), &mut run).await;
        assert_eq!(handled.load(Ordering::SeqCst), 1);
    }

    fn shared() -> (Shared, oneshot::Receiver<Outcome>, String) {
        let config = OAuthConfig::new(
            "https://a.test/authorize".parse().unwrap(),
            "https://a.test/token".parse().unwrap(),
            "c",
            "x",
        );
        let request = AuthorizationRequest::new(&config, "http://127.0.0.1:9/callback");
        let state = request
            .url()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned();
        let (tx, rx) = oneshot::channel();
        (
            Shared {
                request,
                path: "/callback".into(),
                done: Mutex::new(Some(tx)),
            },
            rx,
            state,
        )
    }

    fn get(uri: &str) -> http::Request<()> {
        http::Request::get(uri).body(()).unwrap()
    }

    #[test]
    fn routes_refuses_wrong_state_and_accepts_one_callback() {
        let (shared, mut rx, state) = shared();
        assert_eq!(handle(&shared, &get("/favicon.ico")).status(), 404);
        assert_eq!(
            handle(&shared, &get("/callback?code=C&state=wrong")).status(),
            400
        );
        assert!(
            rx.try_recv().is_err(),
            "a wrong state must not end the login"
        );
        assert_eq!(
            handle(&shared, &get(&format!("/callback?code=C1&state={state}"))).status(),
            200
        );
        assert_eq!(rx.try_recv().unwrap().unwrap().expose_secret(), "C1");
        assert_eq!(
            handle(&shared, &get(&format!("/callback?code=C2&state={state}"))).status(),
            400
        );
    }

    #[test]
    fn an_error_redirect_ends_the_login_with_the_typed_error() {
        let (shared, mut rx, state) = shared();
        assert_eq!(
            handle(
                &shared,
                &get(&format!("/callback?error=access_denied&state={state}"))
            )
            .status(),
            200
        );
        let err = rx.try_recv().unwrap().unwrap_err();
        assert_eq!(
            err.auth_error().unwrap().kind,
            AuthErrorKind::Authorization(shoal_core::OAuthErrorCode::AccessDenied)
        );
    }
}
