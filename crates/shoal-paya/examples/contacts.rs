//! Upserts a contact by the merchant's own id, lists every contact, then deletes the one it
//! made — on the key method.
//!
//! ```sh
//! cargo run -p shoal-paya --example contacts
//! ```
//!
//! With `SHOAL_PAYA_DEVELOPER_ID`, `SHOAL_PAYA_USER_ID`, `SHOAL_PAYA_API_KEY` and
//! `SHOAL_PAYA_LOCATION_ID` set (and `SHOAL_PAYA_BASE_URL` for another host than the sandbox),
//! it talks to Paya Connect. Without them it starts the testkit's Paya emulator.

use futures_util::TryStreamExt as _;
use shoal_paya::{ApiKey, Environment, KeyPlacement, NewContact, PayaClient};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real = [
        "SHOAL_PAYA_DEVELOPER_ID",
        "SHOAL_PAYA_USER_ID",
        "SHOAL_PAYA_API_KEY",
        "SHOAL_PAYA_LOCATION_ID",
    ]
    .map(var);
    let mut emulator = None;
    let (environment, developer, user, key, location) = match real {
        [Some(d), Some(u), Some(k), Some(l)] => {
            let environment = match var("SHOAL_PAYA_BASE_URL") {
                Some(base) => Environment::custom(&base)?,
                None => Environment::Sandbox,
            };
            (environment, d, u, k, l)
        }
        _ => {
            eprintln!("no SHOAL_PAYA_* credentials: using the testkit emulator");
            let paya = shoal_testkit::paya::Paya::start_default().await?;
            let ep = paya.endpoints().clone();
            emulator = Some(paya);
            (
                Environment::custom(&ep.base_url)?,
                ep.developer_id,
                ep.user_id,
                ep.user_api_key,
                ep.location_id,
            )
        }
    };
    let client = PayaClient::builder(environment)
        .developer_id(developer)
        .api_key(user, ApiKey::new(key), KeyPlacement::Headers)
        .build()?;
    // An upsert keyed by contact_api_id: safe to send again after a timeout or a 5xx.
    let contact = NewContact::new(location, "Lovelace")
        .first_name("Ada")
        .email("ada@example.test")
        .contact_api_id("shoal-example-1");
    let saved = client
        .contacts()
        .create(contact)
        .update_if_exists()
        .send()
        .await?;
    let all: Vec<_> = client
        .contacts()
        .list()
        .page_size(100)
        .by_item()
        .try_collect()
        .await?;
    eprintln!("{} contacts, ours is {:?}", all.len(), saved.id);
    if let Some(id) = &saved.id {
        client.contacts().delete(id).send().await?;
    }
    if let Some(paya) = emulator {
        paya.shutdown().await;
    }
    Ok(())
}
