//! Small hyper servers on 127.0.0.1:0: an OAuth server that rotates refresh tokens and revokes
//! the whole family when a rotated one is reused, and a session-token API with a sliding idle
//! limit driven by the test's manual clock.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sha2::Digest as _;
use shoal_core::{Clock as _, ManualClock};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Handler = Arc<dyn Fn(Method, Uri, HeaderMap, Bytes) -> Response<Full<Bytes>> + Send + Sync>;

pub struct Running {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(handler: Handler) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        Ok::<_, Infallible>(handler(parts.method, parts.uri, parts.headers, body))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Running { addr, task }
}

fn json(status: u16, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

fn empty(status: u16) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

fn pairs(s: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

pub const CLIENT_ID: &str = "shoal-test";
pub const CLIENT_SECRET: &str = "CANARY-CLIENT-SECRET";

struct Family {
    refresh: String,
    old: Vec<String>,
    access: String,
    revoked: bool,
}

#[derive(Default)]
pub struct OAuthState {
    pub token_calls: usize,
    pub refresh_calls: usize,
    pub invalid_grants: usize,
    pub api_calls: usize,
    pub last_token_query: String,
    families: Vec<Family>,
    codes: HashMap<String, (Option<String>, String)>,
    counter: usize,
}

impl OAuthState {
    fn next(&mut self, kind: &str) -> String {
        self.counter += 1;
        format!("CANARY-{kind}-{}", self.counter)
    }

    fn issue(&mut self) -> (String, String) {
        let (access, refresh) = (self.next("AT"), self.next("RT"));
        self.families.push(Family {
            refresh: refresh.clone(),
            old: Vec::new(),
            access: access.clone(),
            revoked: false,
        });
        (access, refresh)
    }

    pub fn revoked_families(&self) -> usize {
        self.families.iter().filter(|f| f.revoked).count()
    }

    fn token(&mut self, form: HashMap<String, String>) -> Response<Full<Bytes>> {
        self.token_calls += 1;
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
            || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
        {
            return json(401, serde_json::json!({"error": "invalid_client"}));
        }
        let grant = |s: &mut Self, d: &str| {
            s.invalid_grants += 1;
            json(
                400,
                serde_json::json!({"error": "invalid_grant", "error_description": d}),
            )
        };
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let code = form.get("code").cloned().unwrap_or_default();
                let Some((challenge, redirect)) = self.codes.remove(&code) else {
                    return grant(self, "unknown code");
                };
                if form.get("redirect_uri") != Some(&redirect) {
                    return grant(self, "redirect_uri mismatch");
                }
                if let Some(challenge) = challenge {
                    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(sha2::Sha256::digest(verifier.as_bytes()));
                    if computed != challenge {
                        return grant(self, "PKCE verification failed");
                    }
                }
                let (access, refresh) = self.issue();
                json(
                    200,
                    serde_json::json!({"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": 3600}),
                )
            }
            Some("refresh_token") => {
                self.refresh_calls += 1;
                let presented = form.get("refresh_token").cloned().unwrap_or_default();
                let (a, r) = (self.next("AT"), self.next("RT"));
                let Some(f) = self
                    .families
                    .iter_mut()
                    .find(|f| f.refresh == presented || f.old.contains(&presented))
                else {
                    return grant(self, "unknown refresh token");
                };
                if f.revoked {
                    return grant(self, "family revoked");
                }
                if f.refresh != presented {
                    // Reuse of a rotated token: treat as theft, revoke the family.
                    f.revoked = true;
                    return grant(self, "refresh token reused; family revoked");
                }
                f.old.push(std::mem::replace(&mut f.refresh, r.clone()));
                f.access = a.clone();
                json(
                    200,
                    serde_json::json!({"access_token": a, "refresh_token": r, "token_type": "bearer", "expires_in": "3600"}),
                )
            }
            _ => json(400, serde_json::json!({"error": "unsupported_grant_type"})),
        }
    }
}

pub struct OAuthServer {
    pub running: Running,
    pub state: Arc<Mutex<OAuthState>>,
}

