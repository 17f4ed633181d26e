//! The SQLite destination (rusqlite, SQLite bundled): one connection in WAL mode, used from
//! tokio's blocking pool; audiences of one process take turns through in-process locks.
//!
//! WAL with `synchronous=NORMAL` survives a killed process without losing a committed
//! transaction; after a power loss the newest commits may be missing, but a page's rows and its
//! cursor always go (or stay) together, so the next run fetches exactly what is missing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::schema::{self, VERSION_TABLE};
use super::{
    AudienceState, LockPolicy, Merged, NewRun, OpenRun, PageWrite, Point, RunMark, Session, Store,
    count_i64, key_i64, stored_ts, window_from, window_text,
};
use crate::error::{SyncError, SyncResult};
use crate::timefmt::ts;
use crate::url::DbUrl;

struct Inner {
    url: DbUrl,
    conn: Mutex<Connection>,
}

/// A SQLite database file.
pub(crate) struct SqliteStore {
    inner: Arc<Inner>,
    locks: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
}

fn db_err<'a>(url: &'a DbUrl, doing: &'static str) -> impl Fn(rusqlite::Error) -> SyncError + 'a {
    move |e| match e.sqlite_error_code() {
        Some(ErrorCode::ReadOnly) => SyncError::ReadOnly { url: url.clone() },
        Some(ErrorCode::NotADatabase) => SyncError::Connect {
            url: url.clone(),
            reason: "the file is not a SQLite database".into(),
        },
        _ => SyncError::Database {
            url: url.clone(),
            doing,
            reason: e.to_string(),
        },
    }
}

/// The recorded schema version (0 when the database has none yet).
fn version(conn: &Connection, url: &DbUrl) -> SyncResult<i64> {
    let has: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [VERSION_TABLE],
            |r| r.get(0),
        )
        .map_err(db_err(url, "reading the schema version"))?;
    if has == 0 {
        return Ok(0);
    }
    conn.query_row(
        &format!("SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}"),
        [],
        |r| r.get(0),
    )
    .map_err(db_err(url, "reading the schema version"))
}

fn migrate(conn: &mut Connection, url: &DbUrl) -> SyncResult<()> {
    let err = db_err(url, "migrating the schema");
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&err)?;
    tx.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    ))
    .map_err(&err)?;
    let found = version(&tx, url)?;
    schema::check_version(url, found)?;
    for (v, sql) in schema::SQLITE.iter().filter(|m| m.0 > found) {
        tx.execute_batch(sql).map_err(&err)?;
        tx.execute(
            &format!(
                "INSERT INTO {VERSION_TABLE} (version, applied_at) VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
            ),
            [v],
        )
        .map_err(&err)?;
    }
    tx.commit().map_err(&err)
}

fn open_conn(url: &DbUrl, flags: OpenFlags) -> SyncResult<Connection> {
    let path = url.sqlite_path().ok_or_else(|| SyncError::InvalidDbUrl {
        url: url.to_string(),
        reason: "not a SQLite URL".into(),
    })?;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| SyncError::Connect {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(db_err(url, "setting the busy timeout"))?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens the file (creating it, and for the default location its directory), refuses a
    /// read-only file, a non-database or a newer schema, then migrates.
    pub(crate) async fn open(url: &DbUrl) -> SyncResult<Self> {
        let url = url.clone();
        let conn = tokio::task::spawn_blocking(move || -> SyncResult<(Connection, DbUrl)> {
            if url.create_parent() {
                if let Some(dir) = url.sqlite_path().and_then(|p| p.parent()) {
                    std::fs::create_dir_all(dir).map_err(|e| SyncError::Connect {
                        url: url.clone(),
                        reason: format!("cannot create {}: {e}", dir.display()),
                    })?;
                }
            }
            let mut conn = open_conn(
                &url,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            check_writable(&conn, &url)?;
            let found = version(&conn, &url)?;
            schema::check_version(&url, found)?;
            let err = db_err(&url, "configuring the connection");
            // Rows hold a record twice (raw and columns), ~2 KiB: 16 KiB pages keep them out of
            // overflow chains. Only takes effect on a new file.
            if found == 0 {
                conn.execute_batch("PRAGMA page_size = 16384")
                    .map_err(&err)?;
            }
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map_err(&err)?;
            // NORMAL in WAL mode: no fsync per commit, only at checkpoints; checkpoints every
            // 64 MiB of WAL (4096 pages of 16 KiB) instead of SQLite's 1000 pages.
            conn.execute_batch(
                "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 4096; \
                 PRAGMA cache_size = -8192",
            )
            .map_err(&err)?;
            drop(err);
            migrate(&mut conn, &url)?;
            Ok((conn, url))
        })
        .await
        .map_err(|e| SyncError::InvalidInput(format!("the SQLite task failed: {e}")))??;
        Ok(Self::from_conn(conn.0, conn.1))
    }

    /// Opens an existing file read-only; `None` when it does not exist or has no schema.
    pub(crate) async fn open_read_only(url: &DbUrl) -> SyncResult<Option<Self>> {
        let url = url.clone();
        tokio::task::spawn_blocking(move || -> SyncResult<Option<Self>> {
            if !url.sqlite_path().is_some_and(|p| p.exists()) {
                return Ok(None);
            }
            let conn = open_conn(
                &url,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            let found = version(&conn, &url)?;
            schema::check_version(&url, found)?;
            Ok((found > 0).then(|| Self::from_conn(conn, url)))
        })
        .await
        .map_err(|e| SyncError::InvalidInput(format!("the SQLite task failed: {e}")))?
    }

    fn from_conn(conn: Connection, url: DbUrl) -> Self {
        Self {
            inner: Arc::new(Inner {
                url,
                conn: Mutex::new(conn),
            }),
            locks: Mutex::new(HashMap::new()),
        }
    }
}

/// Refuses a connection SQLite opened read-only (it does so silently for a write-protected
/// file).
pub(crate) fn check_writable(conn: &Connection, url: &DbUrl) -> SyncResult<()> {
    let ro = conn
        .is_readonly(rusqlite::MAIN_DB)
        .map_err(db_err(url, "opening"))?;
    if ro {
        return Err(SyncError::ReadOnly { url: url.clone() });
    }
    Ok(())
}

/// Runs `f` on the connection in tokio's blocking pool. The closure runs to its end even if
/// the caller's future is dropped: a transaction is committed whole or rolled back whole.
async fn blocking<T: Send + 'static>(
    inner: &Arc<Inner>,
    f: impl FnOnce(&mut Connection, &DbUrl) -> SyncResult<T> + Send + 'static,
) -> SyncResult<T> {
    let inner = inner.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = inner
            .conn
            .lock()
            .map_err(|_| SyncError::InvalidInput("the SQLite connection was poisoned".into()))?;
        f(&mut conn, &inner.url)
    })
    .await
    .map_err(|e| SyncError::InvalidInput(format!("the SQLite task failed: {e}")))?
}

