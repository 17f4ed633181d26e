//! The reqwest transport: same-origin redirects followed, cross-origin ones never carry
//! credentials, `User-Agent: shoal/<version>`, gzip bodies decoded.

use std::io::Write;
use std::sync::{Arc, Mutex};

use shoal_core::{Pipeline, Request};

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
