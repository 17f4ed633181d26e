//! `shoal pearldiver`: loopback login with `--no-browser`, forced rotation, and one-line errors
//! with distinct exit codes.

use std::path::Path;
use std::process::Output;

use crate::support::{Sandbox, login_no_browser, stderr, stdout};

/// `shoal pearldiver ARGS --token-file TOKENS` against the sandbox; fails unless it exits 0.
fn with_tokens(sandbox: &Sandbox, args: &[&str], tokens: &Path) -> Output {
    let tokens = ["--token-file", tokens.to_str().unwrap()];
    let out = sandbox.run(&[&["pearldiver"], args, &tokens].concat());
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out
}

#[test]
fn login_no_browser_completes_when_the_printed_url_is_followed() {
    let sandbox = Sandbox::start(1_000);
    let tokens = sandbox.dir.path().join("fresh").join("tokens.json");
    let mut login = sandbox.shoal();
    login
        .args(["pearldiver", "login", "--no-browser", "--token-file"])
        .arg(&tokens);
    let code = login_no_browser(login, |url| {
        assert!(
            url.contains("code_challenge_method=S256") && url.contains("audience=pearldiverapi"),
            "{url}"
        );
    });
    assert_eq!(code, 0);
    #[cfg(unix)]
    assert_eq!(crate::support::mode(&tokens), 0o600);
    let out = with_tokens(&sandbox, &["audiences"], &tokens);
    assert!(
        stdout(&out).contains("Website visitors"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn token_refresh_rotates_and_persists_before_reporting() {
    let sandbox = Sandbox::start(1_000);
    let tokens = sandbox.token_copy("rotate.json");
    let before = std::fs::read_to_string(&tokens).unwrap();
    let out = with_tokens(&sandbox, &["token", "refresh"], &tokens);
    assert!(
        stdout(&out).contains("Tokens rotated and saved"),
        "{}",
        stdout(&out)
    );
    let after = std::fs::read_to_string(&tokens).unwrap();
    let refresh =
        |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap()["refresh_token"].clone();
    assert_ne!(
        refresh(&before),
        refresh(&after),
        "a new refresh token was stored"
    );
    assert!(
        !stdout(&out).contains(refresh(&after).as_str().unwrap()),
        "no secret printed"
    );
    // The rotated pair works.
    with_tokens(&sandbox, &["audiences"], &tokens);
}

/// Exit code and the single stderr line.
fn failure(out: &std::process::Output) -> (i32, String) {
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line, got:\n{err}");
    assert!(err.starts_with("shoal: "), "{err}");
    (out.status.code().unwrap(), err)
}

#[test]
fn bad_input_gives_one_line_and_its_own_exit_code() {
    let sandbox = Sandbox::start(1_000);
    let (code, err) = failure(&sandbox.run(&["pearldiver", "audience", "999"]));
    assert_eq!(code, 4, "not found: {err}");
    assert!(
        err.contains("999") && err.contains("shoal pearldiver audiences"),
        "{err}"
    );

    let (code, err) =
        failure(&sandbox.run(&["pearldiver", "audience", "17", "--since", "last tuesday"]));
    assert_eq!(code, 2, "usage: {err}");
    assert!(err.contains("--since") && err.contains("RFC 3339"), "{err}");

    let tokens = sandbox.token_copy("wrong-secret.json");
    let out = sandbox
        .shoal()
        .args([
            "pearldiver",
            "token",
            "refresh",
            "--token-file",
            tokens.to_str().unwrap(),
        ])
        .env("SHOAL_PEARLDIVER_CLIENT_SECRET", "not-the-secret")
        .output()
        .unwrap();
    let (code, err) = failure(&out);
    assert_eq!(code, 3, "auth: {err}");
    assert!(!err.contains("not-the-secret"), "{err}");

    let out = sandbox.run(&["pearldiver", "audience", "not-a-number"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap usage error: {}",
        stderr(&out)
    );
    let out = crate::support::shoal()
        .args(["pearldiver", "audiences"])
        .output()
        .unwrap();
    let (code, err) = failure(&out);
    assert_eq!(code, 2, "missing client id: {err}");
    assert!(err.contains("SHOAL_PEARLDIVER_CLIENT_ID"), "{err}");
}

#[test]
fn trace_logs_stay_redacted() {
    let sandbox = Sandbox::start(1_000);
    let tokens = sandbox.token_copy("traced.json");
    let file = |t: &std::path::Path| {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(t).unwrap()).unwrap()
    };
    let before = file(&tokens);
    let path = tokens.to_str().unwrap();
    let refresh = sandbox.run(&[
        "-vv",
        "pearldiver",
        "token",
        "refresh",
        "--token-file",
        path,
    ]);
    let list = sandbox.run(&["-vv", "pearldiver", "audiences", "--token-file", path]);
    let paya = sandbox.run(&[
        "-vv",
        "paya",
        "contacts",
        "list",
        "--key-placement",
        "query",
    ]);
    for out in [&refresh, &list, &paya] {
        assert!(out.status.success(), "{}", stderr(out));
    }
    let after = file(&tokens);
    let logs = format!("{}{}{}", stderr(&refresh), stderr(&list), stderr(&paya));
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "-vv logs something:\n{logs}"
    );
    for secret in [
        sandbox.var("SHOAL_PEARLDIVER_CLIENT_SECRET"),
        sandbox.var("SHOAL_PAYA_API_KEY"),
        before["refresh_token"].as_str().unwrap().to_string(),
        after["refresh_token"].as_str().unwrap().to_string(),
        after["access_token"].as_str().unwrap().to_string(),
    ] {
        assert!(!logs.contains(&secret), "a secret leaked into the -vv logs");
    }
}

#[test]
fn any_command_warns_within_five_days_of_the_one_year_login_limit() {
    let sandbox = Sandbox::start(1_000);
    let tokens = sandbox.token_copy("old-family.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens).unwrap()).unwrap();
    let started = time::OffsetDateTime::now_utc() - time::Duration::days(362);
    record["family_started_at"] = started
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .into();
    std::fs::write(&tokens, record.to_string()).unwrap();
    let out = with_tokens(&sandbox, &["audiences"], &tokens);
    let warning = stderr(&out);
    assert!(
        warning.contains("warning: the login ends at")
            && warning.contains("shoal pearldiver login"),
        "{warning}"
    );
    // A young family says nothing.
    let fresh = sandbox.token_copy("young-family.json");
    let out = with_tokens(&sandbox, &["audiences"], &fresh);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}
