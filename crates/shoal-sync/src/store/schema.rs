//! The versioned schema: one list of migrations per backend, applied in order at start, each in
//! the transaction that records its version in `shoal_sync_schema`.
//!
//! A database whose recorded version is newer than [`SCHEMA_VERSION`] is refused before
//! anything is written. To change the schema, append a migration to both lists and bump
//! [`SCHEMA_VERSION`]; never edit a released one.

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 1;

/// The table that records applied versions.
pub(crate) const VERSION_TABLE: &str = "shoal_sync_schema";

/// SQLite: (version, statements).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) const SQLITE: &[(i64, &str)] = &[(
    1,
    "CREATE TABLE audiences (
        key            INTEGER PRIMARY KEY,
        name           TEXT NOT NULL,
        last_synced_at TEXT
    );
    CREATE TABLE records (
        audience_key  INTEGER NOT NULL,
        id            TEXT NOT NULL,
        first_name    TEXT,
        last_name     TEXT,
        email         TEXT,
        company_name  TEXT,
        phones        TEXT,
        addresses     TEXT,
        company       TEXT,
        sessions      TEXT,
        raw           TEXT NOT NULL,
        first_seen_at TEXT NOT NULL,
        last_seen_at  TEXT NOT NULL,
        PRIMARY KEY (audience_key, id)
    );
    CREATE TABLE sync_runs (
        run_id       INTEGER PRIMARY KEY AUTOINCREMENT,
        audience_key INTEGER NOT NULL,
        sync_window  TEXT NOT NULL,
        started_at   TEXT NOT NULL,
        finished_at  TEXT,
        pages        INTEGER NOT NULL DEFAULT 0,
        records      INTEGER NOT NULL DEFAULT 0,
        inserted     INTEGER NOT NULL DEFAULT 0,
        updated      INTEGER NOT NULL DEFAULT 0,
        unchanged    INTEGER NOT NULL DEFAULT 0,
        skipped      INTEGER NOT NULL DEFAULT 0,
        status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'abandoned')),
        cursor       TEXT,
        note         TEXT,
        last_error   TEXT
    );
    CREATE INDEX sync_runs_by_audience ON sync_runs (audience_key, status, run_id);",
)];

/// Postgres: (version, statements).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) const POSTGRES: &[(i64, &str)] = &[(
    1,
    "CREATE TABLE audiences (
        key            BIGINT PRIMARY KEY,
        name           TEXT NOT NULL,
        last_synced_at TIMESTAMPTZ
    );
    CREATE TABLE records (
        audience_key  BIGINT NOT NULL,
        id            TEXT NOT NULL,
        first_name    TEXT,
        last_name     TEXT,
        email         TEXT,
        company_name  TEXT,
        phones        JSONB,
        addresses     JSONB,
        company       JSONB,
        sessions      JSONB,
        raw           TEXT NOT NULL,
        first_seen_at TIMESTAMPTZ NOT NULL,
        last_seen_at  TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (audience_key, id)
    ) WITH (toast_tuple_target = 8160);
    CREATE TABLE sync_runs (
        run_id       BIGSERIAL PRIMARY KEY,
        audience_key BIGINT NOT NULL,
        sync_window  TEXT NOT NULL,
        started_at   TIMESTAMPTZ NOT NULL,
        finished_at  TIMESTAMPTZ,
        pages        BIGINT NOT NULL DEFAULT 0,
        records      BIGINT NOT NULL DEFAULT 0,
        inserted     BIGINT NOT NULL DEFAULT 0,
        updated      BIGINT NOT NULL DEFAULT 0,
        unchanged    BIGINT NOT NULL DEFAULT 0,
        skipped      BIGINT NOT NULL DEFAULT 0,
        status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'abandoned')),
        cursor       TEXT,
        note         TEXT,
        last_error   TEXT
    );
    CREATE INDEX sync_runs_by_audience ON sync_runs (audience_key, status, run_id);",
)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_list_ends_at_the_known_version() {
        for list in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = list.iter().map(|m| m.0).collect();
            assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
        }
    }
}
