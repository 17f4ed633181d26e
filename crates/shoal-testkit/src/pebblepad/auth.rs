//! PebblePad's OAuth2: `AuthorisationEndpoint` (approves unless the user denies), `TokenEndpoint`
//! with HTTP Basic for the confidential client and a body `client_id` for the public one,
//! 2-minute codes, 1-hour lower-case `bearer` tokens, narrowing refreshes, and the API's bearer
//! check with scopes and `X-ImpersonateUser`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::PpState;
use crate::synth::Synth;
use crate::traffic::counters;
use crate::wire::{basic_auth, bearer, form_map, json_response, redirect};

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
    client_id: String,
    redirect_uri: Option<String>,
    scope: String,
    expires: Instant,
    used: bool,
}

struct Access {
    expires: Instant,
    scope: String,
}

struct Refresh {
    client_id: String,
    /// The scope first granted: a refresh may narrow it, never widen it.
    granted: String,
    /// Not yet replaced by a newer refresh token.
    current: bool,
}

#[derive(Default)]
struct Store {
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    /// The pair issued last (token endpoint or service account).
    last: Option<TokenPair>,
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

    /// A pair for `client_id`: the access token carries `scope`, the refresh token remembers
    /// `granted` as the ceiling of later refreshes.
    fn issue(
        &self,
        st: &PpState,
        s: &mut Store,
        client_id: &str,
        (granted, scope): (&str, &str),
        age: Duration,
    ) -> TokenPair {
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
        s.refresh.insert(
            refresh_token.clone(),
            Refresh {
                client_id: client_id.to_string(),
                granted: granted.to_string(),
                current: true,
            },
        );
        let pair = TokenPair {
            access_token,
            refresh_token,
            expires_in: ttl.saturating_sub(age).as_secs(),
        };
        s.last = Some(pair.clone());
        pair
    }

    /// Refresh tokens not yet replaced by a rotation, sorted.
    pub(crate) fn live_refresh_tokens(&self) -> Vec<String> {
        let mut live: Vec<String> = self
            .lock()
            .refresh
            .iter()
            .filter(|(_, r)| r.current)
            .map(|(t, _)| t.clone())
            .collect();
        live.sort();
        live
    }

    /// The pair issued last, if any.
    pub(crate) fn last_issued(&self) -> Option<TokenPair> {
        self.lock().last.clone()
    }

