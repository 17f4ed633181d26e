//! Bad input gets a clear error and nothing half-written: an unreachable database, a file that
//! is not a database, a missing directory, a schema from a newer version, an unknown audience.

use shoal_core::ManualClock;
use shoal_sync::{AudienceSelection, DbUrl, SyncError, SyncOptions, Syncer};
use shoal_testkit::pearldiver::AudienceSpec;

use crate::incremental::sqlite_db;
use crate::support::{client, dump, emulator, scalar, syncer};

async fn open_err(db: &DbUrl) -> SyncError {
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 10)]).await;
    Syncer::open(client(&pd, clock.shared()), db, SyncOptions::default())
        .await
        .unwrap_err()
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_clear_error_without_its_password() {
    let db: DbUrl = "postgres://sync:hunter2@127.0.0.1:1/crm".parse().unwrap();
    let err = open_err(&db).await;
    let text = err.to_string();
    assert!(matches!(err, SyncError::Connect { .. }), "{text}");
    assert!(
        text.starts_with("cannot open the database postgres://sync:***@127.0.0.1:1/crm"),
        "{text}"
    );
    assert!(!text.contains("hunter2") && !format!("{err:?}").contains("hunter2"));
    assert!(err.is_database());
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_untouched() {
    let (dir, _) = sqlite_db();
    let path = dir.path().join("notes.txt");
    let text = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let err = open_err(&DbUrl::sqlite(&path)).await;
    assert!(err.to_string().contains("not a SQLite database"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no side file"
    );
}

#[tokio::test]
async fn a_missing_directory_is_refused_and_nothing_is_created() {
    let (dir, _) = sqlite_db();
    let path = dir.path().join("no/such/dir/pd.db");
    let err = open_err(&DbUrl::sqlite(&path)).await;
    assert!(matches!(err, SyncError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("no/such/dir/pd.db"), "{err}");
    assert!(!dir.path().join("no").exists());
}

/// A database written by a newer shoal-sync is refused before anything is written.
pub async fn a_newer_schema_is_refused(db: &DbUrl, bump: &str) {
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 10)]).await;
    assert!(
        syncer(&pd, &clock, db)
            .await
            .sync(&"17".parse().unwrap())
            .await
            .unwrap()
            .ok
    );
    crate::support::execute(db, bump).await;
    let before = dump(db).await;
    let err = Syncer::open(client(&pd, clock.shared()), db, SyncOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::SchemaTooNew {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade shoal"), "{err}");
    let plan = Syncer::plan(
        &client(&pd, clock.shared()),
        db,
        &AudienceSelection::All,
        &SyncOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(plan, SyncError::SchemaTooNew { .. }), "{plan}");
    assert_eq!(dump(db).await, before);
    let runs = scalar(db, "SELECT count(*) FROM sync_runs").await;
    assert_eq!(runs.as_deref(), Some("1"));
}

#[tokio::test]
async fn sqlite_a_newer_schema_is_refused() {
    let (_dir, db) = sqlite_db();
    a_newer_schema_is_refused(
        &db,
        "INSERT INTO shoal_sync_schema (version, applied_at) VALUES (2, 'later')",
    )
    .await;
}

/// An unknown key fails the whole sync before anything is written.
pub async fn an_unknown_audience_writes_nothing(db: &DbUrl) {
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 10)]).await;
    let err = syncer(&pd, &clock, db)
        .await
        .sync(&"17,99".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::UnknownAudience(99)), "{err}");
    assert!(err.to_string().contains("audience 99"), "{err}");
    assert!(dump(db).await.is_empty());
    let runs = scalar(db, "SELECT count(*) FROM sync_runs").await;
    assert_eq!(runs.as_deref(), Some("0"));
}

#[tokio::test]
async fn sqlite_an_unknown_audience_writes_nothing() {
    let (_dir, db) = sqlite_db();
    an_unknown_audience_writes_nothing(&db).await;
}

#[tokio::test]
async fn an_unknown_scheme_says_which_are_known() {
    let err = "mysql://root@localhost/crm".parse::<DbUrl>().unwrap_err();
    assert!(
        err.to_string().contains("sqlite:PATH or postgres://"),
        "{err}"
    );
}