impl OAuthServer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(OAuthState::default()));
        let s = state.clone();
        let handler: Handler = Arc::new(move |method, uri, headers, body| {
            let mut st = s.lock().unwrap();
            let query = pairs(uri.query().unwrap_or_default());
            match (method, uri.path()) {
                (Method::GET, "/authorize") => {
                    let code = st.next("CODE");
                    let redirect = query["redirect_uri"].clone();
                    st.codes.insert(
                        code.clone(),
                        (query.get("code_challenge").cloned(), redirect.clone()),
                    );
                    let mut location = url::Url::parse(&redirect).unwrap();
                    location
                        .query_pairs_mut()
                        .append_pair("code", &code)
                        .append_pair("state", &query["state"]);
                    let mut r = empty(302);
                    r.headers_mut()
                        .insert("location", location.as_str().parse().unwrap());
                    r
                }
                (Method::POST, "/oauth/token") => {
                    st.last_token_query = uri.query().unwrap_or_default().to_string();
                    st.token(pairs(std::str::from_utf8(&body).unwrap()))
                }
                (Method::GET, "/api/me") => {
                    st.api_calls += 1;
                    let bearer = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    if st
                        .families
                        .iter()
                        .any(|f| !f.revoked && bearer == format!("Bearer {}", f.access))
                    {
                        json(200, serde_json::json!({"ok": true}))
                    } else {
                        json(401, serde_json::json!({"message": "token expired"}))
                    }
                }
                _ => empty(404),
            }
        });
        Self {
            running: serve(handler).await,
            state,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.addr)
    }

    /// A family issued out of band (a service account's pair).
    pub fn seed(&self) -> (String, String) {
        self.state.lock().unwrap().issue()
    }

    /// Expires every access token server-side (the next API call gets 401).
    pub fn expire_access_tokens(&self) {
        for f in &mut self.state.lock().unwrap().families {
            f.access = "expired".into();
        }
    }
}

pub const PASSWORD: &str = "CANARY-PASSWORD";
pub const API_KEY: &str = "CANARY-APIKEY";
pub const IDLE: Duration = Duration::from_secs(15 * 60);
/// The session service the test server plays (Paya's shape).
pub const SESSION: shoal_auth::SessionEndpoint =
    shoal_auth::SessionEndpoint::new("token", "access-token", IDLE);

#[derive(Default)]
pub struct SessionState {
    pub logins: usize,
    pub unauthorized: usize,
    pub deletes: Vec<(String, u16)>,
    pub api_calls: usize,
    tokens: HashMap<String, Instant>,
    counter: usize,
}

pub struct SessionServer {
    pub running: Running,
    pub state: Arc<Mutex<SessionState>>,
}

impl SessionServer {
    pub async fn start(clock: ManualClock) -> Self {
        let state = Arc::new(Mutex::new(SessionState::default()));
        let s = state.clone();
        let handler: Handler = Arc::new(move |method, uri, headers, body| {
            let mut st = s.lock().unwrap();
            let now = clock.now();
            let query = pairs(uri.query().unwrap_or_default());
            let get = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .or_else(|| query.get(name).cloned())
            };
            if get("developer-id").as_deref() != Some("DEV-1") {
                return json(401, serde_json::json!({"message": "developer-id missing"}));
            }
            let path = uri.path().to_string();
            match (method, path.as_str()) {
                (Method::POST, "/v2/token") => {
                    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    if body["password"] != PASSWORD
                        || body["username"] != "ann"
                        || body["domain"] != "acme"
                    {
                        return json(401, serde_json::json!({"message": "bad credentials"}));
                    }
                    st.logins += 1;
                    st.counter += 1;
                    let token = format!("CANARY-SESSION-{}", st.counter);
                    st.tokens.insert(token.clone(), now);
                    json(
                        200,
                        serde_json::json!({"token": {"id": "0123456789abcdef01234567", "token": token, "expire": 15, "username": "ann"}}),
                    )
                }
                (Method::DELETE, p) if p.starts_with("/v2/token/") => {
                    let token = p.trim_start_matches("/v2/token/").to_string();
                    let status = if st.tokens.remove(&token).is_some() {
                        204
                    } else {
                        404
                    };
                    st.deletes.push((token, status));
                    empty(status)
                }
                (Method::GET, "/v2/contacts") => {
                    st.api_calls += 1;
                    let by_key = get("user-id").as_deref() == Some("U-1")
                        && get("user-api-key").as_deref() == Some(API_KEY);
                    let token = get("access-token").unwrap_or_default();
                    let by_token = st
                        .tokens
                        .get(&token)
                        .is_some_and(|last| now.saturating_duration_since(*last) < IDLE);
                    if by_token {
                        st.tokens.insert(token, now);
                    }
                    if by_key || by_token {
                        json(200, serde_json::json!({"contacts": []}))
                    } else {
                        st.unauthorized += 1;
                        json(401, serde_json::json!({"message": "unauthorized"}))
                    }
                }
                _ => empty(404),
            }
        });
        Self {
            running: serve(handler).await,
            state,
        }
    }

    pub fn base(&self) -> url::Url {
        format!("http://{}/v2", self.running.addr).parse().unwrap()
    }

    /// Forgets every session server-side.
    pub fn forget_sessions(&self) {
        self.state.lock().unwrap().tokens.clear();
    }
}
