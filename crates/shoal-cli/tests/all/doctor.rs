//! `shoal doctor` on a healthy sandbox and on the broken set-ups people actually have: a
//! missing token file, a world-readable one, a refresh family past its lifetime, a host that is
//! not there.

use std::path::Path;
use std::process::Output;

use crate::support::{Sandbox, stderr, stdout};

fn lines_with(out: &Output, mark: &str) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| l.starts_with(mark))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_healthy_sandbox_passes_every_check() {
    let sandbox = Sandbox::start(100);
    let out = sandbox.run(&["doctor"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(lines_with(&out, "✗").is_empty(), "{}", stdout(&out));
    for vendor in ["pearldiver", "pebblepad", "paya"] {
        assert!(
            stdout(&out).contains(&format!("✓ {vendor}")),
            "{}",
            stdout(&out)
        );
    }
    assert!(
        stdout(&out).contains("GET 600"),
        "PebblePad's limits: {}",
        stdout(&out)
    );
    let json = sandbox.run(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert_eq!(report["ok"], true);
    assert!(report["checks"].as_array().unwrap().len() >= 10);
}

/// `shoal doctor` with the Pearl Diver token file at `path`.
fn doctor_with_token_file(sandbox: &Sandbox, path: &Path) -> Output {
    sandbox
        .shoal()
        .env("SHOAL_PEARLDIVER_TOKEN_FILE", path)
        .arg("doctor")
        .output()
        .unwrap()
}

#[test]
fn broken_set_ups_fail_with_their_own_exit_code_and_what_to_do() {
    let sandbox = Sandbox::start(100);
    let token_file = sandbox.var("SHOAL_PEARLDIVER_TOKEN_FILE");

    // A missing token file: log in.
    let missing = sandbox.dir.path().join("nowhere.json");
    let out = doctor_with_token_file(&sandbox, &missing);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let failed = lines_with(&out, "✗");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("shoal pearldiver login"),
        "{}",
        failed[0]
    );
    assert_eq!(
        stderr(&out).lines().count(),
        1,
        "one line on stderr: {}",
        stderr(&out)
    );

    // A world-readable token file: chmod 600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let shared = sandbox.dir.path().join("shared.json");
        std::fs::copy(&token_file, &shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = doctor_with_token_file(&sandbox, &shared);
        assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
        assert!(
            lines_with(&out, "✗")[0].contains("chmod 600"),
            "{}",
            stdout(&out)
        );
    }

    // A refresh-token family past its one-year lifetime: the grant is gone.
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    record["family_started_at"] = "2024-01-01T00:00:00Z".into();
    let expired = sandbox.dir.path().join("expired.json");
    std::fs::write(&expired, record.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&expired, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = doctor_with_token_file(&sandbox, &expired);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let failed = lines_with(&out, "✗");
    assert!(
        failed
            .iter()
            .any(|l| l.contains("login ends") && l.contains("grant is gone")),
        "{failed:?}"
    );

    // A host that is not there: the service cannot be reached.
    let out = sandbox
        .shoal()
        .env("SHOAL_PAYA_BASE_URL", "http://127.0.0.1:9")
        .args(["doctor", "--timeout", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stdout(&out));
    assert!(
        lines_with(&out, "✗")
            .iter()
            .any(|l| l.contains("paya") && l.contains("127.0.0.1:9")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn nothing_configured_is_a_usage_error() {
    let out = crate::support::shoal().arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SHOAL_"), "{}", stderr(&out));
}

#[test]
fn completions_are_generated_for_every_shell() {
    for (shell, marker) in [
        ("bash", "_shoal()"),
        ("zsh", "#compdef shoal"),
        ("fish", "complete -c shoal"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = crate::support::shoal()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        for sub in ["pearldiver", "doctor", "export"] {
            assert!(script.contains(sub), "{shell} completes `{sub}`");
        }
    }
    let bad = crate::support::shoal()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
