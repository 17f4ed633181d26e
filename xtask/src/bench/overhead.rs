//! Scenario 1: request overhead — one small GET decoded into a struct, Shoal's whole pipeline
//! (refreshing OAuth credential with a valid token, retry policy, generous rate limiter, tracing
//! compiled in) against a bare `reqwest::Client` with a fixed bearer header and `serde_json`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::try_join_all;
use secrecy::ExposeSecret;
use shoal_auth::{
    ClientSecret, MemoryTokenStore, OAuthClient, OAuthConfig, RefreshToken, RefreshingCredential,
    TokenRecord,
};
use shoal_core::{
    Clock, Pipeline, RateLimitHeaders, RateLimiter, RateLimits, Request, ReqwestTransport,
    SystemClock, Url,
};
use shoal_pearldiver::AudienceList;

use super::emulate::Emulator;
use super::measure::{Sample, median, sample, spread};
use super::report::{Goal, Row};
use super::{BenchResult, Plan};

/// A Shoal pipeline on the Pearl Diver emulator with a refreshing credential.
pub struct ShoalSide {
    /// The pipeline with the credential.
    pub pipeline: Pipeline,
    /// The credential.
    pub credential: Arc<RefreshingCredential>,
    /// Its store.
    pub store: Arc<MemoryTokenStore>,
    /// Calls that reached the token endpoint.
    pub token_calls: Arc<std::sync::atomic::AtomicU64>,
}

fn url(s: &str) -> BenchResult<Url> {
    s.parse().map_err(|e| format!("{s}: {e}"))
}

