//! Every installation yields the documented OAuth2 and API URLs (snapshot).

use std::collections::BTreeMap;

use shoal_pebblepad::Installation;

#[test]
fn every_installation_yields_the_documented_urls() {
    let mut all = Installation::NAMED.to_vec();
    all.push(Installation::custom("http://127.0.0.1:4200").unwrap());
    let table: BTreeMap<String, BTreeMap<&str, String>> = all
        .iter()
        .map(|i| {
            let urls = BTreeMap::from([
                ("oauth_base", i.oauth_base().to_string()),
                ("api_base", i.api_base().to_string()),
                ("authorise", i.authorisation_endpoint().to_string()),
                ("token", i.token_endpoint().to_string()),
            ]);
            (i.name(), urls)
        })
        .collect();
    assert_eq!(table["uk"]["api_base"], "https://v3.pebblepad.co.uk/api/");
    insta::assert_yaml_snapshot!(table);
}