fn read_state(conn: &Connection, url: &DbUrl, audience: i64) -> SyncResult<AudienceState> {
    let err = db_err(url, "reading the audience's runs");
    let open = conn
        .query_row(
            "SELECT run_id, sync_window, started_at, cursor, pages FROM sync_runs
             WHERE audience_key = ?1 AND status = 'running' ORDER BY run_id DESC LIMIT 1",
            [audience],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()
        .map_err(&err)?;
    let open = match open {
        None => None,
        Some((run_id, window, started, cursor, pages)) => Some(OpenRun {
            run_id,
            window: window_from(url, &window)?,
            started_at: stored_ts(url, &started)?,
            cursor,
            pages: u64::try_from(pages).unwrap_or(0),
        }),
    };
    let last: Option<String> = conn
        .query_row(
            "SELECT started_at FROM sync_runs
             WHERE audience_key = ?1 AND status = 'done' ORDER BY run_id DESC LIMIT 1",
            [audience],
            |r| r.get(0),
        )
        .optional()
        .map_err(&err)?;
    Ok(AudienceState {
        open,
        last_done_start: last.map(|t| stored_ts(url, &t)).transpose()?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn session(&self, key: u64, policy: LockPolicy) -> SyncResult<Option<Box<dyn Session>>> {
        let lock = {
            let mut locks = self
                .locks
                .lock()
                .map_err(|_| SyncError::InvalidInput("the lock table was poisoned".into()))?;
            locks.entry(key).or_default().clone()
        };
        let guard = match policy {
            LockPolicy::Wait => lock.lock_owned().await,
            LockPolicy::Skip => match lock.try_lock_owned() {
                Ok(g) => g,
                Err(_) => return Ok(None),
            },
        };
        Ok(Some(Box::new(SqliteSession {
            inner: self.inner.clone(),
            _guard: guard,
        })))
    }

    async fn peek(&self, key: u64) -> SyncResult<AudienceState> {
        let audience = key_i64(key)?;
        blocking(&self.inner, move |c, url| read_state(c, url, audience)).await
    }
}

struct SqliteSession {
    inner: Arc<Inner>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

const INSERT: &str = "INSERT INTO records (audience_key, id, first_name, last_name, email,
        company_name, phones, addresses, company, sessions, raw, first_seen_at, last_seen_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
    ON CONFLICT (audience_key, id) DO NOTHING";

/// The later copy wins; `first_seen_at` is kept. Matches no row when the raw JSON is the same.
const UPDATE_CHANGED: &str = "UPDATE records SET first_name = ?3, last_name = ?4, email = ?5,
        company_name = ?6, phones = ?7, addresses = ?8, company = ?9, sessions = ?10,
        raw = ?11, last_seen_at = ?12
    WHERE audience_key = ?1 AND id = ?2 AND raw IS NOT ?11";

const ADVANCE: &str = "UPDATE sync_runs SET cursor = ?1, pages = pages + 1,
        records = records + ?2, inserted = inserted + ?3, updated = updated + ?4,
        unchanged = unchanged + ?5, skipped = skipped + ?6,
        status = CASE WHEN ?1 IS NULL THEN 'done' ELSE 'running' END,
        finished_at = CASE WHEN ?1 IS NULL THEN ?7 ELSE NULL END,
        last_error = NULL
    WHERE run_id = ?8 AND status = 'running' AND cursor IS ?9";

#[async_trait]
impl Session for SqliteSession {
    async fn state(&mut self, audience: i64) -> SyncResult<AudienceState> {
        blocking(&self.inner, move |c, url| read_state(c, url, audience)).await
    }

    async fn start_run(&mut self, run: NewRun<'_>) -> SyncResult<i64> {
        let (audience, name, window, started, note) = (
            run.audience,
            run.name.to_owned(),
            window_text(run.window),
            ts(run.started_at),
            run.note.map(str::to_owned),
        );
        blocking(&self.inner, move |c, url| {
            let err = db_err(url, "starting a run");
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(&err)?;
            tx.execute(
                "INSERT INTO audiences (key, name) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET name = excluded.name",
                params![audience, name],
            )
            .map_err(&err)?;
            tx.execute(
                "INSERT INTO sync_runs (audience_key, sync_window, started_at, status, note)
                 VALUES (?1, ?2, ?3, 'running', ?4)",
                params![audience, window, started, note],
            )
            .map_err(&err)?;
            let id = tx.last_insert_rowid();
            tx.commit().map_err(&err)?;
            Ok(id)
        })
        .await
    }

    async fn mark_run(&mut self, run_id: i64, mark: RunMark<'_>) -> SyncResult<()> {
        let (sql, doing, text) = mark.statement('?');
        let text = text.to_owned();
        blocking(&self.inner, move |c, url| {
            c.execute(&sql, params![run_id, text])
                .map_err(db_err(url, doing))?;
            Ok(())
        })
        .await
    }

    async fn commit_page(&mut self, page: PageWrite) -> SyncResult<Merged> {
        blocking(&self.inner, move |c, url| commit(c, url, page)).await
    }
}

fn commit(c: &mut Connection, url: &DbUrl, page: PageWrite) -> SyncResult<Merged> {
    let err = db_err(url, "writing a page");
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&err)?;
    let seen = ts(page.seen_at);
    let mut merged = Merged::default();
    {
        // New rows cost one statement; an existing row two (changed) or three (unchanged).
        let mut insert = tx.prepare_cached(INSERT).map_err(&err)?;
        let mut update = tx.prepare_cached(UPDATE_CHANGED).map_err(&err)?;
        let mut touch = tx
            .prepare_cached(
                "UPDATE records SET last_seen_at = ?3 WHERE audience_key = ?1 AND id = ?2",
            )
            .map_err(&err)?;
        for row in &page.rows {
            let values = params![
                page.audience,
                row.id(),
                row.first_name(),
                row.last_name(),
                row.email(),
                row.company_name(),
                row.phones(),
                row.addresses(),
                row.company(),
                row.sessions(),
                row.raw(),
                seen,
            ];
            if insert.execute(values).map_err(&err)? == 1 {
                merged.inserted += 1;
            } else if update.execute(values).map_err(&err)? == 1 {
                merged.updated += 1;
            } else {
                merged.unchanged += 1;
                touch
                    .execute(params![page.audience, row.id(), seen])
                    .map_err(&err)?;
            }
        }
    }
    let now = ts(page.now);
    let moved = tx
        .execute(
            ADVANCE,
            params![
                page.next_cursor,
                count_i64(page.records),
                count_i64(merged.inserted),
                count_i64(merged.updated),
                count_i64(merged.unchanged),
                count_i64(page.skipped),
                now,
                page.run_id,
                page.expect_cursor,
            ],
        )
        .map_err(&err)?;
    if moved != 1 {
        return Err(page.superseded());
    }
    if page.next_cursor.is_none() {
        tx.execute(
            "UPDATE audiences SET last_synced_at = ?2 WHERE key = ?1",
            params![page.audience, now],
        )
        .map_err(&err)?;
    }
    if let Some(hook) = &page.hook {
        hook(Point::BeforeCommit {
            audience: u64::try_from(page.audience).unwrap_or(0),
            page: page.page_index,
        });
    }
    tx.commit().map_err(&err)?;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_opened_read_only_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (a)")
            .unwrap();
        let url = DbUrl::sqlite(&path);
        let conn = open_conn(&url, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let err = check_writable(&conn, &url).unwrap_err();
        assert!(matches!(err, SyncError::ReadOnly { .. }), "{err}");
        assert!(err.to_string().contains("read-only"), "{err}");
    }
}
