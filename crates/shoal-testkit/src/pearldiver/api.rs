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

use super::changes::index_at;
use super::data::{WINDOW_SECS, seen_at, write_page_of};
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
    let frozen = st.cfg.frozen_at.map(|at| {
        at.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    let changes = st.changes.lock().map(|c| c.of(key).cloned()).ok().flatten();
    // The window's start, as of a listing ending at `t`.
    let window_start = |t: i64| match (range, since) {
        (Some(days), _) => t - days * 86_400,
        (None, Some(s)) => s,
        (None, None) => t - WINDOW_SECS,
    };
    // Base records in the window: those seen after its start on the base timeline.
    let base_count = |t: i64| match frozen {
        None => match (range, since) {
            (Some(days), _) => audience.size * days as u64 / 90,
            (None, Some(s)) => {
                let span = (t - s).clamp(0, WINDOW_SECS) as u128;
                (u128::from(audience.size) * span / WINDOW_SECS as u128) as u64
            }
            (None, None) => audience.size,
        },
        Some(asof) => {
            let span = (asof - window_start(t)).clamp(0, WINDOW_SECS) as u128;
            (u128::from(audience.size) * span / WINDOW_SECS as u128) as u64
        }
    };
    let extra = |t: i64| match &changes {
        Some(c) => c.extra_ranges(base_count(t), window_start(t), t),
        None => Vec::new(),
    };
    let token = match q.get("pageToken").filter(|t| !t.is_empty()) {
        Some(t) => match PageToken::decode(t) {
            Some(tok) if tok.a == key && tok.o <= tok.n => tok,
            _ => return bad(),
        },
        None => {
            let n = base_count(now) + extra(now).iter().map(|r| r.end - r.start).sum::<u64>();
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
    // A page of an unknown shape carries no records (and, reshaped, no `records` key).
    let written = if shape == PageShape::RecordsMissing {
        0
    } else {
        len
    };
    let mut out = String::with_capacity(256 + written as usize * 900);
    let n_base = base_count(token.t);
    let extra = extra(token.t);
    let asof = frozen.unwrap_or(token.t);
    let records = (token.o..token.o + written)
        .filter_map(|o| index_at(o, n_base, &extra))
        .map(|i| {
            let changed = changes.as_ref().and_then(|c| c.seen(i, token.t));
            (
                i,
                changed.unwrap_or_else(|| seen_at(audience.size, i, asof)),
            )
        });
    write_page_of(&mut out, st.cfg.seed, audience, records, next.as_deref());
    reshape(&mut out, &shape);
    st.pages.fetch_add(1, Ordering::Relaxed);
    st.records.fetch_add(len, Ordering::Relaxed);
    json_bytes(StatusCode::OK, out.into_bytes())
}
