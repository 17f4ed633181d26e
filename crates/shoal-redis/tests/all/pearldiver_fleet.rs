//! 8 worker processes share one rotating Pearl Diver token family through a `RedisTokenStore`.
// Real processes share no fake clock: these tests run on wall time, bounded to seconds.
#![allow(clippy::disallowed_methods)]

use std::io::BufReader;
use std::time::Duration;

use base64::Engine as _;
use shoal_auth::{ExposeSecret as _, TokenRecord, TokenResponse, TokenStore as _};
use shoal_core::RequestSummary;
use shoal_core::http::Method;
use shoal_redis::{EncryptionKey, RedisServer, RedisTokenStore};
use shoal_testkit::pearldiver::{PearlDiver, PearlDiverConfig};

use crate::fleet::{self, Summary};

const LIFETIME: Duration = Duration::from_secs(1);
const BUFFER_MS: u64 = 150;

async fn emulator() -> PearlDiver {
    PearlDiver::start(PearlDiverConfig {
        access_token_ttl: LIFETIME,
        ..PearlDiverConfig::default()
    })
    .await
    .unwrap()
}

/// The record of a fresh login, as `RefreshingCredential::login` would store it.
fn login_record(pd: &PearlDiver) -> TokenRecord {
    let pair = pd.mint_tokens();
    let body = serde_json::json!({
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "token_type": "Bearer",
    });
    let summary = RequestSummary {
        method: Method::POST,
        url: "emulator".into(),
    };
    let response = TokenResponse::parse(&summary, body.to_string().as_bytes()).unwrap();
    TokenRecord::from_login(response, std::time::SystemTime::now())
}

fn worker_args(
    pd: &PearlDiver,
    redis: &RedisServer,
    start: u64,
    until: u64,
    lock_ttl_ms: u64,
) -> Vec<(&'static str, String)> {
    let e = pd.endpoints();
    vec![
        ("mode", "pearldiver".into()),
        ("redis", redis.url()),
        ("prefix", "fleet:".into()),
        ("store", "pd".into()),
        ("api-base", e.api_base.clone()),
        ("authorize-url", e.authorize_url.clone()),
        ("token-url", e.token_url.clone()),
        ("client-id", e.client_id.clone()),
        ("client-secret", e.client_secret.clone()),
        ("buffer-ms", BUFFER_MS.to_string()),
        ("lock-ttl-ms", lock_ttl_ms.to_string()),
        ("pause-ms", "25".into()),
        ("start-ms", start.to_string()),
        ("until-ms", until.to_string()),
    ]
}

fn assert_all_succeeded(summaries: &[Summary]) {
    for (i, s) in summaries.iter().enumerate() {
        assert_eq!(s.failed, 0, "worker {i} had failures: {:?}", s.errors);
        assert!(s.ok > 0, "worker {i} made no call");
    }
}

