//! Pearl Diver's token store: codes, PKCE S256, and refresh-token rotation with family
//! revocation on reuse, plus the inactivity and absolute lifetimes.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use axum::http::StatusCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::PdState;
use crate::synth::Synth;
use crate::traffic::counters;

/// A token pair as the token endpoint would return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// Bearer access token.
    pub access_token: String,
    /// Refresh token (rotates on every use).
    pub refresh_token: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

pub(super) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<String>,
    pub scope: String,
    pub expires: Instant,
    pub used_by_family: Option<u64>,
}

struct Refresh {
    family: u64,
    issued: Instant,
    rotated: bool,
}

struct Family {
    created: Instant,
    revoked: bool,
    scope: String,
}

#[derive(Default)]
struct Store {
    codes: HashMap<String, Code>,
    refresh: HashMap<String, Refresh>,
    access: HashMap<String, Instant>,
    families: HashMap<u64, Family>,
    counter: u64,
}

pub(crate) struct AuthStore {
    synth: Synth,
    inner: Mutex<Store>,
}

pub(super) type Answer = Result<serde_json::Value, (StatusCode, &'static str, String)>;

pub(super) fn oauth_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> Answer {
    Err((status, error, description.into()))
}

/// Every refusal of a code or refresh token: 403 `invalid_grant` (Auth0's choice).
fn invalid_grant(description: &str) -> Answer {
    oauth_error(StatusCode::FORBIDDEN, "invalid_grant", description)
}

impl AuthStore {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            synth: Synth::new(seed ^ 0x0A17),
            inner: Mutex::new(Store::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn secret(&self, s: &mut Store, prefix: &str) -> String {
        s.counter += 1;
        format!("{prefix}{}", self.synth.hex(7, s.counter, 40))
    }

    pub(crate) fn sizes(&self) -> (usize, usize, usize) {
        let s = self.lock();
        (s.refresh.len(), s.access.len(), s.families.len())
    }

    /// A new family with its first pair.
    fn login(&self, st: &PdState, s: &mut Store, scope: &str) -> (u64, TokenPair) {
        let now = st.common.clock.now();
        let id = s.counter + 1;
        s.families.insert(
            id,
            Family {
                created: now,
                revoked: false,
                scope: scope.to_string(),
            },
        );
        (id, self.issue(st, s, id))
    }

    fn issue(&self, st: &PdState, s: &mut Store, family: u64) -> TokenPair {
        let now = st.common.clock.now();
        let access_token = self.secret(s, "pd_at_");
        let refresh_token = self.secret(s, "pd_rt_");
        s.access
            .insert(access_token.clone(), now + st.cfg.access_token_ttl);
        s.refresh.insert(
            refresh_token.clone(),
            Refresh {
                family,
                issued: now,
                rotated: false,
            },
        );
        TokenPair {
            access_token,
            refresh_token,
            expires_in: st.cfg.access_token_ttl.as_secs(),
        }
    }

    pub(crate) fn mint(&self, st: &PdState, scope: &str) -> TokenPair {
        let mut s = self.lock();
        self.login(st, &mut s, scope).1
    }

    pub(crate) fn preissue(&self, st: &PdState, refresh_token: String) {
        let mut s = self.lock();
        let (family, _) = self.login(st, &mut s, "openid profile email offline_access");
        let issued = st.common.clock.now();
        s.refresh.insert(
            refresh_token,
            Refresh {
                family,
                issued,
                rotated: false,
            },
        );
    }

    pub(crate) fn access_valid(&self, st: &PdState, token: &str) -> bool {
        let now = st.common.clock.now();
        self.lock().access.get(token).is_some_and(|exp| now < *exp)
    }

    pub(crate) fn is_live(&self, st: &PdState, token: &str) -> bool {
        let s = self.lock();
        let now = st.common.clock.now();
        s.refresh.get(token).is_some_and(|r| {
            let fam = &s.families[&r.family];
            !r.rotated
                && !fam.revoked
                && now.duration_since(r.issued) < st.cfg.refresh_inactivity
                && now.duration_since(fam.created) < st.cfg.refresh_absolute
        })
    }

    fn pair_json(
        st: &PdState,
        pair: &TokenPair,
        scope: &str,
        with_refresh: bool,
    ) -> serde_json::Value {
        let mut v = json!({
            "access_token": pair.access_token,
            "token_type": "Bearer",
            "expires_in": pair.expires_in,
            "scope": scope,
        });
        if with_refresh {
            v["refresh_token"] = json!(pair.refresh_token);
        }
        if scope.split(' ').any(|s| s == "openid") {
            let header =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
            let claims = json!({"iss": "pearldiver-emulator", "aud": st.cfg.client_id, "sub": "auth0|emulator"});
            let claims =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
            v["id_token"] = json!(format!("{header}.{claims}."));
        }
        v
    }

    pub(super) fn exchange_code(&self, st: &PdState, form: &HashMap<String, String>) -> Answer {
        let code = form.get("code").map(String::as_str).unwrap_or_default();
        let mut s = self.lock();
        let now = st.common.clock.now();
        let Some(c) = s.codes.get(code) else {
            return invalid_grant("Invalid authorization code");
        };
        if let Some(family) = c.used_by_family {
            // A replayed code revokes what it issued (RFC 6749 §4.1.2).
            if let Some(f) = s.families.get_mut(&family) {
                f.revoked = true;
            }
            st.common.traffic.incr(counters::FAMILY_REVOKED);
            return invalid_grant("Invalid authorization code");
        }
        if now >= c.expires {
            return invalid_grant("Authorization code has expired");
        }
        if form.get("client_id") != Some(&c.client_id) {
            return invalid_grant("Code was issued to another client");
        }
        if form.get("redirect_uri") != Some(&c.redirect_uri) {
            return invalid_grant("redirect_uri does not match the authorize request");
        }
        if let Some(challenge) = &c.challenge {
            let Some(verifier) = form.get("code_verifier") else {
                return invalid_grant("Missing code_verifier");
            };
            let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if &digest != challenge {
                return invalid_grant("Failed to verify code verifier");
            }
        }
        let scope = c.scope.clone();
        let (family, pair) = self.login(st, &mut s, &scope);
        if let Some(c) = s.codes.get_mut(code) {
            c.used_by_family = Some(family);
        }
        let offline = scope.split(' ').any(|x| x == "offline_access");
        if !offline {
            s.refresh.remove(&pair.refresh_token);
        }
        Ok(Self::pair_json(st, &pair, &scope, offline))
    }

    pub(super) fn refresh(&self, st: &PdState, form: &HashMap<String, String>) -> Answer {
        let token = form
            .get("refresh_token")
            .map(String::as_str)
            .unwrap_or_default();
        let mut s = self.lock();
        let now = st.common.clock.now();
        let Some(r) = s.refresh.get(token) else {
            return invalid_grant("Unknown or invalid refresh token.");
        };
        let (family, rotated, issued) = (r.family, r.rotated, r.issued);
        if rotated {
            st.common.traffic.incr(counters::REFRESH_REUSE);
            if let Some(f) = s.families.get_mut(&family) {
                if !f.revoked {
                    f.revoked = true;
                    st.common.traffic.incr(counters::FAMILY_REVOKED);
                }
            }
            return invalid_grant("Unknown or invalid refresh token.");
        }
        let Some(f) = s.families.get(&family) else {
            return invalid_grant("Unknown or invalid refresh token.");
        };
        if f.revoked {
            return invalid_grant("Unknown or invalid refresh token.");
        }
        if now.duration_since(f.created) >= st.cfg.refresh_absolute {
            return invalid_grant("Refresh token has expired (absolute lifetime).");
        }
        if now.duration_since(issued) >= st.cfg.refresh_inactivity {
            return invalid_grant("Refresh token has expired (inactivity).");
        }
        let scope = f.scope.clone();
        if let Some(r) = s.refresh.get_mut(token) {
            r.rotated = true;
        }
        let pair = self.issue(st, &mut s, family);
        Ok(Self::pair_json(st, &pair, &scope, true))
    }

    pub(super) fn new_code(&self, st: &PdState, code: Code) -> String {
        let mut s = self.lock();
        let id = self.secret(&mut s, "pd_code_");
        let _ = st;
        s.codes.insert(id.clone(), code);
        id
    }
}
