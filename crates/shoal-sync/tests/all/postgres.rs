//! The same behaviour on a real Postgres server the test starts (initdb + pg_ctl in a temp
//! dir), plus what only Postgres has: JSONB columns, advisory locks, read-only databases.

use shoal_core::ManualClock;
use shoal_sync::test_util::PostgresServer;
use shoal_sync::{
    AudienceSelection, DbUrl, LockPolicy, Outcome, SyncError, SyncOptions, Syncer,
    advisory_lock_key,
};
use shoal_testkit::pearldiver::AudienceSpec;

use crate::support::{client, dump, emulator, scalar};

fn db(server: &PostgresServer) -> DbUrl {
    server.create_database("sync").parse().unwrap()
}

#[tokio::test]
async fn pg_second_run_counts_exactly_the_new_and_changed_records() {
    let server = PostgresServer::start();
    crate::incremental::second_run_counts_exactly_the_new_and_changed_records(&db(&server)).await;
}

#[tokio::test]
async fn pg_a_failed_run_resumes_from_its_committed_cursor() {
    let server = PostgresServer::start();
    crate::incremental::a_failed_run_resumes_from_its_committed_cursor(&db(&server), &db(&server))
        .await;
}

#[tokio::test]
async fn pg_hostile_records_follow_the_skip_rule_and_json_columns_are_jsonb() {
    let server = PostgresServer::start();
    let db = db(&server);
    crate::hostile::hostile_records_follow_the_skip_rule(&db).await;
    let kind = scalar(
        &db,
        "SELECT jsonb_typeof(phones) FROM records WHERE id = 'ok-2'",
    )
    .await;
    assert_eq!(kind.as_deref(), Some("object"));
    // The first copy of ok-1 had "\u0000" in sessions, which jsonb refuses: the later copy won,
    // but the rule is checked directly too.
    let clock = ManualClock::new();
    let c = crate::hostile::scripted_client(
        &clock,
        vec![r#"[{"id":"nul","sessions":[{"site":"\u0000"}],"email":"a\u0000b"}]"#.into()],
    );
    let other = server.create_database("nul").parse::<DbUrl>().unwrap();
    let s = Syncer::open(c, &other, SyncOptions::default().clock(clock.shared()))
        .await
        .unwrap();
    assert!(s.sync(&AudienceSelection::All).await.unwrap().ok);
    let row = &dump(&other).await[0];
    assert_eq!(row[9], None, "jsonb cannot hold U+0000: the column is NULL");
    assert_eq!(row[4].as_deref(), Some("a\u{FFFD}b"));
    assert!(
        row[10].as_deref().unwrap().contains(r"\u0000"),
        "raw keeps it"
    );
}

#[tokio::test]
async fn pg_bad_input_is_refused_before_anything_is_written() {
    let server = PostgresServer::start();
    // A database that does not exist.
    let missing: DbUrl = server.url_of("no_such_db").parse().unwrap();
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 10)]).await;
    let open = |db: DbUrl| {
        let c = client(&pd, clock.shared());
        async move { Syncer::open(c, &db, SyncOptions::default()).await }
    };
    let err = open(missing).await.unwrap_err();
    assert!(matches!(err, SyncError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");

    // Another application's database with its own `records` table.
    let foreign = db(&server);
    crate::support::execute(&foreign, "CREATE TABLE records (x int)").await;
    let err = open(foreign.clone()).await.unwrap_err();
    assert!(err.to_string().contains("migrating the schema"), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
    let ours = scalar(&foreign, "SELECT to_regclass('shoal_sync_schema') IS NULL").await;
    assert_eq!(ours.as_deref(), Some("true"), "nothing half-written");

    // A read-only database.
    let ro = db(&server);
    let name = crate::support::pg_url(&ro)
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    server.psql(
        "postgres",
        &format!("ALTER DATABASE {name} SET default_transaction_read_only = on"),
    );
    let err = open(ro).await.unwrap_err();
    assert!(matches!(err, SyncError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("read-only"), "{err}");

    // A newer schema; an unknown audience.
    crate::bad_input::a_newer_schema_is_refused(
        &db(&server),
        "INSERT INTO shoal_sync_schema (version) VALUES (2)",
    )
    .await;
    crate::bad_input::an_unknown_audience_writes_nothing(&db(&server)).await;
}

#[tokio::test]
async fn pg_a_held_audience_lock_makes_a_worker_skip_or_wait() {
    let server = PostgresServer::start();
    let db = db(&server);
    let clock = ManualClock::new();
    let pd = emulator(&clock, vec![AudienceSpec::new(17, "Boston", 1_200)]).await;
    let (holder, conn) =
        tokio_postgres::connect(&crate::support::pg_url(&db), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(conn);
    let key = advisory_lock_key(17);
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&key])
        .await
        .unwrap();

    let skipping = Syncer::open(
        client(&pd, clock.shared()),
        &db,
        SyncOptions::default()
            .clock(clock.shared())
            .lock(LockPolicy::Skip),
    )
    .await
    .unwrap();
    let skipped = skipping.sync(&"17".parse().unwrap()).await.unwrap();
    assert!(skipped.ok);
    assert_eq!(skipped.audiences[0].outcome, Outcome::SkippedLocked);
    assert!(dump(&db).await.is_empty());

    let waiting = Syncer::open(
        client(&pd, clock.shared()),
        &db,
        SyncOptions::default().clock(clock.shared()),
    )
    .await
    .unwrap();
    let task = tokio::spawn(async move { waiting.sync(&"17".parse().unwrap()).await });
    // Until the waiter shows up in pg_locks (bounded in polls, not in time).
    let mut waiting_seen = false;
    for _ in 0..20_000 {
        let n: i64 = holder
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n == 1 {
            waiting_seen = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(waiting_seen, "the second worker must wait on the lock");
    assert!(!task.is_finished());
    assert!(dump(&db).await.is_empty(), "nothing written while waiting");
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&key])
        .await
        .unwrap();
    let done = task.await.unwrap().unwrap();
    assert_eq!(done.audiences[0].outcome, Outcome::Synced);
    assert_eq!(dump(&db).await.len(), 1_200);
}
