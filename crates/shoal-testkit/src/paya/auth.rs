//! Paya authentication: `developer-id` everywhere, user id + API key (headers, query or Basic),
//! and session tokens with a sliding idle expiry renewed by every successful call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::PayaState;
use crate::wire::{basic_auth, empty, form_map, json_response};

struct Session {
    last_success: Instant,
}

/// Live session tokens.
#[derive(Default)]
pub(crate) struct Sessions {
    inner: Mutex<(HashMap<String, Session>, u64)>,
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, (HashMap<String, Session>, u64)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn live(&self, st: &PayaState) -> usize {
        let now = st.common.clock.now();
        self.lock()
            .0
            .values()
            .filter(|s| now.duration_since(s.last_success) < st.cfg.session_idle)
            .count()
    }

    /// Whether `token` is alive now; a dead one is forgotten.
    fn check(&self, st: &PayaState, token: &str) -> bool {
        let now = st.common.clock.now();
        let mut g = self.lock();
        match g.0.get(token) {
            Some(s) if now.duration_since(s.last_success) < st.cfg.session_idle => true,
            Some(_) => {
                g.0.remove(token);
                false
            }
            None => false,
        }
    }

    fn touch(&self, st: &PayaState, token: &str) {
        let now = st.common.clock.now();
        if let Some(s) = self.lock().0.get_mut(token) {
            s.last_success = now;
        }
    }
}

fn pick<'a>(
    headers: &'a HeaderMap,
    query: &'a HashMap<String, String>,
    name: &str,
) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query.get(name).cloned())
}

/// Middleware on every route: `developer-id`, then (except for `/v2/token…`) a user key or a live
/// session token; a successful call renews the session.
pub(crate) async fn authenticate(
    State(st): State<Arc<PayaState>>,
    req: Request,
    next: Next,
) -> Response {
    let query = form_map(req.uri().query().unwrap_or_default());
    let headers = req.headers();
    if pick(headers, &query, "developer-id").as_deref() != Some(st.cfg.developer_id.as_str()) {
        return st.common.error(401);
    }
    if req.uri().path().starts_with("/v2/token") {
        return next.run(req).await;
    }
    let session = pick(headers, &query, "access-token");
    let allowed = match &session {
        Some(token) => st.sessions.check(&st, token),
        None => {
            let key = match (
                pick(headers, &query, "user-id"),
                pick(headers, &query, "user-api-key"),
            ) {
                (Some(id), Some(key)) => Some((id, key)),
                _ => basic_auth(headers),
            };
            key.is_some_and(|(id, k)| id == st.cfg.user_id && k == st.cfg.user_api_key)
        }
    };
    if !allowed {
        return st.common.error(401);
    }
    let resp = next.run(req).await;
    if let (Some(token), true) = (session, resp.status().is_success()) {
        st.sessions.touch(&st, &token);
    }
    resp
}

fn unprocessable(errors: Value) -> Response {
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({ "errors": errors }),
    )
}

/// `POST /v2/token` with a flat `{"username", "password", "domain"}`; the answer is wrapped.
pub(crate) async fn login(State(st): State<Arc<PayaState>>, body: Bytes) -> Response {
    let Ok(Value::Object(b)) = serde_json::from_slice::<Value>(&body) else {
        return st.common.error(400);
    };
    let mut errors = serde_json::Map::new();
    for f in ["username", "password", "domain"] {
        if b.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
            errors.insert(
                f.into(),
                json!([format!("{} cannot be blank.", super::validate::label(f))]),
            );
        }
    }
    if !errors.is_empty() {
        return unprocessable(Value::Object(errors));
    }
    let given = |f: &str| {
        b.get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let c = &st.cfg;
    if given("username") != c.username
        || given("password") != c.password
        || given("domain") != c.domain
    {
        return st.common.error(401);
    }
    let now = st.common.clock.now();
    let (token, id) = {
        let mut g = st.sessions.lock();
        g.1 += 1;
        let token = st.synth.hex(51, g.1, 16);
        g.0.insert(token.clone(), Session { last_success: now });
        (token, st.synth.hex(52, g.1, 24))
    };
    let unix = st.common.unix_now();
    let body = json!({"token": {
        "id": id,
        "token": token,
        "expire": c.session_idle.as_secs() / 60,
        "username": c.username,
        "first_name": "Ava",
        "last_name": "Example",
        "time": unix,
        "password_expire_ts": unix + 90 * 86_400,
        "primary_location_id": st.locations[0].id,
        "timezone": "America/New_York",
        "user_type_id": 200,
    }});
    json_response(StatusCode::CREATED, &body)
}

/// `DELETE /v2/token/{token}`: 204 when ended, 404 when unknown (or already expired).
pub(crate) async fn logout(
    State(st): State<Arc<PayaState>>,
    Path(token): Path<String>,
) -> Response {
    let alive = st.sessions.check(&st, &token);
    if alive && st.sessions.lock().0.remove(&token).is_some() {
        empty(StatusCode::NO_CONTENT)
    } else {
        st.common.error(404)
    }
}
