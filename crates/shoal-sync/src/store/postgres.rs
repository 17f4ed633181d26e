//! The Postgres destination (tokio-postgres, no TLS yet): one connection per audience session,
//! holding a session-level advisory lock on the audience so that many workers — processes or
//! machines — can share one database and only one syncs a given audience at a time.
//!
//! A page is, in one transaction: an insert of its new rows (an `unnest` of column arrays), a
//! merge of the rows that were already there (counted against them as they were before it),
//! and one compare-and-set on the run's cursor.

use std::collections::HashSet;
use std::error::Error as _;
use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls};

use super::schema::{self, SCHEMA_VERSION, VERSION_TABLE};
use super::{
    AudienceState, LockPolicy, Merged, NewRun, OpenRun, PageWrite, Point, RunMark, Session, Store,
    count_i64, key_i64, stored_ts, window_from, window_text,
};
use crate::error::{SyncError, SyncResult};
use crate::row::RecordRow;
use crate::timefmt::ts;
use crate::url::DbUrl;

/// The advisory lock key serializing migrations (any fixed value; "shoalsyn" in ASCII).
const MIGRATE_LOCK: i64 = 0x73686f616c73796e;

/// The Postgres advisory lock key (`pg_advisory_lock(bigint)`) a sync holds while it syncs
/// audience `audience`: FNV-1a of a name space and the key, so that it is unlikely to meet
/// another application's locks. An operator can see who holds it in `pg_locks`
/// (`objid`/`classid` are its halves).
pub fn lock_key(audience: u64) -> i64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in b"shoal-sync/audience/"
        .iter()
        .chain(audience.to_be_bytes().iter())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// A Postgres database.
pub(crate) struct PgStore {
    url: DbUrl,
    config: Config,
}

fn reason(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn pg_err<'a>(
    url: &'a DbUrl,
    doing: &'static str,
) -> impl Fn(tokio_postgres::Error) -> SyncError + 'a {
    move |e| {
        if e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) {
            return SyncError::ReadOnly { url: url.clone() };
        }
        SyncError::Database {
            url: url.clone(),
            doing,
            reason: url.redact_text(&reason(&e)),
        }
    }
}

const TS_TEXT: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"#;

impl PgStore {
    fn new(url: &DbUrl) -> SyncResult<Self> {
        let full = url.postgres_url().ok_or_else(|| SyncError::InvalidDbUrl {
            url: url.to_string(),
            reason: "not a Postgres URL".into(),
        })?;
        let mut config: Config =
            full.parse()
                .map_err(|e: tokio_postgres::Error| SyncError::InvalidDbUrl {
                    url: url.to_string(),
                    reason: url.redact_text(&reason(&e)),
                })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("shoal-sync");
        Ok(Self {
            url: url.clone(),
            config,
        })
    }

    async fn connect(&self) -> SyncResult<Client> {
        let (client, connection) =
            self.config
                .connect(NoTls)
                .await
                .map_err(|e| SyncError::Connect {
                    url: self.url.clone(),
                    reason: self.url.redact_text(&reason(&e)),
                })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "postgres connection closed");
            }
        });
        Ok(client)
    }

    /// Connects, refuses a newer schema, and migrates (serialized across workers by an
    /// advisory lock; each migration in the transaction that records it).
    pub(crate) async fn open(url: &DbUrl) -> SyncResult<Self> {
        let store = Self::new(url)?;
        let mut client = store.connect().await?;
        let url = store.url.clone();
        let err = pg_err(&url, "migrating the schema");
        let tx = client.transaction().await.map_err(&err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
            .await
            .map_err(&err)?;
        let found = version(&tx, &store.url).await?;
        schema::check_version(&store.url, found)?;
        if found < SCHEMA_VERSION {
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
                    version BIGINT PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            ))
            .await
            .map_err(&err)?;
            for (v, sql) in schema::POSTGRES.iter().filter(|m| m.0 > found) {
                tx.batch_execute(sql).await.map_err(&err)?;
                tx.execute(
                    &format!("INSERT INTO {VERSION_TABLE} (version) VALUES ($1)"),
                    &[v],
                )
                .await
                .map_err(&err)?;
            }
        }
        tx.commit().await.map_err(&err)?;
        drop(err);
        Ok(store)
    }

    /// Connects without writing; `None` when the database has no schema yet.
    pub(crate) async fn open_read_only(url: &DbUrl) -> SyncResult<Option<Self>> {
        let store = Self::new(url)?;
        let client = store.connect().await?;
        let found = version(&client, &store.url).await?;
        schema::check_version(&store.url, found)?;
        Ok((found > 0).then_some(store))
    }
}

