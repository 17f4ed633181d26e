//! Cancellation safety of the Redis token store (issue 17): a caller may drop any future at any
//! `.await`, and nothing Redis or the authorization server has already done may be lost.
//!
//! Every future is dropped at each of its pending points in turn
//! ([`drop_at_every_pending_point`]): a `RefreshingCredential` on a `RedisTokenStore` refreshing
//! against the Pearl Diver emulator (rotation with reuse detection), and the store's own
//! `lock`, `save` and `save_locked`. After each drop the store holds the newest pair the server
//! issued (or the previous one if it never answered), a fresh credential refreshes without the
//! family being revoked, a write landed whole or not at all, and the refresh lock is free again
//! at once — not after its expiry.
//!
//! The store's lock waits and releases run on real time (Redis expiries); the emulator and the
//! credentials on a manual clock. The lock lives 60 s here, so a lock left behind by a dropped
//! future shows as a waiter that does not get it within 10 s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoal_auth::{
    ClientAuth, ClientSecret, ExposeSecret as _, OAuthClient, OAuthConfig, RefreshSettings,
    RefreshingCredential, SaveOutcome, TokenLockGuard, TokenRecord, TokenStore, UnknownExpiry,
};
use shoal_core::test_util::drop_at_every_pending_point;
use shoal_core::{Clock as _, ManualClock, Pipeline, Request};
use shoal_redis::{RedisServer, RedisTokenStore};
use shoal_testkit::pearldiver::{PearlDiver, PearlDiverConfig};

const TTL: Duration = Duration::from_secs(3600);
const LOCK_TTL: Duration = Duration::from_secs(60);
/// Far less than [`LOCK_TTL`]: a waiter that needs longer met a lock nobody holds any more.
const PROMPTLY: Duration = Duration::from_secs(10);

async fn store(redis: &RedisServer, name: &str) -> RedisTokenStore {
    RedisTokenStore::builder(name)
        .prefix("cancel:")
        .lock_ttl(LOCK_TTL)
        .poll_interval(Duration::from_millis(5))
        .connect(&redis.url())
        .await
        .unwrap()
}

fn record(access: &str, refresh: &str) -> TokenRecord {
    TokenRecord::unknown_age(access.into(), refresh.into())
}

fn refresh_of(record: &TokenRecord) -> String {
    record
        .refresh_token
        .as_ref()
        .map(|r| r.expose_secret().to_string())
        .unwrap_or_default()
}

/// Takes the lock through another handle, promptly, and lets it go.
async fn assert_lock_free(other: &RedisTokenStore, what: &str) {
    let taken = tokio::time::timeout(PROMPTLY, other.lock()).await;
    let guard = taken
        .unwrap_or_else(|_| panic!("{what}: the refresh lock is still held by nobody"))
        .unwrap();
    drop(guard);
}

/// The Pearl Diver emulator and a credential factory on Redis stores.
struct Rig {
    pd: PearlDiver,
    clock: ManualClock,
    base: Pipeline,
    oauth: OAuthClient,
}

impl Rig {
    async fn start() -> Self {
        let clock = ManualClock::new();
        let pd = PearlDiver::start(PearlDiverConfig {
            clock: clock.shared(),
            access_token_ttl: TTL,
            ..Default::default()
        })
        .await
        .unwrap();
        let e = pd.endpoints().clone();
        let base = Pipeline::builder(e.api_base.parse().unwrap())
            .clock(clock.shared())
            .build()
            .unwrap();
        let config = OAuthConfig::new(
            e.authorize_url.parse().unwrap(),
            e.token_url.parse().unwrap(),
            e.client_id.clone(),
            e.redirect_uri.clone(),
        )
        .client_secret(ClientSecret::new(e.client_secret.clone()))
        .client_auth(ClientAuth::SecretPost)
        .token_query_param("audience", e.audience.clone());
        let oauth = OAuthClient::new(config, &base);
        Self {
            pd,
            clock,
            base,
            oauth,
        }
    }

    fn credential(&self, store: &RedisTokenStore) -> RefreshingCredential {
        RefreshingCredential::builder(self.oauth.clone(), Arc::new(store.clone()))
            .settings(RefreshSettings::new(
                Duration::from_secs(60),
                Duration::ZERO,
                UnknownExpiry::RefreshFirst,
            ))
            .build()
    }

    /// A new family, stored as already expired.
    async fn seed(&self, store: &RedisTokenStore) {
        let pair = self.pd.mint_tokens();
        let mut seeded = record(&pair.access_token, &pair.refresh_token);
        seeded.expires_at = Some(self.clock.system_now());
        store.save(&seeded).await.unwrap();
    }

    fn expire(&self) {
        self.clock.advance(TTL + Duration::from_secs(60));
    }

    /// The stored refresh token is the live one of its family, and a fresh credential on
    /// another handle of the store rotates it without presenting a spent token.
    async fn assert_intact(&self, store: &RedisTokenStore, what: &str) {
        let stored = store.load().await.unwrap().expect("a pair is stored");
        assert!(
            self.pd.refresh_token_is_live(&refresh_of(&stored)),
            "{what}: the store holds a spent (or revoked) refresh token"
        );
        let reuse = self.pd.traffic().refresh_reuse();
        self.credential(store)
            .force_refresh()
            .await
            .unwrap_or_else(|e| panic!("{what}: a fresh credential cannot refresh: {e}"));
        assert_eq!(
            self.pd.traffic().refresh_reuse(),
            reuse,
            "{what}: a spent refresh token was presented"
        );
    }
}

