//! Progress bars of the bulk jobs: drawn when stderr is a terminal (a pty from util-linux
//! `script`), absent when output is piped.

use std::process::{Command, Output};

use crate::bulk_support::{export_args, paya, pearldiver, runtime_and_dir, shoal};
use crate::support::stderr;

/// Runs the built `shoal` with `args` under a pty; everything the terminal showed. `script`
/// comes from util-linux (`bsdutils`), which `cargo xtask ci` installs when it is missing.
fn under_pty(env: &[(String, String)], args: &[String]) -> String {
    let (text, success) = under_pty_status(env, args);
    assert!(success, "{text}");
    text
}

/// [`under_pty`] for a command that may fail: what the terminal showed, and whether it exited 0.
fn under_pty_status(env: &[(String, String)], args: &[String]) -> (String, bool) {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_shoal").to_string())
        .chain(args.iter().cloned())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let line = format!(
        "stty cols 120 rows 40 2>/dev/null; exec {}",
        quoted.join(" ")
    );
    let mut cmd = Command::new("script");
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    // A terminal has a TERM (indicatif hides bars when it is unset or `dumb`).
    let out = cmd
        .env("TERM", "xterm-256color")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["-qefc", &line, "/dev/null"])
        .output()
        .expect("util-linux `script` (Debian's bsdutils; `cargo xtask ci` installs it)");
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        out.status.success(),
    )
}

/// Runs `shoal ARGS` with stderr piped; it must succeed and write nothing there.
fn piped(env: &[(String, String)], args: &[String]) -> Output {
    let out = shoal(env).args(args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).is_empty(),
        "nothing on piped stderr: {}",
        stderr(&out)
    );
    out
}

#[test]
fn export_progress_on_a_terminal_only() {
    let (rt, dir) = runtime_and_dir();
    let (_pd, env) = pearldiver(&rt, 50_000, dir.path());
    let export = |name: &str| export_args(&dir.path().join(name), &[]);
    let tty = under_pty(&env, &export("tty.ndjson"));
    assert!(tty.contains(" pages · "), "a progress line: {tty:?}");
    assert!(tty.contains("records"), "{tty:?}");

    let out = piped(&env, &export("piped.ndjson"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(" pages · "));
}

#[test]
fn import_progress_on_a_terminal_only() {
    let (rt, dir) = runtime_and_dir();
    let (_py, env) = paya(&rt);
    let mut text = String::from("contact_api_id,last_name\n");
    for i in 0..300 {
        text.push_str(&format!("crm-{i},Smith\n"));
    }
    for name in ["tty.csv", "piped.csv"] {
        std::fs::write(dir.path().join(name), &text).unwrap();
    }
    let import = |name: &str| {
        vec![
            "paya".to_string(),
            "contacts".into(),
            "import".into(),
            dir.path().join(name).display().to_string(),
        ]
    };
    let tty = under_pty(&env, &import("tty.csv"));
    assert!(tty.contains(" rows · "), "a progress bar: {tty:?}");

    piped(&env, &import("piped.csv"));
}

/// Issue 17 #10: against a server that never answers, the progress line says what the rows are
/// waiting for, and `--timeout` bounds each call.
#[test]
fn import_progress_says_what_it_waits_for_and_timeout_bounds_a_stall() {
    let (rt, dir) = runtime_and_dir();
    let (py, env) = paya(&rt);
    py.faults().push(
        shoal_testkit::Fault::stall()
            .always()
            .on_path("/v2/contacts"),
    );
    let mut text = String::from("contact_api_id,last_name\n");
    for i in 0..4 {
        text.push_str(&format!("crm-{i},Smith\n"));
    }
    let file = dir.path().join("stalled.csv");
    std::fs::write(&file, &text).unwrap();
    use shoal::core::Clock as _;
    let started = shoal::core::SystemClock.now();
    let (tty, success) = under_pty_status(
        &env,
        &[
            "--timeout".to_string(),
            "2".into(),
            "paya".into(),
            "contacts".into(),
            "import".into(),
            file.display().to_string(),
        ],
    );
    assert!(!success, "{tty}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "bounded by --timeout, not the read timeout × attempts"
    );
    assert!(tty.contains("awaiting answers"), "{tty:?}");
    py.faults().release_stalls();
}
