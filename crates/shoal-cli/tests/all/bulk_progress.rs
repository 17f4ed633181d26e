//! Progress bars of the bulk jobs: drawn when stderr is a terminal (a pty from util-linux
//! `script`), absent when output is piped.

use std::process::Command;

use crate::bulk_support::{AUDIENCE, paya, pearldiver, runtime, shoal};
use crate::support::stderr;

/// Runs the built `shoal` with `args` under a pty; everything the terminal showed, or `None`
/// when `script` is not installed.
fn under_pty(env: &[(String, String)], args: &[String]) -> Option<String> {
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
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    Some(text)
}

#[test]
fn export_progress_on_a_terminal_only() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (_pd, env) = pearldiver(&rt, 50_000, dir.path());
    let export = |name: &str| {
        vec![
            "pearldiver".to_string(),
            "export".into(),
            "--audience".into(),
            AUDIENCE.to_string(),
            "--out".into(),
            dir.path().join(name).display().to_string(),
        ]
    };
    let Some(tty) = under_pty(&env, &export("tty.ndjson")) else {
        eprintln!("SKIPPED: util-linux `script` is not installed");
        return;
    };
    assert!(tty.contains(" pages · "), "a progress line: {tty:?}");
    assert!(tty.contains("records"), "{tty:?}");

    let out = shoal(&env).args(export("piped.ndjson")).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).is_empty(),
        "nothing on piped stderr: {}",
        stderr(&out)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(" pages · "));
}

#[test]
fn import_progress_on_a_terminal_only() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
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
    let Some(tty) = under_pty(&env, &import("tty.csv")) else {
        eprintln!("SKIPPED: util-linux `script` is not installed");
        return;
    };
    assert!(tty.contains(" rows · "), "a progress bar: {tty:?}");

    let out = shoal(&env).args(import("piped.csv")).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).is_empty(),
        "nothing on piped stderr: {}",
        stderr(&out)
    );
}
