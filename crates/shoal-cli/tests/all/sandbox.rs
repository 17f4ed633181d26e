//! `shoal sandbox --env-file`: the file alone is enough for the other commands.

use crate::support::{Sandbox, stdout, success_json};

#[test]
fn the_env_file_alone_runs_pearldiver_audiences() {
    let sandbox = Sandbox::start(5_000);
    let out = sandbox.run(&["pearldiver", "audiences", "--json"]);
    let v = success_json(&out);
    let keys: Vec<u64> = v["audiences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_u64().unwrap())
        .collect();
    assert_eq!(keys, vec![17, 23, 31]);
    let text = std::fs::read_to_string(&sandbox.env_file).unwrap();
    assert!(text.contains("SHOAL_PEARLDIVER_TOKEN_FILE="), "{text}");
    #[cfg(unix)]
    assert_eq!(
        crate::support::mode(std::path::Path::new(
            &sandbox.var("SHOAL_PEARLDIVER_TOKEN_FILE")
        )),
        0o600
    );
}

#[test]
fn the_env_file_serves_every_vendor_command() {
    let sandbox = Sandbox::start(2_000);
    let json = |args: &[&str]| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        success_json(&sandbox.run(&all))
    };
    let page = json(&["pearldiver", "audience", "17", "--days", "30"]);
    assert_eq!(page["key"], 17);
    assert!(page["records_on_first_page"].as_u64().unwrap() > 0);
    let status = json(&["pearldiver", "token", "status"]);
    assert_eq!(status["refresh_token"], true);
    assert_eq!(status["warnings"].as_array().unwrap().len(), 0);
    assert!(
        !stdout(&sandbox.run(&["pearldiver", "token", "status"]))
            .contains(&sandbox.var("SHOAL_PEARLDIVER_CLIENT_SECRET"))
    );
    let contacts = json(&["paya", "contacts", "list"]);
    assert_eq!(contacts["count"], 57);
    let locations = json(&["paya", "locations"]);
    assert!(!locations["locations"].as_array().unwrap().is_empty());
    let created = json(&[
        "paya",
        "contacts",
        "create",
        "last_name=Hopper",
        "first_name=Grace",
        "contact_api_id=cli-1",
    ]);
    let id = created["contact"]["id"].as_str().unwrap().to_string();
    let updated = json(&["paya", "contacts", "update", &id, "city=Arlington"]);
    assert_eq!(updated["contact"]["city"], "Arlington");
    assert_eq!(json(&["paya", "contacts", "delete", &id])["deleted"], true);
    let limits = json(&["pebblepad", "limits"]);
    assert!(
        limits["announced"]["RateLimits"]
            .as_array()
            .is_some_and(|l| !l.is_empty()),
        "{limits}"
    );
    let user = json(&[
        "pebblepad",
        "users",
        "create",
        "--username",
        "ada",
        "--forename",
        "Ada",
        "--surname",
        "Lovelace",
        "--email",
        "ada@example.test",
        "--custom-id",
        "S-ADA",
    ]);
    assert_eq!(user["created"], true);
    // A second command reuses the rotated service-account pair kept in the token file.
    assert_eq!(
        json(&["pebblepad", "users", "delete", "S-ADA", "--by-custom-id"])["marked_for_deletion"],
        true
    );
}
