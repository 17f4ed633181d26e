//! `shoal pebblepad` as real processes against an emulator hosted in the test (its clock, token
//! records and traffic under the test's control): `login --no-browser` with a public app and
//! with a confidential one, and a service account configured from the environment alone across
//! runs that each rotate the pair.

use std::path::{Path, PathBuf};
use std::time::Duration;

use shoal_testkit::pebblepad::{PebblePad, PebblePadConfig};
use shoal_testkit::{ManualClock, RecordedRequest, RedirectUris};

use crate::bulk_support::{runtime, shoal};
use crate::support::{login_no_browser, stderr, stdout};

const TOKEN_PATH: &str = "/login/OAuth2/TokenEndpoint";

/// More than the emulator's access-token lifetime (1 hour): advancing its clock by this makes
/// every access token it issued so far expired, so the next command must rotate.
const PAST_EXPIRY: Duration = Duration::from_secs(3600 + 60);

/// An emulator that accepts its registered redirect URI on any loopback port, and the manual
/// clock it runs on.
fn emulator(rt: &tokio::runtime::Runtime) -> (ManualClock, PebblePad) {
    let clock = ManualClock::new();
    let pp = rt
        .block_on(PebblePad::start(PebblePadConfig {
            clock: clock.shared(),
            redirect_uris: RedirectUris::any_loopback_port(),
            seed_users: 0,
            ..Default::default()
        }))
        .unwrap();
    (clock, pp)
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `shoal pebblepad login --no-browser` with `env`: follows the printed URL like a browser;
/// the exit code.
fn login(env: &[(String, String)]) -> i32 {
    let mut command = shoal(env);
    command.args(["pebblepad", "login", "--no-browser"]);
    login_no_browser(command, |url| {
        assert!(url.contains("/login/OAuth2/AuthorisationEndpoint"), "{url}");
        assert!(
            !url.contains("code_challenge"),
            "PebblePad takes no PKCE: {url}"
        );
    })
}

/// `shoal pebblepad users create` for `username`; fails the test unless it succeeded.
fn create_user(env: &[(String, String)], username: &str) {
    let out = shoal(env)
        .args(["pebblepad", "users", "create", "--username", username])
        .args(["--forename", "Ada", "--surname", "Lovelace"])
        .args(["--email", &format!("{username}@example.test")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{username}: {}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("Created user {username}")),
        "{}",
        stdout(&out)
    );
}

fn token_calls_since(pp: &PebblePad, seen: usize) -> Vec<RecordedRequest> {
    pp.traffic().matching("POST", TOKEN_PATH)[seen..].to_vec()
}

fn grants(calls: &[RecordedRequest]) -> Vec<String> {
    calls
        .iter()
        .map(|r| {
            r.body
                .split('&')
                .find_map(|p| p.strip_prefix("grant_type="))
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A public app (no secret) and a confidential one each log in with `--no-browser`, then a
/// later command rotates their pair (the emulator's clock has passed the access token's hour)
/// and succeeds: the public app's token calls carry `client_id` in the body and no
/// `Authorization` header, the confidential app's carry `Authorization` (Basic) and no body
/// `client_id`.
#[test]
fn login_no_browser_with_a_public_and_a_confidential_app_each_authenticates_its_own_way() {
    let rt = runtime();
    let (clock, pp) = emulator(&rt);
    let dir = tempfile::tempdir().unwrap();
    let e = pp.endpoints().clone();
    let public_id = e.public_client_id.clone().unwrap();

    let public_tokens = dir.path().join("public.json");
    let public = env(&[
        ("SHOAL_PEBBLEPAD_HOST", &e.host),
        ("SHOAL_PEBBLEPAD_CLIENT_ID", &public_id),
        (
            "SHOAL_PEBBLEPAD_REDIRECT_URI",
            "http://127.0.0.1:0/callback",
        ),
        (
            "SHOAL_PEBBLEPAD_TOKEN_FILE",
            public_tokens.to_str().unwrap(),
        ),
    ]);
    assert_eq!(login(&public), 0);
    #[cfg(unix)]
    assert_eq!(crate::support::mode(&public_tokens), 0o600);
    let logged_in = read_json(&public_tokens);
    clock.advance(PAST_EXPIRY);
    create_user(&public, "public-user");
    let public_calls = token_calls_since(&pp, 0);
    assert_eq!(
        grants(&public_calls),
        ["authorization_code", "refresh_token"]
    );
    for call in &public_calls {
        assert_eq!(call.status, Some(200), "{call:?}");
        assert_eq!(call.header("authorization"), None, "public: no Basic");
        assert!(
            call.body.contains(&format!("client_id={public_id}")),
            "public: client_id in the body: {}",
            call.body
        );
    }
    assert_ne!(
        read_json(&public_tokens)["refresh_token"],
        logged_in["refresh_token"],
        "the rotation was saved"
    );

    let confidential_tokens = dir.path().join("confidential.json");
    let confidential = env(&[
        ("SHOAL_PEBBLEPAD_HOST", &e.host),
        ("SHOAL_PEBBLEPAD_CLIENT_ID", &e.client_id),
        ("SHOAL_PEBBLEPAD_CLIENT_SECRET", &e.client_secret),
        (
            "SHOAL_PEBBLEPAD_REDIRECT_URI",
            "http://127.0.0.1:0/callback",
        ),
        (
            "SHOAL_PEBBLEPAD_TOKEN_FILE",
            confidential_tokens.to_str().unwrap(),
        ),
    ]);
    assert_eq!(login(&confidential), 0);
    clock.advance(PAST_EXPIRY);
    create_user(&confidential, "confidential-user");
    let confidential_calls = token_calls_since(&pp, public_calls.len());
    assert_eq!(
        grants(&confidential_calls),
        ["authorization_code", "refresh_token"]
    );
    for call in &confidential_calls {
        assert_eq!(call.status, Some(200), "{call:?}");
        assert!(
            call.header("authorization").is_some(),
            "confidential: Basic"
        );
        assert!(
            !call.body.contains("client_id="),
            "confidential: not in the body: {}",
            call.body
        );
    }
    assert_eq!(pp.traffic().invalid_grants(), 0);
    assert_eq!(pp.users().len(), 2);
}

/// Every file named `name` under `dir`, at any depth.
fn find(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(find(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
    found
}

/// A service account given only through the environment (host, client id and secret, the
/// issued pair) and no `--token-file`: three runs, each after the emulator's clock has passed
/// the access token's hour, so each rotates. Every run succeeds, and after each the token file
/// under the config directory holds exactly the pair the emulator issued last, whose refresh
/// token is the only one still unspent — no run presented a spent one.
#[test]
fn a_service_account_from_the_environment_alone_rotates_every_run_and_keeps_the_newest_pair() {
    let rt = runtime();
    let (clock, pp) = emulator(&rt);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join(".config");
    let e = pp.endpoints().clone();
    let issued_refresh = e.service_refresh_token.clone().unwrap();
    let vars = env(&[
        ("HOME", home.path().to_str().unwrap()),
        ("XDG_CONFIG_HOME", config.to_str().unwrap()),
        ("SHOAL_PEBBLEPAD_HOST", &e.host),
        ("SHOAL_PEBBLEPAD_CLIENT_ID", &e.client_id),
        ("SHOAL_PEBBLEPAD_CLIENT_SECRET", &e.client_secret),
        (
            "SHOAL_PEBBLEPAD_ACCESS_TOKEN",
            e.service_access_token.as_deref().unwrap(),
        ),
        ("SHOAL_PEBBLEPAD_REFRESH_TOKEN", &issued_refresh),
    ]);
    assert!(
        find(home.path(), "pebblepad-tokens.json").is_empty(),
        "no token file before the first run"
    );
    let mut stored_before = vec![issued_refresh.clone()];
    for run in 1..=3u64 {
        clock.advance(PAST_EXPIRY);
        create_user(&vars, &format!("svc-run-{run}"));
        let files = find(home.path(), "pebblepad-tokens.json");
        assert_eq!(files.len(), 1, "run {run}: one token file: {files:?}");
        let file = &files[0];
        #[cfg(target_os = "linux")]
        assert_eq!(file, &config.join("shoal").join("pebblepad-tokens.json"));
        #[cfg(unix)]
        assert_eq!(crate::support::mode(file), 0o600, "run {run}");
        let stored = read_json(file);
        let refresh = stored["refresh_token"].as_str().unwrap().to_string();
        let last = pp.last_issued().unwrap();
        assert_eq!(
            refresh, last.refresh_token,
            "run {run}: the newest refresh token"
        );
        assert_eq!(
            stored["access_token"].as_str(),
            Some(last.access_token.as_str()),
            "run {run}: the newest access token"
        );
        assert_eq!(
            pp.live_refresh_tokens(),
            std::slice::from_ref(&refresh),
            "run {run}: the stored refresh token is the only unspent one"
        );
        assert!(
            !stored_before.contains(&refresh),
            "run {run}: a new refresh token"
        );
        stored_before.push(refresh);
        assert_eq!(pp.traffic().token_calls("refresh_token"), run, "run {run}");
        assert_eq!(
            pp.traffic().refresh_reuse(),
            0,
            "run {run}: nothing spent reused"
        );
        assert_eq!(pp.traffic().invalid_grants(), 0, "run {run}");
    }
    let names: Vec<String> = pp
        .users()
        .iter()
        .filter_map(|u| u["Username"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names, ["svc-run-1", "svc-run-2", "svc-run-3"]);
}
