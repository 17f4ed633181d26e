//! [`RedisTokenStore`]: auth's [`TokenStore`] in Redis, so a fleet of processes shares one
//! rotating refresh-token family without ever redeeming the same refresh token twice.
//!
//! - **Refresh lock:** `SET lock fence NX PX ttl` with a random fencing value; a background task
//!   extends it (compare-and-`PEXPIRE`) while the refresh still runs; dropping the guard releases
//!   it with a compare-and-delete script, and so does dropping a `lock()` whose answer was not
//!   read yet; a crashed holder's lock expires by itself.
//! - **Compare-and-set saves:** the record carries a version. Taking the lock reads the version
//!   in the same script, and a save under that lock writes only if the version is unchanged, so
//!   a worker whose lock lapsed cannot overwrite a newer pair with an older one.
//! - **Encryption at rest** (optional): AES-256-GCM with a random nonce per write and the
//!   record's key name as associated data; Redis then holds no usable token.
//!
//! Layout under the prefix (default `shoal:`): `token:{name}` is a hash (`version`, `data`,
//! `format`), `token:{name}:lock` the lock.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng as _;
use redis::Script;
use redis::aio::ConnectionManager;
use secrecy::zeroize::Zeroizing;
use shoal_auth::{SaveOutcome, TokenLockGuard, TokenRecord, TokenStore};
use shoal_core::{AuthErrorKind, Error, Result, SharedClock, SystemClock};

use crate::crypto::EncryptionKey;
use crate::error::store_error;
use crate::ratelimit::DEFAULT_PREFIX;

const FORMAT_JSON: &str = "json";
const FORMAT_AES: &str = "aes-256-gcm";

struct Scripts {
    lock: Script,
    unlock: Script,
    extend: Script,
    save: Script,
}

/// Settings for a [`RedisTokenStore`].
#[derive(Debug, Clone)]
pub struct RedisTokenStoreBuilder {
    name: String,
    prefix: String,
    lock_ttl: Duration,
    poll: Duration,
    key: Option<EncryptionKey>,
    clock: SharedClock,
}

impl RedisTokenStoreBuilder {
    shoal_core::builder_setters! {
        /// The prefix of every key (default `shoal:`): one per tenant or environment sharing a
        /// Redis. On Redis Cluster, put a hash tag in it (`{tenant-a}:`).
        prefix(prefix: impl Into<String>) => prefix = prefix.into();
        /// How long the refresh lock lives without extension (default 10 s): how long a crashed
        /// holder can hold the others up. A live holder extends it every third of this.
        lock_ttl(ttl: Duration) => lock_ttl = ttl.max(Duration::from_millis(100));
        /// How often a waiter tries the lock again (default 50 ms, with jitter).
        poll_interval(poll: Duration) => poll = poll.max(Duration::from_millis(1));
        /// Encrypts records at rest with AES-256-GCM under this key.
        encryption_key(key: EncryptionKey) => key = Some(key);
        /// The clock for lock waits and extensions (default [`SystemClock`]).
        clock(clock: SharedClock) => clock;
    }

    /// Connects to `url` (`redis://…`) and builds the store.
    pub async fn connect(self, url: &str) -> Result<RedisTokenStore> {
        let client = redis::Client::open(url).map_err(|e| store_error("connect", &e))?;
        let conn = ConnectionManager::new(client)
            .await
            .map_err(|e| store_error("connect", &e))?;
        Ok(self.build(conn))
    }

    /// Builds the store on an existing connection manager.
    pub fn build(self, conn: ConnectionManager) -> RedisTokenStore {
        let record_key = format!("{}token:{}", self.prefix, self.name);
        RedisTokenStore {
            inner: Arc::new(Inner {
                conn,
                lock_key: format!("{record_key}:lock"),
                record_key,
                lock_ttl: self.lock_ttl,
                poll: self.poll,
                key: self.key,
                clock: self.clock,
                bases: Mutex::new(HashMap::new()),
                conflicts: AtomicU64::new(0),
                scripts: Scripts {
                    lock: Script::new(include_str!("lua/lock.lua")),
                    unlock: Script::new(include_str!("lua/unlock.lua")),
                    extend: Script::new(include_str!("lua/extend.lua")),
                    save: Script::new(include_str!("lua/save.lua")),
                },
            }),
        }
    }
}

