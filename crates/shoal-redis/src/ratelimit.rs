//! [`RedisRateLimiter`]: core's [`RateLimitBackend`] with the counts in Redis, so a fleet of
//! processes stays under one vendor limit together.
//!
//! Per method, a hash of at most 128 buckets (calls per stretch of time, with the earliest and
//! latest of them) holds the sliding window, so memory and time per call are constant whatever
//! limit a server announces; a sorted set holds concurrency leases scored by expiry, so the
//! permits of a crashed worker come back once their lease runs out (a live worker renews its
//! leases in the background). Every change is one Lua script, run atomically by Redis with
//! Redis's own clock (`TIME`), so the processes need not agree on the time. Limits learned from
//! any worker's response headers are written to a shared hash that every worker reads; every
//! number is clamped ([`shoal_core::clamp`]) before it is sent.
//!
//! Semantics follow core's [`LocalRateLimitBackend`](shoal_core::LocalRateLimitBackend): a call
//! is pending from admission to answer (a sorted set per method, renewed with its lease), then
//! counted for the window plus a slack from a slack before its answer, never less than that span
//! from its admission — until the latest call of its bucket has left that span (buckets start
//! half the slack wide); an abandoned call is counted from when it was abandoned, and a crashed
//! worker's pending call from when its lease ran out. When a server reports fewer calls
//! remaining than we counted, the difference is counted from now in one bucket update, never
//! fewer than an exact log would count; a 429 with `Retry-After` blocks the method for that
//! long (for every worker), one without fills the window. Answering a call learns from it and
//! returns its lease in one script.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;
use shoal_core::http::Method;
use shoal_core::ratelimit::MethodStatus;
use shoal_core::{
    Admission, Lease, RateLimitBackend, RateLimitHeaders, RateLimitStatus, RateLimiter, RateLimits,
    RateObservation, Result, SharedClock, SystemClock, clamp,
};

use crate::error::limiter_error;

/// The default key prefix shared by every Shoal key in Redis.
pub const DEFAULT_PREFIX: &str = "shoal:";

struct Scripts {
    acquire: Script,
    renew: Script,
    observe: Script,
    release: Script,
    status: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            acquire: Script::new(concat!(
                include_str!("lua/window.lua"),
                include_str!("lua/acquire.lua")
            )),
            renew: Script::new(include_str!("lua/renew.lua")),
            observe: Script::new(concat!(
                include_str!("lua/window.lua"),
                include_str!("lua/observe.lua")
            )),
            release: Script::new(concat!(
                include_str!("lua/window.lua"),
                include_str!("lua/release.lua")
            )),
            status: Script::new(concat!(
                include_str!("lua/window.lua"),
                include_str!("lua/status.lua")
            )),
        }
    }
}

/// Key names under one prefix.
#[derive(Clone, Debug)]
struct Keys {
    base: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            base: format!("{prefix}rl:"),
        }
    }
    // `slots:`, not the earlier `win:` sorted sets, so an old key never meets the new type.
    fn window_prefix(&self) -> String {
        format!("{}slots:", self.base)
    }
    fn window(&self, method: &str) -> String {
        format!("{}slots:{method}", self.base)
    }
    fn pending_prefix(&self) -> String {
        format!("{}pend:", self.base)
    }
    fn pending(&self, method: &str) -> String {
        format!("{}pend:{method}", self.base)
    }
    fn block(&self, method: &str) -> String {
        format!("{}block:{method}", self.base)
    }
    fn leases(&self) -> String {
        format!("{}leases", self.base)
    }
    fn limits(&self) -> String {
        format!("{}limits", self.base)
    }
    fn stats(&self) -> String {
        format!("{}stats", self.base)
    }
    fn seq(&self) -> String {
        format!("{}seq", self.base)
    }
    fn methods(&self) -> String {
        format!("{}methods", self.base)
    }
}

/// Settings for a [`RedisRateLimiter`].
#[derive(Debug, Clone)]
pub struct RedisRateLimiterBuilder {
    prefix: String,
    window: Duration,
    slack: Duration,
    lease_ttl: Duration,
    poll: Duration,
    clock: SharedClock,
}

