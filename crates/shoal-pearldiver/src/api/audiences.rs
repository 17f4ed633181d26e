//! The audience endpoints: `GET /audiences`, `GET /audiences/{key}` (one page), and every
//! record of an audience as a stream over core's [`Paginator`] — resumable from a saved cursor,
//! guarded against a looping server.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use shoal_core::{
    Call, Cursor, Error, Page, Paginator, Pipeline, Prefetch, Request, Response, Result,
};

use super::window::AudienceWindow;
use crate::client::PearlDiverClient;
use crate::models::{Audience, AudienceList, RawRecord, Record};

/// The audience endpoints of a [`PearlDiverClient`]: `client.audiences()`.
#[derive(Clone, Copy, Debug)]
pub struct Audiences<'a> {
    client: &'a PearlDiverClient,
}

impl<'a> Audiences<'a> {
    pub(crate) fn new(client: &'a PearlDiverClient) -> Self {
        Self { client }
    }

    /// `GET /audiences` *(path assumed: `shared/api/pearldiver.md` "List audiences")*: the
    /// audiences this user can read. The `audiences` array is required: an answer without it
    /// is an error naming the keys it had, never an empty list.
    pub fn list(&self) -> Call<AudienceList> {
        Call::new(
            self.client.pipeline(),
            Ok(super::with_json_headers(Request::get("audiences"))),
            decode_list,
        )
    }

    /// `GET /audiences/{key}` *(path and page shape assumed: `shared/api/pearldiver.md` "Get
    /// audience")*: one page of an audience's records (the first, unless
    /// [`page_token`](GetAudience::page_token) is set). A page without a `records` array is an
    /// error naming the keys it had, never an empty last page.
    pub fn get(&self, key: u64, window: AudienceWindow) -> GetAudience {
        GetAudience {
            pipeline: self.client.pipeline().clone(),
            key,
            window,
            page_token: None,
        }
    }

    /// Every record of an audience, page after page, as a stream (see [`AudienceRecords`];
    /// path and page shape *assumed*, as for [`get`](Self::get)).
    pub fn records(&self, key: u64, window: AudienceWindow) -> AudienceRecords<Record> {
        AudienceRecords::new(self.client.pipeline().clone(), key, window)
    }
}

/// The query of `GET /audiences/{key}`: the window (`range` **or** `since`) and the page token.
///
/// The window is sent with every page token too *(assumed: the vendor's example token decodes
/// to just an offset, so the server needs the window again)*. It is checked before every `get`
/// and before the first page of a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudienceQuery {
    /// Days of data, 1..=90.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<u32>,
    /// Data from this instant on (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The opaque token of the page wanted, sent back exactly as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

impl AudienceQuery {
    /// The query for a window and an optional page token.
    pub fn new(window: &AudienceWindow, page_token: Option<String>) -> Self {
        let (range, since) = window.query();
        Self {
            range,
            since,
            page_token,
        }
    }
}

/// A `GET /audiences/{key}` call; finish with [`send`](Self::send).
#[derive(Clone, Debug)]
pub struct GetAudience {
    pipeline: Pipeline,
    key: u64,
    window: AudienceWindow,
    page_token: Option<String>,
}

impl GetAudience {
    /// Asks for the page this token (an earlier page's `pageToken`) points to.
    pub fn page_token(mut self, token: impl Into<String>) -> Self {
        self.page_token = Some(token.into());
        self
    }

    /// The request as it will be sent (before authentication), after checking the window
    /// against the client's clock — for a first page only: a page token pins the window its
    /// listing began with (*assumed*; see [`AudienceRecords`]).
    pub fn request(&self) -> Result<Request> {
        if self.page_token.is_none() {
            self.window.validate(self.pipeline.clock().system_now())?;
        }
        page_request(
            self.key,
            &AudienceQuery::new(&self.window, self.page_token.clone()),
        )
    }

    /// Sends the call; an invalid window fails here without sending anything.
    pub async fn send(self) -> Result<Audience> {
        self.send_as().await
    }

    /// Sends the call and keeps each record's JSON untouched (for exports: no decode and
    /// re-encode, and nothing unknown can be lost).
    pub async fn send_raw(self) -> Result<Audience<Box<RawValue>>> {
        self.send_as().await
    }