struct Inner {
    conn: ConnectionManager,
    record_key: String,
    lock_key: String,
    lock_ttl: Duration,
    poll: Duration,
    key: Option<EncryptionKey>,
    clock: SharedClock,
    /// Fences held by this process → the record version their refresh is based on.
    bases: Mutex<HashMap<u64, u64>>,
    conflicts: AtomicU64,
    scripts: Scripts,
}

impl Inner {
    fn bases(&self) -> std::sync::MutexGuard<'_, HashMap<u64, u64>> {
        self.bases.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A token record and the version it was stored under.
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The record (its `Debug` shows no secret).
    pub record: TokenRecord,
    /// Bumped by every save; 0 means nothing was ever stored.
    pub version: u64,
}

/// What a compare-and-set save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasOutcome {
    /// Written; the record now has this version.
    Saved {
        /// The new version.
        version: u64,
    },
    /// Not written: the stored version was not the expected one.
    Conflict {
        /// The version found.
        current: u64,
    },
}

/// A [`TokenStore`] in Redis shared by every process using the same prefix and name.
/// Cheap to clone; clones share the connection.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use shoal_redis::{EncryptionKey, RedisTokenStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let key = EncryptionKey::from_base64(&std::env::var("SHOAL_TOKEN_KEY")?)?;
/// let store = RedisTokenStore::builder("pearldiver-prod")
///     .prefix("shoal:tenant-a:")
///     .lock_ttl(Duration::from_secs(10))
///     .encryption_key(key)
///     .connect("redis://127.0.0.1:6379/")
///     .await?;
/// // RefreshingCredential::new(oauth_client, Arc::new(store)) in every worker.
/// # let _ = Arc::new(store);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisTokenStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("record_key", &self.inner.record_key)
            .field("lock_ttl", &self.inner.lock_ttl)
            .field("encrypted", &self.inner.key.is_some())
            .finish()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RedisTokenStore {
    /// Settings for the store of the credential called `name` (one per OAuth client and user).
    pub fn builder(name: impl Into<String>) -> RedisTokenStoreBuilder {
        RedisTokenStoreBuilder {
            name: name.into(),
            prefix: DEFAULT_PREFIX.into(),
            lock_ttl: Duration::from_secs(10),
            poll: Duration::from_millis(50),
            key: None,
            clock: SystemClock::shared(),
        }
    }

    /// The Redis key of the record (a hash: `version`, `data`, `format`).
    pub fn record_key(&self) -> &str {
        &self.inner.record_key
    }

    /// The Redis key of the refresh lock.
    pub fn lock_key(&self) -> &str {
        &self.inner.lock_key
    }

    /// Saves under a lock that were refused because a newer pair was stored meanwhile.
    pub fn conflicts(&self) -> u64 {
        self.inner.conflicts.load(Ordering::Relaxed)
    }

    /// The stored record with its version.
    pub async fn load_versioned(&self) -> Result<Option<Versioned>> {
        let inner = &self.inner;
        let mut conn = inner.conn.clone();
        let (version, data, format): (Option<u64>, Option<Vec<u8>>, Option<String>) =
            redis::cmd("HMGET")
                .arg(&inner.record_key)
                .arg("version")
                .arg("data")
                .arg("format")
                .query_async(&mut conn)
                .await
                .map_err(|e| store_error("load", &e))?;
        let Some(data) = data.map(Zeroizing::new) else {
            return Ok(None);
        };
        let record = self.decode(&data, format.as_deref().unwrap_or(FORMAT_JSON))?;
        Ok(Some(Versioned {
            record,
            version: version.unwrap_or(0),
        }))
    }

    /// Writes `record` if the stored version is `expected` (`None`: whatever is stored).
    pub async fn compare_and_set(
        &self,
        record: &TokenRecord,
        expected: Option<u64>,
    ) -> Result<CasOutcome> {
        let (data, format) = self.encode(record)?;
        let inner = &self.inner;
        let mut conn = inner.conn.clone();
        let (saved, version): (i64, u64) = inner
            .scripts
            .save
            .key(&inner.record_key)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .arg(data.as_slice())
            .arg(format)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| store_error("save", &e))?;
        Ok(if saved == 1 {
            CasOutcome::Saved { version }
        } else {
            CasOutcome::Conflict { current: version }
        })
    }

    /// Takes the refresh lock if it is free now, without waiting.
    pub async fn try_lock(&self) -> Result<Option<Box<dyn TokenLockGuard>>> {
        Ok(self
            .attempt_lock()
            .await?
            .ok()
            .map(|g| Box::new(g) as Box<dyn TokenLockGuard>))
    }

    /// One attempt: the guard, or how long the current holder's lock still lives.
    async fn attempt_lock(&self) -> Result<std::result::Result<RedisLockGuard, Duration>> {
        let inner = &self.inner;
        let fence: u64 = rand::rng().random_range(1..u64::MAX);
        let mut attempt = ReleaseUnlessTaken {
            inner: self.inner.clone(),
            fence,
            armed: true,
        };
        let mut conn = inner.conn.clone();
        let (taken, value): (i64, i64) = inner
            .scripts
            .lock
            .key(&inner.lock_key)
            .key(&inner.record_key)
            .arg(fence.to_string())
            .arg(ms(inner.lock_ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| store_error("lock", &e))?;
        // Answered: the guard below releases a taken lock; a refused one is not ours.
        attempt.armed = false;
        if taken != 1 {
            return Ok(Err(Duration::from_millis(value.max(1).unsigned_abs())));
        }
        inner.bases().insert(fence, value.unsigned_abs());
        let extender = tokio::spawn(extend_while_held(self.inner.clone(), fence));
        tracing::debug!(key = %inner.lock_key, "refresh lock taken");
        Ok(Ok(RedisLockGuard {
            fence,
            inner: self.inner.clone(),
            extender,
        }))
    }

    fn encode(&self, record: &TokenRecord) -> Result<(Zeroizing<Vec<u8>>, &'static str)> {
        let json = Zeroizing::new(serde_json::to_vec(record).map_err(|_| {
            Error::auth(
                AuthErrorKind::TokenStore,
                "could not encode the token record",
            )
        })?);
        match &self.inner.key {
            None => Ok((json, FORMAT_JSON)),
            Some(key) => Ok((
                Zeroizing::new(key.seal(self.inner.record_key.as_bytes(), &json)?),
                FORMAT_AES,
            )),
        }
    }

    fn decode(&self, data: &[u8], format: &str) -> Result<TokenRecord> {
        let plain = match (format, &self.inner.key) {
            (FORMAT_AES, Some(key)) => key
                .open(self.inner.record_key.as_bytes(), data)
                .ok_or_else(|| {
                    Error::auth(
                        AuthErrorKind::TokenStore,
                        format!(
                            "the record at {} does not decrypt with the configured key",
                            self.inner.record_key
                        ),
                    )
                })?,
            (FORMAT_AES, None) => {
                return Err(Error::auth(
                    AuthErrorKind::TokenStore,
                    format!(
                        "the record at {} is encrypted; configure the encryption key",
                        self.inner.record_key
                    ),
                ));
            }
            (FORMAT_JSON, key) => {
                if key.is_some() {
                    tracing::warn!(key = %self.inner.record_key, "stored record is not encrypted; the next save encrypts it");
                }
                Zeroizing::new(data.to_vec())
            }
            (other, _) => {
                return Err(Error::auth(
                    AuthErrorKind::TokenStore,
                    format!("unknown record format {other:?}"),
                ));
            }
        };
        // Deliberately no serde detail: it could quote part of a token.
        serde_json::from_slice(&plain).map_err(|_| {
            Error::auth(
                AuthErrorKind::TokenStore,
                format!(
                    "the record at {} is not a token record",
                    self.inner.record_key
                ),
            )
        })
    }
}

