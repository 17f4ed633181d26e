//! [`Interceptor`]: what a vendor crate adds to every call of its pipeline, inside the pipeline,
//! so a request sent through `client.pipeline()` behaves as the typed calls do.

use async_trait::async_trait;
use http::{HeaderMap, Method, StatusCode};

use crate::error::Result;
use crate::request::Request;

/// A stage of a vendor's pipeline around every call (PebblePad learns its rate limits here).
///
/// Both hooks default to doing nothing; a pipeline without interceptors pays nothing for them.
#[async_trait]
pub trait Interceptor: Send + Sync + 'static {
    /// Before a call's first attempt, inside its deadline. An error ends the call unsent.
    async fn before_call(&self, request: &Request) -> Result<()> {
        let _ = request;
        Ok(())
    }

    /// After each answer arrived (any status), once the rate limiter has learned from it.
    async fn after_answer(&self, method: &Method, status: StatusCode, headers: &HeaderMap) {
        let _ = (method, status, headers);
    }
}
