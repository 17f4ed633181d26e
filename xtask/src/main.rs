//! `cargo xtask …`: the contributor commands (`ci`, …) in one place.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        _ => {
            eprintln!("usage: cargo xtask ci");
            ExitCode::from(2)
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(step: &str, mut cmd: Command) -> bool {
    eprintln!("==> {step}");
    match cmd.status() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("xtask: `{step}` failed ({s})");
            false
        }
        Err(e) => {
            eprintln!("xtask: could not run `{step}`: {e}");
            false
        }
    }
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ci() -> ExitCode {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    let mut test = cargo();
    if has_nextest() {
        test.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        test.args(["test", "--workspace"]);
    }
    let mut doctest = cargo();
    doctest.args(["test", "--workspace", "--doc"]);
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    let steps = [
        ("fmt", fmt),
        ("clippy", clippy),
        ("test", test),
        ("doctest", doctest),
        ("doc", doc),
    ];
    for (name, cmd) in steps {
        if !run(name, cmd) {
            return ExitCode::FAILURE;
        }
    }
    eprintln!("==> ci passed");
    ExitCode::SUCCESS
}
