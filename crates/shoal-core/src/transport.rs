//! The [`Transport`] seam: send one `http::Request`, get one `http::Response`, bodies as bytes.

use std::future::Future;

use async_trait::async_trait;
use bytes::Bytes;
use url::Url;

use crate::error::{TransportError, TransportErrorKind};

/// Sends one HTTP request and returns the whole response.
///
/// Implemented by [`ReqwestTransport`], by closures (handy in tests) and,
/// with the `test-util` feature, by `MockTransport` (mockall, which mocks [`send`](Self::send)).
///
/// ```
/// # use bytes::Bytes;
/// # use shoal_core::{Transport, TransportError};
/// let fixed = |_req: http::Request<Bytes>| async {
///     Ok::<_, TransportError>(http::Response::new(Bytes::from_static(b"{}")))
/// };
/// # fn takes(_: impl Transport) {}
/// takes(fixed);
/// ```
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends the request. A response with any status is `Ok`; only a failure to get a response
    /// is an error.
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError>;

    /// Sends a request to `url`; the request's own URI is not read. The pipeline sends every
    /// call this way, so that a transport whose client takes a parsed URL (as
    /// [`ReqwestTransport`]'s does) need not parse it again from the URI. The default sets the
    /// URI from `url` and calls [`send`](Self::send).
    async fn send_to(
        &self,
        url: Url,
        mut request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        *request.uri_mut() = url.as_str().parse().map_err(|e: http::uri::InvalidUri| {
            TransportError::new(
                TransportErrorKind::Other,
                format!("the URL is not a valid URI: {e}"),
            )
        })?;
        self.send(request).await
    }
}

