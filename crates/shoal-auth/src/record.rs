//! [`TokenRecord`]: what a token store keeps — the pair, its expiry, and the dates behind
//! refresh-token lifetime warnings.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::oauth::TokenResponse;
use crate::secret::{AccessToken, ExposeSecret as _, RefreshToken};

/// An access token, the refresh token that goes with it, and when things happened.
///
/// Serialized (by the stores only) as JSON with RFC 3339 dates; `Debug` shows no secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenRecord {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token, if the client has one.
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires; `None` when unknown (a service account's given pair).
    pub expires_at: Option<SystemTime>,
    /// When the current refresh token was issued (or last used to refresh).
    pub refresh_issued_at: Option<SystemTime>,
    /// When the refresh-token family began: the login that started the chain of rotations.
    pub family_started_at: Option<SystemTime>,
    /// The scopes granted, when known.
    pub scope: Option<String>,
}

impl fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRecord")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at.map(rfc3339))
            .field("refresh_issued_at", &self.refresh_issued_at.map(rfc3339))
            .field("family_started_at", &self.family_started_at.map(rfc3339))
            .field("scope", &self.scope)
            .finish()
    }
}

impl TokenRecord {
    /// The record of a fresh login at `now`: a new refresh-token family starts here.
    pub fn from_login(response: TokenResponse, now: SystemTime) -> Self {
        Self {
            expires_at: response.expires_in.and_then(|d| now.checked_add(d)),
            refresh_issued_at: response.refresh_token.as_ref().map(|_| now),
            family_started_at: Some(now),
            access_token: response.access_token,
            refresh_token: response.refresh_token,
            scope: response.scope,
        }
    }

    /// A given access + refresh pair of unknown age (a PebblePad service account): the expiry is
    /// unknown, so a [`RefreshingCredential`](crate::RefreshingCredential) refreshes it first.
    pub fn unknown_age(access_token: AccessToken, refresh_token: RefreshToken) -> Self {
        Self {
            access_token,
            refresh_token: Some(refresh_token),
            expires_at: None,
            refresh_issued_at: None,
            family_started_at: None,
            scope: None,
        }
    }

    /// The record after a refresh at `now`: a response without a refresh token keeps the old one
    /// (and its issue date); the family start is kept.
    pub fn rotated(&self, response: TokenResponse, now: SystemTime) -> Self {
        let rotated = response.refresh_token.is_some();
        Self {
            access_token: response.access_token,
            refresh_token: response
                .refresh_token
                .or_else(|| self.refresh_token.clone()),
            expires_at: response.expires_in.and_then(|d| now.checked_add(d)),
            // Using a refresh token resets the server's inactivity clock even without rotation.
            refresh_issued_at: Some(now).filter(|_| rotated || self.refresh_token.is_some()),
            family_started_at: self.family_started_at,
            scope: response.scope.or_else(|| self.scope.clone()),
        }
    }

    /// Whether the two records hold the same access token.
    pub fn same_access_token(&self, other: &TokenRecord) -> bool {
        crate::secret::same_secret(
            self.access_token.expose_secret(),
            other.access_token.expose_secret(),
        )
    }

    /// When the current refresh token dies from disuse, under `limits`.
    pub fn inactivity_ends(&self, limits: &LifetimeLimits) -> Option<SystemTime> {
        self.refresh_issued_at?.checked_add(limits.inactivity?)
    }

    /// When the refresh-token family dies whatever happens, under `limits`.
    pub fn family_ends(&self, limits: &LifetimeLimits) -> Option<SystemTime> {
        self.family_started_at?.checked_add(limits.absolute?)
    }

    /// Warnings about the refresh-token family's lifetimes at `now` (see [`LifetimeLimits`]).
    pub fn lifetime_warnings(
        &self,
        limits: &LifetimeLimits,
        now: SystemTime,
    ) -> Vec<LifetimeWarning> {
        let horizon = now.checked_add(limits.warn_before).unwrap_or(now);
        let mut out = Vec::new();
        if let Some(end) = self.inactivity_ends(limits).filter(|end| *end <= horizon) {
            out.push(LifetimeWarning::Inactivity { expires_at: end });
        }
        if let Some(end) = self.family_ends(limits).filter(|end| *end <= horizon) {
            out.push(LifetimeWarning::Absolute { expires_at: end });
        }
        out
    }
}

/// A server's refresh-token lifetimes, and how early to warn (a vendor crate declares its
/// own: Pearl Diver's are 30 days of inactivity and one year in all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LifetimeLimits {
    inactivity: Option<Duration>,
    absolute: Option<Duration>,
    warn_before: Duration,
}

