//! One pagination abstraction over every vendor's scheme: pages and items as streams, a cursor
//! that survives a process restart, and guards against a server that loops.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::Mutex;

use futures_util::stream::{self, Stream, TryStreamExt};
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::request::{Request, Response};

/// Where the next page starts: an opaque string chosen by the vendor crate (a page token, a page
/// number, a `links.next` URL). Serializes as that string, so a long export can save it and
/// resume in another process.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// A cursor from its string form.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The string form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({:?})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Cursor {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

/// One page: its items, the cursor that fetched it and the cursor of the next page (`None` on
/// the last page).
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The items, in server order.
    pub items: Vec<T>,
    /// The cursor this page was fetched with (`None` for the first page).
    pub cursor: Option<Cursor>,
    /// The next page's cursor; `None` when this is the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page as a vendor crate decodes it.
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Self {
        Self {
            items,
            cursor: None,
            next,
        }
    }
}

/// Streams the pages of one listing by calling a vendor's fetch function with each cursor.
///
/// ```
/// use futures_util::TryStreamExt;
/// use shoal_core::{Cursor, Page, Paginator};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pages = Paginator::new(|cursor: Option<Cursor>| async move {
///     let start: usize = cursor.map_or(0, |c| c.as_str().parse().unwrap());
///     let next = (start + 2 < 5).then(|| Cursor::new((start + 2).to_string()));
///     Ok(Page::new((start..(start + 2).min(5)).collect(), next))
/// });
/// let all: Vec<usize> = pages.by_item().try_collect().await?;
/// assert_eq!(all, vec![0, 1, 2, 3, 4]);
/// # Ok::<_, shoal_core::Error>(())
/// # }).unwrap();
/// ```
pub struct Paginator<F> {
    fetch: F,
    start: Option<Cursor>,
}

impl<F> fmt::Debug for Paginator<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("start", &self.start)
            .finish()
    }
}

struct State<F> {
    fetch: F,
    next: Option<Option<Cursor>>,
    seen: HashSet<Cursor>,
    failed: Option<Error>,
}

impl<F, Fut, T> Paginator<F>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    /// Starts at the first page.
    pub fn new(fetch: F) -> Self {
        Self { fetch, start: None }
    }

    /// Starts at a saved cursor (from [`Page::next`]) instead of the first page.
    pub fn resume_from(mut self, cursor: Option<Cursor>) -> Self {
        self.start = cursor;
        self
    }

    /// The pages in order. Stops with [`Error::Pagination`] when a next cursor is empty or
    /// repeats one already used.
    pub fn by_page(self) -> impl Stream<Item = Result<Page<T>>> {
        let mut seen = HashSet::new();
        if let Some(c) = &self.start {
            seen.insert(c.clone());
        }
        let state = State {
            fetch: self.fetch,
            next: Some(self.start),
            seen,
            failed: None,
        };
        stream::unfold(state, |mut st| async move {
            if let Some(e) = st.failed.take() {
                return Some((Err(e), st));
            }
            let cursor = st.next.take()?;
            let mut page = match (st.fetch)(cursor.clone()).await {
                Ok(page) => page,
                Err(e) => return Some((Err(e), st)),
            };
            page.cursor = cursor;
            // The page itself is good; only its next cursor is not: yield the page, then stop.
            match &page.next {
                Some(next) if next.as_str().is_empty() => {
                    st.failed = Some(Error::Pagination(
                        "the server sent an empty next-page cursor".into(),
                    ));
                }
                Some(next) if !st.seen.insert(next.clone()) => {
                    st.failed = Some(Error::Pagination(format!(
                        "the server repeated the cursor {next:?}; stopping to avoid a loop"
                    )));
                }
                Some(next) => st.next = Some(Some(next.clone())),
                None => {}
            }
            Some((Ok(page), st))
        })
    }

    /// The items of every page, in order.
    pub fn by_item(self) -> impl Stream<Item = Result<T>> {
        self.by_page()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
    }
}

/// One page request sent ahead of its turn, so that the next page travels while the current
/// one is decoded.
///
/// A vendor crate that can read the next cursor cheaply, before it decodes a page, starts the
/// next page's request with [`start`](Self::start). When the paginator then asks for that
/// cursor, [`take`](Self::take) hands over the answer. A guess that turns out wrong costs one
/// request, which is aborted. Only idempotent requests are ever started, and dropping the
/// `Prefetch` (with its listing) aborts the request in flight.
///
/// ```no_run
/// use shoal_core::pagination::Prefetch;
/// use shoal_core::{Cursor, Pipeline, Request, Result};
///
/// # async fn page(pipeline: &Pipeline, ahead: &Prefetch, cursor: Option<Cursor>) -> Result<()> {
/// let response = match ahead.take(cursor.as_ref()).await {
///     Some(answer) => answer?,
///     None => pipeline.execute(Request::get("items")).await?,
/// };
/// if let Some(next) = std::str::from_utf8(&response.body).ok().and_then(|b| b.strip_prefix("next=")) {
///     let next = Cursor::new(next);
///     let request = Request::get("items").query("page", next.as_str());
///     ahead.start(pipeline, next, request).await;
/// }
/// // ... decode `response` while the next page is on its way
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct Prefetch {
    slot: Mutex<Option<Ahead>>,
}

