//! A full request at TRACE, with secrets in headers, query and body, logs none of them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use shoal_core::{Error, Pipeline, Request};
use tracing_subscriber::fmt::MakeWriter;

use crate::server::{reply, serve};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

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
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buffer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let pipeline = Pipeline::builder(base).build().unwrap();
    let request = Request::post("login")
        .query("user-api-key", "CANARY-KEY")
        .header(
            http::header::AUTHORIZATION,
            "Bearer CANARY-BEARER".parse().unwrap(),
        )
        .form(&[("username", "ava"), ("password", "CANARY-PASSWORD")]);
    let err: Error = pipeline.execute(request.clone()).await.unwrap_err();

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
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