impl Default for RedisRateLimiterBuilder {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.into(),
            window: Duration::from_secs(60),
            slack: Duration::from_millis(25),
            lease_ttl: Duration::from_secs(30),
            poll: Duration::from_millis(20),
            clock: SystemClock::shared(),
        }
    }
}

impl RedisRateLimiterBuilder {
    shoal_core::builder_setters! {
        /// The prefix of every key (default `shoal:`): one per tenant or environment sharing a
        /// Redis. On Redis Cluster, put a hash tag in it (`{tenant-a}:`) so all keys share a slot.
        prefix(prefix: impl Into<String>) => prefix = prefix.into();
        /// The window length when no worker has configured one in Redis (default 60 s).
        window(window: Duration) => window;
        /// Extra time each call stays counted past a window from its admission, and an abandoned
        /// call past a window from when it was abandoned (default 25 ms); an answered call stays
        /// counted at least a window from its answer whatever the slack.
        slack(slack: Duration) => slack;
        /// How long a concurrency lease lives without renewal (default 30 s). A live process renews
        /// its leases every third of this; a crashed one's leases come back after it.
        lease_ttl(ttl: Duration) => lease_ttl = ttl.max(Duration::from_millis(300));
        /// How often to ask again while the concurrency limit is full (default 20 ms): other
        /// processes' releases cannot wake us.
        poll_interval(poll: Duration) => poll = poll.max(Duration::from_millis(1));
        /// The clock for lease renewal (default [`SystemClock`]). Windows run on Redis's clock.
        clock(clock: SharedClock) => clock;
    }

    /// Connects to `url` (`redis://…`) and builds the limiter.
    pub async fn connect(self, url: &str) -> Result<RedisRateLimiter> {
        let client = redis::Client::open(url).map_err(|e| limiter_error("GET", &e))?;
        let conn = ConnectionManager::new(client)
            .await
            .map_err(|e| limiter_error("GET", &e))?;
        Ok(self.build(conn))
    }

    /// Builds the limiter on an existing connection manager.
    pub fn build(self, conn: ConnectionManager) -> RedisRateLimiter {
        RedisRateLimiter {
            inner: Arc::new(Inner {
                conn,
                keys: Keys::new(&self.prefix),
                window: self.window,
                slack: self.slack,
                lease_ttl: self.lease_ttl,
                poll: self.poll,
                clock: self.clock,
                held: Mutex::new(HashMap::new()),
                heartbeat: AtomicBool::new(false),
                scripts: Scripts::new(),
            }),
        }
    }
}

struct Inner {
    conn: ConnectionManager,
    keys: Keys,
    window: Duration,
    slack: Duration,
    lease_ttl: Duration,
    poll: Duration,
    clock: SharedClock,
    /// Leases this process holds and renews: id → method.
    held: Mutex<HashMap<String, String>>,
    heartbeat: AtomicBool,
    scripts: Scripts,
}