async fn extend_while_held(inner: Arc<Inner>, fence: u64) {
    let period = inner.lock_ttl / 3;
    loop {
        inner.clock.sleep(period).await;
        let mut conn = inner.conn.clone();
        let extended: redis::RedisResult<i64> = inner
            .scripts
            .extend
            .key(&inner.lock_key)
            .arg(fence.to_string())
            .arg(ms(inner.lock_ttl))
            .invoke_async(&mut conn)
            .await;
        match extended {
            Ok(1) => {}
            Ok(_) => {
                tracing::warn!(key = %inner.lock_key, "refresh lock lapsed while held; saves are now compare-and-set only");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %store_error("extend lock", &e), "could not extend the refresh lock");
            }
        }
    }
}

/// A held refresh lock; dropping it stops the extensions and releases it (if still ours).
struct RedisLockGuard {
    fence: u64,
    inner: Arc<Inner>,
    extender: tokio::task::JoinHandle<()>,
}

impl TokenLockGuard for RedisLockGuard {
    fn fence(&self) -> u64 {
        self.fence
    }
}

impl Drop for RedisLockGuard {
    fn drop(&mut self) {
        self.extender.abort();
        self.inner.bases().remove(&self.fence);
        release(&self.inner, self.fence);
    }
}

/// Releases the lock if `fence` still holds it (compare-and-delete), in a task of its own.
fn release(inner: &Arc<Inner>, fence: u64) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        tracing::debug!("no runtime to release the refresh lock; it expires by itself");
        return;
    };
    let inner = inner.clone();
    handle.spawn(async move {
        let mut conn = inner.conn.clone();
        let released: redis::RedisResult<i64> = inner
            .scripts
            .unlock
            .key(&inner.lock_key)
            .arg(fence.to_string())
            .invoke_async(&mut conn)
            .await;
        match released {
            Ok(1) => tracing::debug!(key = %inner.lock_key, "refresh lock released"),
            Ok(_) => tracing::debug!(key = %inner.lock_key, "refresh lock had already lapsed"),
            Err(e) => tracing::warn!(error = %store_error("unlock", &e), "refresh lock not released; it expires by itself"),
        }
    });
}

