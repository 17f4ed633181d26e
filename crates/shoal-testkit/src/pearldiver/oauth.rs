//! Pearl Diver's authorization-server endpoints: auto-approving `/authorize` and `/oauth/token`
//! (client_secret_post, `?audience=pearldiverapi` required).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{Answer, Code, oauth_error};
use super::{AUDIENCE, PdState};
use crate::traffic::counters;
use crate::wire::{form_map, redirect};

/// `GET /authorize`: approves (unless the emulated user denies) and redirects with `code` and
/// `state`. An unknown client or an unregistered callback URL ends on an error page.
pub(crate) async fn authorize(State(st): State<Arc<PdState>>, RawQuery(q): RawQuery) -> Response {
    let q = form_map(q.as_deref().unwrap_or_default());
    let get = |k: &str| q.get(k).cloned();
    if get("client_id").as_deref() != Some(st.cfg.client_id.as_str()) {
        return (StatusCode::BAD_REQUEST, "Unknown client").into_response();
    }
    let Some(redirect_uri) = get("redirect_uri").filter(|r| st.cfg.redirect_uris.allows(r)) else {
        return (StatusCode::BAD_REQUEST, "Callback URL mismatch").into_response();
    };
    let state = get("state");
    let fail = |error: &str, description: &str| {
        redirect(
            &redirect_uri,
            &[
                ("error", Some(error)),
                ("error_description", Some(description)),
                ("state", st.consent.error_state(state.as_deref())),
            ],
        )
    };
    match get("response_type").as_deref() {
        Some("code") => {}
        None => {
            return fail(
                "invalid_request",
                "Missing required parameter: response_type",
            );
        }
        Some(other) => {
            return fail(
                "unsupported_response_type",
                &format!("Unsupported response type: {other}"),
            );
        }
    }
    if get("audience").is_some_and(|a| a != AUDIENCE) {
        return fail("access_denied", "Service not found");
    }
    let challenge = get("code_challenge");
    match (get("code_challenge_method").as_deref(), &challenge) {
        (None | Some("S256"), Some(_)) | (None, None) => {}
        _ => return fail("invalid_request", "Invalid code_challenge_method"),
    }
    if st.consent.denies() {
        return fail("access_denied", "User did not authorize the request");
    }
    let code = st.auth.new_code(
        &st,
        Code {
            client_id: st.cfg.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            challenge,
            scope: get("scope").unwrap_or_else(|| "openid".into()),
            expires: st.common.clock.now() + st.cfg.code_ttl,
            used_by_family: None,
        },
    );
    redirect(
        &redirect_uri,
        &[("code", Some(&code)), ("state", state.as_deref())],
    )
}

/// `POST /oauth/token?audience=pearldiverapi`.
pub(crate) async fn token(
    State(st): State<Arc<PdState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = token_answer(&st, q.as_deref(), &headers, &body);
    match answer {
        Ok(v) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(v)).into_response(),
        Err((status, error, description)) => {
            if error == "invalid_grant" {
                st.common.traffic.incr(counters::INVALID_GRANT);
            }
            let body = json!({"error": error, "error_description": description});
            (
                status,
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(body),
            )
                .into_response()
        }
    }
}

fn token_answer(st: &PdState, query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Answer {
    match form_map(query.unwrap_or_default())
        .get("audience")
        .map(String::as_str)
    {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "audience is required in the token URL",
            );
        }
        Some(AUDIENCE) => {}
        Some(other) => {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "access_denied",
                format!("Service not found: {other}"),
            );
        }
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ctype.starts_with("application/x-www-form-urlencoded") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "body must be form-encoded",
        );
    }
    let form = form_map(std::str::from_utf8(body).unwrap_or_default());
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    st.common
        .traffic
        .incr(&format!("{}.{grant}", counters::TOKEN));
    if headers.contains_key(header::AUTHORIZATION) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication method must be client_secret_post",
        );
    }
    if form.get("client_id") != Some(&st.cfg.client_id)
        || form.get("client_secret") != Some(&st.cfg.client_secret)
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    match grant.as_str() {
        "authorization_code" => st.auth.exchange_code(st, &form),
        "refresh_token" => st.auth.refresh(st, &form),
        "" => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: grant_type",
        ),
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {other}"),
        ),
    }
}
