//! PebblePad's OAuth2: `AuthorisationEndpoint` (auto-approve), `TokenEndpoint` with HTTP Basic
//! client authentication, 2-minute codes, 1-hour lower-case `bearer` tokens, and the API's bearer
//! check with scopes and `X-ImpersonateUser`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::PpState;
use crate::synth::Synth;
use crate::traffic::counters;
use crate::wire::{basic_auth, bearer, form_map, is_loopback_match, json_response, redirect};

/// A token pair as PebblePad's token endpoint returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// Bearer access token.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
    /// Seconds the access token has left.
    pub expires_in: u64,
}

struct Code {
    redirect_uri: Option<String>,
    scope: String,
    expires: Instant,
    used: bool,
}

struct Access {
    expires: Instant,
    scope: String,
}

#[derive(Default)]
struct Store {
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    /// Refresh token → (granted scope, still current).
    refresh: HashMap<String, (String, bool)>,
    counter: u64,
}

pub(crate) struct AuthStore {
    synth: Synth,
    inner: Mutex<Store>,
}

impl AuthStore {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            synth: Synth::new(seed ^ 0x9E88),
            inner: Mutex::new(Store::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn secret(&self, s: &mut Store) -> String {
        s.counter += 1;
        self.synth.hex(11, s.counter, 32)
    }

    fn issue(&self, st: &PpState, s: &mut Store, scope: &str, age: Duration) -> TokenPair {
        let ttl = st.cfg.access_token_ttl;
        let access_token = self.secret(s);
        let refresh_token = self.secret(s);
        let expires = st.common.clock.now() + ttl.saturating_sub(age);
        s.access.insert(
            access_token.clone(),
            Access {
                expires,
                scope: scope.to_string(),
            },
        );
        s.refresh
            .insert(refresh_token.clone(), (scope.to_string(), true));
        TokenPair {
            access_token,
            refresh_token,
            expires_in: ttl.saturating_sub(age).as_secs(),
        }
    }

    pub(crate) fn service_pair(&self, st: &PpState, age: Duration) -> TokenPair {
        let mut s = self.lock();
        self.issue(st, &mut s, "default", age)
    }

    /// The scope of a live access token.
    fn access_scope(&self, st: &PpState, token: &str) -> Option<String> {
        let now = st.common.clock.now();
        self.lock()
            .access
            .get(token)
            .filter(|a| now < a.expires)
            .map(|a| a.scope.clone())
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    json_response(status, &json!({ "error": error }))
}

/// `GET /login/OAuth2/AuthorisationEndpoint`.
pub(crate) async fn authorise(State(st): State<Arc<PpState>>, RawQuery(q): RawQuery) -> Response {
    let q = form_map(q.as_deref().unwrap_or_default());
    let error_page = || {
        (
            StatusCode::BAD_REQUEST,
            "<html><body>Invalid client or redirect URI</body></html>",
        )
            .into_response()
    };
    if q.get("client_id") != Some(&st.cfg.client_id) {
        return error_page();
    }
    let registered = &st.cfg.redirect_uri;
    let redirect_uri = q.get("redirect_uri").cloned();
    let target = match &redirect_uri {
        Some(r) if r == registered || is_loopback_match(r, registered) => r.clone(),
        Some(_) => return error_page(),
        None => registered.clone(),
    };
    let state = q.get("state").map(String::as_str);
    match q.get("response_type").map(String::as_str) {
        Some("code") => {}
        Some(_) => {
            return redirect(
                &target,
                &[
                    ("error", Some("unsupported_request_type")),
                    ("state", state),
                ],
            );
        }
        None => {
            return redirect(
                &target,
                &[("error", Some("invalid_request")), ("state", state)],
            );
        }
    }
    let mut s = st.auth.lock();
    let code = st.auth.secret(&mut s);
    s.codes.insert(
        code.clone(),
        Code {
            redirect_uri,
            scope: q.get("scope").cloned().unwrap_or_else(|| "default".into()),
            expires: st.common.clock.now() + st.cfg.code_ttl,
            used: false,
        },
    );
    drop(s);
    redirect(&target, &[("code", Some(&code)), ("state", state)])
}

/// `POST /login/OAuth2/TokenEndpoint`.
pub(crate) async fn token(
    State(st): State<Arc<PpState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_map(std::str::from_utf8(&body).unwrap_or_default());
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    st.common
        .traffic
        .incr(&format!("{}.{grant}", counters::TOKEN));
    let resp = token_inner(&st, &headers, &form, &grant);
    if resp.extensions().get::<InvalidGrant>().is_some() {
        st.common.traffic.incr(counters::INVALID_GRANT);
    }
    resp
}

#[derive(Clone, Copy)]
struct InvalidGrant;

fn invalid_grant() -> Response {
    let mut r = oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    r.extensions_mut().insert(InvalidGrant);
    r
}

fn token_inner(
    st: &PpState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    grant: &str,
) -> Response {
    match basic_auth(headers) {
        Some((id, secret)) if id == st.cfg.client_id && secret == st.cfg.client_secret => {}
        _ => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
    }
    let mut s = st.auth.lock();
    let now = st.common.clock.now();
    let scope = match grant {
        "authorization_code" => {
            let Some(code) = form.get("code").and_then(|c| s.codes.get_mut(c)) else {
                return invalid_grant();
            };
            if code.used || now >= code.expires {
                return invalid_grant();
            }
            if code.redirect_uri.is_some() && form.get("redirect_uri") != code.redirect_uri.as_ref()
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
            }
            code.used = true;
            code.scope.clone()
        }
        "refresh_token" => {
            let Some(rt) = form.get("refresh_token") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            let Some((granted, current)) = s.refresh.get(rt).cloned() else {
                return invalid_grant();
            };
            if !current {
                st.common.traffic.incr(counters::REFRESH_REUSE);
                return invalid_grant();
            }
            let scope = match form.get("scope") {
                Some(asked)
                    if asked
                        .split(' ')
                        .any(|a| !granted.split(' ').any(|g| g == a)) =>
                {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
                }
                Some(asked) => asked.clone(),
                None => granted.clone(),
            };
            s.refresh.insert(rt.clone(), (granted, false));
            scope
        }
        "" => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    let pair = st.auth.issue(st, &mut s, &scope, Duration::ZERO);
    let body = json!({
        "access_token": pair.access_token,
        "token_type": "bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "scope": scope,
    });
    json_response(StatusCode::OK, &body)
}

/// The scope an API path and method need, e.g. `admin_grade:r`.
fn needed_scope(path: &str, method: &Method) -> Option<String> {
    let resource = path.trim_start_matches("/api/1.1/").split('/').next()?;
    let letter = match *method {
        Method::GET => 'r',
        Method::POST if path.contains("/Update") => 'u',
        Method::POST => 'c',
        Method::PUT => 'u',
        Method::DELETE => 'd',
        _ => 'r',
    };
    Some(format!("admin_{}:{letter}", resource.to_ascii_lowercase()))
}

fn covers(granted: &str, needed: &str) -> bool {
    let Some((res, letter)) = needed.split_once(':') else {
        return false;
    };
    granted.split(' ').any(|g| {
        g == "default"
            || g.split_once(':')
                .is_some_and(|(r, ls)| r == res && ls.contains(letter))
    })
}

/// Middleware for `/api/1.1/…` (except `Info/GetRateLimits`): bearer, scope, impersonation.
pub(crate) async fn require_bearer(
    State(st): State<Arc<PpState>>,
    req: Request,
    next: Next,
) -> Response {
    let denied = || st.common.error(401);
    let Some(scope) = bearer(req.headers()).and_then(|t| st.auth.access_scope(&st, t)) else {
        return denied();
    };
    if let Some(needed) = needed_scope(req.uri().path(), req.method()) {
        if !covers(&scope, &needed) {
            return denied();
        }
    }
    if let Some(user) = req.headers().get("x-impersonateuser") {
        let name = user.to_str().unwrap_or_default();
        if !st.db.active_username(name) {
            return json_response(
                StatusCode::FORBIDDEN,
                &json!({"errormessage": "The impersonated user cannot be authenticated"}),
            );
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cover_by_resource_and_letter() {
        assert!(covers("default", "admin_grade:r"));
        assert!(covers("admin_grade:rud admin_user:c", "admin_grade:u"));
        assert!(!covers("admin_grade:r", "admin_grade:u"));
        assert_eq!(
            needed_scope("/api/1.1/Grade/Get/x", &Method::GET).as_deref(),
            Some("admin_grade:r")
        );
        assert_eq!(
            needed_scope("/api/1.1/di/ApplicationReference/Update", &Method::POST).as_deref(),
            Some("admin_di:u")
        );
    }
}
