//! Retry against a real socket: 503 then 200 succeeds; a POST answered 503 is sent once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use shoal_core::{Error, Pipeline, Request};

use crate::server::{reply, serve};

#[tokio::test(start_paused = true)]
async fn a_503_then_200_succeeds_after_backoff() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let base = serve(move |_| {
        let n = h.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                reply(503, &[], "")
            } else {
                reply(200, &[], r#"{"ok":true}"#)
            }
        }
    })
    .await;
    let pipeline = Pipeline::builder(base).build().unwrap();
    let body: serde_json::Value = pipeline.json(Request::get("things")).await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(pipeline.stats().retries, 1);
}

#[tokio::test(start_paused = true)]
async fn a_post_answered_503_is_not_retried() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let base = serve(move |_| {
        h.fetch_add(1, Ordering::SeqCst);
        async { reply(503, &[], "") }
    })
    .await;
    let pipeline = Pipeline::builder(base).build().unwrap();
    let err = pipeline
        .execute(
            Request::post("payments")
                .json(&serde_json::json!({"amount": 1}))
                .unwrap(),
        )
        .await;
    assert!(matches!(err, Err(Error::MaybeProcessed { .. })), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_is_classified_as_never_sent() {
    // Bind then drop a listener so the port is closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}/").parse().unwrap();
    let pipeline = Pipeline::builder(base)
        .retry_policy(shoal_core::RetryPolicy::never())
        .build()
        .unwrap();
    match pipeline.execute(Request::post("x")).await {
        Err(Error::Transport { source, .. }) => assert!(source.not_sent(), "{source:?}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
}
