//! The catalogue of hostility both the seeded generator and the proptest strategies draw from:
//! the headers Shoal reads, numbers no parser should trust, hostile bodies and token bodies.

use super::response::{Chunk, HeaderText, HostileResponse};

/// Every response header some Shoal client reads.
pub const HEADERS_SHOAL_READS: &[&str] = &[
    "retry-after",
    "x-rate-limit",
    "x-rate-remaining",
    "x-concurrency-limit",
    "x-concurrency-remaining",
    "content-length",
    "location",
    "www-authenticate",
    "content-type",
];

/// Number-ish texts past every range a client might parse into (and some that only look like
/// numbers).
pub const NASTY_NUMBERS: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "9223372036854775807",
    "-9223372036854775808",
    "-1",
    "0",
    "-0",
    "1e13",
    "1e400",
    "3.5",
    "NaN",
    " 7 ",
    "+5",
    "0x10",
    "1_000",
    "",
    "abc",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Mon, 32 Foo 2020 99:99:99 XYZ",
];

/// Statuses worth meeting more often than a uniform draw from 100..=999 would.
pub const STATUSES: &[u16] = &[
    100, 101, 103, 199, 200, 201, 202, 204, 206, 299, 301, 302, 304, 307, 399, 400, 401, 403, 404,
    405, 409, 410, 413, 422, 429, 499, 500, 501, 502, 503, 504, 599, 600, 700, 999,
];

/// Bodies that are not what any client asked for: HTML, wrong JSON shapes, truncated JSON.
pub const ODD_BODIES: &[&str] = &[
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "<!DOCTYPE html><title>Error</title>",
    "null",
    "[]",
    "{}",
    "\"a string\"",
    "42",
    "true",
    "{\"records\":{}}",
    "{\"records\":[1,2,3],\"pageToken\":17}",
    "{\"contacts\":null,\"meta\":\"x\"}",
    "{\"audiences\":[{\"key\":\"17\",\"name\":null}]}",
    "{\"RateLimits\":\"many\",\"ConcurrencyLimit\":-1}",
    "{\"errors\":[\"not a map\"]}",
    "{\"error\":{\"nested\":true}}",
    "{\"a\":",
    "[1,2,",
    "{\"key\":1}{\"key\":2}",
    "\u{feff}{}",
    "{\"n\":123456789012345678901234567890}",
    "{\"n\":-123456789012345678901234567890.5e400}",
];

/// Which token endpoint a token body imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// RFC 6749 JSON (Pearl Diver `/oauth/token`, PebblePad `TokenEndpoint`).
    OAuth,
    /// Paya's wrapped `{"token": {…, "expire": minutes}}` (`POST /v2/token`).
    Paya,
}

/// A token body whose fields are raw JSON texts (`None`: the field is absent), so `expires_in`
/// can be `0`, `-5`, `1e13`, `"3600"` or a number past u64.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenFields {
    /// Which endpoint it imitates.
    pub kind: TokenKind,
    /// `access_token` (Paya: `token`).
    pub access_token: Option<String>,
    /// `token_type` (OAuth only).
    pub token_type: Option<String>,
    /// `expires_in` (Paya: `expire`, in minutes).
    pub expires: Option<String>,
    /// `refresh_token` (OAuth only).
    pub refresh_token: Option<String>,
}

impl TokenFields {
    /// A well-formed body of this kind (every field present and sane).
    pub fn sane(kind: TokenKind) -> Self {
        Self {
            kind,
            access_token: Some("\"hostile-access-token\"".into()),
            token_type: Some("\"Bearer\"".into()),
            expires: Some(
                if kind == TokenKind::Paya {
                    "15"
                } else {
                    "3600"
                }
                .into(),
            ),
            refresh_token: Some("\"hostile-refresh-token\"".into()),
        }
    }

    /// The JSON text.
    pub fn render(&self) -> String {
        let mut fields = Vec::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                fields.push(format!("\"{k}\":{v}"));
            }
        };
        match self.kind {
            TokenKind::OAuth => {
                put("access_token", &self.access_token);
                put("token_type", &self.token_type);
                put("expires_in", &self.expires);
                put("refresh_token", &self.refresh_token);
                put("scope", &Some("\"openid offline_access default\"".into()));
                format!("{{{}}}", fields.join(","))
            }
            TokenKind::Paya => {
                put("id", &Some("\"0123456789abcdef01234567\"".into()));
                put("token", &self.access_token);
                put("expire", &self.expires);
                put("username", &Some("\"hostile\"".into()));
                format!("{{\"token\":{{{}}}}}", fields.join(","))
            }
        }
    }

    /// This body as a `200` (OAuth) or `201` (Paya) JSON answer.
    pub fn response(&self) -> HostileResponse {
        let status = if self.kind == TokenKind::Paya {
            201
        } else {
            200
        };
        HostileResponse::new(status)
            .header("content-type", "application/json")
            .body(Chunk::text(self.render()))
    }
}

/// JSON opened `depth` times and never closed (`[[[[…`), the shape that overflows recursive
/// parsers.
pub fn nested(open: u8, depth: u64) -> Chunk {
    Chunk::repeat(vec![open], depth)
}

/// A JSON object whose `key` holds a string of `len` repeated `unit`s.
pub fn long_string(key: &str, unit: &str, len: u64) -> Vec<Chunk> {
    let key = serde_json::to_string(key).unwrap_or_else(|_| "\"k\"".into());
    vec![
        Chunk::text(format!("{{{key}:\"")),
        Chunk::repeat(unit.as_bytes().to_vec(), len),
        Chunk::text("\"}"),
    ]
}

/// A JSON body holding a number text where a count or a limit goes.
pub fn odd_numbers(number: &str) -> String {
    let n = number;
    format!(
        "{{\"expires_in\":{n},\"RateLimits\":[{{\"Method\":\"GET\",\"Limit\":{n}}}],\"ConcurrencyLimit\":{n},\"WindowSeconds\":{n},\"key\":{n},\"totalCount\":{n}}}"
    )
}

/// A header value from the catalogue: `i` picks the kind, `x` its parameter.
pub fn header_value(i: usize, x: u64) -> HeaderText {
    match i % 6 {
        0 => HeaderText::from(NASTY_NUMBERS[x as usize % NASTY_NUMBERS.len()]),
        1 => HeaderText::from(x),
        2 => HeaderText::from(-(x as i128) - 1),
        3 => HeaderText::bytes(
            (0..(x % 64 + 1))
                .map(|k| 0x80 | ((x + k) as u8 & 0x7f))
                .collect::<Vec<_>>(),
        ),
        4 => HeaderText::repeat(["9", "a", "é", ", "][x as usize % 4], 10_000 + x % 60_000),
        _ => HeaderText::from("Bearer error=\"invalid_token\", error_description=\"\u{1F980}\""),
    }
}
