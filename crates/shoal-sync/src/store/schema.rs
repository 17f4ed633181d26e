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

/// Refuses a database whose recorded version is newer than this build knows.
pub(crate) fn check_version(url: &crate::url::DbUrl, found: i64) -> crate::SyncResult<()> {
    if found > SCHEMA_VERSION {
        return Err(crate::SyncError::SchemaTooNew {
            url: url.clone(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Schema version 1 in one dialect: the two backends differ only in these types.
macro_rules! v1 {
    (int: $int:literal, run_id: $run_id:literal, time: $time:literal, json: $json:literal,
     records_with: $with:literal) => {
        concat!(
            "CREATE TABLE audiences (
                key            ",
            $int,
            " PRIMARY KEY,
                name           TEXT NOT NULL,
                last_synced_at ",
            $time,
            "
            );
            CREATE TABLE records (
                audience_key  ",
            $int,
            " NOT NULL,
                id            TEXT NOT NULL,
                first_name    TEXT,
                last_name     TEXT,
                email         TEXT,
                company_name  TEXT,
                phones        ",
            $json,
            ",
                addresses     ",
            $json,
            ",
                company       ",
            $json,
            ",
                sessions      ",
            $json,
            ",
                raw           TEXT NOT NULL,
                first_seen_at ",
            $time,
            " NOT NULL,
                last_seen_at  ",
            $time,
            " NOT NULL,
                PRIMARY KEY (audience_key, id)
            )",
            $with,
            ";
            CREATE TABLE sync_runs (
                run_id       ",
            $run_id,
            ",
                audience_key ",
            $int,
            " NOT NULL,
                sync_window  TEXT NOT NULL,
                started_at   ",
            $time,
            " NOT NULL,
                finished_at  ",
            $time,
            ",
                pages        ",
            $int,
            " NOT NULL DEFAULT 0,
                records      ",
            $int,
            " NOT NULL DEFAULT 0,
                inserted     ",
            $int,
            " NOT NULL DEFAULT 0,
                updated      ",
            $int,
            " NOT NULL DEFAULT 0,
                unchanged    ",
            $int,
            " NOT NULL DEFAULT 0,
                skipped      ",
            $int,
            " NOT NULL DEFAULT 0,
                status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'abandoned')),
                cursor       TEXT,
                note         TEXT,
                last_error   TEXT
            );
            CREATE INDEX sync_runs_by_audience ON sync_runs (audience_key, status, run_id);"
        )
    };
}

/// SQLite: (version, statements).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) const SQLITE: &[(i64, &str)] = &[(
    1,
    v1!(int: "INTEGER", run_id: "INTEGER PRIMARY KEY AUTOINCREMENT", time: "TEXT",
        json: "TEXT", records_with: ""),
)];

/// Postgres: (version, statements).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) const POSTGRES: &[(i64, &str)] = &[(
    1,
    v1!(int: "BIGINT", run_id: "BIGSERIAL PRIMARY KEY", time: "TIMESTAMPTZ", json: "JSONB",
        records_with: " WITH (toast_tuple_target = 8160)"),
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