async fn version(c: &impl tokio_postgres::GenericClient, url: &DbUrl) -> SyncResult<i64> {
    let err = pg_err(url, "reading the schema version");
    let exists: bool = c
        .query_one(
            &format!("SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL"),
            &[],
        )
        .await
        .map_err(&err)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(c.query_one(
        &format!("SELECT coalesce(max(version), 0)::int8 FROM {VERSION_TABLE}"),
        &[],
    )
    .await
    .map_err(&err)?
    .get(0))
}

async fn read_state(
    c: &impl tokio_postgres::GenericClient,
    url: &DbUrl,
    audience: i64,
) -> SyncResult<AudienceState> {
    let err = pg_err(url, "reading the audience's runs");
    let open = c
        .query_opt(
            &format!(
                "SELECT run_id, sync_window, to_char(started_at AT TIME ZONE 'UTC', {TS_TEXT}),
                        cursor, pages
                 FROM sync_runs WHERE audience_key = $1 AND status = 'running'
                 ORDER BY run_id DESC LIMIT 1"
            ),
            &[&audience],
        )
        .await
        .map_err(&err)?;
    let open = match open {
        None => None,
        Some(row) => {
            let window: String = row.get(1);
            let started: String = row.get(2);
            Some(OpenRun {
                run_id: row.get(0),
                window: window_from(url, &window)?,
                started_at: stored_ts(url, &started)?,
                cursor: row.get(3),
                pages: u64::try_from(row.get::<_, i64>(4)).unwrap_or(0),
            })
        }
    };
    let last = c
        .query_opt(
            &format!(
                "SELECT to_char(started_at AT TIME ZONE 'UTC', {TS_TEXT}) FROM sync_runs
                 WHERE audience_key = $1 AND status = 'done' ORDER BY run_id DESC LIMIT 1"
            ),
            &[&audience],
        )
        .await
        .map_err(&err)?;
    Ok(AudienceState {
        open,
        last_done_start: last
            .map(|r| stored_ts(url, &r.get::<_, String>(0)))
            .transpose()?,
    })
}

#[async_trait]
impl Store for PgStore {
    async fn session(&self, key: u64, policy: LockPolicy) -> SyncResult<Option<Box<dyn Session>>> {
        let client = self.connect().await?;
        let err = pg_err(&self.url, "taking the audience's advisory lock");
        let lock = lock_key(key);
        match policy {
            LockPolicy::Wait => {
                client
                    .execute("SELECT pg_advisory_lock($1)", &[&lock])
                    .await
                    .map_err(&err)?;
            }
            LockPolicy::Skip => {
                let got: bool = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&lock])
                    .await
                    .map_err(&err)?
                    .get(0);
                if !got {
                    return Ok(None);
                }
            }
        }
        // The lock lives as long as this connection: a killed worker's lock goes with it.
        Ok(Some(Box::new(PgSession {
            client,
            url: self.url.clone(),
        })))
    }

    async fn peek(&self, key: u64) -> SyncResult<AudienceState> {
        let client = self.connect().await?;
        read_state(&client, &self.url, key_i64(key)?).await
    }
}

struct PgSession {
    client: Client,
    url: DbUrl,
}

/// The page's columns as `unnest` input: `$2`..`$11` of [`INSERT_NEW`] and [`UPSERT`].
macro_rules! input {
    () => {
        "unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
            AS t(id, first_name, last_name, email, company_name,
                 phones, addresses, company, sessions, raw)"
    };
}