impl Inner {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A [`RateLimitBackend`] whose windows and concurrency leases live in Redis, shared by every
/// process using the same key prefix. Cheap to clone; clones share the connection.
///
/// ```no_run
/// use std::time::Duration;
/// use shoal_core::{RateLimitHeaders, RateLimits};
/// use shoal_redis::RedisRateLimiter;
///
/// # async fn run() -> shoal_core::Result<()> {
/// let backend = RedisRateLimiter::builder()
///     .prefix("shoal:prod:pebblepad:")
///     .window(Duration::from_secs(60))
///     .connect("redis://127.0.0.1:6379/")
///     .await?;
/// let limiter = backend.rate_limiter(RateLimitHeaders::x_rate());
/// limiter
///     .configure(&RateLimits::new(
///         [("GET".to_string(), 600)],
///         Some(10),
///         Some(Duration::from_secs(60)),
///     ))
///     .await?;
/// // Pipeline::builder(url).rate_limiter(std::sync::Arc::new(limiter)) …
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRateLimiter {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.inner.keys.base)
            .field("window", &self.inner.window)
            .field("slack", &self.inner.slack)
            .field("lease_ttl", &self.inner.lease_ttl)
            .field("held", &self.inner.held().len())
            .finish()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl RedisRateLimiter {
    /// Settings with the defaults (prefix `shoal:`, 60 s window, 25 ms slack, 30 s leases).
    pub fn builder() -> RedisRateLimiterBuilder {
        RedisRateLimiterBuilder::default()
    }

    /// Core's [`RateLimiter`] over this backend, reading limits from the named headers.
    pub fn rate_limiter(&self, headers: RateLimitHeaders) -> RateLimiter {
        RateLimiter::new(Arc::new(self.clone()), headers, self.inner.clock.clone())
    }

    /// Returns a lease to Redis and waits for the answer ([`RateLimitBackend::release`] does
    /// this in a background task).
    pub async fn release_now(&self, lease: Lease) -> Result<()> {
        self.inner.held().remove(&lease.id);
        release(&self.inner, &lease).await
    }

    /// How many concurrency leases this process holds (and renews).
    pub fn held_leases(&self) -> usize {
        self.inner.held().len()
    }

    fn start_heartbeat(&self) {
        if self.inner.heartbeat.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let period = self.inner.lease_ttl / 3;
        let clock = self.inner.clock.clone();
        tokio::spawn(heartbeat(weak, clock, period));
    }
}

/// Returns an abandoned call's lease; the call is counted from now (it may still arrive).
async fn release(inner: &Inner, lease: &Lease) -> Result<()> {
    let method = lease.method.as_str().to_ascii_uppercase();
    let k = &inner.keys;
    let mut conn = inner.conn.clone();
    inner
        .scripts
        .release
        .key(k.window(&method))
        .key(k.leases())
        .key(k.pending(&method))
        .key(k.limits())
        .arg(&lease.id)
        .arg(ms(inner.window))
        .arg(ms(inner.slack))
        .invoke_async::<i64>(&mut conn)
        .await
        .map_err(|e| limiter_error(&method, &e))?;
    Ok(())
}

async fn heartbeat(weak: Weak<Inner>, clock: SharedClock, period: Duration) {
    loop {
        clock.sleep(period).await;
        let Some(inner) = weak.upgrade() else { return };
        let held: Vec<(String, String)> = inner
            .held()
            .iter()
            .map(|(id, method)| (id.clone(), inner.keys.pending(method)))
            .collect();
        if held.is_empty() {
            continue;
        }
        let mut conn = inner.conn.clone();
        let mut renew = inner.scripts.renew.key(inner.keys.leases());
        renew.arg(ms(inner.lease_ttl));
        for (id, pending) in &held {
            renew.key(pending).arg(id);
        }
        let renewed = renew.invoke_async::<i64>(&mut conn).await;
        match renewed {
            Ok(n) if (n as usize) < held.len() => {
                // ZADD XX CH counts only leases still present (whose score moved).
                tracing::debug!(
                    held = held.len(),
                    renewed = n,
                    "some leases were gone or unchanged"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %crate::error::limiter_error("GET", &e), "lease renewal failed")
            }
        }
    }
}

/// One observation (and the answer to a leased call: its lease returned, the call dated) in one
/// script.
async fn learn(inner: &Inner, o: &RateObservation, lease: Option<&Lease>) -> Result<()> {
    let method = o.method.as_str().to_ascii_uppercase();
    let k = &inner.keys;
    let mut conn = inner.conn.clone();
    let limit = o.limit.map(|l| clamp::rate_limit(l.into()));
    let remaining = o
        .remaining
        .map(|r| clamp::rate_remaining(r.into(), limit.unwrap_or(clamp::MAX_RATE_LIMIT)));
    let phantoms: i64 = inner
        .scripts
        .observe
        .key(k.window(&method))
        .key(k.limits())
        .key(k.block(&method))
        .key(k.stats())
        .key(k.leases())
        .key(k.methods())
        .key(k.pending(&method))
        .arg(&method)
        .arg(ms(inner.window))
        .arg(ms(inner.slack))
        .arg(if o.rejected { "1" } else { "0" })
        .arg(opt(limit))
        .arg(opt(remaining))
        .arg(opt(o
            .concurrency_limit
            .map(|c| clamp::concurrency_limit(c.into()))))
        .arg(opt(o
            .concurrency_remaining
            .map(|c| clamp::concurrency_remaining(c.into()))))
        .arg(opt(o.retry_after.map(|d| ms(clamp::retry_after(d)))))
        .arg(lease.map_or("", |l| l.id.as_str()))
        .arg(opt(lease.map(|l| l.admitted)))
        .invoke_async(&mut conn)
        .await
        .map_err(|e| limiter_error(&method, &e))?;
    if phantoms > 0 {
        tracing::debug!(method = %method, phantoms, "server counted calls we did not");
    }
    Ok(())
}

#[async_trait]
impl RateLimitBackend for RedisRateLimiter {
    async fn try_acquire(&self, method: &Method) -> Result<Admission> {
        let name = method.as_str().to_ascii_uppercase();
        let inner = &self.inner;
        let k = &inner.keys;
        let mut conn = inner.conn.clone();
        let reply: Vec<redis::Value> = inner
            .scripts
            .acquire
            .key(k.window(&name))
            .key(k.leases())
            .key(k.limits())
            .key(k.block(&name))
            .key(k.seq())
            .key(k.methods())
            .key(k.pending(&name))
            .arg(&name)
            .arg(ms(inner.window))
            .arg(ms(inner.slack))
            .arg(ms(inner.lease_ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| limiter_error(&name, &e))?;
        let Some((granted, value, reason, admitted)) = parse_admission(&reply) else {
            return Err(limiter_error(
                &name,
                &redis::RedisError::from((
                    redis::ErrorKind::TypeError,
                    "unexpected admission reply",
                )),
            ));
        };
        if granted {
            let id = format!("L{value}");
            inner.held().insert(id.clone(), name);
            self.start_heartbeat();
            return Ok(Admission::Granted(Lease {
                method: method.clone(),
                id,
                admitted,
            }));
        }
        let wait = if value < 0 {
            inner.poll
        } else {
            Duration::from_micros(value.unsigned_abs())
        };
        tracing::trace!(method = %name, reason = %reason, wait_ms = wait.as_millis() as u64, "shared limiter says wait");
        Ok(Admission::Wait(Some(wait)))
    }

    fn release(&self, lease: Lease) {
        self.inner.held().remove(&lease.id);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let inner = self.inner.clone();
                handle.spawn(async move {
                    if let Err(e) = release(&inner, &lease).await {
                        tracing::warn!(error = %e, "lease release failed; it expires by itself");
                    }
                });
            }
            Err(_) => tracing::debug!("no runtime to release a lease; it expires by itself"),
        }
    }

