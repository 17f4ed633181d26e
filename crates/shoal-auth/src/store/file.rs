//! [`FileTokenStore`]: a JSON token file written atomically (temp file, fsync, rename), mode
//! 0600, with a lock file that serializes refreshes across processes.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rand::RngCore as _;
use shoal_core::{AuthErrorKind, Error, Result};

use super::{TokenLockGuard, TokenStore};
use crate::record::TokenRecord;

/// A token file shared by every process that opens the same path.
///
/// The refresh lock is an advisory `flock` on `<file>.lock`, held for the whole refresh; each
/// holder re-reads the file after taking it because another process may have rotated already.
#[derive(Clone, Debug)]
pub struct FileTokenStore {
    path: PathBuf,
    lock_path: PathBuf,
}

fn store_error(what: &str, path: &Path, err: impl fmt::Display) -> Error {
    Error::auth(
        AuthErrorKind::TokenStore,
        format!("{what} {}: {err}", path.display()),
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Error::auth(
            AuthErrorKind::TokenStore,
            format!("token store task failed: {e}"),
        )
    })?
}

impl FileTokenStore {
    /// A store at `path`; the lock file is `path` with `.lock` appended. Nothing is created until
    /// the first save or lock.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        Self {
            path,
            lock_path: PathBuf::from(lock),
        }
    }

    /// The token file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the token file exists and only its owner may read or write it (mode `0600` or
    /// tighter on Unix; always true elsewhere). `None` when it does not exist.
    pub fn is_private(&self) -> std::io::Result<Option<bool>> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            Ok(Some(meta.permissions().mode() & 0o077 == 0))
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Ok(Some(true))
        }
    }

    fn read(path: &Path) -> Result<Option<TokenRecord>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(store_error("cannot read", path, e)),
        };
        // serde_json's message names a position, never the content.
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| store_error("cannot parse", path, e))
    }

    fn write(path: &Path, record: &TokenRecord) -> Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let json = serde_json::to_vec_pretty(record)
            .map_err(|e| store_error("cannot encode for", path, e))?;
        // tempfile creates the file 0600 on Unix, before any byte is written.
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)
            .map_err(|e| store_error("cannot create a temp file beside", path, e))?;
        tmp.write_all(&json)
            .map_err(|e| store_error("cannot write", path, e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| store_error("cannot sync", path, e))?;
        tmp.persist(path)
            .map_err(|e| store_error("cannot replace", path, e.error))?;
        #[cfg(unix)]
        if let Ok(d) = File::open(&dir) {
            // The rename is durable only once the directory entry is.
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn open_lock(path: &Path) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path)
    }
}

struct FileGuard {
    file: File,
    fence: u64,
}

impl TokenLockGuard for FileGuard {
    fn fence(&self) -> u64 {
        self.fence
    }
}

impl Drop for FileGuard {
    fn drop(&mut self) {
        // Closing the descriptor releases the flock too; unlocking first is just prompt.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

#[async_trait]
impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Option<TokenRecord>> {
        let path = self.path.clone();
        blocking(move || Self::read(&path)).await
    }

    async fn save(&self, record: &TokenRecord) -> Result<()> {
        let path = self.path.clone();
        let record = record.clone();
        blocking(move || Self::write(&path, &record)).await?;
        tracing::debug!(path = %self.path.display(), "token file saved");
        Ok(())
    }

    async fn lock(&self) -> Result<Box<dyn TokenLockGuard>> {
        let path = self.lock_path.clone();
        let guard = blocking(move || {
            let file = Self::open_lock(&path)
                .map_err(|e| store_error("cannot open lock file", &path, e))?;
            fs4::FileExt::lock(&file).map_err(|e| store_error("cannot lock", &path, e))?;
            Ok(FileGuard {
                file,
                fence: rand::rng().next_u64(),
            })
        })
        .await?;
        Ok(Box::new(guard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret as _;

    #[tokio::test]
    async fn saves_atomically_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("tokens.json"));
        assert!(store.load().await.unwrap().is_none());
        store
            .save(&TokenRecord::unknown_age("A1".into(), "R1".into()))
            .await
            .unwrap();
        store
            .save(&TokenRecord::unknown_age("A2".into(), "R2".into()))
            .await
            .unwrap();
        let rec = store.load().await.unwrap().unwrap();
        assert_eq!(rec.refresh_token.unwrap().expose_secret(), "R2");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temp file left behind: {names:?}");
    }

    #[test]
    fn privacy_is_reported_for_missing_private_and_shared_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("t.json"));
        assert_eq!(store.is_private().unwrap(), None);
        FileTokenStore::write(
            store.path(),
            &TokenRecord::unknown_age("A".into(), "R".into()),
        )
        .unwrap();
        assert_eq!(store.is_private().unwrap(), Some(true));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(store.is_private().unwrap(), Some(false));
        }
    }

    #[tokio::test]
    async fn lock_excludes_another_descriptor_on_the_same_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = FileTokenStore::new(dir.path().join("t.json"));
        let held = a.lock().await.unwrap();
        let other = FileTokenStore::open_lock(&a.lock_path).unwrap();
        assert!(
            fs4::FileExt::try_lock(&other).is_err(),
            "a second descriptor got the lock"
        );
        drop(held);
        assert!(fs4::FileExt::try_lock(&other).is_ok());
        fs4::FileExt::unlock(&other).unwrap();
        // And through the store: a second store on the same path now gets it.
        let b = FileTokenStore::new(dir.path().join("t.json"));
        drop(b.lock().await.unwrap());
    }

    #[tokio::test]
    async fn a_corrupt_file_is_a_store_error_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, "{\"access_token\": \"CANARY\"").unwrap();
        let err = FileTokenStore::new(&path).load().await.unwrap_err();
        assert_eq!(err.auth_error().unwrap().kind, AuthErrorKind::TokenStore);
        assert!(!format!("{err} {err:?}").contains("CANARY"));
    }
}