#[cfg(any(test, feature = "test-util"))]
mockall::mock! {
    /// A mock [`Transport`]: expectations are set on `send`, which `send_to` calls too.
    pub Transport {}
    #[async_trait]
    impl Transport for Transport {
        async fn send(
            &self,
            request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError>;
    }
}

#[async_trait]
impl<F, Fut> Transport for F
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'static,
{
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, TransportError> {
        (self)(request).await
    }
}

#[cfg(feature = "reqwest")]
pub use self::reqwest_impl::{ReqwestTransport, ReqwestTransportBuilder};

#[cfg(feature = "reqwest")]
mod reqwest_impl {
    use std::error::Error as _;
    use std::time::Duration;

    use async_trait::async_trait;
    use bytes::Bytes;
    use url::Url;

    use super::Transport;
    use crate::clock::{Clock as _, SystemClock};
    use crate::error::{Error, TransportError, TransportErrorKind};

    /// The `User-Agent` every Shoal request carries.
    pub const USER_AGENT: &str = concat!("shoal/", env!("CARGO_PKG_VERSION"));

    /// A [`Transport`] over a pooled `reqwest::Client` (rustls, gzip).
    ///
    /// Redirects are followed only within the same origin: a redirect to another origin comes
    /// back as the 3xx response itself, so no `Authorization` or API-key header is ever carried
    /// to a host it was not meant for.
    #[derive(Clone, Debug)]
    pub struct ReqwestTransport {
        client: reqwest::Client,
        read_timeout: Duration,
        max_body_bytes: usize,
    }

    /// Settings for a [`ReqwestTransport`].
    #[derive(Clone, Debug)]
    pub struct ReqwestTransportBuilder {
        connect_timeout: Duration,
        read_timeout: Duration,
        pool_idle_timeout: Duration,
        max_redirects: usize,
        max_body_bytes: usize,
    }

    impl Default for ReqwestTransportBuilder {
        fn default() -> Self {
            Self {
                connect_timeout: Duration::from_secs(10),
                read_timeout: Duration::from_secs(60),
                pool_idle_timeout: Duration::from_secs(90),
                max_redirects: 5,
                max_body_bytes: crate::options::DEFAULT_MAX_BODY_BYTES,
            }
        }
    }

    impl ReqwestTransportBuilder {
        crate::builder_setters! {
            /// How long to wait for a connection (default 10 s).
            connect_timeout(timeout: Duration) => connect_timeout;
            /// How long a call may go without progress — its answer's head, or a body frame —
            /// before it fails as a timeout (default 60 s).
            read_timeout(timeout: Duration) => read_timeout;
            /// How long an idle pooled connection is kept (default 90 s).
            pool_idle_timeout(timeout: Duration) => pool_idle_timeout;
            /// How many same-origin redirects to follow (default 5).
            max_redirects(max: usize) => max_redirects;
            /// The largest (decoded) response body read (default 16 MiB). A larger announced
            /// `Content-Length` is refused before reading; a body that grows past it is cut off.
            max_body_bytes(max: usize) => max_body_bytes;
        }

        /// Builds the transport.
        pub fn build(self) -> Result<ReqwestTransport, Error> {
            let max = self.max_redirects;
            let policy = reqwest::redirect::Policy::custom(move |attempt| {
                let same_origin = attempt
                    .previous()
                    .last()
                    .is_some_and(|prev| prev.origin() == attempt.url().origin());
                if !same_origin || attempt.previous().len() > max {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            });
            let client = reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .connect_timeout(self.connect_timeout)
                .pool_idle_timeout(self.pool_idle_timeout)
                .redirect(policy)
                .gzip(true)
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
            Ok(ReqwestTransport {
                client,
                read_timeout: self.read_timeout,
                max_body_bytes: self.max_body_bytes,
            })
        }
    }

    impl ReqwestTransport {
        /// A transport with default timeouts.
        pub fn new() -> Result<Self, Error> {
            Self::builder().build()
        }

        /// Settings for a transport.
        pub fn builder() -> ReqwestTransportBuilder {
            ReqwestTransportBuilder::default()
        }
    }

    #[async_trait]
    impl Transport for ReqwestTransport {
        async fn send(
            &self,
            request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            let request = reqwest::Request::try_from(request).map_err(|e| {
                TransportError::new(TransportErrorKind::Other, e.without_url().to_string())
            })?;
            self.exchange(request).await
        }

        async fn send_to(
            &self,
            url: Url,
            request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, TransportError> {
            let (parts, body) = request.into_parts();
            let mut request = reqwest::Request::new(parts.method, url);
            *request.headers_mut() = parts.headers;
            *request.version_mut() = parts.version;
            *request.body_mut() = Some(body.into());
            self.exchange(request).await
        }
    }

    impl ReqwestTransport {
        async fn exchange(
            &self,
            request: reqwest::Request,
        ) -> Result<http::Response<Bytes>, TransportError> {
            let timer = crate::clock::io_timer(self.read_timeout);
            tokio::pin!(timer);
            let mut stall = Stall::new(timer, self.read_timeout);
            let response = stall
                .guard(self.client.execute(request))
                .await?
                .map_err(classify)?;
            let max = self.max_body_bytes;
            // A server's announced length never sizes an allocation: over the cap, nothing is read.
            if response.content_length().is_some_and(|n| n > max as u64) {
                return Err(TransportError::too_large(max));
            }
            // Taken apart rather than copied: the headers move, the (decoded) body is collected.
            let announced = response.content_length();
            let (parts, body) = http::Response::from(response).into_parts();
            let body = read_capped(body, max, announced, &mut stall).await?;
            Ok(http::Response::from_parts(parts, body))
        }
    }

    /// The stall guard: one timer per call, not one per read. Progress only notes the time; the
    /// timer, when it fires, is moved to a timeout past the latest progress, and the call fails
    /// only if there was none for that long.
    struct Stall<'a> {
        timer: std::pin::Pin<&'a mut tokio::time::Sleep>,
        timeout: Duration,
        /// On tokio's clock, as the transport's I/O is ([`SystemClock`](crate::SystemClock)).
        progress: std::time::Instant,
        /// False once no instant is far enough away to time out at (a timeout of years).
        armed: bool,
    }

    impl<'a> Stall<'a> {
        fn new(timer: std::pin::Pin<&'a mut tokio::time::Sleep>, timeout: Duration) -> Self {
            // The timer was set a timeout from now: no second clock read.
            let progress = timer
                .deadline()
                .into_std()
                .checked_sub(timeout)
                .unwrap_or_else(|| SystemClock.now());
            Self {
                timer,
                timeout,
                progress,
                armed: true,
            }
        }

        /// Runs `work`, failing it if it makes no progress for the timeout; its end is progress.
        async fn guard<F: std::future::Future>(
            &mut self,
            work: F,
        ) -> Result<F::Output, TransportError> {
            tokio::pin!(work);
            loop {
                tokio::select! {
                    biased;
                    out = &mut work => {
                        self.progress = SystemClock.now();
                        return Ok(out);
                    }
                    () = self.timer.as_mut(), if self.armed => {
                        let Some(due) = self.progress.checked_add(self.timeout) else {
                            self.armed = false;
                            continue;
                        };
                        if due <= SystemClock.now() {
                            return Err(TransportError::new(
                                TransportErrorKind::Timeout,
                                format!("no answer or data for {:?}", self.timeout),
                            ));
                        }
                        self.timer.as_mut().reset(due.into());
                    }
                }
            }
        }
    }

    /// A body's buffer grows in multiples of this, so that a freed page's buffer fits the next
    /// page's again and a long listing's memory stays flat.
    const BODY_BLOCK: usize = 64 * 1024;

    /// Makes room in `rest` for `more` bytes. The new size is the announced length once the body
    /// has come within half of it, else twice what has arrived (in whole blocks): an announced
    /// length costs memory only as the server sends it, and a body is copied a few times at most.
    fn make_room(rest: &mut bytes::BytesMut, more: usize, announced: Option<usize>) {
        let need = rest.len().saturating_add(more);
        if need <= rest.capacity() {
            return;
        }
        let doubled = need.saturating_mul(2).max(BODY_BLOCK);
        let size = match announced {
            Some(n) if n >= need => n.min(doubled),
            _ => doubled,
        };
        let size = size.div_ceil(BODY_BLOCK).saturating_mul(BODY_BLOCK);
        let mut grown = bytes::BytesMut::with_capacity(size);
        grown.extend_from_slice(rest);
        *rest = grown;
    }

    /// Reads a body frame by frame, refusing it once it grows past `max` bytes. A body of one
    /// frame is kept as it came, without a copy; a longer one is gathered into one buffer
    /// ([`make_room`]).
    async fn read_capped(
        mut body: reqwest::Body,
        max: usize,
        announced: Option<u64>,
        stall: &mut Stall<'_>,
    ) -> Result<Bytes, TransportError> {
        use http_body_util::BodyExt as _;
        let announced = announced.and_then(|n| usize::try_from(n).ok());
        let mut first: Option<Bytes> = None;
        let mut rest = bytes::BytesMut::new();
        let mut len = 0usize;
        while let Some(frame) = stall.guard(body.frame()).await? {
            let Ok(data) = frame.map_err(classify)?.into_data() else {
                continue;
            };
            len = len.saturating_add(data.len());
            if len > max {
                return Err(TransportError::too_large(max));
            }
            match first.take() {
                None if rest.is_empty() => first = Some(data),
                Some(head) => {
                    make_room(&mut rest, head.len() + data.len(), announced);
                    rest.extend_from_slice(&head);
                    rest.extend_from_slice(&data);
                }
                None => {
                    make_room(&mut rest, data.len(), announced);
                    rest.extend_from_slice(&data);
                }
            }
        }
        Ok(first.unwrap_or_else(|| rest.freeze()))
    }

    fn classify(err: reqwest::Error) -> TransportError {
        let kind = if err.is_timeout() {
            TransportErrorKind::Timeout
        } else if err.is_connect() {
            if refused(&err) {
                TransportErrorKind::ConnectRefused
            } else {
                TransportErrorKind::Connect
            }
        } else if err.is_request() || err.is_body() || err.is_decode() {
            TransportErrorKind::Io
        } else {
            TransportErrorKind::Other
        };
        // reqwest puts the URL (maybe with a query-placed key) in Display: drop it.
        let err = err.without_url();
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        TransportError::new(kind, message)
    }

    fn refused(err: &reqwest::Error) -> bool {
        let mut source = err.source();
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    return true;
                }
            }
            source = s.source();
        }
        false
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use proptest::prelude::*;

        #[test]
        fn an_announced_length_is_reserved_only_once_the_body_comes_near_it() {
            let mut rest = bytes::BytesMut::new();
            make_room(&mut rest, 100, Some(usize::MAX));
            assert!(rest.capacity() < 2 * BODY_BLOCK, "{}", rest.capacity());
            // A 300 kB page in 16 kB frames: twice what came (in blocks), then the page's size.
            let mut rest = bytes::BytesMut::new();
            let mut sizes = Vec::new();
            for _ in 0..19 {
                make_room(&mut rest, 16_000, Some(300_000));
                rest.extend_from_slice(&[b'x'; 16_000]);
                if sizes.last() != Some(&rest.capacity()) {
                    sizes.push(rest.capacity());
                }
            }
            assert_eq!(rest.len(), 304_000);
            assert_eq!(sizes, [BODY_BLOCK, 3 * BODY_BLOCK, 5 * BODY_BLOCK]);
        }

        proptest! {
            #[test]
            fn a_gathered_body_is_kept_whole_in_at_most_twice_its_size(
                frames in prop::collection::vec(0usize..100_000, 0..24),
                announced in any::<u64>(),
            ) {
                let announced = usize::try_from(announced).ok();
                let (mut rest, mut want) = (bytes::BytesMut::new(), Vec::new());
                for (i, &n) in frames.iter().enumerate() {
                    let frame = vec![i as u8; n];
                    make_room(&mut rest, n, announced);
                    rest.extend_from_slice(&frame);
                    want.extend_from_slice(&frame);
                    let bound = (2 * rest.len()).max(BODY_BLOCK) + BODY_BLOCK;
                    prop_assert!(rest.capacity() <= bound, "{} > {bound}", rest.capacity());
                }
                prop_assert_eq!(&rest[..], &want[..]);
            }
        }
    }
}
