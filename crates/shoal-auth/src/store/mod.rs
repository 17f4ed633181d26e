//! Token stores: the [`TokenStore`] trait with its refresh lock, and an in-memory store.
//!
//! The lock is what keeps two holders of one refresh token from both redeeming it (a rotating
//! server would revoke the family). It is an owned guard so a distributed store can implement it
//! as `SET key fence NX PX ttl` and release with a compare-and-delete on the fencing value.

mod file;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use shoal_core::Result;
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use file::FileTokenStore;

use crate::record::TokenRecord;

/// Where a credential's tokens live between runs and across processes.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// The stored record, if any.
    async fn load(&self) -> Result<Option<TokenRecord>>;

    /// Replaces the stored record durably; returns only once it is safe from a crash.
    async fn save(&self, record: &TokenRecord) -> Result<()>;

    /// Takes the refresh lock, waiting while another holder (task or process) has it.
    async fn lock(&self) -> Result<Box<dyn TokenLockGuard>>;

    /// Saves while holding the lock whose [`TokenLockGuard::fence`] is `fence`. A store with
    /// expiring locks checks the fencing value so a holder whose lock lapsed cannot overwrite a
    /// newer pair: it answers [`SaveOutcome::Superseded`] and keeps the newer pair, which the
    /// caller then loads and uses. The default just saves.
    async fn save_locked(&self, record: &TokenRecord, fence: u64) -> Result<SaveOutcome> {
        let _ = fence;
        self.save(record).await.map(|()| SaveOutcome::Saved)
    }
}

/// What became of a [`TokenStore::save_locked`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaveOutcome {
    /// The record is stored.
    Saved,
    /// A newer record was stored meanwhile (this holder's lock had lapsed); it was kept and the
    /// given one was not written.
    Superseded,
}

/// A held refresh lock; dropping it releases the lock.
pub trait TokenLockGuard: Send + Sync {
    /// The fencing value that identifies this holder (unique per acquisition).
    fn fence(&self) -> u64;
}

impl fmt::Debug for dyn TokenLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenLockGuard")
            .field("fence", &self.fence())
            .finish()
    }
}

/// A process-local store: the record in memory, the lock a tokio mutex. Clones share both.
#[derive(Clone, Default)]
pub struct MemoryTokenStore {
    record: Arc<std::sync::Mutex<Option<TokenRecord>>>,
    lock: Arc<Mutex<u64>>,
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.record.lock().map(|r| r.is_some()).unwrap_or(false);
        f.debug_struct("MemoryTokenStore")
            .field("has_record", &held)
            .finish()
    }
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `record` (e.g. a service account's given pair).
    pub fn with_record(record: TokenRecord) -> Self {
        let store = Self::default();
        *store.record.lock().unwrap_or_else(|e| e.into_inner()) = Some(record);
        store
    }
}

struct MemoryGuard(OwnedMutexGuard<u64>);

impl TokenLockGuard for MemoryGuard {
    fn fence(&self) -> u64 {
        *self.0
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<TokenRecord>> {
        Ok(self
            .record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    async fn save(&self, record: &TokenRecord) -> Result<()> {
        *self.record.lock().unwrap_or_else(|e| e.into_inner()) = Some(record.clone());
        Ok(())
    }

    async fn lock(&self) -> Result<Box<dyn TokenLockGuard>> {
        let mut guard = self.lock.clone().lock_owned().await;
        *guard += 1;
        Ok(Box::new(MemoryGuard(guard)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret as _;

    #[tokio::test]
    async fn memory_store_saves_and_locks_exclusively() {
        let store = MemoryTokenStore::new();
        assert!(store.load().await.unwrap().is_none());
        store
            .save(&TokenRecord::unknown_age("A".into(), "R".into()))
            .await
            .unwrap();
        let loaded = store.load().await.unwrap().unwrap();
        assert_eq!(loaded.access_token.expose_secret(), "A");

        let first = store.lock().await.unwrap();
        let other = store.clone();
        let waiter = tokio::spawn(async move { other.lock().await.unwrap().fence() });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        let fence = first.fence();
        drop(first);
        assert_eq!(waiter.await.unwrap(), fence + 1);
    }
}