/// Armed while a lock attempt is on its way: if the attempt is dropped (or fails) before its
/// answer is read, Redis may have set the lock all the same, under a fence nobody holds; this
/// releases it then instead of leaving every other holder waiting for its expiry.
struct ReleaseUnlessTaken {
    inner: Arc<Inner>,
    fence: u64,
    armed: bool,
}

impl Drop for ReleaseUnlessTaken {
    fn drop(&mut self) {
        if self.armed {
            release(&self.inner, self.fence);
        }
    }
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn load(&self) -> Result<Option<TokenRecord>> {
        let loaded = self.load_versioned().await?;
        // A refresh under one of our locks is based on what it read last.
        let version = loaded.as_ref().map_or(0, |v| v.version);
        for base in self.inner.bases().values_mut() {
            *base = version;
        }
        Ok(loaded.map(|v| v.record))
    }

    async fn save(&self, record: &TokenRecord) -> Result<()> {
        self.compare_and_set(record, None).await.map(|_| ())
    }

    async fn lock(&self) -> Result<Box<dyn TokenLockGuard>> {
        loop {
            match self.attempt_lock().await? {
                Ok(guard) => return Ok(Box::new(guard)),
                Err(remaining) => {
                    let poll = self.inner.poll;
                    let jittered = rand::rng().random_range(poll / 2..=poll);
                    tracing::trace!(key = %self.inner.lock_key, "refresh lock busy; waiting");
                    self.inner.clock.sleep(jittered.min(remaining)).await;
                }
            }
        }
    }

