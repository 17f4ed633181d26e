//! The audience endpoints: `GET /audiences` and `GET /audiences/{key}` (one page).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use shoal_core::http::HeaderValue;
use shoal_core::http::header::CONTENT_TYPE;
use shoal_core::{Pipeline, Request, Result};

use crate::errors::for_call;
use crate::models::{Audience, AudienceList, Record};
use crate::records::AudienceRecords;
use crate::window::AudienceWindow;

/// The audience endpoints of a [`PearlDiverClient`](crate::PearlDiverClient).
#[derive(Clone, Copy, Debug)]
pub struct Audiences<'a> {
    pipeline: &'a Pipeline,
}

impl<'a> Audiences<'a> {
    pub(crate) fn new(pipeline: &'a Pipeline) -> Self {
        Self { pipeline }
    }

    /// `GET /audiences`: the audiences this user can read.
    pub fn list(&self) -> ListAudiences {
        ListAudiences {
            pipeline: self.pipeline.clone(),
        }
    }

    /// `GET /audiences/{key}`: one page of an audience's records (the first, unless
    /// [`page_token`](GetAudience::page_token) is set).
    pub fn get(&self, key: u64, window: AudienceWindow) -> GetAudience {
        GetAudience {
            pipeline: self.pipeline.clone(),
            key,
            window,
            page_token: None,
        }
    }

    /// Every record of an audience, page after page, as a stream (see [`AudienceRecords`]).
    pub fn records(&self, key: u64, window: AudienceWindow) -> AudienceRecords<Record> {
        AudienceRecords::new(self.pipeline.clone(), key, window)
    }
}

/// A `GET /audiences` call; finish with [`send`](Self::send).
#[derive(Clone, Debug)]
pub struct ListAudiences {
    pipeline: Pipeline,
}

impl ListAudiences {
    /// The request as it will be sent (before authentication).
    pub fn request(&self) -> Request {
        api_request("audiences")
    }

    /// Sends the call.
    pub async fn send(self) -> Result<AudienceList> {
        let response = self
            .pipeline
            .execute(self.request())
            .await
            .map_err(|e| for_call(e, None))?;
        response.json()
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
    /// against the client's clock.
    pub fn request(&self) -> Result<Request> {
        self.window.validate(self.pipeline.clock().system_now())?;
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

    async fn send_as<R: DeserializeOwned>(self) -> Result<Audience<R>> {
        let request = self.request()?;
        fetch_page(&self.pipeline, self.key, request).await
    }
}

/// A request to the API with Pearl Diver's headers (`Content-Type` too: the vendor asks for it
/// on every call).
fn api_request(path: &str) -> Request {
    Request::get(path).header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
}

/// The request for one page of an audience.
pub(crate) fn page_request(key: u64, query: &AudienceQuery) -> Result<Request> {
    api_request(&format!("audiences/{key}")).query_struct(query)
}

/// Sends a page request and decodes the page.
pub(crate) async fn fetch_page<R: DeserializeOwned>(
    pipeline: &Pipeline,
    key: u64,
    request: Request,
) -> Result<Audience<R>> {
    let response = pipeline
        .execute(request)
        .await
        .map_err(|e| for_call(e, Some(key)))?;
    response.json()
}

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

    #[test]
    fn every_api_request_says_json() {
        let list = api_request("audiences");
        assert_eq!(list.headers()[CONTENT_TYPE], "application/json");
        assert!(list.is_idempotent());
    }
}
