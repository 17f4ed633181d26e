//! `sync-worker` (feature `sync-worker`): one sync process, for the multi-process tests and
//! the benchmark (not for production use: the CLI is `shoal pearldiver sync`).
//!
//! `sync-worker --db URL --api-base URL --token T --audience 17[,23|all] [--lock wait|skip]
//! [--concurrency N] [--stall-at fetched:N|before-commit:N|after-commit:N]`
//!
//! Prints the summary as one JSON line on stdout and exits 0 when every audience synced or was
//! skipped. With `--stall-at`, when the sync reaches that point it prints `STALLED` and hangs
//! there (inside the open transaction for `before-commit`) until it is killed.

use shoal_core::ConfigureClient as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use shoal_auth::{AccessToken, StaticToken};
use shoal_core::RetryPolicy;
use shoal_pearldiver::PearlDiverClient;
use shoal_sync::{AudienceSelection, DbUrl, Hook, LockPolicy, Point, SyncOptions, Syncer};
use shoal_testkit::worker_args::FlagArgs;

use shoal_testkit::worker_args::ArgError as BoxError;

fn stall_hook(spec: &str) -> Result<Hook, BoxError> {
    let (kind, n) = spec.split_once(':').ok_or("--stall-at takes KIND:N")?;
    let n: u64 = n.parse()?;
    if !["fetched", "before-commit", "after-commit"].contains(&kind) {
        return Err(format!("unknown stall point {kind}").into());
    }
    let kind = kind.to_owned();
    Ok(Arc::new(move |p| {
        let hit = match p {
            Point::Fetched { page, .. } => kind == "fetched" && page == n,
            Point::BeforeCommit { page, .. } => kind == "before-commit" && page == n,
            Point::AfterCommit { page, .. } => kind == "after-commit" && page == n,
            _ => false,
        };
        if hit {
            println!("STALLED");
            let _ = std::io::stdout().flush();
            loop {
                std::thread::park();
            }
        }
    }))
}

async fn run(a: FlagArgs) -> Result<bool, BoxError> {
    let get = |k: &str| a.get(k);
    let db: DbUrl = get("db")?.parse()?;
    let client = PearlDiverClient::builder()
        .api_base(get("api-base")?)
        .authenticator(Arc::new(StaticToken::new(AccessToken::new(get("token")?))))
        .retry_policy(RetryPolicy::default())
        .build()?;
    let mut options = SyncOptions::default();
    if let Some(lock) = a.opt("lock") {
        options = options.lock(match lock {
            "skip" => LockPolicy::Skip,
            _ => LockPolicy::Wait,
        });
    }
    if let Some(n) = a.opt("concurrency") {
        options = options.concurrency(n.parse()?);
    }
    if let Some(spec) = a.opt("stall-at") {
        options = options.hook(stall_hook(spec)?);
    }
    let selection: AudienceSelection = get("audience")?.parse()?;
    let syncer = Syncer::open(client, &db, options).await?;
    let summary = syncer.sync(&selection).await?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(summary.ok)
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match (FlagArgs::from_env(), runtime) {
        (Ok(a), Ok(rt)) => rt.block_on(run(a)),
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(e.into()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sync-worker: {e}");
            ExitCode::from(2)
        }
    }
}
