//! The `shoal` command line as a library: the binary's whole program ([`main`]) and its clap
//! definition ([`args::Cli`], [`command`]) for the completions and the man page (`cargo xtask
//! man`). Every command is made of calls into the `shoal` SDK.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod args;
mod browser;
mod bulk;
mod config;
mod demo;
mod doctor;
mod exit;
mod http;
mod paya;
mod pearldiver;
mod pebblepad;
mod sandbox;
mod sync;
mod ui;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser};

use crate::args::{Cli, Command};
use crate::exit::{CliResult, Failure};
use crate::ui::Ui;

/// The clap definition of `shoal`, for completions and man pages.
pub fn command() -> clap::Command {
    args::Cli::command()
}

/// The `shoal` program: parse flags, set up logging, run one command, exit with its code.
pub fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        eprintln!("shoal: internal error ({what}) — please report it with the command you ran");
    }));
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let ui = Ui::new(cli.json, cli.timeout);
    // An export is one stream of pages: on one thread, each page is freed where it was
    // allocated, so memory stays flat however large the audience (glibc keeps per-thread arenas).
    let single_stream = matches!(
        &cli.command,
        Command::PearlDiver(args::PearlDiverArgs {
            command: args::PearlDiverCommand::Export(_),
            ..
        })
    );
    let mut builder = if single_stream {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shoal: could not start the async runtime: {e}");
            return ExitCode::from(Failure::Internal.code());
        }
    };
    match runtime.block_on(run(cli.command, ui)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if ui.json && !e.reported {
                let err = serde_json::json!({"error": e.message, "hint": e.hint, "exit_code": e.kind.code()});
                println!("{err}");
            }
            eprintln!("shoal: {e}");
            e.exit_code()
        }
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "shoal=debug,shoal_core=debug,shoal_auth=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(command: Command, ui: Ui) -> CliResult {
    match command {
        Command::Demo(args) => demo::run(args, ui).await,
        Command::Sandbox(args) => sandbox::run(args, ui).await,
        Command::PearlDiver(args) => pearldiver::run(args, ui)
            .await
            .map_err(|e| e.for_vendor("pearldiver")),
        Command::PebblePad(args) => pebblepad::run(args, ui)
            .await
            .map_err(|e| e.for_vendor("pebblepad")),
        Command::Paya(args) => paya::run(args, ui).await.map_err(|e| e.for_vendor("paya")),
        Command::Doctor => doctor::run(ui).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut self::command(), "shoal", &mut std::io::stdout());
            Ok(())
        }
    }
}