    async fn observe(&self, o: &RateObservation) -> Result<()> {
        learn(&self.inner, o, None).await
    }

    async fn complete(&self, lease: Lease, o: &RateObservation) -> Result<()> {
        // Not renewed from here on: if the script fails, the lease expires by itself.
        self.inner.held().remove(&lease.id);
        learn(&self.inner, o, Some(&lease)).await
    }

    async fn configure(&self, limits: &RateLimits) -> Result<()> {
        let inner = &self.inner;
        let mut pipe = redis::pipe();
        pipe.atomic();
        let key = inner.keys.limits();
        for (method, limit) in &limits.per_method {
            let limit = clamp::rate_limit((*limit).into());
            pipe.hset(&key, format!("m:{}", method.to_ascii_uppercase()), limit)
                .ignore();
            pipe.sadd(inner.keys.methods(), method.to_ascii_uppercase())
                .ignore();
        }
        if let Some(c) = limits.concurrency {
            pipe.hset(&key, "concurrency", clamp::concurrency_limit(c.into()))
                .ignore();
        }
        if let Some(w) = limits.window {
            pipe.hset(&key, "window_ms", ms(clamp::window(w)).max(1))
                .ignore();
        }
        let mut conn = inner.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| limiter_error("GET", &e))
    }

    async fn status(&self) -> Result<RateLimitStatus> {
        let inner = &self.inner;
        let k = &inner.keys;
        let mut conn = inner.conn.clone();
        let values: Vec<redis::Value> = inner
            .scripts
            .status
            .key(k.leases())
            .key(k.limits())
            .key(k.stats())
            .key(k.methods())
            .arg(ms(inner.window))
            .arg(ms(inner.slack))
            .arg(k.window_prefix())
            .arg(k.pending_prefix())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| limiter_error("GET", &e))?;
        parse_status(&values).ok_or_else(|| {
            limiter_error(
                "GET",
                &redis::RedisError::from((redis::ErrorKind::TypeError, "unexpected status reply")),
            )
        })
    }
}

