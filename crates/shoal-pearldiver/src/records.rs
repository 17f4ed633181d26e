//! [`AudienceRecords`]: every record of an audience as a stream, over core's
//! [`Paginator`] — resumable from a saved cursor, guarded against a looping server.

use std::fmt;
use std::marker::PhantomData;

use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use shoal_core::{Cursor, Page, Paginator, Pipeline, Result};

use crate::audiences::{AudienceQuery, fetch_page, page_request};
use crate::models::Record;
use crate::window::AudienceWindow;

/// Every record of one audience, page by page (Pearl Diver pages hold up to 1000 records).
///
/// The cursor of each page is the vendor's `pageToken`, passed back untouched — never parsed.
/// Save [`Page::next`] (it serializes as a plain string) together with the key and window, and
/// [`resume_from`](Self::resume_from) it in another process to get exactly the pages not yet
/// seen. A server that repeats a token or sends an empty one stops the stream with
/// [`shoal_core::Error::Pagination`] instead of looping.
///
/// The window is checked against the client's clock before the first request: an invalid
/// window ends the stream with [`shoal_core::Error::InvalidInput`] and nothing is sent.
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use shoal_pearldiver::{AudienceWindow, PearlDiverClient};
///
/// # async fn run(client: PearlDiverClient, saved: Option<shoal_core::Cursor>) -> shoal_core::Result<()> {
/// let mut pages = std::pin::pin!(client.audiences().records(17, AudienceWindow::LastDays(30)).resume_from(saved).by_page());
/// while let Some(page) = pages.try_next().await? {
///     // write page.items, then persist page.next as the checkpoint
///     # let _ = page;
/// }
/// # Ok(())
/// # }
/// ```
pub struct AudienceRecords<R = Record> {
    pipeline: Pipeline,
    key: u64,
    window: AudienceWindow,
    start: Option<Cursor>,
    record: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for AudienceRecords<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudienceRecords")
            .field("key", &self.key)
            .field("window", &self.window)
            .field("start", &self.start)
            .finish()
    }
}

impl AudienceRecords<Record> {
    pub(crate) fn new(pipeline: Pipeline, key: u64, window: AudienceWindow) -> Self {
        Self {
            pipeline,
            key,
            window,
            start: None,
            record: PhantomData,
        }
    }

    /// The same listing with each record's JSON kept untouched (for exports).
    pub fn raw(self) -> AudienceRecords<Box<RawValue>> {
        AudienceRecords {
            pipeline: self.pipeline,
            key: self.key,
            window: self.window,
            start: self.start,
            record: PhantomData,
        }
    }
}

impl<R: DeserializeOwned + Send + 'static> AudienceRecords<R> {
    /// Starts at a saved cursor (a page's [`Page::next`]) instead of the first page; `None`
    /// starts at the first page.
    pub fn resume_from(mut self, cursor: Option<Cursor>) -> Self {
        self.start = cursor;
        self
    }

    /// The pages, each with its records, the cursor that fetched it and the next page's cursor.
    pub fn by_page(self) -> impl Stream<Item = Result<Page<R>>> + Send + 'static {
        let Self {
            pipeline,
            key,
            window,
            start,
            ..
        } = self;
        let mut check = Some(window.validate(pipeline.clock().system_now()));
        Paginator::new(move |cursor: Option<Cursor>| {
            let check = check.take();
            let pipeline = pipeline.clone();
            let request = page_request(
                key,
                &AudienceQuery::new(&window, cursor.map(|c| c.as_str().to_owned())),
            );
            async move {
                if let Some(Err(invalid)) = check {
                    return Err(invalid);
                }
                let page = fetch_page::<R>(&pipeline, key, request?).await?;
                tracing::debug!(
                    key,
                    records = page.records.len(),
                    last = page.page_token.is_none(),
                    "audience page"
                );
                Ok(Page::new(page.records, page.page_token.map(Cursor::new)))
            }
        })
        .resume_from(start)
        .by_page()
    }

    /// The records of every page, in order.
    pub fn by_item(self) -> impl Stream<Item = Result<R>> + Send + 'static {
        use futures_util::TryStreamExt as _;
        self.by_page()
            .map_ok(|page| futures_util::stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
    }
}
