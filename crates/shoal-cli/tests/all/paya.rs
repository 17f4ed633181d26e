//! `shoal paya --no-input-checks`: what the client's field limits refuse (some of them assumed)
//! goes to Paya, which judges it; without the flag it is refused before anything is sent.

use crate::bulk_support::{paya, runtime, shoal};
use crate::support::{stderr, stdout};

#[test]
fn no_input_checks_sends_what_the_assumed_limits_refuse() {
    let rt = runtime();
    let (py, env) = paya(&rt);
    let location = env
        .iter()
        .find(|(k, _)| k == "SHOAL_PAYA_LOCATION_ID")
        .map(|(_, v)| v.clone())
        .unwrap();
    // Letters in a state and an `@` in an e-mail address are this client's assumptions; the
    // emulator, like the contract, asks only for their lengths.
    let create = |extra: &[&str]| {
        shoal(&env)
            .args(["paya", "contacts", "create", "last_name=Smith", "state=N1"])
            .args(["email=ann.example", "--location-id", &location])
            .args(extra)
            .output()
            .unwrap()
    };
    let posts = || py.traffic().count("POST", "/v2/contacts");

    let refused = create(&[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("invalid"), "{}", stderr(&refused));
    assert_eq!(posts(), 0, "refused before sending");

    let sent = create(&["--no-input-checks"]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(
        stdout(&sent).contains("Created contact"),
        "{}",
        stdout(&sent)
    );
    assert_eq!(posts(), 1);
    let stored = py.contacts();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["state"], "N1");
    assert_eq!(stored[0]["email"], "ann.example");

    // The assumed `page_size` maximum, through the variable this time.
    let list = |unchecked: bool| {
        let mut c = shoal(&env);
        c.args(["paya", "contacts", "list", "--page-size", "250"]);
        if unchecked {
            c.env("SHOAL_PAYA_NO_INPUT_CHECKS", "true");
        }
        c.output().unwrap()
    };
    let gets = || py.traffic().count("GET", "/v2/contacts");
    let refused = list(false);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("page_size"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(gets(), 0);
    let listed = list(true);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        stdout(&listed).contains("1 contacts"),
        "{}",
        stdout(&listed)
    );
    let asked = py.traffic().matching("GET", "/v2/contacts");
    assert!(
        asked[0]
            .query
            .as_deref()
            .unwrap_or_default()
            .contains("page_size=250"),
        "{:?}",
        asked[0].query
    );
}
