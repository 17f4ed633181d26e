//! A full request at TRACE, with secrets in headers, query and body, logs none of them.

use shoal_core::test_util::LogCapture;
use shoal_core::{Error, Pipeline, Request};

use crate::server::{reply, serve};

#[tokio::test]
async fn trace_logs_and_errors_carry_no_secret() {
    let base = serve(|_| async {
        reply(
            400,
            &[("set-cookie", "sid=CANARY-COOKIE".into())],
            r#"{"access_token":"CANARY-ECHO"}"#,
        )
    })
    .await;
    let logs = LogCapture::start();

    let pipeline = Pipeline::builder(base).build().unwrap();
    let request = Request::post("login")
        .query("user-api-key", "CANARY-KEY")
        .header(
            http::header::AUTHORIZATION,
            "Bearer CANARY-BEARER".parse().unwrap(),
        )
        .form(&[("username", "ava"), ("password", "CANARY-PASSWORD")]);
    let err: Error = pipeline.execute(request.clone()).await.unwrap_err();

    let logs = logs.text();
    assert!(
        logs.contains("shoal.request"),
        "tracing produced nothing: {logs}"
    );
    let printed = format!("{logs}\n{err}\n{err:?}\n{request:?}");
    for canary in [
        "CANARY-KEY",
        "CANARY-BEARER",
        "CANARY-PASSWORD",
        "CANARY-COOKIE",
        "CANARY-ECHO",
    ] {
        assert!(!printed.contains(canary), "{canary} leaked:\n{printed}");
    }
}