    async fn send_as<R: PageRecords>(self) -> Result<Audience<R>> {
        let request = self.request()?;
        fetch_page(&self.pipeline, request).await
    }
}

/// The request for one page of an audience.
fn page_request(key: u64, query: &AudienceQuery) -> Result<Request> {
    Request::get(format!("audiences/{key}"))
        .query_struct(query)
        .map(super::with_json_headers)
}

/// Sends a page request and decodes the page as `R` decodes.
async fn fetch_page<R: PageRecords>(pipeline: &Pipeline, request: Request) -> Result<Audience<R>> {
    R::decode(&pipeline.execute(request).await?)
}

/// A page, strictly: its shape is this crate's assumption, so a body without a `records` array
/// is an error naming the keys it did have — never an empty last page.
fn decode_page<R: DeserializeOwned>(response: &Response) -> Result<Audience<R>> {
    let page: Audience<R> = response.json()?;
    require_records(response, page.records.is_empty())?;
    Ok(page)
}

fn require_records(response: &Response, empty: bool) -> Result<()> {
    require_array(response, empty, "records", |keys| {
        format!(
            "the page has no `records` array (its keys: {keys}); this crate assumes the \
             page shape `{{key, name, records, pageToken}}`, so a page without records \
             is refused rather than taken as the last, empty page"
        )
    })
}

/// A page whose records share its text ([`RawRecord`]): decoded borrowing from the body,
/// strictly as [`decode_page`] is, and by it when the body is not a page (its error says why).
fn decode_shared(response: &Response) -> Result<Audience<RawRecord>> {
    // The body's own buffer, checked as UTF-8 once: the records are slices of it, not a copy.
    let body = bytestring::ByteString::try_from(response.body.clone()).ok();
    let borrowed = body.as_ref().and_then(|text| {
        serde_json::from_str::<Audience<&RawValue>>(text)
            .ok()
            .map(|page| (text, page))
    });
    let Some((text, page)) = borrowed else {
        let page = decode_page::<Box<RawValue>>(response)?;
        let records = page.records.iter().map(|r| RawRecord::from_text(r.get()));
        return Ok(Audience {
            records: records.collect(),
            key: page.key,
            name: page.name,
            page_token: page.page_token,
            extra: page.extra,
        });
    };
    require_records(response, page.records.is_empty())?;
    Ok(Audience {
        records: RawRecord::shared(text, &page.records),
        key: page.key,
        name: page.name,
        page_token: page.page_token,
        extra: page.extra,
    })
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Record {}
    impl Sealed for Box<serde_json::value::RawValue> {}
    impl Sealed for crate::RawRecord {}
}

/// What an [`AudienceRecords`] listing yields per record: [`Record`] (decoded),
/// `Box<RawValue>` ([`raw`](AudienceRecords::raw): each record's JSON in its own allocation) or
/// [`RawRecord`] ([`raw_shared`](AudienceRecords::raw_shared): handles into the page's text).
/// Sealed: implemented for these three only.
pub trait PageRecords: sealed::Sealed + Sized + Send + 'static {
    #[doc(hidden)]
    fn decode(response: &Response) -> Result<Audience<Self>>;
}

impl PageRecords for Record {
    fn decode(response: &Response) -> Result<Audience<Self>> {
        decode_page(response)
    }
}

impl PageRecords for Box<RawValue> {
    fn decode(response: &Response) -> Result<Audience<Self>> {
        decode_page(response)
    }
}

impl PageRecords for RawRecord {
    fn decode(response: &Response) -> Result<Audience<Self>> {
        decode_shared(response)
    }
}

/// The audience list, strictly: the vendor documents `audiences` as required, so an object
/// without it is an error naming the keys it did have — never an empty list.
fn decode_list(response: &Response) -> Result<AudienceList> {
    let list: AudienceList = response.json()?;
    require_array(response, list.audiences.is_empty(), "audiences", |keys| {
        format!(
            "the list has no `audiences` array (its keys: {keys}); refused rather than taken \
             as no audiences"
        )
    })?;
    Ok(list)
}