/// The admission script's reply: granted, lease number or wait (µs; negative: poll), reason, and
/// the admission moment (µs on Redis's clock; granted only).
fn parse_admission(values: &[redis::Value]) -> Option<(bool, i64, String, u64)> {
    let [granted, value, reason, rest @ ..] = values else {
        return None;
    };
    let granted = int(granted)? == 1;
    let admitted = match rest.first() {
        Some(v) => u64::try_from(int(v)?).ok()?,
        None if granted => return None,
        None => 0,
    };
    let reason = redis::from_redis_value::<String>(reason).ok()?;
    Some((granted, int(value)?, reason, admitted))
}

fn int(v: &redis::Value) -> Option<i64> {
    match v {
        redis::Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn known(v: &redis::Value) -> Option<Option<u32>> {
    let i = int(v)?;
    Some(u32::try_from(i).ok())
}

fn parse_status(values: &[redis::Value]) -> Option<RateLimitStatus> {
    let (head, rest) = values.split_at_checked(5)?;
    let window_ms = u64::try_from(int(&head[0])?).ok()?;
    let mut methods = BTreeMap::new();
    for chunk in rest.chunks_exact(4) {
        let name = match &chunk[0] {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            _ => return None,
        };
        methods.insert(
            name,
            MethodStatus {
                limit: known(&chunk[1])?,
                used: u32::try_from(int(&chunk[2])?).ok()?,
                server_remaining: known(&chunk[3])?,
            },
        );
    }
    Some(RateLimitStatus {
        methods,
        concurrency_limit: known(&head[1])?,
        in_flight: u32::try_from(int(&head[2])?).ok()?,
        server_concurrency_remaining: known(&head[3])?,
        rejections: u64::try_from(int(&head[4])?).ok()?,
        window: Duration::from_millis(window_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RedisServer;

    async fn backend(server: &RedisServer, prefix: &str) -> RedisRateLimiter {
        connect(server, prefix, |b| b.window(Duration::from_secs(60))).await
    }

    /// A fresh server and a backend on it under `prefix`, with `settings` applied.
    async fn started(
        prefix: &str,
        settings: impl FnOnce(RedisRateLimiterBuilder) -> RedisRateLimiterBuilder,
    ) -> (RedisServer, RedisRateLimiter) {
        let server = RedisServer::start();
        let limiter = connect(&server, prefix, settings).await;
        (server, limiter)
    }

    /// A backend on `server` under `prefix`, with `settings` applied to its builder.
    async fn connect(
        server: &RedisServer,
        prefix: &str,
        settings: impl FnOnce(RedisRateLimiterBuilder) -> RedisRateLimiterBuilder,
    ) -> RedisRateLimiter {
        settings(RedisRateLimiter::builder().prefix(prefix))
            .connect(&server.url())
            .await
            .unwrap()
    }

    fn limits(get: u32, concurrency: Option<u32>) -> RateLimits {
        RateLimits::new([("GET".to_string(), get)], concurrency, None)
    }

    /// An answer to a GET that stated its limit and what remains of it.
    fn get_counted(limit: u32, remaining: u32) -> RateObservation {
        RateObservation {
            method: Method::GET,
            limit: Some(limit),
            remaining: Some(remaining),
            ..RateObservation::default()
        }
    }

    fn granted(a: Admission) -> Lease {
        match a {
            Admission::Granted(l) => l,
            other => panic!("expected a grant, got {other:?}"),
        }
    }

    fn waits(a: &Admission) -> Duration {
        match a {
            Admission::Wait(Some(d)) => *d,
            other => panic!("expected a wait, got {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn window_script_admits_the_limit_then_waits_for_the_oldest() {
        let server = RedisServer::start();
        let a = backend(&server, "t1:").await;
        let b = backend(&server, "t1:").await; // another process, same keys
        a.configure(&limits(3, None)).await.unwrap();
        for l in [&a, &b, &a] {
            let lease = granted(l.try_acquire(&Method::GET).await.unwrap());
            l.release_now(lease).await.unwrap();
        }
        let wait = waits(&b.try_acquire(&Method::GET).await.unwrap());
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_millis(60_025),
            "the oldest call slides out after window + slack: {wait:?}"
        );
        // Another method has its own, still unknown, window; another prefix its own limits.
        granted(a.try_acquire(&Method::POST).await.unwrap());
        granted(
            backend(&server, "t2:")
                .await
                .try_acquire(&Method::GET)
                .await
                .unwrap(),
        );
        let st = a.status().await.unwrap();
        assert_eq!(st.methods["GET"].limit, Some(3));
        assert_eq!(st.methods["GET"].used, 3);
        assert_eq!(st.window, Duration::from_secs(60));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_window_slides_on_redis_time() {
        let (_server, a) = started("slide:", |b| {
            b.window(Duration::from_millis(200))
                .slack(Duration::from_millis(10))
        })
        .await;
        a.configure(&limits(1, None)).await.unwrap();
        let lease = granted(a.try_acquire(&Method::GET).await.unwrap());
        a.release_now(lease).await.unwrap();
        let wait = waits(&a.try_acquire(&Method::GET).await.unwrap());
        assert!(wait <= Duration::from_millis(210), "{wait:?}");
        // Real time: the window is measured by Redis's clock, which no fake can move.
        std::thread::sleep(wait + Duration::from_millis(5));
        granted(a.try_acquire(&Method::GET).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_is_counted_until_its_answer_then_a_window_from_it() {
        let (_server, a) = started("answer:", |b| {
            b.window(Duration::from_millis(400))
                .slack(Duration::from_millis(10))
        })
        .await;
        let one_each = RateLimits::new([("GET".into(), 1), ("POST".into(), 1)], None, None);
        a.configure(&one_each).await.unwrap();
        let get = granted(a.try_acquire(&Method::GET).await.unwrap());
        let post = granted(a.try_acquire(&Method::POST).await.unwrap());
        assert_eq!(a.status().await.unwrap().methods["GET"].used, 1);
        // Real time, past a span from admission: a call still waiting for its answer may reach
        // the server at any moment, so its slot stays taken (a poll: no answer can wake us).
        std::thread::sleep(Duration::from_millis(450));
        assert_eq!(
            waits(&a.try_acquire(&Method::GET).await.unwrap()),
            Duration::from_millis(20)
        );
        assert_eq!(a.status().await.unwrap().methods["GET"].used, 1);
        // Answered, it is counted a window from its answer; abandoned, a span from then.
        a.complete(get, &RateObservation::default()).await.unwrap();
        a.release_now(post).await.unwrap();
        for method in [Method::GET, Method::POST] {
            let wait = waits(&a.try_acquire(&method).await.unwrap());
            assert!(
                wait > Duration::from_millis(300) && wait <= Duration::from_millis(410),
                "{method}: {wait:?}"
            );
        }
        assert_eq!(a.held_leases(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crashed_holders_call_stays_counted_after_its_lease_runs_out() {
        let (server, a) = started("crash:", |b| b.lease_ttl(Duration::from_millis(300))).await;
        let b = backend(&server, "crash:").await;
        a.configure(&limits(1, None)).await.unwrap();
        let _sent = granted(a.try_acquire(&Method::GET).await.unwrap());
        drop(a);
        let mut expired = false;
        for _ in 0..100 {
            if b.status().await.unwrap().in_flight == 0 {
                expired = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(expired, "a dead process's lease must expire");
        // Its call may have reached the server before the process died: still counted.
        assert_eq!(b.status().await.unwrap().methods["GET"].used, 1);
        let wait = waits(&b.try_acquire(&Method::GET).await.unwrap());
        assert!(wait > Duration::from_secs(59), "{wait:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrency_leases_are_shared_released_and_expire() {
        let (server, a) = started("c:", |b| {
            b.lease_ttl(Duration::from_millis(600))
                .poll_interval(Duration::from_millis(7))
        })
        .await;
        let b = backend(&server, "c:").await;
        a.configure(&limits(100, Some(2))).await.unwrap();
        let first = granted(a.try_acquire(&Method::GET).await.unwrap());
        let _second = granted(a.try_acquire(&Method::GET).await.unwrap());
        assert_eq!(a.held_leases(), 2);
        // Full for every process; the answer is a poll, since their releases cannot wake us.
        assert_eq!(
            waits(&b.try_acquire(&Method::GET).await.unwrap()),
            Duration::from_millis(20)
        );
        assert_eq!(b.status().await.unwrap().in_flight, 2);
        a.release_now(first).await.unwrap();
        let third = granted(b.try_acquire(&Method::GET).await.unwrap());
        b.release_now(third).await.unwrap();

        // A crashed holder: `a` goes away without releasing (its renewals stop with it).
        drop(a);
        let mut freed = false;
        for _ in 0..100 {
            if b.status().await.unwrap().in_flight == 0 {
                freed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(freed, "a dead process's lease must expire");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn held_leases_are_renewed_while_the_process_lives() {
        let (_server, a) = started("renew:", |b| b.lease_ttl(Duration::from_millis(900))).await;
        a.configure(&limits(100, Some(1))).await.unwrap();
        let lease = granted(a.try_acquire(&Method::GET).await.unwrap());
        tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(2000)))
            .await
            .unwrap();
        assert_eq!(
            a.status().await.unwrap().in_flight,
            1,
            "two lease lifetimes later"
        );
        assert!(matches!(
            a.try_acquire(&Method::GET).await.unwrap(),
            Admission::Wait(Some(_))
        ));
        a.release(lease);
        let mut admitted = false;
        for _ in 0..100 {
            if let Admission::Granted(_) = a.try_acquire(&Method::GET).await.unwrap() {
                admitted = true;
                break;
            }
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(admitted, "a released lease frees the slot");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn limits_learned_by_one_worker_apply_to_all() {
        let server = RedisServer::start();
        let a = backend(&server, "learn:").await;
        let b = backend(&server, "learn:").await;
        a.observe(&RateObservation {
            method: Method::GET,
            limit: Some(5),
            remaining: Some(0),
            concurrency_limit: Some(3),
            concurrency_remaining: Some(2),
            ..RateObservation::default()
        })
        .await
        .unwrap();
        let st = b.status().await.unwrap();
        assert_eq!(st.methods["GET"].limit, Some(5));
        assert_eq!(
            st.methods["GET"].used, 5,
            "phantoms for calls the server counted"
        );
        assert_eq!(st.methods["GET"].server_remaining, Some(0));
        assert_eq!(st.concurrency_limit, Some(3));
        assert_eq!(st.server_concurrency_remaining, Some(2));
        assert!(matches!(
            b.try_acquire(&Method::GET).await.unwrap(),
            Admission::Wait(Some(_))
        ));
        // A lowered limit applies at once for everyone.
        granted(b.try_acquire(&Method::PUT).await.unwrap());
        a.observe(&RateObservation {
            method: Method::PUT,
            limit: Some(1),
            ..RateObservation::default()
        })
        .await
        .unwrap();
        assert!(matches!(
            b.try_acquire(&Method::PUT).await.unwrap(),
            Admission::Wait(Some(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_429_blocks_the_method_for_every_worker() {
        let server = RedisServer::start();
        let a = backend(&server, "429:").await;
        let b = backend(&server, "429:").await;
        a.observe(&RateObservation {
            method: Method::POST,
            rejected: true,
            retry_after: Some(Duration::from_secs(5)),
            ..RateObservation::default()
        })
        .await
        .unwrap();
        let wait = waits(&b.try_acquire(&Method::POST).await.unwrap());
        assert!(
            wait > Duration::from_secs(4) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        granted(b.try_acquire(&Method::GET).await.unwrap());
        // Without Retry-After, a 429 fills the window (when the limit is known).
        a.configure(&limits(3, None)).await.unwrap();
        a.observe(&RateObservation {
            method: Method::GET,
            rejected: true,
            ..RateObservation::default()
        })
        .await
        .unwrap();
        assert!(matches!(
            b.try_acquire(&Method::GET).await.unwrap(),
            Admission::Wait(Some(_))
        ));
        assert_eq!(b.status().await.unwrap().rejections, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_window_is_atomic_under_contention() {
        let server = RedisServer::start();
        let a = backend(&server, "race:").await;
        a.configure(&limits(25, None)).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let l = backend(&server, "race:").await;
            tasks.push(tokio::spawn(async move {
                let mut got = 0;
                for _ in 0..10 {
                    if let Admission::Granted(lease) = l.try_acquire(&Method::GET).await.unwrap() {
                        l.release_now(lease).await.unwrap();
                        got += 1;
                    }
                }
                got
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        assert_eq!(total, 25, "exactly the limit is admitted, never one more");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hostile_limit_is_one_bucket_update_not_billions() {
        let server = RedisServer::start();
        let a = backend(&server, "hostile:").await;
        // The old script looped once per phantom: this answer would have blocked Redis.
        a.observe(&RateObservation {
            method: Method::GET,
            limit: Some(u32::MAX),
            remaining: Some(0),
            retry_after: Some(Duration::MAX),
            rejected: true,
            ..RateObservation::default()
        })
        .await
        .unwrap();
        let st = a.status().await.unwrap();
        assert_eq!(st.methods["GET"].limit, Some(clamp::MAX_RATE_LIMIT));
        assert_eq!(st.methods["GET"].used, clamp::MAX_RATE_LIMIT);
        let wait = waits(&a.try_acquire(&Method::GET).await.unwrap());
        assert!(wait <= clamp::MAX_RETRY_AFTER, "{wait:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn complete_learns_and_returns_the_lease_in_one_step() {
        let server = RedisServer::start();
        let a = backend(&server, "complete:").await;
        a.configure(&limits(10, Some(1))).await.unwrap();
        let lease = granted(a.try_acquire(&Method::GET).await.unwrap());
        assert_eq!(a.status().await.unwrap().in_flight, 1);
        a.complete(lease, &get_counted(10, 5)).await.unwrap();
        let st = a.status().await.unwrap();
        assert_eq!(st.in_flight, 0, "the lease is back");
        assert_eq!(a.held_leases(), 0, "and no longer renewed");
        assert_eq!(st.methods["GET"].used, 5, "the server's count won");
        assert_eq!(st.methods["GET"].server_remaining, Some(5));
        // Reported again, the same count adds nothing.
        a.observe(&get_counted(10, 5)).await.unwrap();
        assert_eq!(a.status().await.unwrap().methods["GET"].used, 5);
    }

    #[test]
    fn a_malformed_status_reply_is_refused() {
        assert!(parse_status(&[redis::Value::Int(1)]).is_none());
    }

    #[test]
    fn a_malformed_admission_reply_is_refused() {
        use redis::Value::{Int, SimpleString};
        let reason = || SimpleString("granted".into());
        assert_eq!(
            parse_admission(&[Int(1), Int(7), reason(), Int(42)]),
            Some((true, 7, "granted".into(), 42))
        );
        assert_eq!(
            parse_admission(&[Int(0), Int(-1), reason()]),
            Some((false, -1, "granted".into(), 0))
        );
        // A grant without its admission moment, a negative moment, or a short reply.
        assert!(parse_admission(&[Int(1), Int(7), reason()]).is_none());
        assert!(parse_admission(&[Int(1), Int(7), reason(), Int(-5)]).is_none());
        assert!(parse_admission(&[Int(1), Int(7)]).is_none());
        assert!(parse_admission(&[Int(1), SimpleString("x".into()), reason(), Int(1)]).is_none());
    }
}
