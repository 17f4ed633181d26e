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

/// Where to listen and how long to wait.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopbackOptions {
    /// The port on 127.0.0.1 (0, the default, picks a free one).
    pub port: u16,
    /// The redirect path (default `/callback`).
    pub path: String,
    /// How long to wait for the browser (default 5 minutes), on the pipeline's clock.
    pub timeout: Duration,
}

impl Default for LoopbackOptions {
    fn default() -> Self {
        Self {
            port: 0,
            path: "/callback".into(),
            timeout: Duration::from_secs(300),
        }
    }
}

impl LoopbackOptions {
    /// Options with this port (0 for any).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Options with this timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
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
    /// Binds 127.0.0.1 and prepares an authorization whose redirect URI is exactly
    /// `http://127.0.0.1:{port}{path}` — the same string the exchange will send.
    pub async fn start(client: &OAuthClient, options: LoopbackOptions) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|e| {
                Error::auth(
                    AuthErrorKind::Login,
                    format!("cannot listen on 127.0.0.1:{}: {e}", options.port),
                )
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::auth(AuthErrorKind::Login, e.to_string()))?
            .port();
        let path = if options.path.starts_with('/') {
            options.path.clone()
        } else {
            format!("/{}", options.path)
        };
        let redirect_uri = format!("http://127.0.0.1:{port}{path}");
        let request = client.authorize_with_redirect(&redirect_uri);
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            request,
            path,
            done: Mutex::new(Some(tx)),
        });
        let server = tokio::spawn(serve(listener, shared.clone()));
        tracing::info!(redirect_uri = %redirect_uri, "waiting for the browser on the loopback interface");
        Ok(Self {
            client: client.clone(),
            shared,
            rx,
            server,
            clock: client.pipeline().clock().clone(),
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
    pub async fn finish(mut self) -> Result<TokenResponse> {
        let timeout = self.timeout;
        let outcome = tokio::select! {
            r = &mut self.rx => r.unwrap_or_else(|_| Err(Error::auth(AuthErrorKind::Login, "the loopback listener stopped"))),
            _ = self.clock.sleep(timeout) => Err(Error::auth(AuthErrorKind::Login, format!("no redirect within {}s", timeout.as_secs()))),
        };
        self.server.abort();
        let code = outcome?;
        self.client.exchange(&self.shared.request, &code).await
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, &req)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
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