impl LifetimeLimits {
    /// Limits of `inactivity` and `absolute` (either may be unknown), warned of `warn_before`
    /// they end.
    pub const fn new(
        inactivity: Option<Duration>,
        absolute: Option<Duration>,
        warn_before: Duration,
    ) -> Self {
        Self {
            inactivity,
            absolute,
            warn_before,
        }
    }

    /// A refresh token unused this long dies.
    pub const fn inactivity(&self) -> Option<Duration> {
        self.inactivity
    }

    /// A family dies this long after the login that began it.
    pub const fn absolute(&self) -> Option<Duration> {
        self.absolute
    }

    /// Warn this long before either limit.
    pub const fn warn_before(&self) -> Duration {
        self.warn_before
    }
}

/// A refresh-token lifetime about to run out (or already run out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifetimeWarning {
    /// The refresh token dies from disuse at this time unless it is used before.
    Inactivity {
        /// When.
        expires_at: SystemTime,
    },
    /// The family dies at this time whatever happens: the user must log in again.
    Absolute {
        /// When.
        expires_at: SystemTime,
    },
}

fn rfc3339(t: SystemTime) -> String {
    OffsetDateTime::from(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "?".into())
}

/// The on-disk shape; secrets are exposed only while (de)serializing it.
#[derive(Serialize, Deserialize)]
struct Wire {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    refresh_issued_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    family_started_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

impl Serialize for TokenRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            access_token: self.access_token.expose_secret().to_string(),
            refresh_token: self
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_string()),
            expires_at: self.expires_at.map(OffsetDateTime::from),
            refresh_issued_at: self.refresh_issued_at.map(OffsetDateTime::from),
            family_started_at: self.family_started_at.map(OffsetDateTime::from),
            scope: self.scope.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TokenRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(deserializer)?;
        Ok(Self {
            access_token: AccessToken::new(w.access_token),
            refresh_token: w.refresh_token.map(RefreshToken::new),
            expires_at: w.expires_at.map(SystemTime::from),
            refresh_issued_at: w.refresh_issued_at.map(SystemTime::from),
            family_started_at: w.family_started_at.map(SystemTime::from),
            scope: w.scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + secs)
    }

    fn response(refresh: Option<&str>) -> TokenResponse {
        let body =
            serde_json::json!({"access_token": "A", "expires_in": 3600, "refresh_token": refresh});
        TokenResponse::parse(
            &shoal_core::RequestSummary {
                method: http::Method::POST,
                url: "u".into(),
            },
            body.to_string().as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn round_trips_through_json_with_dates() {
        let rec = TokenRecord::from_login(response(Some("R")), t(0));
        let json = serde_json::to_string(&rec).unwrap();
        assert!(
            json.contains("\"expires_at\":\"2026-01-01T01:00:00Z\""),
            "{json}"
        );
        let back: TokenRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expires_at, Some(t(3600)));
        assert_eq!(back.refresh_token.unwrap().expose_secret(), "R");
        assert_eq!(back.family_started_at, Some(t(0)));
        assert!(!format!("{rec:?}").contains("\"A\""));
    }

    #[test]
    fn rotation_keeps_the_old_refresh_token_when_none_comes_back() {
        let rec = TokenRecord::from_login(response(Some("R1")), t(0));
        let kept = rec.rotated(response(None), t(100));
        assert_eq!(kept.refresh_token.as_ref().unwrap().expose_secret(), "R1");
        let rotated = kept.rotated(response(Some("R2")), t(200));
        assert_eq!(rotated.refresh_token.unwrap().expose_secret(), "R2");
        assert_eq!(rotated.refresh_issued_at, Some(t(200)));
        assert_eq!(rotated.family_started_at, Some(t(0)));
    }

    #[test]
    fn warns_about_inactivity_and_absolute_lifetimes() {
        let limits = LifetimeLimits::new(
            Some(Duration::from_secs(2_592_000)),
            Some(Duration::from_secs(31_557_600)),
            Duration::from_secs(7 * DAY),
        );
        let mut rec = TokenRecord::from_login(response(Some("R")), t(0));
        assert!(rec.lifetime_warnings(&limits, t(DAY)).is_empty());
        assert_eq!(
            rec.lifetime_warnings(&limits, t(24 * DAY)),
            vec![LifetimeWarning::Inactivity {
                expires_at: t(30 * DAY)
            }]
        );
        rec.refresh_issued_at = Some(t(360 * DAY));
        assert_eq!(
            rec.lifetime_warnings(&limits, t(361 * DAY)),
            vec![LifetimeWarning::Absolute {
                expires_at: t(31_557_600)
            }]
        );
        assert!(
            TokenRecord::unknown_age("A".into(), "R".into())
                .lifetime_warnings(&limits, t(0))
                .is_empty()
        );
    }
}