/// Refuses a decoded body whose required array `field` came out empty because the object had
/// no such key: a decode error at `field` whose message `message` builds from the keys the
/// object did have (as [`shoal_core::shown_keys`] shows them). Only an empty array can be a
/// missing one, so the body's keys are read for it alone.
fn require_array(
    response: &Response,
    empty: bool,
    field: &str,
    message: impl FnOnce(String) -> String,
) -> Result<()> {
    match empty
        .then(|| shoal_core::keys_lacking(&response.body, &[field]))
        .flatten()
    {
        Some(keys) => Err(Error::Decode {
            request: response.request().clone(),
            path: field.into(),
            message: message(shoal_core::shown_keys(keys.iter().map(String::as_str))),
        }),
        None => Ok(()),
    }
}

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
/// **The 90-day limit and long listings** (*assumed*: the vendor's documentation is silent).
/// The limit applies when a listing begins. Every later page is asked for with its `pageToken`
/// and the same `range`/`since`, and the token pins the window the listing began with, so a
/// listing that runs (or is resumed) past the day its `since` turns 90 days old goes on to its
/// last page instead of failing half-way. A stream resumed from a saved cursor is therefore not
/// checked again; a fresh listing with the same `since` is.
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
    ahead: bool,
    record: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for AudienceRecords<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudienceRecords")
            .field("key", &self.key)
            .field("window", &self.window)
            .field("start", &self.start)
            .field("ahead", &self.ahead)
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
            ahead: true,
            record: PhantomData,
        }
    }

    /// The same listing with each record's JSON kept untouched, each in a `Box<RawValue>` of
    /// its own (for a program that keeps records apart from their page).
    pub fn raw(self) -> AudienceRecords<Box<RawValue>> {
        self.records_as()
    }

    /// The same listing with each record's JSON kept untouched, as [`RawRecord`] handles into
    /// its page's text (for exports: nothing is allocated per record).
    pub fn raw_shared(self) -> AudienceRecords<RawRecord> {
        self.records_as()
    }

    fn records_as<R>(self) -> AudienceRecords<R> {
        AudienceRecords {
            pipeline: self.pipeline,
            key: self.key,
            window: self.window,
            start: self.start,
            ahead: self.ahead,
            record: PhantomData,
        }
    }
}

impl<R: PageRecords> AudienceRecords<R> {
    /// Starts at a saved cursor (a page's [`Page::next`]) instead of the first page; `None`
    /// starts at the first page.
    pub fn resume_from(mut self, cursor: Option<Cursor>) -> Self {
        self.start = cursor;
        self
    }

    /// Whether to ask for the next page before the current one is decoded (on by default).
    ///
    /// A page's `pageToken` is read from its last bytes as soon as it arrives, and the next page
    /// is requested at once, while this one is decoded; the decoded page confirms the token,
    /// and a request for a token it does not confirm is aborted. The cost: a listing dropped
    /// after a page that has a next one may have asked for that next page already (a GET, so
    /// nothing changes on the server, but it counts against rate limits).
    pub fn ahead(mut self, on: bool) -> Self {
        self.ahead = on;
        self
    }