/// The new rows, in one statement: how many it inserted, and which (one array) when not all.
/// Most pages of a first sync are nothing else, and this costs one index probe per row. `$12`
/// is parsed once (a scalar subquery), not once per row.
const INSERT_NEW: &str = concat!(
    "WITH ins AS (
        INSERT INTO records (audience_key, id, first_name, last_name, email, company_name,
                             phones, addresses, company, sessions, raw, first_seen_at, last_seen_at)
        SELECT $1::int8, id, first_name, last_name, email, company_name,
               phones::jsonb, addresses::jsonb, company::jsonb, sessions::jsonb, raw,
               (SELECT $12::text::timestamptz), (SELECT $12::text::timestamptz)
        FROM ",
    input!(),
    "
        ON CONFLICT (audience_key, id) DO NOTHING
        RETURNING id
    )
    -- The ids only when some row was there already: a first sync's pages send none back.
    SELECT count(*)::int8,
           CASE WHEN count(*) < cardinality($2::text[]) THEN array_agg(id) END
    FROM ins"
);

/// The rows [`INSERT_NEW`] found already there: merged, and counted against the rows as they
/// were before.
const UPSERT: &str = concat!(
    "WITH input AS (
        SELECT * FROM ",
    input!(),
    "
    ), old AS (
        -- One primary-key lookup per id: a LATERAL subquery with LIMIT is never flattened into
        -- a join. A join (or `= ANY`) lets the planner, on the stale statistics of a table
        -- that grows during the sync, scan the whole audience for every page instead.
        SELECT i.id, o.raw FROM input i CROSS JOIN LATERAL (
            SELECT r.raw FROM records r WHERE r.audience_key = $1::int8 AND r.id = i.id LIMIT 1
        ) o
    ), up AS (
        INSERT INTO records (audience_key, id, first_name, last_name, email, company_name,
                             phones, addresses, company, sessions, raw, first_seen_at, last_seen_at)
        SELECT $1::int8, id, first_name, last_name, email, company_name,
               phones::jsonb, addresses::jsonb, company::jsonb, sessions::jsonb, raw,
               (SELECT $12::text::timestamptz), (SELECT $12::text::timestamptz)
        FROM input
        ON CONFLICT (audience_key, id) DO UPDATE SET
            first_name = excluded.first_name, last_name = excluded.last_name,
            email = excluded.email, company_name = excluded.company_name,
            phones = excluded.phones, addresses = excluded.addresses,
            company = excluded.company, sessions = excluded.sessions,
            raw = excluded.raw, last_seen_at = excluded.last_seen_at
        RETURNING 1
    )
    SELECT count(*) FILTER (WHERE old.id IS NULL)::int8,
           count(*) FILTER (WHERE old.id IS NOT NULL AND old.raw <> i.raw)::int8,
           (SELECT count(*) FROM up)::int8
    FROM input i LEFT JOIN old ON old.id = i.id"
);

const ADVANCE: &str = "UPDATE sync_runs SET cursor = $1::text, pages = pages + 1,
        records = records + $2, inserted = inserted + $3, updated = updated + $4,
        unchanged = unchanged + $5, skipped = skipped + $6,
        status = CASE WHEN $1::text IS NULL THEN 'done' ELSE 'running' END,
        finished_at = CASE WHEN $1::text IS NULL THEN $7::text::timestamptz ELSE NULL END,
        last_error = NULL
    WHERE run_id = $8 AND status = 'running' AND cursor IS NOT DISTINCT FROM $9::text";

/// A page's rows as the ten column arrays of [`input!`].
struct Columns<'a> {
    text: [Vec<Option<&'a str>>; 8],
    ids: Vec<&'a str>,
    raw: Vec<&'a str>,
}

impl<'a> Columns<'a> {
    fn of(rows: &[&'a RecordRow]) -> Self {
        let col = |f: fn(&'a RecordRow) -> Option<&'a str>| rows.iter().map(|r| f(r)).collect();
        Self {
            ids: rows.iter().map(|r| r.id()).collect(),
            text: [
                col(RecordRow::first_name),
                col(RecordRow::last_name),
                col(RecordRow::email),
                col(RecordRow::company_name),
                col(RecordRow::phones),
                col(RecordRow::addresses),
                col(RecordRow::company),
                col(RecordRow::sessions),
            ],
            raw: rows.iter().map(|r| r.raw()).collect(),
        }
    }

    /// `$1`..`$12`: the audience, the columns, the time the rows were seen.
    fn params<'s>(&'s self, audience: &'s i64, seen: &'s String) -> [&'s (dyn ToSql + Sync); 12] {
        let [a, b, c, d, e, f, g, h] = &self.text;
        [audience, &self.ids, a, b, c, d, e, f, g, h, &self.raw, seen]
    }
}

#[async_trait]
impl Session for PgSession {
    async fn state(&mut self, audience: i64) -> SyncResult<AudienceState> {
        read_state(&self.client, &self.url, audience).await
    }

