//! The Pearl Diver API, one module per endpoint group: [`audiences`] (the list, one page, and
//! every record of an audience as a resumable stream) and the [`window`] a page covers.

pub mod audiences;
pub mod window;

use shoal_core::Request;
use shoal_core::http::HeaderValue;
use shoal_core::http::header::CONTENT_TYPE;

/// Pearl Diver's headers on a request: `Content-Type: application/json` (the vendor asks for
/// it on every call; the pipeline adds `Accept`).
pub(crate) fn with_json_headers(request: Request) -> Request {
    if request.headers().contains_key(CONTENT_TYPE) {
        return request;
    }
    request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
}