    /// Compare-and-set against the version read when the lock was taken (or by the last load
    /// under it). When a newer pair was stored meanwhile (this holder's lock lapsed and another
    /// worker rotated), the older pair is **not** written and the answer is
    /// [`SaveOutcome::Superseded`]: the credential loads and uses the newer pair.
    /// See [`conflicts`](RedisTokenStore::conflicts).
    async fn save_locked(&self, record: &TokenRecord, fence: u64) -> Result<SaveOutcome> {
        let base = self.inner.bases().get(&fence).copied();
        let Some(base) = base else {
            return Err(Error::auth(
                AuthErrorKind::TokenStore,
                "save_locked with a lock this store does not hold",
            ));
        };
        match self.compare_and_set(record, Some(base)).await? {
            CasOutcome::Saved { version } => {
                if let Some(b) = self.inner.bases().get_mut(&fence) {
                    *b = version;
                }
                Ok(SaveOutcome::Saved)
            }
            CasOutcome::Conflict { current } => {
                self.inner.conflicts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    key = %self.inner.record_key,
                    expected = base,
                    current,
                    "a newer token pair was stored while our lock had lapsed; keeping it"
                );
                Ok(SaveOutcome::Superseded)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RedisServer;
    use shoal_auth::ExposeSecret as _;

    fn record(access: &str, refresh: &str) -> TokenRecord {
        TokenRecord::unknown_age(access.into(), refresh.into())
    }

    async fn store(server: &RedisServer) -> RedisTokenStore {
        RedisTokenStore::builder("t")
            .prefix("test:")
            .lock_ttl(Duration::from_millis(600))
            .poll_interval(Duration::from_millis(10))
            .connect(&server.url())
            .await
            .unwrap()
    }

    fn raw(server: &RedisServer) -> redis::Connection {
        server.client().get_connection().unwrap()
    }

    #[test]
    fn debug_output_shows_no_key_or_token() {
        let key = EncryptionKey::from_bytes([0x41; 32]);
        let builder = RedisTokenStore::builder("n").encryption_key(key);
        let shown = format!("{builder:?}");
        assert!(shown.contains("EncryptionKey([redacted])"), "{shown}");
        assert!(
            !shown.contains("AAAA") && !shown.contains("65, 65"),
            "{shown}"
        );
        let rec = format!("{:?}", record("ACCESS-X", "REFRESH-X"));
        assert!(
            !rec.contains("ACCESS-X") && !rec.contains("REFRESH-X"),
            "{rec}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn compare_and_set_writes_only_over_the_expected_version() {
        let server = RedisServer::start();
        let s = store(&server).await;
        assert!(s.load_versioned().await.unwrap().is_none());
        assert_eq!(
            s.compare_and_set(&record("A1", "R1"), Some(0))
                .await
                .unwrap(),
            CasOutcome::Saved { version: 1 }
        );
        assert_eq!(
            s.compare_and_set(&record("A0", "R0"), Some(0))
                .await
                .unwrap(),
            CasOutcome::Conflict { current: 1 },
            "an older base cannot overwrite"
        );
        let v = s.load_versioned().await.unwrap().unwrap();
        assert_eq!(v.version, 1);
        assert_eq!(v.record.access_token.expose_secret(), "A1");
        s.save(&record("A2", "R2")).await.unwrap();
        assert_eq!(s.load_versioned().await.unwrap().unwrap().version, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_lock_is_exclusive_fenced_and_released_by_its_holder_only() {
        let server = RedisServer::start();
        let a = store(&server).await;
        let b = store(&server).await;
        let guard = a.lock().await.unwrap();
        assert!(b.try_lock().await.unwrap().is_none(), "held by a");
        let mut conn = raw(&server);
        let value: String = redis::cmd("GET")
            .arg(a.lock_key())
            .query(&mut conn)
            .unwrap();
        assert_eq!(
            value,
            guard.fence().to_string(),
            "the value is the fencing value"
        );
        // Compare-and-delete: a stale holder's release does not free someone else's lock.
        let foreign: i64 = a
            .inner
            .scripts
            .unlock
            .key(a.lock_key())
            .arg("12345")
            .invoke(&mut conn)
            .unwrap();
        assert_eq!(foreign, 0);
        assert!(b.try_lock().await.unwrap().is_none());
        drop(guard);
        let waited = tokio::time::timeout(Duration::from_secs(10), b.lock()).await;
        let second = waited.expect("released promptly").unwrap();
        assert_ne!(second.fence(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_held_lock_is_extended_and_a_crashed_holders_lock_expires() {
        let server = RedisServer::start();
        let a = store(&server).await;
        let b = store(&server).await;
        let guard = a.attempt_lock().await.unwrap().unwrap();
        tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(1500)))
            .await
            .unwrap();
        assert!(
            b.try_lock().await.unwrap().is_none(),
            "still held after 2.5 lock lifetimes"
        );
        // A crash: extensions stop and nobody releases (forget skips Drop).
        guard.extender.abort();
        std::mem::forget(guard);
        let waited = tokio::time::timeout(Duration::from_secs(10), b.lock()).await;
        assert!(waited.expect("the lapsed lock is taken").is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lapsed_holder_cannot_overwrite_the_newer_pair() {
        let server = RedisServer::start();
        let a = store(&server).await;
        let b = store(&server).await;
        a.save(&record("A1", "R1")).await.unwrap();
        let slow = a.lock().await.unwrap();
        assert_eq!(
            a.load()
                .await
                .unwrap()
                .unwrap()
                .access_token
                .expose_secret(),
            "A1"
        );
        // a's lock lapses (simulated: the key is deleted) and b rotates.
        let mut conn = raw(&server);
        let _: () = redis::cmd("DEL")
            .arg(a.lock_key())
            .query(&mut conn)
            .unwrap();
        let fast = b.lock().await.unwrap();
        b.load().await.unwrap();
        b.save_locked(&record("A2", "R2"), fast.fence())
            .await
            .unwrap();
        drop(fast);
        // a finishes late with a pair based on version 1: refused, the newer pair stays.
        let outcome = a
            .save_locked(&record("A-old", "R-old"), slow.fence())
            .await
            .unwrap();
        assert_eq!(outcome, SaveOutcome::Superseded);
        assert_eq!(a.conflicts(), 1);
        let stored = a.load().await.unwrap().unwrap();
        assert_eq!(stored.access_token.expose_secret(), "A2");
        assert_eq!(stored.refresh_token.unwrap().expose_secret(), "R2");
        assert!(
            a.save_locked(&record("x", "y"), 777).await.is_err(),
            "unknown fence"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn encrypted_records_hold_no_token_and_need_the_key() {
        let server = RedisServer::start();
        let key = EncryptionKey::generate();
        let s = RedisTokenStore::builder("enc")
            .encryption_key(key.clone())
            .connect(&server.url())
            .await
            .unwrap();
        s.save(&record("ACCESS-SECRET-1", "REFRESH-SECRET-1"))
            .await
            .unwrap();
        let mut conn = raw(&server);
        let stored: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
            .arg(s.record_key())
            .query(&mut conn)
            .unwrap();
        let all: Vec<u8> = stored.values().flatten().copied().collect();
        let text = String::from_utf8_lossy(&all);
        assert!(!text.contains("ACCESS-SECRET") && !text.contains("REFRESH-SECRET"));
        assert_eq!(stored["format"], b"aes-256-gcm");
        let back = s.load().await.unwrap().unwrap();
        assert_eq!(back.access_token.expose_secret(), "ACCESS-SECRET-1");
        // Without the key, or with another, the record is refused without leaking anything.
        let plain = RedisTokenStore::builder("enc")
            .connect(&server.url())
            .await
            .unwrap();
        let err = plain.load().await.unwrap_err().to_string();
        assert!(err.contains("encrypted"), "{err}");
        let wrong = RedisTokenStore::builder("enc")
            .encryption_key(EncryptionKey::generate())
            .connect(&server.url())
            .await
            .unwrap();
        let err = wrong.load().await.unwrap_err().to_string();
        assert!(
            err.contains("does not decrypt") && !err.contains("SECRET"),
            "{err}"
        );
        assert!(!format!("{s:?}").contains("SECRET"));
    }
}
