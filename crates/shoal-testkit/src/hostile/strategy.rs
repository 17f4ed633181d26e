//! proptest strategies over hostile answers (feature `proptest`): full integer ranges, full
//! Unicode, and the catalogue's named cases, all shrinking toward small, honest answers.
//!
//! ```
//! use proptest::prelude::*;
//! use shoal_testkit::hostile::{Endpoint, strategy};
//!
//! proptest!(|(answer in strategy::for_endpoint(Endpoint::PebblePadToken))| {
//!     // push `answer` to a HostileServer, call it with the client, assert an error, not a panic
//!     prop_assert!(answer.body_len() <= shoal_testkit::hostile::MAX_BODY_BYTES);
//! });
//! ```

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::Endpoint;
use super::cases::{
    HEADERS_SHOAL_READS, NASTY_NUMBERS, ODD_BODIES, STATUSES, TokenFields, TokenKind, long_string,
    nested, odd_numbers,
};
use super::response::{
    Chunk, Framing, HeaderText, HostileResponse, MAX_BODY_BYTES, MAX_HEADER_VALUE_BYTES, MAX_STALL,
};

/// Any status the `http` crate accepts (100..=999), the catalogue's more often.
pub fn status() -> impl Strategy<Value = u16> {
    prop_oneof![select(STATUSES), 100u16..=999]
}

/// A header value: numbers over the full i128/u64 range, the catalogue's nasty numbers, any
/// Unicode text, obs-text bytes, and values of tens of KiB.
pub fn header_value() -> impl Strategy<Value = HeaderText> {
    prop_oneof![
        select(NASTY_NUMBERS).prop_map(HeaderText::from),
        any::<u64>().prop_map(HeaderText::from),
        any::<i64>().prop_map(HeaderText::from),
        any::<i128>().prop_map(HeaderText::from),
        any::<String>().prop_map(HeaderText::from),
        vec(0x80u8..=0xff, 1..64).prop_map(HeaderText::bytes),
        (
            select(&["9", "a", "é", ", "][..]),
            10_000u64..=MAX_HEADER_VALUE_BYTES
        )
            .prop_map(|(unit, n)| HeaderText::repeat(unit, n)),
    ]
}

/// Up to six of the headers Shoal reads, with hostile values.
pub fn headers() -> impl Strategy<Value = Vec<(String, HeaderText)>> {
    vec(
        (
            select(HEADERS_SHOAL_READS).prop_map(str::to_string),
            header_value(),
        ),
        0..=6,
    )
}

/// A JSON number text past i64/u64 (or a float no integer parse takes).
pub fn big_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u128>().prop_map(|n| n.to_string()),
        any::<i128>().prop_map(|n| n.to_string()),
        (any::<u64>(), 1usize..40).prop_map(|(n, zeros)| format!("{n}{}", "0".repeat(zeros))),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        (1u32..=400).prop_map(|e| format!("1e{e}")),
    ]
}

/// An odd JSON value text where a client wants a number or a string.
pub fn json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        big_number(),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        select(&["null", "true", "{}", "[]", "0", "-1", "1e13", "\"\""][..])
            .prop_map(str::to_string),
    ]
}

/// A hostile body: empty, deeply nested, arbitrary bytes (mostly invalid UTF-8), HTML and wrong
/// shapes, a bare JSON string, numbers past every integer type, multi-megabyte strings.
pub fn body() -> impl Strategy<Value = Vec<Chunk>> {
    prop_oneof![
        Just(Vec::new()),
        (select(&[b'[', b'{'][..]), 1u64..=200_000)
            .prop_map(|(open, depth)| vec![nested(open, depth)]),
        vec(any::<u8>(), 0..256).prop_map(|b| vec![Chunk::Bytes(b)]),
        select(ODD_BODIES).prop_map(|b| vec![Chunk::text(b)]),
        any::<String>()
            .prop_map(|s| vec![Chunk::text(serde_json::to_string(&s).unwrap_or_default())]),
        big_number().prop_map(|n| vec![Chunk::text(odd_numbers(&n))]),
        (0u64..=MAX_BODY_BYTES / 4).prop_map(|n| long_string("access_token", "x", n)),
    ]
}

/// Honest and dishonest framings: lying `Content-Length`s of every kind, stalls of any length
/// (capped when sent).
pub fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        3 => Just(Framing::Length),
        1 => Just(Framing::Close),
        1 => Just(Framing::Chunked),
        2 => header_value().prop_map(Framing::DeclaredLength),
        1 => (any::<u64>(), 0..=MAX_STALL.as_secs()).prop_map(|(after, secs)| Framing::Stall {
            after,
            hold: std::time::Duration::from_secs(secs),
        }),
    ]
}

/// Any hostile answer.
pub fn response() -> impl Strategy<Value = HostileResponse> {
    (status(), headers(), body(), framing()).prop_map(|(status, headers, body, framing)| {
        HostileResponse {
            status,
            headers,
            body,
            framing,
        }
    })
}

/// Token body fields: each present and sane, absent, or an odd JSON value (`expires_in` 0,
/// negative, 1e13, a string; `token_type` odd; `refresh_token` absent…).
pub fn token_fields(kind: TokenKind) -> impl Strategy<Value = TokenFields> {
    let sane = TokenFields::sane(kind);
    let field = move |v: Option<String>| {
        prop_oneof![
            2 => Just(v),
            1 => Just(None),
            2 => json_text().prop_map(Some),
        ]
    };
    (
        field(sane.access_token),
        field(sane.token_type),
        field(sane.expires),
        field(sane.refresh_token),
    )
        .prop_map(
            move |(access_token, token_type, expires, refresh_token)| TokenFields {
                kind,
                access_token,
                token_type,
                expires,
                refresh_token,
            },
        )
}

/// A token endpoint's answer: mostly a success status with odd fields, sometimes hostile headers
/// or framing around it.
pub fn token_response(kind: TokenKind) -> impl Strategy<Value = HostileResponse> {
    (token_fields(kind), headers(), framing()).prop_map(|(fields, headers, framing)| {
        let mut r = fields.response();
        r.headers.extend(headers);
        r.framing = framing;
        r
    })
}

/// Answers for `endpoint`: token endpoints get token bodies most of the time.
pub fn for_endpoint(endpoint: Endpoint) -> BoxedStrategy<HostileResponse> {
    match endpoint.token_kind() {
        Some(kind) => prop_oneof![3 => token_response(kind), 1 => response()].boxed(),
        None => response().boxed(),
    }
}