/// Builds Shoal's side against a Pearl Diver emulator, counting token-endpoint calls.
pub fn shoal_side(emu: &Emulator, record: TokenRecord, limiter: bool) -> BenchResult<ShoalSide> {
    let clock = SystemClock::shared();
    let token_calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = token_calls.clone();
    let inner = ReqwestTransport::new().map_err(|e| e.to_string())?;
    // The API calls go straight to the transport a user gets; only the token pipeline counts.
    let plain: Arc<dyn shoal_core::Transport> = Arc::new(inner.clone());
    let transport = move |req: http::Request<bytes::Bytes>| {
        if req.uri().path().ends_with("/oauth/token") {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let inner = inner.clone();
        async move { shoal_core::Transport::send(&inner, req).await }
    };
    let transport: Arc<dyn shoal_core::Transport> = Arc::new(transport);
    let api_base = url(&emu.field("api_base"))?;
    let base = Pipeline::builder(api_base.clone())
        .shared_transport(transport)
        .clock(clock.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let token_url = format!(
        "{}?audience={}",
        emu.field("token_url"),
        emu.field("audience")
    );
    let config = OAuthConfig::new(
        url(&emu.field("authorize_url"))?,
        url(&token_url)?,
        emu.field("client_id"),
        "http://127.0.0.1/cb",
    )
    .client_secret(ClientSecret::new(emu.field("client_secret")));
    let oauth = OAuthClient::new(config, &base);
    let store = Arc::new(MemoryTokenStore::with_record(record));
    let credential = Arc::new(RefreshingCredential::new(oauth, store.clone()));
    // Built directly, not `derive`d (which drops the rate limiter, as a token pipeline should).
    let mut builder = Pipeline::builder(api_base)
        .shared_transport(plain)
        .clock(clock.clone())
        .authenticator(credential.clone());
    if limiter {
        let limits = RateLimits::new([("GET".to_string(), 10_000_000)], Some(10_000), None);
        builder = builder.rate_limiter(Arc::new(RateLimiter::local(
            clock.clone(),
            Duration::from_secs(60),
            &limits,
            RateLimitHeaders::x_rate(),
        )));
    }
    let pipeline = builder.build().map_err(|e| e.to_string())?;
    Ok(ShoalSide {
        pipeline,
        credential,
        store,
        token_calls,
    })
}

/// A record holding only the emulator's pre-issued refresh token (refreshed on first use).
pub fn refresh_only(emu: &Emulator) -> TokenRecord {
    let mut r = TokenRecord::unknown_age(
        shoal_auth::AccessToken::new("none"),
        RefreshToken::new(emu.field("refresh_token")),
    );
    r.expires_at = Some(SystemClock.system_now() - Duration::from_secs(3600));
    r
}

async fn shoal_burst(p: &Pipeline, n: usize, conc: usize) -> Result<(), String> {
    let per = n / conc;
    let tasks = (0..conc).map(|_| {
        let p = p.clone();
        tokio::spawn(async move {
            for _ in 0..per {
                let list: AudienceList = p
                    .json(Request::get("audiences"))
                    .await
                    .map_err(|e| e.to_string())?;
                std::hint::black_box(list);
            }
            Ok::<_, String>(())
        })
    });
    for r in try_join_all(tasks).await.map_err(|e| e.to_string())? {
        r?;
    }
    Ok(())
}

async fn baseline_burst(
    client: &reqwest::Client,
    url: &str,
    bearer: &str,
    n: usize,
    conc: usize,
) -> Result<(), String> {
    let per = n / conc;
    let auth = format!("Bearer {bearer}");
    let tasks = (0..conc).map(|_| {
        let (client, url, auth) = (client.clone(), url.to_string(), auth.clone());
        tokio::spawn(async move {
            for _ in 0..per {
                let resp = client
                    .get(&url)
                    .header("authorization", &auth)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let body = resp
                    .error_for_status()
                    .map_err(|e| e.to_string())?
                    .bytes()
                    .await
                    .map_err(|e| e.to_string())?;
                let list: AudienceList =
                    serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                std::hint::black_box(list);
            }
            Ok::<_, String>(())
        })
    });
    for r in try_join_all(tasks).await.map_err(|e| e.to_string())? {
        r?;
    }
    Ok(())
}

/// Runs the scenario.
pub async fn run(plan: Plan) -> BenchResult<Vec<Row>> {
    let emu = Emulator::start(&["pearldiver", "--records", "1000"])?;
    let shoal = shoal_side(&emu, refresh_only(&emu), true)?;
    // Warm up: the first call refreshes, so the measured calls see a valid token.
    shoal_burst(&shoal.pipeline, 50, 1).await?;
    let bearer = shoal
        .credential
        .access_token()
        .await
        .map_err(|e| e.to_string())?;
    let bearer = bearer.expose_secret().to_string();
    let baseline = if std::env::var_os("SHOAL_BENCH_BASELINE_TIMEOUTS").is_some() {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?
    } else {
        reqwest::Client::new()
    };
    let list_url = format!("{}/audiences", emu.field("api_base"));
    baseline_burst(&baseline, &list_url, &bearer, 50, 1).await?;

    // For profilers (`perf record -- xtask bench --only 1`): one side alone, many requests.
    if let Ok(side) = std::env::var("SHOAL_BENCH_PROFILE") {
        let n = 200_000;
        let s = match side.as_str() {
            "shoal" => sample(shoal_burst(&shoal.pipeline, n, 64)).await?,
            _ => sample(baseline_burst(&baseline, &list_url, &bearer, n, 64)).await?,
        };
        eprintln!(
            "profiled {side}: {n} requests at c=64, {:.2} µs CPU each",
            s.cpu.as_secs_f64() * 1e6 / n as f64
        );
        return Ok(Vec::new());
    }
    let n = if plan.quick { 2_000 } else { 6_000 };
    let mut rows = Vec::new();
    for conc in [1usize, 64] {
        let (mut s, mut b): (Vec<Sample>, Vec<Sample>) = (Vec::new(), Vec::new());
        for run in 0..plan.runs {
            // Alternate which side goes first so drift hits both equally.
            if run % 2 == 0 {
                s.push(sample(shoal_burst(&shoal.pipeline, n, conc)).await?);
                b.push(sample(baseline_burst(&baseline, &list_url, &bearer, n, conc)).await?);
            } else {
                b.push(sample(baseline_burst(&baseline, &list_url, &bearer, n, conc)).await?);
                s.push(sample(shoal_burst(&shoal.pipeline, n, conc)).await?);
            }
        }
        let rps = |v: &[Sample]| {
            v.iter()
                .map(|x| n as f64 / x.wall.as_secs_f64())
                .collect::<Vec<_>>()
        };
        let cpu = |v: &[Sample]| {
            v.iter()
                .map(|x| x.cpu.as_secs_f64() * 1e6 / n as f64)
                .collect::<Vec<_>>()
        };
        let (srps, brps) = (rps(&s), rps(&b));
        rows.push(Row::new(
            &format!("overhead c={conc}: throughput"),
            "req/s",
            median(srps.clone()),
            median(brps),
            Goal::AtLeast(0.95),
            spread(&srps),
        ));
        let (scpu, bcpu) = (cpu(&s), cpu(&b));
        rows.push(Row::new(
            &format!("overhead c={conc}: CPU per request"),
            "µs/req",
            median(scpu.clone()),
            median(bcpu),
            Goal::AtMost(1.10),
            spread(&scpu),
        ));
    }
    Ok(rows)
}