    /// The pages, each with its records, the cursor that fetched it and the next page's cursor.
    pub fn by_page(self) -> BoxStream<'static, Result<Page<R>>> {
        self.paginator().by_page().boxed()
    }

    /// The records of every page, in order.
    pub fn by_item(self) -> BoxStream<'static, Result<R>> {
        self.paginator().by_item().boxed()
    }

    fn paginator(self) -> Paginator<impl FnMut(Option<Cursor>) -> PageFuture<R> + Send + 'static> {
        let Self {
            pipeline,
            key,
            window,
            start,
            ahead,
            ..
        } = self;
        // A saved cursor pins the window its listing began with: only a first page is checked.
        let mut check = start
            .is_none()
            .then(|| window.validate(pipeline.clock().system_now()));
        // The next page is asked for as soon as its token is read from the page's end, and the
        // decoded page confirms it (a GET: a wrong guess is dropped).
        let ahead = ahead.then(|| Arc::new(Prefetch::new()));
        Paginator::new(move |cursor: Option<Cursor>| {
            let check = check.take();
            let (pipeline, ahead, window) = (pipeline.clone(), ahead.clone(), window);
            Box::pin(async move {
                if let Some(Err(invalid)) = check {
                    return Err(invalid);
                }
                let taken = match &ahead {
                    Some(ahead) => ahead.take(cursor.as_ref()).await,
                    None => None,
                };
                let response = match taken {
                    Some(answer) => answer?,
                    None => {
                        let token = cursor.map(|c| c.as_str().to_owned());
                        let request = page_request(key, &AudienceQuery::new(&window, token))?;
                        pipeline.execute(request).await?
                    }
                };
                let next = ahead.as_ref().zip(next_token_at_end(&response.body));
                if let Some((ahead, next)) = next {
                    let query = AudienceQuery::new(&window, Some(next.to_owned()));
                    if let Ok(request) = page_request(key, &query) {
                        ahead.start(&pipeline, Cursor::new(next), request).await;
                    }
                }
                let page = decode_apart::<R>(response).await?;
                tracing::debug!(
                    key,
                    records = page.records.len(),
                    last = page.page_token.is_none(),
                    "audience page"
                );
                Ok(Page::new(page.records, page.page_token.map(Cursor::new)))
            }) as PageFuture<R>
        })
        .resume_from(start)
    }
}

/// A page at least this large is decoded on tokio's blocking pool: the async threads are not
/// held for the milliseconds a full page's parse takes, and the page asked for ahead is read
/// (and the one before written) meanwhile.
const DECODE_APART_BYTES: usize = 64 * 1024;

/// Decodes a page as `R` decodes, a large one on the blocking pool. Dropping the future drops
/// nothing but a parse: the decode has no effects.
async fn decode_apart<R: PageRecords>(response: Response) -> Result<Audience<R>> {
    if response.body.len() < DECODE_APART_BYTES {
        return R::decode(&response);
    }
    let response = Arc::new(response);
    let parsed = tokio::task::spawn_blocking({
        let response = response.clone();
        move || R::decode(&response)
    })
    .await;
    match parsed {
        Ok(page) => page,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Error::Decode {
            request: response.request().clone(),
            path: String::new(),
            message: "the page's decode was cancelled: the runtime is shutting down".into(),
        }),
    }
}