    /// A service-account pair, refreshed by the confidential client.
    pub(crate) fn service_pair(&self, st: &PpState, age: Duration) -> TokenPair {
        let mut s = self.lock();
        self.issue(st, &mut s, &st.cfg.client_id, ("default", "default"), age)
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

/// The parameters `AuthorisationEndpoint` documents; any other is `invalid_request`.
const AUTHORISE_PARAMS: &[&str] = &[
    "client_id",
    "response_type",
    "state",
    "scope",
    "redirect_uri",
];

/// `GET /login/OAuth2/AuthorisationEndpoint`.
pub(crate) async fn authorise(State(st): State<Arc<PpState>>, RawQuery(q): RawQuery) -> Response {
    let raw = q.unwrap_or_default();
    let q = form_map(&raw);
    let error_page = || {
        (
            StatusCode::BAD_REQUEST,
            "<html><body>Invalid client or redirect URI</body></html>",
        )
            .into_response()
    };
    let Some(client_id) = q.get("client_id").filter(|id| st.cfg.knows_client(id)) else {
        return error_page();
    };
    let redirect_uri = q.get("redirect_uri").cloned();
    let target = match &redirect_uri {
        Some(r) if st.cfg.redirect_uris.allows(r) => r.clone(),
        Some(_) => return error_page(),
        None => match st.cfg.redirect_uris.primary() {
            Some(r) => r.to_string(),
            None => return error_page(),
        },
    };
    let state = q.get("state").map(String::as_str);
    let fail = |error: &str| {
        redirect(
            &target,
            &[
                ("error", Some(error)),
                ("state", st.consent.error_state(state)),
            ],
        )
    };
    match q.get("response_type").map(String::as_str) {
        Some("code") => {}
        Some(_) => return fail("unsupported_request_type"),
        None => return fail("invalid_request"),
    }
    let unknown = url::form_urlencoded::parse(raw.as_bytes())
        .any(|(k, _)| !AUTHORISE_PARAMS.contains(&k.as_ref()));
    if unknown {
        return fail("invalid_request");
    }
    if st.consent.denies() {
        return fail("access_denied");
    }
    let mut s = st.auth.lock();
    let code = st.auth.secret(&mut s);
    s.codes.insert(
        code.clone(),
        Code {
            client_id: client_id.clone(),
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

/// The calling client's id: a client with a secret authenticates with HTTP Basic (raw
/// `id:secret`) and sends no `client_id` in the body; a public client sends `client_id` in the
/// body and no Basic.
fn client(
    st: &PpState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<String, (StatusCode, &'static str)> {
    const DENIED: (StatusCode, &str) = (StatusCode::UNAUTHORIZED, "invalid_client");
    if headers.contains_key(header::AUTHORIZATION) {
        let (id, secret) = basic_auth(headers).ok_or(DENIED)?;
        if form.contains_key("client_id") {
            return Err((StatusCode::BAD_REQUEST, "invalid_request"));
        }
        return if id == st.cfg.client_id && secret == st.cfg.client_secret {
            Ok(id)
        } else {
            Err(DENIED)
        };
    }
    match form.get("client_id") {
        Some(id) if st.cfg.public_client_id.as_ref() == Some(id) => Ok(id.clone()),
        _ => Err(DENIED),
    }
}

/// Whether every scope in `asked` lies within `granted` (same resource, a subset of its letters;
/// `default` covers everything).
fn within(asked: &str, granted: &str) -> bool {
    asked.split(' ').filter(|a| !a.is_empty()).all(|a| {
        granted.split(' ').any(|g| {
            g == a
                || g == "default"
                || match (a.split_once(':'), g.split_once(':')) {
                    (Some((ar, al)), Some((gr, gl))) => {
                        ar == gr && al.chars().all(|c| gl.contains(c))
                    }
                    _ => false,
                }
        })
    })
}

fn token_inner(
    st: &PpState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    grant: &str,
) -> Response {
    let client_id = match client(st, headers, form) {
        Ok(id) => id,
        Err((status, error)) => return oauth_error(status, error),
    };
    let mut s = st.auth.lock();
    let now = st.common.clock.now();
    let (granted, scope) = match grant {
        "authorization_code" => {
            let Some(code) = form.get("code").and_then(|c| s.codes.get_mut(c)) else {
                return invalid_grant();
            };
            if code.used || now >= code.expires {
                return invalid_grant();
            }
            // "client id or redirect URI does not match the code" is invalid_client.
            let redirect_ok = match (&code.redirect_uri, form.get("redirect_uri")) {
                (Some(sent), given) => given == Some(sent),
                (None, None) => true,
                (None, Some(given)) => st.cfg.redirect_uris.primary() == Some(given.as_str()),
            };
            if code.client_id != client_id || !redirect_ok {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
            }
            code.used = true;
            (code.scope.clone(), code.scope.clone())
        }
        "refresh_token" => {
            let Some(rt) = form.get("refresh_token") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            let Some(r) = s.refresh.get_mut(rt) else {
                return invalid_grant();
            };
            if r.client_id != client_id {
                return invalid_grant();
            }
            if !r.current {
                st.common.traffic.incr(counters::REFRESH_REUSE);
                return invalid_grant();
            }
            let scope = match form.get("scope") {
                Some(asked) if !within(asked, &r.granted) => {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
                }
                Some(asked) => asked.clone(),
                None => r.granted.clone(),
            };
            r.current = false;
            (r.granted.clone(), scope)
        }
        "" => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    let pair = st
        .auth
        .issue(st, &mut s, &client_id, (&granted, &scope), Duration::ZERO);
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
    fn refresh_scopes_narrow_but_never_widen() {
        assert!(within("admin_grade:r", "admin_grade:rud admin_user:c"));
        assert!(within(
            "admin_grade:r admin_user:c",
            "admin_grade:r admin_user:c"
        ));
        assert!(within("admin_user:c", "default"));
        assert!(!within("admin_grade:c", "admin_grade:rud"));
        assert!(!within("admin_group:r", "admin_grade:r"));
        assert!(!within("default", "admin_grade:r"));
    }

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
