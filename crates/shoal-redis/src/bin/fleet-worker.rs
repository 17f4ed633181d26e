//! `fleet-worker` (feature `fleet-worker`): one process of a test fleet sharing Redis.
//!
//! The integration tests spawn it several times as real OS processes:
//!
//! - `--mode pearldiver`: calls `GET audiences` through a pipeline whose authenticator is a
//!   [`RefreshingCredential`] over a shared [`RedisTokenStore`], until `--until-ms`;
//! - `--mode hold-lock`: takes the store's refresh lock, prints `LOCKED`, and hangs (to be killed);
//! - `--mode pebblepad`: calls `GET --path` from `--tasks` concurrent tasks through a pipeline
//!   paced by a shared [`RedisRateLimiter`] (limits already in Redis), until `--until-ms`.
//!
//! With `SHOAL_TOKEN_KEY` (base64 of 32 bytes) in the environment, the store encrypts at rest.
//! It prints one JSON summary line (`ok`, `failed`, `errors`) on stdout. Times (`--start-ms`,
//! `--until-ms`) are Unix milliseconds, since separate processes share no clock but the wall.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use shoal_auth::{
    AccessToken, ClientAuth, ClientSecret, OAuthClient, OAuthConfig, RefreshSettings,
    RefreshingCredential, StaticToken, TokenStore as _, UnknownExpiry,
};
use shoal_core::{Pipeline, RateLimitHeaders, Request, RetryPolicy, SharedClock, SystemClock};
use shoal_redis::{EncryptionKey, RedisRateLimiter, RedisTokenStore};

use shoal_testkit::worker_args::ArgError as BoxError;

type Args = shoal_testkit::worker_args::FlagArgs;

struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            errors: std::sync::Mutex::new(Vec::new()),
        })
    }
    fn record(&self, result: shoal_core::Result<shoal_core::Response>) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
                if errors.len() < 5 {
                    errors.push(e.to_string());
                }
            }
        }
    }
    fn summary(&self) -> serde_json::Value {
        let errors = self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        serde_json::json!({
            "ok": self.ok.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "errors": errors,
        })
    }
}

fn unix_ms(clock: &SharedClock) -> u64 {
    clock
        .system_now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

async fn sleep_until_ms(clock: &SharedClock, at: u64) {
    let now = unix_ms(clock);
    if at > now {
        clock.sleep(Duration::from_millis(at - now)).await;
    }
}

async fn store(args: &Args, clock: &SharedClock) -> Result<RedisTokenStore, BoxError> {
    let mut builder = RedisTokenStore::builder(args.get("store")?)
        .prefix(args.get("prefix")?)
        .lock_ttl(args.ms("lock-ttl-ms", 10_000)?)
        .poll_interval(Duration::from_millis(10))
        .clock(clock.clone());
    // The key comes from the environment, never from the command line (visible in `ps`).
    if let Ok(key) = std::env::var("SHOAL_TOKEN_KEY") {
        builder = builder.encryption_key(EncryptionKey::from_base64(&key)?);
    }
    Ok(builder.connect(args.get("redis")?).await?)
}

async fn pearldiver(args: &Args, clock: SharedClock) -> Result<serde_json::Value, BoxError> {
    let api_base: shoal_core::Url = args.get("api-base")?.parse()?;
    let base = Pipeline::builder(api_base.clone())
        .clock(clock.clone())
        .build()?;
    let config = OAuthConfig::new(
        args.get("authorize-url")?.parse()?,
        args.get("token-url")?.parse()?,
        args.get("client-id")?,
        "http://127.0.0.1/callback",
    )
    .client_secret(ClientSecret::new(args.get("client-secret")?))
    .client_auth(ClientAuth::SecretPost)
    .token_query_param("audience", "pearldiverapi");
    let client = OAuthClient::new(config, &base);
    let settings = RefreshSettings::new(
        args.ms("buffer-ms", 150)?,
        Duration::ZERO,
        UnknownExpiry::RefreshFirst,
    );
    let credential = RefreshingCredential::builder(client, Arc::new(store(args, &clock).await?))
        .settings(settings)
        .build();
    let api = base.derive(api_base, Arc::new(credential));
    let pause = args.ms("pause-ms", 20)?;
    let until = args.num("until-ms", 0)?;
    sleep_until_ms(&clock, args.num("start-ms", 0)?).await;
    let tally = Tally::new();
    while unix_ms(&clock) < until {
        tally.record(api.execute(Request::get("audiences")).await);
        clock.sleep(pause).await;
    }
    Ok(tally.summary())
}

async fn hold_lock(args: &Args, clock: SharedClock) -> Result<serde_json::Value, BoxError> {
    let store = store(args, &clock).await?;
    let _guard = store.lock().await?;
    println!("LOCKED");
    std::io::stdout().flush()?;
    // Hold the lock (its extensions keep running) until the test kills this process.
    std::future::pending::<()>().await;
    Ok(serde_json::Value::Null)
}

async fn pebblepad(args: &Args, clock: SharedClock) -> Result<serde_json::Value, BoxError> {
    let backend = RedisRateLimiter::builder()
        .prefix(args.get("prefix")?)
        .window(args.ms("window-ms", 60_000)?)
        .slack(args.ms("slack-ms", 25)?)
        .clock(clock.clone())
        .connect(args.get("redis")?)
        .await?;
    // Limits come from Redis (learned by whoever asked GetRateLimits or saw headers first).
    let limiter = Arc::new(backend.rate_limiter(RateLimitHeaders::x_rate()));
    let api_base: shoal_core::Url = args.get("api-base")?.parse()?;
    let mut builder = Pipeline::builder(api_base)
        .clock(clock.clone())
        .rate_limiter(limiter.clone())
        .retry_policy(RetryPolicy::never());
    if let Ok(token) = args.get("token") {
        builder = builder.authenticator(Arc::new(StaticToken::new(AccessToken::new(token))));
    }
    let api = builder.build()?;
    let path = args.get("path")?.to_string();
    let until = args.num("until-ms", 0)?;
    sleep_until_ms(&clock, args.num("start-ms", 0)?).await;
    let tally = Tally::new();
    let mut tasks = Vec::new();
    for _ in 0..args.num("tasks", 4)? {
        let (api, clock, tally, path) = (api.clone(), clock.clone(), tally.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            while unix_ms(&clock) < until {
                let result = api.execute(Request::get(path.as_str())).await;
                // Count only what completed inside the measured interval.
                if unix_ms(&clock) <= until {
                    tally.record(result);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    Ok(tally.summary())
}

async fn run(args: Args) -> Result<serde_json::Value, BoxError> {
    let clock = SystemClock::shared();
    match args.get("mode")? {
        "pearldiver" => pearldiver(&args, clock).await,
        "hold-lock" => hold_lock(&args, clock).await,
        "pebblepad" => pebblepad(&args, clock).await,
        other => Err(format!("unknown --mode {other}").into()),
    }
}

fn main() -> ExitCode {
    let result = Args::from_env().and_then(|args| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(run(args))
    });
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleet-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
