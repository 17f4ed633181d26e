//! Pearl Diver's `/v1` API: list audiences and page through one. Every error is bodiless.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::data::{WINDOW_SECS, write_page};
use super::{PageShape, PdState};
use crate::wire::{bearer, empty, form_map, json_bytes};

/// What a `pageToken` carries; base64url JSON, opaque to clients.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct PageToken {
    /// Audience key.
    a: u64,
    /// Offset of the next record.
    o: u64,
    /// Records in the window.
    n: u64,
    /// Window end, Unix seconds (fixed at the first page so pages agree).
    t: i64,
}

impl PageToken {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(s: &str) -> Option<Self> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        serde_json::from_slice(&raw).ok()
    }
}

/// `None` when the bearer token is valid, else the bodiless 401.
fn unauthorized(st: &PdState, headers: &HeaderMap) -> Option<Response> {
    match bearer(headers) {
        Some(t) if st.auth.access_valid(st, t) => None,
        _ => {
            let mut r = empty(StatusCode::UNAUTHORIZED);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            Some(r)
        }
    }
}

/// `GET /v1/audiences`.
pub(crate) async fn list(State(st): State<Arc<PdState>>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&st, &headers) {
        return r;
    }
    let items: Vec<_> = st
        .cfg
        .audiences
        .iter()
        .map(|a| serde_json::json!({"key": a.key, "name": a.name}))
        .collect();
    json_bytes(
        StatusCode::OK,
        serde_json::json!({ "audiences": items })
            .to_string()
            .into_bytes(),
    )
}

/// Rewrites a documented page into `shape`. The first `,"records":[` is the key itself: inside
/// the JSON-escaped name every `"` is preceded by a backslash.
fn reshape(page: &mut String, shape: &PageShape) {
    const KEY: &str = ",\"records\":[";
    match shape {
        PageShape::Documented | PageShape::NextRepeatsAt(_) => {}
        PageShape::RecordsUnder(key) => {
            let key = serde_json::to_string(key).unwrap_or_else(|_| "\"data\"".into());
            *page = page.replacen(KEY, &format!(",{key}:["), 1);
        }
        PageShape::RecordsMissing => *page = page.replacen(&format!("{KEY}]"), "", 1),
    }
}

/// Parses a `since` leniently: RFC 3339, or without an offset (taken as UTC).
fn parse_since(s: &str) -> Option<i64> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// `GET /v1/audiences/{key}?range|since&pageToken`.
pub(crate) async fn get_audience(
    State(st): State<Arc<PdState>>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&st, &headers) {
        return r;
    }
    let bad = || empty(StatusCode::BAD_REQUEST);
    let Ok(key) = key.parse::<u64>() else {
        return empty(StatusCode::NOT_FOUND);
    };
    let Some(audience) = st.cfg.audiences.iter().find(|a| a.key == key) else {
        return empty(StatusCode::NOT_FOUND);
    };
    let q = form_map(q.as_deref().unwrap_or_default());
    let now = st.common.unix_now();
    let range = match q.get("range").map(|r| r.parse::<i64>()) {
        None => None,
        Some(Ok(r)) if (1..=90).contains(&r) => Some(r),
        Some(_) => return bad(),
    };
    // A page token pins the window its listing began with: the 90-day limit is checked on a
    // first page only.
    let continued = q.get("pageToken").is_some_and(|t| !t.is_empty());
    let since = match q.get("since").map(|s| parse_since(s)) {
        None => None,
        Some(Some(t)) if continued || t >= now - WINDOW_SECS => Some(t),
        Some(_) => return bad(),
    };
    if range.is_some() && since.is_some() {
        return bad();
    }
    let token = match q.get("pageToken").filter(|t| !t.is_empty()) {
        Some(t) => match PageToken::decode(t) {
            Some(tok) if tok.a == key && tok.o <= tok.n => tok,
            _ => return bad(),
        },
        None => {
            let n = match (range, since) {
                (Some(days), _) => audience.size * days as u64 / 90,
                (None, Some(t)) => {
                    let span = (now - t).clamp(0, WINDOW_SECS) as u128;
                    (u128::from(audience.size) * span / WINDOW_SECS as u128) as u64
                }
                (None, None) => audience.size,
            };
            PageToken {
                a: key,
                o: 0,
                n,
                t: now,
            }
        }
    };
    let len = st.cfg.page_size.min(token.n - token.o);
    let shape = st
        .page_shape
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let repeats = matches!(shape, PageShape::NextRepeatsAt(at)
        if at > 0 && token.o == at.saturating_mul(st.cfg.page_size));
    let next = (token.o + len < token.n).then(|| {
        PageToken {
            o: if repeats { token.o } else { token.o + len },
            ..token
        }
        .encode()
    });
    let written = if shape == PageShape::RecordsMissing {
        0
    } else {
        len
    };
    let mut out = String::with_capacity(256 + written as usize * 900);
    write_page(
        &mut out,
        st.cfg.seed,
        audience,
        token.o,
        written,
        token.t,
        next.as_deref(),
    );
    reshape(&mut out, &shape);
    st.pages.fetch_add(1, Ordering::Relaxed);
    st.records.fetch_add(len, Ordering::Relaxed);
    json_bytes(StatusCode::OK, out.into_bytes())
}
