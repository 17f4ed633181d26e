//! Answers chosen without a script: hostile ones drawn from a seed, and benign ones that let a
//! client get past login to the endpoint a test aims at.

use std::collections::HashMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::Endpoint;
use super::cases::{
    HEADERS_SHOAL_READS, NASTY_NUMBERS, ODD_BODIES, STATUSES, TokenFields, TokenKind, header_value,
    long_string, nested, odd_numbers,
};
use super::response::{Chunk, Framing, HostileResponse};
use crate::pebblepad::RateLimits;

/// What a call asked for, as far as an answer depends on it.
pub(crate) struct Asked<'a> {
    pub endpoint: Endpoint,
    pub method: &'a str,
    pub path: &'a str,
    pub query: HashMap<String, String>,
}

/// The hostile answer number `seq` of a server seeded with `seed`, for this endpoint.
pub(crate) fn hostile(seed: u64, seq: u64, endpoint: Endpoint) -> HostileResponse {
    let mut rng = StdRng::seed_from_u64(seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut r = match endpoint.token_kind() {
        Some(kind) if rng.random_bool(0.7) => token(&mut rng, kind),
        _ => HostileResponse::new(status(&mut rng)),
    };
    for _ in 0..rng.random_range(0..4) {
        let name = HEADERS_SHOAL_READS[rng.random_range(0..HEADERS_SHOAL_READS.len())];
        r = r.header(name, header_value(rng.random_range(0..6), rng.random()));
    }
    if r.body.is_empty() {
        r.body = body(&mut rng);
    }
    r.framing = framing(&mut rng);
    r
}

fn status(rng: &mut StdRng) -> u16 {
    if rng.random_bool(0.8) {
        STATUSES[rng.random_range(0..STATUSES.len())]
    } else {
        rng.random_range(100..=999)
    }
}

/// A catalogue number as a JSON value text: raw when it reads as a number (even one out of
/// range, like `1e400`), else quoted.
fn nasty(rng: &mut StdRng) -> String {
    let n = NASTY_NUMBERS[rng.random_range(0..NASTY_NUMBERS.len())];
    match n.parse::<f64>() {
        Ok(_) if !n.contains(char::is_whitespace) && !n.contains("NaN") => n.to_string(),
        _ => serde_json::to_string(n).unwrap_or_default(),
    }
}

fn token(rng: &mut StdRng, kind: TokenKind) -> HostileResponse {
    let mut t = TokenFields::sane(kind);
    let odd = |rng: &mut StdRng| match rng.random_range(0..5) {
        0 => None,
        1 => Some("null".to_string()),
        2 => Some(nasty(rng)),
        3 => Some(format!("\"{}\"", rng.random::<u32>())),
        _ => Some(rng.random::<i64>().to_string()),
    };
    match rng.random_range(0..4) {
        0 => t.expires = odd(rng),
        1 => t.refresh_token = None,
        2 => {
            t.token_type = [
                None,
                Some("\"mac\""),
                Some("\"\""),
                Some("5"),
                Some("\"bEaReR \""),
            ][rng.random_range(0..5)]
            .map(str::to_string)
        }
        _ => {
            t.expires = odd(rng);
            t.access_token = odd(rng);
        }
    }
    t.response()
}

fn body(rng: &mut StdRng) -> Vec<Chunk> {
    match rng.random_range(0..7) {
        0 => vec![],
        1 => vec![nested(if rng.random() { b'[' } else { b'{' }, 100_000)],
        2 => vec![Chunk::Bytes(vec![0xff, 0xfe, b'{', 0xc3, 0x28, b'}'])],
        3 => long_string("access_token", "x", rng.random_range(1..=4) << 20),
        4 => vec![Chunk::text(odd_numbers(&nasty(rng)))],
        _ => vec![Chunk::text(
            ODD_BODIES[rng.random_range(0..ODD_BODIES.len())],
        )],
    }
}

fn framing(rng: &mut StdRng) -> Framing {
    match rng.random_range(0..10) {
        0 => Framing::Close,
        1 => Framing::Chunked,
        2 => Framing::DeclaredLength(header_value(rng.random_range(0..3), rng.random())),
        3 => Framing::Stall {
            after: rng.random_range(0..64),
            hold: Duration::from_secs(rng.random_range(1..=600)),
        },
        _ => Framing::Length,
    }
}

/// A well-formed answer for the endpoint: working tokens, empty pages, the documented limits.
pub(crate) fn benign(asked: &Asked<'_>) -> HostileResponse {
    let json_ok = |status, v: serde_json::Value| HostileResponse::new(status).json(&v);
    match asked.endpoint {
        Endpoint::PearlDiverAuthorize | Endpoint::PebblePadAuthorise => {
            let mut to = asked
                .query
                .get("redirect_uri")
                .and_then(|r| url::Url::parse(r).ok());
            match &mut to {
                Some(url) => {
                    url.query_pairs_mut().append_pair("code", "hostile-code");
                    if let Some(s) = asked.query.get("state") {
                        url.query_pairs_mut().append_pair("state", s);
                    }
                    HostileResponse::new(302).header("location", url.to_string())
                }
                None => HostileResponse::new(400),
            }
        }
        Endpoint::PearlDiverToken | Endpoint::PebblePadToken => {
            TokenFields::sane(TokenKind::OAuth).response()
        }
        Endpoint::PayaToken => TokenFields::sane(TokenKind::Paya).response(),
        Endpoint::PayaLogout => HostileResponse::new(204),
        Endpoint::PebblePadRateLimits => json_ok(200, RateLimits::default().to_json()),
        Endpoint::PearlDiverApi => match asked.path.strip_prefix("/v1/audiences/") {
            Some(key) => json_ok(
                200,
                json!({"key": key.parse::<u64>().unwrap_or(0), "name": "Hostile", "records": []}),
            ),
            None => json_ok(200, json!({"audiences": []})),
        },
        Endpoint::PebblePadApi => json_ok(200, json!({})),
        Endpoint::PayaApi => paya(asked),
        Endpoint::Unknown => HostileResponse::new(404),
    }
}

fn paya(asked: &Asked<'_>) -> HostileResponse {
    let mut parts = asked.path.trim_start_matches("/v2/").split('/');
    let (plural, id) = (parts.next().unwrap_or_default(), parts.next());
    let singular = plural.strip_suffix('s').unwrap_or(plural);
    let v = match (asked.method, id) {
        ("DELETE", _) => return HostileResponse::new(204),
        ("GET", None) => json!({
            plural: [],
            "meta": {"pagination": {"links": {}, "totalCount": 0, "pageCount": 1, "currentPage": 1, "perPage": 20}},
        }),
        (_, id) => json!({ singular: {"id": id.unwrap_or("0123456789abcdef01234567")} }),
    };
    let status = if asked.method == "POST" { 201 } else { 200 };
    HostileResponse::new(status).json(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(endpoint: Endpoint) -> Vec<HostileResponse> {
        (0..400).map(|seq| hostile(3, seq, endpoint)).collect()
    }

    #[test]
    fn token_endpoints_get_every_kind_of_odd_token() {
        for endpoint in [Endpoint::PearlDiverToken, Endpoint::PebblePadToken] {
            let bodies: Vec<String> = drawn(endpoint)
                .iter()
                .map(|r| String::from_utf8_lossy(&r.body_bytes()).into_owned())
                .collect();
            let seen = |p: &dyn Fn(&str) -> bool| bodies.iter().any(|b| p(b));
            assert!(seen(
                &|b| b.starts_with("{\"access_token\"") && !b.contains("refresh_token")
            ));
            assert!(seen(&|b| b.contains("\"expires_in\":null")));
            assert!(seen(&|b| b.contains("\"expires_in\":\"")));
            assert!(seen(&|b| b.contains("\"expires_in\":-")));
            assert!(seen(&|b| b.contains("\"token_type\":\"mac\"")));
            assert!(seen(
                &|b| b.starts_with("{\"access_token\"") && !b.contains("expires_in")
            ));
        }
        assert!(drawn(Endpoint::PayaToken).iter().any(|r| {
            let b = String::from_utf8_lossy(&r.body_bytes()).into_owned();
            b.starts_with("{\"token\":{") && !b.contains("\"expire\":15")
        }));
    }

    #[test]
    fn api_endpoints_get_every_framing_status_range_and_body_kind() {
        let all = drawn(Endpoint::PebblePadApi);
        for framing in ["length", "close", "chunked", "declared-length", "stall"] {
            assert!(all.iter().any(|r| r.label().contains(framing)), "{framing}");
        }
        assert!(all.iter().any(|r| r.wire_status() < 200));
        assert!(all.iter().any(|r| r.wire_status() >= 600));
        assert!(
            all.iter().any(|r| r.body_len() >= 1 << 20),
            "multi-megabyte"
        );
        assert!(
            all.iter()
                .any(|r| r.body_bytes().starts_with(&[b'['; 1000]))
        );
        assert!(
            all.iter()
                .any(|r| std::str::from_utf8(&r.body_bytes()).is_err())
        );
        for name in HEADERS_SHOAL_READS {
            assert!(
                all.iter().any(|r| r.headers.iter().any(|(n, _)| n == name)),
                "{name}"
            );
        }
        assert_eq!(all, drawn(Endpoint::PebblePadApi), "a function of the seed");
    }
}
