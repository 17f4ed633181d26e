//! Shared helpers: an emulator on a manual clock, a client for it, and table dumps that compare
//! a SQLite file and a Postgres database column by column.

use shoal_core::ConfigureClient as _;
use std::sync::Arc;

use shoal_auth::{AccessToken, StaticToken};
use shoal_core::{Clock, ManualClock, RetryPolicy, SharedClock};
use shoal_pearldiver::PearlDiverClient;
use shoal_sync::{DbUrl, SyncOptions, Syncer};
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};

/// An emulator on `clock` whose records stay put between listings (`frozen_at` = now).
pub async fn emulator(clock: &ManualClock, audiences: Vec<AudienceSpec>) -> PearlDiver {
    PearlDiver::start(PearlDiverConfig {
        clock: clock.shared(),
        frozen_at: Some(clock.system_now()),
        audiences,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A client of `pd` with a static token, on `clock`, that does not retry.
pub fn client(pd: &PearlDiver, clock: SharedClock) -> PearlDiverClient {
    PearlDiverClient::builder()
        .api_base(&pd.endpoints().api_base)
        .authenticator(Arc::new(StaticToken::new(AccessToken::new(
            pd.mint_tokens().access_token,
        ))))
        .clock(clock)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

/// A syncer of `pd` into `db` on `clock`.
pub async fn syncer(pd: &PearlDiver, clock: &ManualClock, db: &DbUrl) -> Syncer {
    Syncer::open(
        client(pd, clock.shared()),
        db,
        SyncOptions::default().clock(clock.shared()),
    )
    .await
    .unwrap()
}

/// One `records` row without its timestamps.
pub type Row = Vec<Option<String>>;

const COLUMNS: &str = "audience_key, id, first_name, last_name, email, company_name, \
                       phones, addresses, company, sessions, raw";

/// Every `records` row, ordered by key and id; JSON columns normalized through serde_json so
/// that SQLite text and Postgres jsonb compare equal.
pub async fn dump(db: &DbUrl) -> Vec<Row> {
    let rows = match db.sqlite_path() {
        Some(path) => dump_sqlite(path),
        None => dump_pg(&pg_url(db)).await,
    };
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .enumerate()
                .map(|(i, v)| match (i, v) {
                    (6..=9, Some(j)) => Some(
                        serde_json::from_str::<serde_json::Value>(&j)
                            .unwrap()
                            .to_string(),
                    ),
                    (_, v) => v,
                })
                .collect()
        })
        .collect()
}

/// The URL a test gave to [`DbUrl`] (tests use passwordless URLs).
pub fn pg_url(db: &DbUrl) -> String {
    db.to_string()
}

fn dump_sqlite(path: &std::path::Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT CAST(audience_key AS TEXT), {} FROM records ORDER BY audience_key, id",
            &COLUMNS["audience_key, ".len()..]
        ))
        .unwrap();
    stmt.query_map([], |r| {
        (0..11).map(|i| r.get::<_, Option<String>>(i)).collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

async fn dump_pg(url: &str) -> Vec<Row> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let sql = "SELECT audience_key::text, id, first_name, last_name, email, company_name, \
               phones::text, addresses::text, company::text, sessions::text, raw \
               FROM records ORDER BY audience_key, id";
    client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (0..11).map(|i| r.get::<_, Option<String>>(i)).collect())
        .collect()
}

/// One query's first column as text, on either backend.
pub async fn scalar(db: &DbUrl, sql: &str) -> Option<String> {
    match db.sqlite_path() {
        Some(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.query_row(sql, [], |r| {
                Ok(match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Null => None,
                    rusqlite::types::ValueRef::Integer(i) => Some(i.to_string()),
                    rusqlite::types::ValueRef::Real(f) => Some(f.to_string()),
                    rusqlite::types::ValueRef::Text(t) => {
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                    rusqlite::types::ValueRef::Blob(_) => Some("<blob>".into()),
                })
            })
            .unwrap()
        }
        None => {
            let (client, conn) = tokio_postgres::connect(&pg_url(db), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .query_one(&format!("SELECT ({sql})::text"), &[])
                .await
                .unwrap()
                .get(0)
        }
    }
}

/// Runs one statement on either backend.
pub async fn execute(db: &DbUrl, sql: &str) {
    match db.sqlite_path() {
        Some(path) => {
            rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
        }
        None => {
            let (client, conn) = tokio_postgres::connect(&pg_url(db), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client.batch_execute(sql).await.unwrap();
        }
    }
}

/// Asserts two tables are equal, naming the first difference (not printing them whole).
pub fn same_rows(got: &[Row], want: &[Row], what: &str) {
    assert_eq!(got.len(), want.len(), "row counts differ ({what})");
    if let Some((g, w)) = got.iter().zip(want).find(|(g, w)| g != w) {
        panic!("first differing row ({what}):\n got  {g:?}\n want {w:?}");
    }
}
