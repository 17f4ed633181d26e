//! The reqwest transport: same-origin redirects followed, cross-origin ones never carry
//! credentials, `User-Agent: shoal/<version>`, gzip bodies decoded.

use std::io::Write;
use std::sync::{Arc, Mutex};

use shoal_core::{Clock as _, Pipeline, Request, SystemClock};

use crate::server::{Seen, reply, serve};

type Log = Arc<Mutex<Vec<Seen>>>;

fn recorder() -> (Log, impl Fn(Seen) -> Log + Clone) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    (seen, move |req| {
        s.lock().unwrap().push(req);
        s.clone()
    })
}

#[tokio::test]
async fn a_cross_origin_redirect_is_not_followed_so_credentials_stay_home() {
    let (elsewhere_seen, record) = recorder();
    let elsewhere = serve(move |req| {
        record(req);
        async { reply(200, &[], "{}") }
    })
    .await;
    let target = format!("{}/steal", elsewhere.as_str().trim_end_matches('/'));
    let home = serve(move |_| {
        let target = target.clone();
        async move { reply(302, &[("location", target)], "") }
    })
    .await;
    let pipeline = Pipeline::builder(home).build().unwrap();
    let request = Request::get("data")
        .header(
            http::header::AUTHORIZATION,
            "Bearer SECRET".parse().unwrap(),
        )
        .header(
            http::HeaderName::from_static("user-api-key"),
            "KEY".parse().unwrap(),
        );
    let err = pipeline.execute(request).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(302));
    assert!(
        elsewhere_seen.lock().unwrap().is_empty(),
        "the other origin was contacted"
    );
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_its_headers() {
    let (seen, record) = recorder();
    let base = serve(move |req| {
        let redirect = req.uri.path().ends_with("/old");
        record(req);
        async move {
            if redirect {
                reply(307, &[("location", "/v1/new".to_string())], "")
            } else {
                reply(200, &[], r#"{"moved":true}"#)
            }
        }
    })
    .await;
    let pipeline = Pipeline::builder(base).build().unwrap();
    let body: serde_json::Value = pipeline
        .json(Request::get("old").header(http::header::AUTHORIZATION, "Bearer T".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(body["moved"], true);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].uri.path(), "/v1/new");
    assert_eq!(seen[1].headers["authorization"], "Bearer T");
}

#[tokio::test]
async fn requests_say_who_sent_them_and_gzip_is_decoded() {
    let (seen, record) = recorder();
    let base = serve(move |req| {
        record(req);
        async {
            let mut gz = Vec::new();
            {
                let mut enc = GzipWriter::new(&mut gz);
                enc.write_all(br#"{"zipped":true}"#).unwrap();
            }
            let mut r = reply(200, &[("content-encoding", "gzip".to_string())], "");
            *r.body_mut() = bytes::Bytes::from(gz);
            r
        }
    })
    .await;
    let pipeline = Pipeline::builder(base).build().unwrap();
    let body: serde_json::Value = pipeline.json(Request::get("x")).await.unwrap();
    assert_eq!(body["zipped"], true);
    let seen = seen.lock().unwrap();
    let ua = seen[0].headers["user-agent"].to_str().unwrap();
    assert_eq!(ua, concat!("shoal/", env!("CARGO_PKG_VERSION")));
    assert!(
        seen[0].headers["accept-encoding"]
            .to_str()
            .unwrap()
            .contains("gzip")
    );
}

#[tokio::test]
async fn a_request_sent_to_a_parsed_url_arrives_as_one_sent_by_its_uri() {
    use shoal_core::{ReqwestTransport, Transport};
    let (seen, record) = recorder();
    let base = serve(move |req| {
        record(req);
        async { reply(200, &[], "{}") }
    })
    .await;
    let url = base.join("v1/items?q=caf%C3%A9&n=2").unwrap();
    let t = ReqwestTransport::new().unwrap();
    let request = || {
        let mut req = http::Request::new(bytes::Bytes::from_static(b"{\"a\":1}"));
        *req.method_mut() = http::Method::PUT;
        req.headers_mut()
            .insert("x-marker", http::HeaderValue::from_static("yes"));
        req
    };
    let mut by_uri = request();
    *by_uri.uri_mut() = url.as_str().parse().unwrap();
    assert_eq!(t.send(by_uri).await.unwrap().status(), 200);
    assert_eq!(
        t.send_to(url.clone(), request()).await.unwrap().status(),
        200
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for s in seen.iter() {
        assert_eq!(s.method, http::Method::PUT);
        assert_eq!(s.uri.path_and_query().unwrap(), "/v1/items?q=caf%C3%A9&n=2");
        assert_eq!(s.headers["x-marker"], "yes");
        assert_eq!(&s.body[..], b"{\"a\":1}");
    }
}

/// A minimal gzip writer (stored, uncompressed deflate blocks) so the test needs no codec crate.
struct GzipWriter<'a> {
    out: &'a mut Vec<u8>,
    data: Vec<u8>,
}

impl<'a> GzipWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            data: Vec::new(),
        }
    }
}