/// Holds the credential of the round in progress, so that the check can settle its flight.
type Slot = Mutex<Option<RefreshingCredential>>;

async fn settle(slot: &Slot) {
    let credential = slot.lock().unwrap().take();
    if let Some(credential) = credential {
        credential.settle().await;
    }
}

#[derive(Clone, Copy, Debug)]
enum Call {
    AccessToken,
    Api,
    Force,
}

#[tokio::test]
async fn a_refresh_on_a_redis_store_dropped_anywhere_keeps_the_family() {
    let redis = &RedisServer::start();
    let rig = &Rig::start().await;
    for call in [Call::AccessToken, Call::Api, Call::Force] {
        let store = &store(redis, &format!("{call:?}")).await;
        let other = &store.clone();
        rig.seed(store).await;
        let slot = &Slot::default();
        let points = drop_at_every_pending_point(
            || {
                rig.expire();
                let credential = rig.credential(store);
                *slot.lock().unwrap() = Some(credential.clone());
                let api = rig
                    .base
                    .derive(rig.base.base_url().clone(), Arc::new(credential.clone()));
                async move {
                    match call {
                        Call::AccessToken => credential.access_token().await.map(drop),
                        Call::Api => api.execute(Request::get("audiences")).await.map(drop),
                        Call::Force => credential.force_refresh().await.map(drop),
                    }
                }
            },
            |round| async move {
                let (what, outcome) = (format!("{call:?}, {round}"), round.into_output());
                settle(slot).await;
                if let Some(done) = outcome {
                    done.unwrap_or_else(|e| panic!("{what}: the completed call failed: {e}"));
                }
                rig.assert_intact(other, &what).await;
                assert_lock_free(other, &what).await;
            },
        )
        .await;
        assert!(points >= 1, "{call:?}");
    }
    assert_eq!(rig.pd.traffic().refresh_reuse(), 0);
}

#[tokio::test]
async fn a_lock_dropped_anywhere_is_released_at_once() {
    let redis = &RedisServer::start();
    let store = &store(redis, "lock").await;
    let other = &store.clone();
    let points = drop_at_every_pending_point(
        || store.lock(),
        |round| async move {
            let what = round.to_string();
            if let Some(guard) = round.into_output() {
                let guard = guard.unwrap();
                assert!(
                    other.try_lock().await.unwrap().is_none(),
                    "held while alive"
                );
                drop(guard);
            }
            assert_lock_free(other, &what).await;
        },
    )
    .await;
    assert!(points >= 1, "taking the lock is a round trip");
}

#[tokio::test]
async fn a_save_dropped_anywhere_lands_whole_or_not_at_all() {
    let redis = &RedisServer::start();
    let store = &store(redis, "save").await;
    store.save(&record("A0", "R0")).await.unwrap();
    let round_no = &Mutex::new(0u32);
    // (refresh token, version) last seen in the store.
    let seen = &Mutex::new(("R0".to_string(), 1u64));
    let check = |what: String, written: String| async move {
        let now = store.load_versioned().await.unwrap().unwrap();
        let (before, version) = seen.lock().unwrap().clone();
        let refresh = refresh_of(&now.record);
        if refresh == before {
            assert_eq!(now.version, version, "{what}: not written, not counted");
        } else {
            assert_eq!(
                refresh, written,
                "{what}: the store holds what was saved, whole"
            );
            assert_eq!(now.version, version + 1, "{what}: one write, one version");
            assert_eq!(
                now.record.access_token.expose_secret(),
                written.replace('R', "A")
            );
        }
        *seen.lock().unwrap() = (refresh, now.version);
    };
    let next = || {
        let mut n = round_no.lock().unwrap();
        *n += 1;
        format!("R{n}")
    };
    drop_at_every_pending_point(
        || {
            let refresh = next();
            async move {
                store
                    .save(&record(&refresh.replace('R', "A"), &refresh))
                    .await
                    .map(|()| refresh)
            }
        },
        |round| async move {
            let what = format!("save, {round}");
            let written = format!("R{}", round_no.lock().unwrap());
            if let Some(saved) = round.into_output() {
                assert_eq!(saved.unwrap(), written);
            }
            check(what, written).await;
        },
    )
    .await;

    // save_locked under a lock taken for the round (the future owns and drops the guard).
    let guards: &Mutex<Option<Box<dyn TokenLockGuard>>> = &Mutex::new(None);
    *guards.lock().unwrap() = Some(store.lock().await.unwrap());
    store.load().await.unwrap(); // a refresh re-reads under the lock first
    drop_at_every_pending_point(
        || {
            let guard = guards.lock().unwrap().take().unwrap();
            let refresh = next();
            async move {
                let outcome = store
                    .save_locked(&record(&refresh.replace('R', "A"), &refresh), guard.fence())
                    .await;
                drop(guard);
                outcome
            }
        },
        |round| async move {
            let what = format!("save_locked, {round}");
            let written = format!("R{}", round_no.lock().unwrap());
            if let Some(outcome) = round.into_output() {
                assert_eq!(outcome.unwrap(), SaveOutcome::Saved, "{what}");
            }
            check(what.clone(), written).await;
            // The next holder gets the lock at once and saves over whatever landed.
            let guard = tokio::time::timeout(PROMPTLY, store.lock())
                .await
                .unwrap_or_else(|_| panic!("{what}: the lock was left held"))
                .unwrap();
            store.load().await.unwrap();
            *guards.lock().unwrap() = Some(guard);
        },
    )
    .await;
}