/// The `pageToken` a page ends with, read from its last bytes without decoding the page: only
/// a plain string (no escapes, no control characters) that is the outer object's last member,
/// `…,"pageToken":"T"}`; anything else gives `None`. A guess only: the decoded page decides.
fn next_token_at_end(body: &[u8]) -> Option<&str> {
    let body = body.trim_ascii_end().strip_suffix(b"}")?;
    let body = body.trim_ascii_end().strip_suffix(b"\"")?;
    let open = memchr::memrchr(b'"', body)?;
    let token = &body[open + 1..];
    let key = body[..open].trim_ascii_end().strip_suffix(b":")?;
    let before = key.trim_ascii_end().strip_suffix(br#""pageToken""#)?;
    let plain = !token.is_empty() && token.iter().all(|&b| b >= 0x20 && b != b'\\');
    if !(plain && matches!(before.trim_ascii_end().last(), Some(b',' | b'{'))) {
        return None;
    }
    std::str::from_utf8(token).ok()
}

/// One page being fetched.
type PageFuture<R> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Page<R>>> + Send>>;

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::Url;
    use time::macros::datetime;

    fn url(request: &Request) -> String {
        request
            .url(&Url::parse("https://api.pearldiver.io/v1").unwrap())
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_window_and_token_become_the_query() {
        let last = page_request(
            17,
            &AudienceQuery::new(&AudienceWindow::LastDays(30), Some("eyJ9+/=".into())),
        )
        .unwrap();
        assert_eq!(
            url(&last),
            "https://api.pearldiver.io/v1/audiences/17?range=30&pageToken=eyJ9%2B%2F%3D"
        );
        let since = AudienceWindow::Since(datetime!(2025-12-01 07:30:00 UTC));
        let since = page_request(17, &AudienceQuery::new(&since, None)).unwrap();
        assert_eq!(
            url(&since),
            "https://api.pearldiver.io/v1/audiences/17?since=2025-12-01T07%3A30%3A00Z"
        );
    }

    fn answer(body: impl Into<shoal_core::Bytes>) -> Response {
        Response::new(
            shoal_core::RequestSummary {
                method: shoal_core::http::Method::GET,
                url: "https://api.test/v1/audiences/17".into(),
            },
            shoal_core::http::StatusCode::OK,
            shoal_core::http::HeaderMap::new(),
            body.into(),
        )
    }

    /// The records of a page as `Box<RawValue>` texts and as shared handles.
    fn both_ways(body: &str) -> (Result<Vec<String>>, Result<Vec<String>>) {
        let response = answer(body.to_owned());
        let boxed = decode_page::<Box<RawValue>>(&response)
            .map(|p| p.records.iter().map(|r| r.get().to_owned()).collect());
        let shared = decode_shared(&response)
            .map(|p| p.records.iter().map(|r| r.get().to_owned()).collect());
        (boxed, shared)
    }

    #[test]
    fn shared_records_are_the_boxed_records_and_fail_the_same_way() {
        let body = r#"{"key":17,"records":[{"id":"a", "x" : [1,2]}, {"id":"b","n":"\u00e9 ✓"}],"pageToken":"t2"}"#;
        let (boxed, shared) = both_ways(body);
        assert_eq!(shared.unwrap(), boxed.unwrap());
        let page = decode_shared(&answer(body)).unwrap();
        assert_eq!(page.page_token.as_deref(), Some("t2"));
        assert_eq!(format!("{:?}", page.records[1]), "RawRecord(27 bytes)");
        // Each record is a slice of the body itself, not of a copy of it.
        let response = answer(body);
        let page = decode_shared(&response).unwrap();
        let within = response.body.as_ptr_range();
        for r in &page.records {
            assert!(within.contains(&r.get().as_ptr()), "{r:?} was copied");
        }
        for bad in [
            r#"{"key":17,"data":[]}"#,
            "[1,2]",
            "{\"records\":[{]}",
            "",
            "\u{feff}{}",
        ] {
            let (boxed, shared) = both_ways(bad);
            assert_eq!(
                shared.unwrap_err().to_string(),
                boxed.unwrap_err().to_string(),
                "{bad:?}"
            );
        }
        let mut not_utf8 = br#"{"records":[{"id":""#.to_vec();
        not_utf8.extend_from_slice(&[0xff, b'"', b'}', b']', b'}']);
        let response = answer(not_utf8);
        assert!(decode_shared(&response).is_err());
    }

    proptest::proptest! {
        #[test]
        fn shared_records_match_boxed_records_for_any_text(
            texts in proptest::collection::vec(proptest::prelude::any::<String>(), 0..8),
            numbers in proptest::collection::vec(proptest::prelude::any::<i64>(), 0..8),
        ) {
            let records: Vec<serde_json::Value> = texts
                .iter()
                .zip(numbers.iter().chain(std::iter::repeat(&0)))
                .map(|(t, n)| serde_json::json!({"id": t, "n": n, "nested": [{"t": t}]}))
                .collect();
            let body = serde_json::json!({"key": 17, "records": records, "pageToken": texts.first()})
                .to_string();
            let (boxed, shared) = both_ways(&body);
            proptest::prop_assert_eq!(shared.unwrap(), boxed.unwrap());
        }
    }

    #[test]
    fn the_next_token_is_read_only_from_the_outer_objects_last_member() {
        let page = |tail: &str| format!(r#"{{"key":17,"records":[{{"id":"a"}}]{tail}"#);
        for (tail, want) in [
            (r#","pageToken":"t2"}"#, Some("t2")),
            (
                " ,\n \"pageToken\" :\t\"eyJvIjoxfQ==\" }\r\n",
                Some("eyJvIjoxfQ=="),
            ),
            (r#","pageToken":"é✓"}"#, Some("é✓")),
            // Not plain, not last, not the outer object's, or not a token: no guess.
            (r#","pageToken":"a\"b"}"#, None),
            (r#","pageToken":"a\u0041"}"#, None),
            (r#","pageToken":""}"#, None),
            (r#","pageToken":null}"#, None),
            (r#","pageToken":"t","more":1}"#, None),
            (r#","x":{"pageToken":"t"}}"#, None),
            (r#","x":"\"pageToken":"t"}"#, None),
            (r#","pageToken":"t""#, None),
            ("", None),
        ] {
            assert_eq!(next_token_at_end(page(tail).as_bytes()), want, "{tail:?}");
        }
        let last_record = br#"{"records":[{"pageToken":"t"}]}"#;
        assert_eq!(next_token_at_end(last_record), None);
        assert_eq!(next_token_at_end(br#"{"pageToken":"t"}"#), Some("t"));
        assert_eq!(next_token_at_end(b"\"pageToken\":\"t\"}"), None);
        assert_eq!(next_token_at_end(b"\xff\"pageToken\":\"\xfe\"}"), None);
    }

    proptest::proptest! {
        #[test]
        fn the_next_token_guess_is_the_decoded_token_or_nothing(
            texts in proptest::collection::vec(proptest::prelude::any::<String>(), 0..6),
            token in proptest::option::of(proptest::prelude::any::<String>()),
        ) {
            let records: Vec<serde_json::Value> = texts
                .iter()
                .map(|t| serde_json::json!({"id": t, "pageToken": t}))
                .collect();
            let mut body = format!(r#"{{"key":17,"records":{}"#, serde_json::Value::from(records));
            if let Some(t) = &token {
                body.push_str(&format!(r#","pageToken":{}"#, serde_json::Value::from(t.as_str())));
            }
            body.push('}');
            let decoded = decode_page::<Record>(&answer(body.clone())).unwrap().page_token;
            let guess = next_token_at_end(body.as_bytes());
            let plain = token.as_deref().is_some_and(|t| {
                !t.is_empty() && !t.chars().any(|c| c < ' ' || c == '"' || c == '\\')
            });
            proptest::prop_assert_eq!(guess.is_some(), plain);
            if let Some(g) = guess {
                proptest::prop_assert_eq!(Some(g), decoded.as_deref());
            }
        }

        #[test]
        fn any_bytes_give_a_guess_from_within_them_or_nothing(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            if let Some(g) = next_token_at_end(&body) {
                proptest::prop_assert!(!g.is_empty());
                proptest::prop_assert!(body.windows(g.len()).any(|w| w == g.as_bytes()));
            }
        }
    }

    #[test]
    fn a_page_without_records_is_an_error_naming_its_keys() {
        let err =
            decode_page::<Record>(&answer(r#"{"key":17,"data":[{"id":"a"}],"pageToken":"t"}"#))
                .unwrap_err();
        let shown = err.to_string();
        assert!(
            matches!(err, Error::Decode { ref path, .. } if path == "records"),
            "{shown}"
        );
        assert!(shown.contains("data, key, pageToken"), "{shown}");
        let page = decode_page::<Record>(&answer(r#"{"key":17,"records":[]}"#)).unwrap();
        assert!(page.records.is_empty() && page.page_token.is_none());
        // Not an object at all: the decoder's own error, with its path.
        assert!(decode_page::<Record>(&answer("[1,2]")).is_err());
    }

    #[test]
    fn an_audience_list_without_audiences_is_an_error_naming_its_keys() {
        let err = decode_list(&answer(r#"{"items":[{"key":17}],"total":1}"#)).unwrap_err();
        let shown = err.to_string();
        assert!(
            matches!(err, Error::Decode { ref path, .. } if path == "audiences"),
            "{shown}"
        );
        assert!(shown.contains("its keys: items, total"), "{shown}");
        assert!(
            decode_list(&answer("{}"))
                .unwrap_err()
                .to_string()
                .contains("its keys: none")
        );
        let list = decode_list(&answer(r#"{"audiences":[{"key":17,"name":"B"}]}"#)).unwrap();
        assert_eq!(list.audiences[0].key, 17);
        assert!(
            decode_list(&answer(r#"{"audiences":[]}"#))
                .unwrap()
                .audiences
                .is_empty()
        );
        assert!(decode_list(&answer("null")).is_err());
    }

    #[test]
    fn every_api_request_says_json() {
        let page = page_request(17, &AudienceQuery::default()).unwrap();
        assert_eq!(
            page.headers()[shoal_core::http::header::CONTENT_TYPE],
            "application/json"
        );
        assert!(page.is_idempotent());
    }
}