fn assert_no_reuse(pd: &PearlDiver) {
    let t = pd.traffic();
    assert_eq!(
        t.refresh_reuse(),
        0,
        "a rotated refresh token was presented again"
    );
    assert_eq!(
        t.invalid_grants(),
        0,
        "the token endpoint answered invalid_grant"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_workers_share_one_rotating_family_without_reuse() {
    let redis = RedisServer::start();
    let pd = emulator().await;
    let store = RedisTokenStore::builder("pd")
        .prefix("fleet:")
        .connect(&redis.url())
        .await
        .unwrap();
    store.save(&login_record(&pd)).await.unwrap();
    // Start together once every process is up; the minted token has expired by then.
    let start = fleet::unix_ms() + 2000;
    let run_ms = 5000;
    let until = start + run_ms;
    let children = (0..8)
        .map(|_| fleet::spawn(&worker_args(&pd, &redis, start, until, 10_000), &[]))
        .collect();
    let summaries = fleet::finish(children).await;

    assert_all_succeeded(&summaries);
    assert_no_reuse(&pd);
    let refreshes = pd.traffic().token_calls("refresh_token");
    let calls: u64 = summaries.iter().map(|s| s.ok).sum();
    eprintln!("fleet: {calls} API calls, {refreshes} refresh calls");
    // Tokens live 1 s and are refreshed 150 ms early: over 5 s, between 5 and 5.9 expiries
    // come due, plus the stale minted one at the start. One refresh per expiry, ± 1.
    let secs = run_ms as f64 / 1000.0;
    let fewest = (secs / LIFETIME.as_secs_f64()).floor() as u64 + 1;
    let most = (secs / (LIFETIME.as_secs_f64() - BUFFER_MS as f64 / 1000.0)).ceil() as u64 + 1;
    assert!(
        (fewest - 1..=most + 1).contains(&refreshes),
        "{refreshes} refresh calls for {fewest}..={most} expiries"
    );
    // Every rotation was saved exactly once, and the stored pair is the live one.
    let stored = store.load_versioned().await.unwrap().unwrap();
    assert_eq!(stored.version, 1 + refreshes, "one save per refresh");
    let refresh = stored.record.refresh_token.unwrap();
    assert!(pd.refresh_token_is_live(refresh.expose_secret()));
    assert!(calls >= 8 * 10, "the fleet kept calling: {calls}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_holding_the_refresh_lock_does_not_stop_the_others() {
    let redis = RedisServer::start();
    let pd = emulator().await;
    let key = base64::engine::general_purpose::STANDARD.encode(rand_key());
    let store = RedisTokenStore::builder("pd")
        .prefix("fleet:")
        .encryption_key(EncryptionKey::from_base64(&key).unwrap())
        .connect(&redis.url())
        .await
        .unwrap();
    let first = login_record(&pd);
    store.save(&first).await.unwrap();
    let env = [("SHOAL_TOKEN_KEY", key.clone())];
    let lock_ttl_ms = 2000;
    let start = fleet::unix_ms() + 2000;
    let until = start + 6000;

    // The victim takes the refresh lock and hangs while holding it (its extensions run).
    let mut victim = fleet::spawn(
        &[
            ("mode", "hold-lock".into()),
            ("redis", redis.url()),
            ("prefix", "fleet:".into()),
            ("store", "pd".into()),
            ("lock-ttl-ms", lock_ttl_ms.to_string()),
        ],
        &env,
    );
    let mut out = BufReader::new(victim.stdout.take().unwrap());
    let line = tokio::task::spawn_blocking(move || fleet::read_line(&mut out))
        .await
        .unwrap();
    assert_eq!(line, "LOCKED", "the victim must hold the lock");
    let children = (0..7)
        .map(|_| fleet::spawn(&worker_args(&pd, &redis, start, until, lock_ttl_ms), &env))
        .collect();

    // The minted token is stale at the start: everyone waits on the victim's lock.
    tokio::task::spawn_blocking(move || fleet::sleep_until_ms(start + 1500))
        .await
        .unwrap();
    let held = store.load_versioned().await.unwrap().unwrap();
    assert_eq!(
        held.version, 1,
        "nobody refreshed while the victim held the lock"
    );
    victim.kill().unwrap(); // SIGKILL: no release, no more extensions
    victim.wait().unwrap();

    let summaries = fleet::finish(children).await;
    assert_all_succeeded(&summaries);
    assert_no_reuse(&pd);
    let after = store.load_versioned().await.unwrap().unwrap();
    assert!(
        after.version > 1,
        "the lock expired and another worker refreshed"
    );
    let refresh = after.record.refresh_token.clone().unwrap();
    assert!(
        pd.refresh_token_is_live(refresh.expose_secret()),
        "nothing lost"
    );

    // Encrypted at rest: the raw value, read with a plain client, holds neither token.
    let mut raw = redis.client().get_connection().unwrap();
    let fields: Vec<Vec<u8>> = redis::cmd("HVALS")
        .arg(store.record_key())
        .query(&mut raw)
        .unwrap();
    let bytes: Vec<u8> = fields.concat();
    for token in [
        after.record.access_token.expose_secret(),
        refresh.expose_secret(),
        first.access_token.expose_secret(),
        first.refresh_token.as_ref().unwrap().expose_secret(),
    ] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "a token is readable in Redis"
        );
    }
}

fn rand_key() -> [u8; 32] {
    use rand::RngCore as _;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}