    async fn start_run(&mut self, run: NewRun<'_>) -> SyncResult<i64> {
        let err = pg_err(&self.url, "starting a run");
        let tx = self.client.transaction().await.map_err(&err)?;
        tx.execute(
            "INSERT INTO audiences (key, name) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET name = excluded.name",
            &[&run.audience, &run.name],
        )
        .await
        .map_err(&err)?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO sync_runs (audience_key, sync_window, started_at, status, note)
                 VALUES ($1, $2, $3::text::timestamptz, 'running', $4) RETURNING run_id",
                &[
                    &run.audience,
                    &window_text(run.window),
                    &ts(run.started_at),
                    &run.note,
                ],
            )
            .await
            .map_err(&err)?
            .get(0);
        tx.commit().await.map_err(&err)?;
        Ok(id)
    }

    async fn mark_run(&mut self, run_id: i64, mark: RunMark<'_>) -> SyncResult<()> {
        let (sql, doing, text) = mark.statement('$');
        self.client
            .execute(&sql, &[&run_id, &text])
            .await
            .map_err(pg_err(&self.url, doing))?;
        Ok(())
    }

    async fn commit_page(&mut self, page: PageWrite) -> SyncResult<Merged> {
        let url = self.url.clone();
        let err = pg_err(&url, "writing a page");
        // A dropped future drops the transaction, which rolls back: never half a page.
        let tx = self.client.transaction().await.map_err(&err)?;
        let seen = ts(page.seen_at);
        let all: Vec<&RecordRow> = page.rows.iter().collect();
        let new = tx
            .query_one(INSERT_NEW, &Columns::of(&all).params(&page.audience, &seen))
            .await
            .map_err(&err)?;
        let mut merged = Merged {
            inserted: u64::try_from(new.get::<_, i64>(0)).unwrap_or(0),
            ..Merged::default()
        };
        if merged.inserted < all.len() as u64 {
            let added: Vec<String> = new.get::<_, Option<Vec<String>>>(1).unwrap_or_default();
            let added: HashSet<&str> = added.iter().map(String::as_str).collect();
            let there: Vec<&RecordRow> = all
                .into_iter()
                .filter(|r| !added.contains(r.id()))
                .collect();
            let counted = tx
                .query_one(UPSERT, &Columns::of(&there).params(&page.audience, &seen))
                .await
                .map_err(&err)?;
            // None, in practice: each of these rows was there a moment ago, in this transaction.
            let late = u64::try_from(counted.get::<_, i64>(0)).unwrap_or(0);
            merged.inserted += late;
            merged.updated = u64::try_from(counted.get::<_, i64>(1)).unwrap_or(0);
            merged.unchanged = (there.len() as u64).saturating_sub(late + merged.updated);
        }
        let now = ts(page.now);
        let moved = tx
            .execute(
                ADVANCE,
                &[
                    &page.next_cursor,
                    &count_i64(page.records),
                    &count_i64(merged.inserted),
                    &count_i64(merged.updated),
                    &count_i64(merged.unchanged),
                    &count_i64(page.skipped),
                    &now,
                    &page.run_id,
                    &page.expect_cursor,
                ],
            )
            .await
            .map_err(&err)?;
        if moved != 1 {
            return Err(page.superseded());
        }
        if page.next_cursor.is_none() {
            tx.execute(
                "UPDATE audiences SET last_synced_at = $2::text::timestamptz WHERE key = $1",
                &[&page.audience, &now],
            )
            .await
            .map_err(&err)?;
        }
        if let Some(hook) = &page.hook {
            hook(Point::BeforeCommit {
                audience: u64::try_from(page.audience).unwrap_or(0),
                page: page.page_index,
            });
        }
        tx.commit().await.map_err(&err)?;
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_lock_keys_differ_and_are_stable() {
        assert_ne!(lock_key(17), lock_key(23));
        assert_eq!(lock_key(17), lock_key(17));
        assert_ne!(lock_key(17), MIGRATE_LOCK);
    }
}
