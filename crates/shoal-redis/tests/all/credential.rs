//! `RefreshingCredential` over two `RedisTokenStore` handles (two "processes" in one test):
//! the second worker re-reads under the lock and uses the pair the first one stored.

use std::sync::Arc;
use std::time::Duration;

use shoal_auth::{
    ClientAuth, ClientSecret, ExposeSecret as _, OAuthClient, OAuthConfig, RefreshSettings,
    RefreshingCredential, TokenRecord, TokenResponse, TokenStore as _, UnknownExpiry,
};
use shoal_core::http::Method;
use shoal_core::{Clock as _, ManualClock, Pipeline, RequestSummary};
use shoal_redis::{RedisServer, RedisTokenStore};
use shoal_testkit::pearldiver::{PearlDiver, PearlDiverConfig};

async fn credential(
    pd: &PearlDiver,
    redis: &RedisServer,
    clock: &ManualClock,
) -> RefreshingCredential {
    let e = pd.endpoints();
    let base = Pipeline::builder(e.api_base.parse().unwrap())
        .clock(clock.shared())
        .build()
        .unwrap();
    let config = OAuthConfig::new(
        e.authorize_url.parse().unwrap(),
        e.token_url.parse().unwrap(),
        e.client_id.clone(),
        "http://127.0.0.1/callback",
    )
    .client_secret(ClientSecret::new(e.client_secret.clone()))
    .client_auth(ClientAuth::SecretPost)
    .token_query_param("audience", "pearldiverapi");
    // The store's lock runs on real time (Redis expiries); the credential on the manual clock.
    let store = RedisTokenStore::builder("cred")
        .connect(&redis.url())
        .await
        .unwrap();
    RefreshingCredential::builder(OAuthClient::new(config, &base), Arc::new(store))
        .settings(RefreshSettings::new(
            Duration::from_secs(5),
            Duration::ZERO,
            UnknownExpiry::RefreshFirst,
        ))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_worker_uses_the_pair_the_first_one_rotated_without_a_token_call() {
    let redis = RedisServer::start();
    let clock = ManualClock::new();
    let pd = PearlDiver::start(PearlDiverConfig {
        clock: clock.shared(),
        access_token_ttl: Duration::from_secs(60),
        ..PearlDiverConfig::default()
    })
    .await
    .unwrap();
    let pair = pd.mint_tokens();
    let body = serde_json::json!({
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
    });
    let summary = RequestSummary {
        method: Method::POST,
        url: "emulator".into(),
    };
    let response = TokenResponse::parse(&summary, body.to_string().as_bytes()).unwrap();
    let seed = RedisTokenStore::builder("cred")
        .connect(&redis.url())
        .await
        .unwrap();
    seed.save(&TokenRecord::from_login(response, clock.system_now()))
        .await
        .unwrap();

    let a = credential(&pd, &redis, &clock).await;
    let b = credential(&pd, &redis, &clock).await;
    let first_a = a.access_token().await.unwrap();
    let first_b = b.access_token().await.unwrap();
    assert_eq!(first_a.expose_secret(), pair.access_token);
    assert_eq!(first_b.expose_secret(), pair.access_token);
    assert_eq!(
        pd.traffic().token_calls("refresh_token"),
        0,
        "both read the store"
    );

    clock.advance(Duration::from_secs(58)); // inside the 5 s refresh buffer
    let rotated = a.access_token().await.unwrap();
    assert_ne!(rotated.expose_secret(), pair.access_token);
    assert_eq!(pd.traffic().token_calls("refresh_token"), 1);
    // b's token is stale too; under the lock it re-reads and finds a's fresh pair.
    let used_by_b = b.access_token().await.unwrap();
    assert_eq!(used_by_b.expose_secret(), rotated.expose_secret());
    assert_eq!(
        pd.traffic().token_calls("refresh_token"),
        1,
        "no second token call"
    );
    assert_eq!(pd.traffic().refresh_reuse(), 0);
    let stored = seed.load_versioned().await.unwrap().unwrap();
    assert_eq!(stored.version, 2, "the seed save and one rotation");
}
