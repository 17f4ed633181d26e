//! `shoal pearldiver sync` and `export --format singer` as real processes against an emulator
//! hosted here: a first full sync, an incremental second run, the dry run, the default database
//! under the data directory, bad destinations, and Singer output continued from its state.

use std::path::Path;

use shoal::core::{Clock as _, SystemClock};
use shoal_testkit::ManualClock;

use crate::bulk_support::{AUDIENCE, export_args, pearldiver_on, runtime_and_dir, shoal};
use crate::support::{stderr, stdout, success_json};

/// An emulator frozen at the present: the CLI's `since` comes from the system clock.
fn pearldiver(
    rt: &tokio::runtime::Runtime,
    records: u64,
    dir: &Path,
) -> (shoal_testkit::pearldiver::PearlDiver, Vec<(String, String)>) {
    pearldiver_on(
        rt,
        records,
        dir,
        ManualClock::starting_at(SystemClock.system_now()),
    )
}

#[test]
fn a_first_sync_takes_everything_and_a_second_only_what_changed() {
    let (rt, dir) = runtime_and_dir();
    let (pd, env) = pearldiver(&rt, 3_000, dir.path());
    let db = format!("sqlite:{}", dir.path().join("pd.db").display());
    let sync = |extra: &[&str]| {
        let mut args = vec![
            "pearldiver",
            "sync",
            "--audience",
            "17",
            "--db",
            &db,
            "--json",
        ];
        args.extend_from_slice(extra);
        shoal(&env).args(&args).output().unwrap()
    };

    let plan = sync(&["--dry-run"]);
    let plan = success_json(&plan);
    assert_eq!(plan["db_exists"], false, "{plan}");
    assert!(
        !dir.path().join("pd.db").exists(),
        "a dry run writes nothing"
    );

    let first = sync(&[]);
    let first = success_json(&first);
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(first["inserted"], 3_000, "{first}");
    let note = first["audiences"][0]["note"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        note.contains("first"),
        "says why the window is full: {first}"
    );

    pd.add_records(AUDIENCE, 5);
    let second = sync(&[]);
    let second = success_json(&second);
    assert_eq!(second["inserted"], 5, "{second}");
    assert_eq!(second["updated"], 0, "{second}");

    // Human output: one line per audience under the totals.
    let human = shoal(&env)
        .args(["pearldiver", "sync", "--audience", "17", "--db", &db])
        .output()
        .unwrap();
    assert!(human.status.success(), "{}", stderr(&human));
    assert!(stdout(&human).contains("inserted"), "{}", stdout(&human));
}

#[test]
fn without_db_the_file_is_pearldiver_db_under_the_data_directory() {
    let (rt, dir) = runtime_and_dir();
    let (_pd, env) = pearldiver(&rt, 1_000, dir.path());
    let data = dir.path().join("data");
    let out = shoal(&env)
        .env("XDG_DATA_HOME", &data)
        .env("HOME", dir.path())
        .args(["pearldiver", "sync", "--audience", "all", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(data.join("shoal").join("pearldiver.db").is_file());
}

#[test]
fn bad_destinations_are_clear_errors_with_nothing_written() {
    let (rt, dir) = runtime_and_dir();
    let (_pd, env) = pearldiver(&rt, 1_000, dir.path());
    let run = |db: &str| {
        shoal(&env)
            .args(["pearldiver", "sync", "--audience", "17", "--db", db])
            .output()
            .unwrap()
    };
    let out = run("mysql://x/y");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));

    let missing = dir.path().join("no-such-dir").join("pd.db");
    let out = run(&format!("sqlite:{}", missing.display()));
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!missing.exists());

    // Postgres nobody listens on (port 9 on loopback): the password never shows.
    let out = run("postgres://shoal:hunter2@127.0.0.1:9/pd");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));

    let out = shoal(&env)
        .args(["pearldiver", "sync", "--audience", "17,x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn singer_export_writes_schema_records_and_state_and_continues_from_it() {
    let (rt, dir) = runtime_and_dir();
    let (pd, env) = pearldiver(&rt, 2_500, dir.path());
    let first = dir.path().join("first.singer");
    let singer = |out: &Path, extra: &[&str]| {
        let extra = [&["--format", "singer"], extra].concat();
        let out = shoal(&env).args(export_args(out, &extra)).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    singer(&first, &[]);
    let text = std::fs::read_to_string(&first).unwrap();
    let messages: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(messages[0]["type"], "SCHEMA");
    let records = messages.iter().filter(|m| m["type"] == "RECORD").count();
    assert_eq!(records, 2_500);
    assert_eq!(messages.last().unwrap()["type"], "STATE");

    // Continued from that output's last STATE: only what is new since.
    pd.add_records(AUDIENCE, 3);
    let state = first.display().to_string();
    let out = singer(Path::new("-"), &["--state", &state]);
    let records = stdout(&out)
        .lines()
        .filter(|l| l.contains("\"RECORD\""))
        .count();
    assert!(
        (3..2_500).contains(&records),
        "{records} records after the state"
    );
}

/// Tokens shared through Redis: two processes (two machines, as far as they know) with no token
/// file refresh and rotate through one store, and the family stays alive.
#[test]
fn tokens_in_redis_are_shared_by_processes_without_a_token_file() {
    use shoal::auth::{AccessToken, RefreshToken, TokenRecord, TokenStore as _};

    let redis = shoal_redis::RedisServer::start();
    let (rt, dir) = runtime_and_dir();
    let (pd, env) = pearldiver(&rt, 1_000, dir.path());
    let env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k != "SHOAL_PEARLDIVER_TOKEN_FILE")
        .collect();
    let client_id = env
        .iter()
        .find(|(k, _)| k == "SHOAL_PEARLDIVER_CLIENT_ID")
        .map(|(_, v)| v.clone())
        .unwrap();
    let tokens = pd.mint_tokens();
    let seeded = tokens.refresh_token.clone();
    let store = rt.block_on(async {
        let store = shoal_redis::RedisTokenStore::builder(format!("pearldiver:{client_id}"))
            .connect(&redis.url())
            .await
            .unwrap();
        // An expired access token: the first command must refresh.
        let mut record = TokenRecord::unknown_age(
            AccessToken::new(tokens.access_token),
            RefreshToken::new(tokens.refresh_token),
        );
        record.expires_at = Some(SystemClock.system_now() - std::time::Duration::from_secs(60));
        store.save(&record).await.unwrap();
        store
    });
    let stored_refresh = || {
        rt.block_on(store.load())
            .unwrap()
            .and_then(|r| {
                r.refresh_token
                    .map(|t| shoal::auth::ExposeSecret::expose_secret(&t).to_string())
            })
            .unwrap()
    };
    let run = || {
        shoal(&env)
            .args(["pearldiver", "audiences", "--token-redis", &redis.url()])
            .output()
            .unwrap()
    };
    let file = dir.path().join("pd-tokens.json");
    let file_before = std::fs::read(&file).ok();
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    let rotated = stored_refresh();
    assert_ne!(rotated, seeded, "the rotation was saved in Redis");
    assert!(pd.refresh_token_is_live(&rotated));
    assert_eq!(
        std::fs::read(&file).ok(),
        file_before,
        "no token file involved"
    );
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(pd.traffic().refresh_reuse(), 0, "no spent token presented");
    assert!(pd.refresh_token_is_live(&stored_refresh()));
}