impl Write for GzipWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for GzipWriter<'_> {
    fn drop(&mut self) {
        let d = &self.data;
        self.out
            .extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        // One final stored block: BFINAL=1, BTYPE=00, then LEN and NLEN.
        let len = d.len() as u16;
        self.out.push(1);
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(&(!len).to_le_bytes());
        self.out.extend_from_slice(d);
        self.out.extend_from_slice(&crc32(d).to_le_bytes());
        self.out.extend_from_slice(&(d.len() as u32).to_le_bytes());
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One step of a raw server's answer.
enum Step {
    Write(&'static str),
    Pause(std::time::Duration),
}

/// A server that reads one request's head, then plays `script` on tokio's (paused) clock, the
/// transport's.
async fn raw(script: Vec<Step>) -> http::Uri {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut b).await.unwrap();
            assert!(n > 0, "the client hung up");
            head.extend_from_slice(&b[..n]);
        }
        for step in script {
            match step {
                Step::Write(text) => s.write_all(text.as_bytes()).await.unwrap(),
                Step::Pause(d) => SystemClock.sleep(d).await,
            }
        }
        SystemClock
            .sleep(std::time::Duration::from_secs(86_400))
            .await;
    });
    format!("http://{addr}/v1/x").parse().unwrap()
}

/// Sends one GET with a 5 s read timeout; the result, and how long (tokio time) it took.
async fn get_within_5s(
    uri: http::Uri,
) -> (
    Result<http::Response<bytes::Bytes>, shoal_core::TransportError>,
    std::time::Duration,
) {
    use shoal_core::{ReqwestTransport, Transport};
    let t = ReqwestTransport::builder()
        .read_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let mut req = http::Request::new(bytes::Bytes::new());
    *req.uri_mut() = uri;
    let started = SystemClock.now();
    let result = t.send(req).await;
    (result, SystemClock.now().duration_since(started))
}

/// Sends one GET with a 5 s read timeout and checks it failed as a timeout in the second that
/// starts `secs` (tokio time) after it was sent.
async fn timed_out_at(uri: http::Uri, secs: u64) {
    use std::time::Duration;
    let (result, took) = get_within_5s(uri).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, shoal_core::TransportErrorKind::Timeout, "{err}");
    assert!(
        took >= Duration::from_secs(secs) && took < Duration::from_secs(secs + 1),
        "{took:?}"
    );
}

const HEAD_12: &str = "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n";

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out_after_the_read_timeout() {
    use std::time::Duration;
    let script = vec![Step::Pause(Duration::from_secs(3600))];
    timed_out_at(raw(script).await, 5).await;
}

#[tokio::test(start_paused = true)]
async fn a_body_that_stops_midway_times_out_a_read_timeout_after_its_last_bytes() {
    use std::time::Duration;
    let script = vec![
        Step::Pause(Duration::from_secs(4)),
        Step::Write(HEAD_12),
        Step::Write("abc"),
        Step::Pause(Duration::from_secs(3)),
        Step::Write("abc"),
        Step::Pause(Duration::from_secs(3600)),
    ];
    // The last bytes came at 7 s; the stall is counted from there.
    timed_out_at(raw(script).await, 12).await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_body_that_keeps_coming_is_read_whole() {
    use std::time::Duration;
    let mut script = vec![Step::Pause(Duration::from_secs(4)), Step::Write(HEAD_12)];
    for _ in 0..4 {
        script.push(Step::Pause(Duration::from_secs(4)));
        script.push(Step::Write("abc"));
    }
    let (result, took) = get_within_5s(raw(script).await).await;
    let body = result
        .expect("each gap is shorter than the read timeout")
        .into_body();
    assert_eq!(&body[..], b"abcabcabcabc");
    assert!(took >= Duration::from_secs(20), "{took:?}");
}
