//! Small durable-file helpers shared by the bulk jobs: atomic replace, directory sync, sidecar
//! paths.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::exit::{CliError, CliResult};

/// `FILE` + `.suffix` (e.g. `out.ndjson.checkpoint`), in the same directory as `FILE`.
pub fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes a rename or unlink in `dir` durable (a no-op where directories cannot be opened).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Replaces `path` with `bytes` atomically: a temp file beside it is written and synced, then
/// renamed over `path`, then the directory is synced. A crash leaves the old or the new content,
/// never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let dir = parent_dir(path);
    let fail = |e: std::io::Error| CliError::io(format!("cannot write {}", path.display()), e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".shoal-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Removes `path` if it exists, then syncs its directory.
pub fn remove_durably(path: &Path) -> CliResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            sync_dir(parent_dir(path));
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::io(format!("cannot remove {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_sit_beside_the_file() {
        assert_eq!(
            sidecar(Path::new("/tmp/a.ndjson"), "checkpoint"),
            PathBuf::from("/tmp/a.ndjson.checkpoint")
        );
        assert_eq!(parent_dir(Path::new("a.csv")), Path::new("."));
    }

    #[test]
    fn atomic_write_replaces_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two!").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two!");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file left behind");
        remove_durably(&p).unwrap();
        remove_durably(&p).unwrap();
        assert!(!p.exists());
    }
}
