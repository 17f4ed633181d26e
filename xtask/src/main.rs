//! `cargo xtask …`: the contributor commands (`ci`, `fixtures`, `bench`) in one place.

mod bench;
mod provision;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(args.iter().any(|a| a == "--no-nextest")),
        Some("fixtures") => fixtures(args.get(1).map(String::as_str) == Some("--check")),
        Some("bench") => bench::run(&args[1..]),
        Some("man") => man(args.get(1).map(PathBuf::from)),
        // Children of `bench`: an emulator in its own process, and the baseline exporter.
        Some("emulate") => bench::emulate(&args[1..]),
        Some("bench-baseline-export") => bench::baseline_export(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask ci [--no-nextest] | fixtures [--check] | bench [--quick]"
            );
            ExitCode::from(2)
        }
    }
}

/// Every vendor crate's runnable examples, run by `ci` against the emulators.
const EXAMPLES: &[(&str, &str)] = &[
    ("shoal-pearldiver", "export_audience"),
    ("shoal-pebblepad", "provision_users"),
    ("shoal-paya", "contacts"),
];

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

fn ci(no_nextest: bool) -> ExitCode {
    // Before anything is built: a missing server fails in seconds, with the command to run.
    if let Err(e) = provision::ensure() {
        eprintln!("xtask: {e}");
        return ExitCode::FAILURE;
    }
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    let mut fixtures_check = cargo();
    fixtures_check.args(["xtask", "fixtures", "--check"]);
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
    if !no_nextest && has_nextest() {
        test.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        test.args(["test", "--workspace"]);
    }
    // The hostile property suites' cases per operation (the floor), unless set.
    if std::env::var_os("PROPTEST_CASES").is_none() {
        test.env("PROPTEST_CASES", "256");
    }
    let mut doctest = cargo();
    doctest.args(["test", "--workspace", "--doc"]);
    let examples = EXAMPLES.iter().map(|(package, example)| {
        let mut run = cargo();
        run.args(["run", "--quiet", "-p", package, "--example", example])
            .stdout(std::process::Stdio::null());
        // No credentials: every example then runs against the testkit emulator.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SHOAL_") {
                run.env_remove(key);
            }
        }
        (format!("example {package}/{example}"), run)
    });
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    let steps = [
        ("fmt".to_string(), fmt),
        ("fixtures --check".into(), fixtures_check),
        ("clippy".into(), clippy),
        ("test".into(), test),
        ("doctest".into(), doctest),
    ]
    .into_iter()
    .chain(examples)
    .chain([("doc".to_string(), doc)]);
    for (name, cmd) in steps {
        if !run(&name, cmd) {
            return ExitCode::FAILURE;
        }
    }
    eprintln!("==> ci passed");
    ExitCode::SUCCESS
}

/// `shoal`'s man pages (`shoal.1` and one per subcommand, `shoal-pearldiver-export.1`, …) from
/// its clap definition, into `DIR` (default `target/man`).
fn man(dir: Option<PathBuf>) -> ExitCode {
    let dir = dir.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("man")
    });
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| clap_mangen::generate_to(shoal_cli::command(), &dir));
    match written {
        Ok(()) => {
            eprintln!("xtask: man pages written to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask: cannot write man pages to {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

/// `fixtures/` at the workspace root.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
}

/// Writes the generated fixtures, or with `check` reports every file that differs, is missing or
/// is stale, and fails if there is any.
fn fixtures(check: bool) -> ExitCode {
    let root = fixtures_dir();
    let generated = shoal_testkit::fixtures::all();
    let mut problems = Vec::new();
    for f in &generated {
        let path = root.join(&f.path);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(f.contents.as_str()) {
            continue;
        }
        if check {
            problems.push(format!(
                "{} {}",
                if current.is_some() {
                    "differs:"
                } else {
                    "missing:"
                },
                f.path
            ));
            continue;
        }
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &f.contents));
        if let Err(e) = written {
            eprintln!("xtask: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    for vendor in shoal_testkit::fixtures::VENDORS {
        let Ok(entries) = std::fs::read_dir(root.join(vendor)) else {
            continue;
        };
        for entry in entries.flatten() {
            let rel = format!("{vendor}/{}", entry.file_name().to_string_lossy());
            if generated.iter().all(|f| f.path != rel) {
                if check {
                    problems.push(format!("stale: {rel}"));
                } else if let Err(e) = std::fs::remove_file(entry.path()) {
                    eprintln!("xtask: cannot remove {rel}: {e}");
                }
            }
        }
    }
    if problems.is_empty() {
        eprintln!(
            "xtask: {} fixtures {}",
            generated.len(),
            if check { "up to date" } else { "written" }
        );
        ExitCode::SUCCESS
    } else {
        problems.iter().for_each(|p| eprintln!("xtask: {p}"));
        eprintln!("xtask: fixtures are out of date; run `cargo xtask fixtures`");
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_man_pages_cover_every_command() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            super::man(Some(dir.path().to_path_buf())),
            std::process::ExitCode::SUCCESS
        );
        let main = std::fs::read_to_string(dir.path().join("shoal.1")).expect("shoal.1");
        assert!(main.contains(".TH shoal 1"), "{main:.200}");
        for sub in ["pearldiver", "doctor", "completions", "sandbox"] {
            assert!(main.contains(sub), "shoal.1 names `{sub}`");
        }
        let export = std::fs::read_to_string(dir.path().join("shoal-pearldiver-export.1"))
            .expect("a page per subcommand");
        assert!(export.contains("resume"), "{export:.300}");
    }
}