struct Ahead {
    cursor: Cursor,
    task: Aborting,
}

/// A spawned request, aborted when dropped (a `JoinHandle` alone would let it run on).
struct Aborting(tokio::task::JoinHandle<Result<Response>>);

impl Drop for Aborting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl fmt::Debug for Prefetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ahead = self.lock().as_ref().map(|a| a.cursor.clone());
        f.debug_struct("Prefetch").field("ahead", &ahead).finish()
    }
}

impl Prefetch {
    /// No request ahead yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Ahead>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `request`, the page at `cursor`, in a task of its own, replacing (and aborting)
    /// any request started before; then yields once, so that even a single-threaded runtime
    /// puts it on the wire before the caller goes on. Returns whether it was started: a request
    /// that is not idempotent, or a call outside a tokio runtime, starts nothing.
    pub async fn start(&self, pipeline: &Pipeline, cursor: Cursor, request: Request) -> bool {
        if !request.is_idempotent() {
            return false;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let pipeline = pipeline.clone();
        let task = runtime.spawn(async move { pipeline.execute(request).await }.in_current_span());
        *self.lock() = Some(Ahead {
            cursor,
            task: Aborting(task),
        });
        tokio::task::yield_now().await;
        true
    }

    /// The answer to the request started for `cursor`, if that is the one ahead. Any other
    /// request ahead is aborted and `None` returned, as it is when the request ahead was itself
    /// aborted: the caller then sends its own. A panic in the request ahead resumes here.
    pub async fn take(&self, cursor: Option<&Cursor>) -> Option<Result<Response>> {
        let mut ahead = self.lock().take()?;
        if Some(&ahead.cursor) != cursor {
            return None;
        }
        match (&mut ahead.task.0).await {
            Ok(answer) => Some(answer),
            // A panic in the request is the caller's, not a reason to send it again.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use proptest::prelude::*;

    fn split(sizes: Vec<usize>) -> Vec<Vec<u32>> {
        let mut n = 0u32;
        sizes
            .into_iter()
            .map(|s| {
                let page: Vec<u32> = (n..n + s as u32).collect();
                n += s as u32;
                page
            })
            .collect()
    }

    fn pages_over(
        pages: Vec<Vec<u32>>,
    ) -> Paginator<impl FnMut(Option<Cursor>) -> std::future::Ready<Result<Page<u32>>>> {
        Paginator::new(move |cursor: Option<Cursor>| {
            let i: usize =
                cursor.map_or(0, |c| c.as_str().trim_start_matches("p").parse().unwrap());
            let next = (i + 1 < pages.len()).then(|| Cursor::new(format!("p{}", i + 1)));
            std::future::ready(Ok(Page::new(
                pages.get(i).cloned().unwrap_or_default(),
                next,
            )))
        })
    }

    fn block<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_repeated_cursor_stops_with_an_error() {
        let p = Paginator::new(|_c: Option<Cursor>| {
            std::future::ready(Ok(Page::new(vec![1], Some(Cursor::new("same")))))
        });
        let got: Vec<Result<Page<i32>>> = block(p.by_page().take(5).collect());
        assert_eq!(got.len(), 3);
        assert!(got[0].is_ok() && got[1].is_ok());
        assert!(matches!(got[2], Err(Error::Pagination(_))));
    }

    #[test]
    fn an_empty_cursor_stops_with_an_error() {
        let p = Paginator::new(|_c: Option<Cursor>| {
            std::future::ready(Ok(Page::new(vec![1], Some(Cursor::new("")))))
        });
        let got: Vec<Result<Page<i32>>> = block(p.by_page().collect());
        assert!(matches!(got.last(), Some(Err(Error::Pagination(_)))));
    }

    #[test]
    fn a_fetch_error_ends_the_stream_after_reporting() {
        let p = Paginator::new(|c: Option<Cursor>| {
            std::future::ready(match c {
                None => Ok(Page::new(vec![1], Some(Cursor::new("2")))),
                Some(_) => Err(Error::Config("boom".into())),
            })
        });
        let got: Vec<Result<i32>> = block(p.by_item().collect());
        assert_eq!(got.len(), 2);
        assert!(got[1].is_err());
    }

    fn pipeline(transport: impl crate::transport::Transport) -> Pipeline {
        Pipeline::builder("http://127.0.0.1:9/v1".parse().unwrap())
            .transport(transport)
            .build()
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_page_sent_ahead_is_handed_to_its_cursor_once_and_only_to_it() {
        use crate::test_util::{CaptureTransport, Scripted};
        let transport = CaptureTransport::new([
            Scripted::json(200, serde_json::json!({"page": 2})),
            Scripted::json(200, serde_json::json!({"page": 3})),
        ]);
        let p = pipeline(transport.clone());
        let ahead = Prefetch::new();
        let two = Cursor::new("p2");
        assert!(
            ahead
                .start(&p, two.clone(), Request::get("items").query("page", "2"))
                .await
        );
        let answer = ahead.take(Some(&two)).await.unwrap().unwrap();
        assert_eq!(&answer.body[..], br#"{"page":2}"#);
        assert!(ahead.take(Some(&two)).await.is_none(), "taken twice");
        let sent = transport.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].uri(), "http://127.0.0.1:9/v1/items?page=2");

        // Asked for another cursor: nothing is handed over, and the slot is empty after.
        ahead
            .start(
                &p,
                Cursor::new("p3"),
                Request::get("items").query("page", "3"),
            )
            .await;
        assert!(ahead.take(Some(&Cursor::new("other"))).await.is_none());
        assert!(ahead.take(Some(&Cursor::new("p3"))).await.is_none());
        assert!(ahead.take(None).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn only_idempotent_requests_are_sent_ahead() {
        use crate::test_util::CaptureTransport;
        let transport = CaptureTransport::default();
        let p = pipeline(transport.clone());
        let ahead = Prefetch::new();
        let started = ahead
            .start(&p, Cursor::new("p2"), Request::post("items"))
            .await;
        assert!(!started);
        assert!(ahead.take(Some(&Cursor::new("p2"))).await.is_none());
        assert!(transport.requests().is_empty());
    }

    /// Sets its flag when dropped: a send future that was aborted.
    struct Dropped(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_ahead_is_aborted_when_replaced_or_dropped() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let sent = std::sync::Arc::new(AtomicUsize::new(0));
        let flags: Vec<_> = (0..2)
            .map(|_| std::sync::Arc::new(AtomicBool::new(false)))
            .collect();
        let transport = {
            let (sent, flags) = (sent.clone(), flags.clone());
            move |_req: http::Request<bytes::Bytes>| {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                let guard = Dropped(flags[n.min(1)].clone());
                async move {
                    let _guard = guard;
                    std::future::pending::<
                        std::result::Result<http::Response<bytes::Bytes>, crate::TransportError>,
                    >()
                    .await
                }
            }
        };
        let p = pipeline(transport);
        let ahead = Prefetch::new();
        ahead
            .start(&p, Cursor::new("p2"), Request::get("items"))
            .await;
        assert_eq!(sent.load(Ordering::SeqCst), 1, "sent on the first yield");
        ahead
            .start(&p, Cursor::new("p3"), Request::get("items"))
            .await;
        assert_eq!(sent.load(Ordering::SeqCst), 2);
        drop(ahead);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(
            flags[0].load(Ordering::SeqCst),
            "the replaced request runs on"
        );
        assert!(
            flags[1].load(Ordering::SeqCst),
            "the dropped listing's request runs on"
        );
    }

    proptest! {
        #[test]
        fn every_item_exactly_once_in_order(sizes in prop::collection::vec(0usize..7, 1..12)) {
            let pages = split(sizes);
            let expected: Vec<u32> = pages.iter().flatten().copied().collect();
            let got: Vec<u32> = block(pages_over(pages).by_item().try_collect()).unwrap();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn resuming_from_any_saved_cursor_yields_exactly_the_rest(
            sizes in prop::collection::vec(1usize..5, 2..10), stop in 0usize..9
        ) {
            let pages = split(sizes);
            let all: Vec<Page<u32>> = block(pages_over(pages.clone()).by_page().try_collect()).unwrap();
            let stop = stop % all.len();
            let saved = all[stop].next.clone().map(|c| c.to_string());
            let seen: Vec<u32> = all[..=stop].iter().flat_map(|p| p.items.clone()).collect();
            // A fresh process only has the string.
            let resumed: Vec<u32> = match saved {
                Some(s) => block(pages_over(pages.clone()).resume_from(Some(s.parse().unwrap())).by_item().try_collect()).unwrap(),
                None => vec![],
            };
            let total: Vec<u32> = seen.into_iter().chain(resumed).collect();
            prop_assert_eq!(total, pages.iter().flatten().copied().collect::<Vec<_>>());
        }

        #[test]
        fn cursors_round_trip_through_strings_and_json(s in ".{0,80}") {
            let c = Cursor::new(s.clone());
            prop_assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c.clone());
            let json = serde_json::to_string(&c).unwrap();
            prop_assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), c);
        }
    }
}
