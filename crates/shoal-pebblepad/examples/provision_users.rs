//! Creates a few users, puts them in a group and lists its members — paced under the
//! installation's limits however many calls run at once.
//!
//! ```sh
//! cargo run -p shoal-pebblepad --example provision_users
//! ```
//!
//! With `SHOAL_PEBBLEPAD_HOST` (or a custom installation URL), `SHOAL_PEBBLEPAD_CLIENT_ID`,
//! `SHOAL_PEBBLEPAD_CLIENT_SECRET`, a service account's `SHOAL_PEBBLEPAD_ACCESS_TOKEN` and
//! `SHOAL_PEBBLEPAD_REFRESH_TOKEN`, and `SHOAL_PEBBLEPAD_TOKEN_FILE` (where its rotations are
//! kept) set, it provisions on the real installation. Without them it starts the testkit's
//! PebblePad emulator.

use std::sync::Arc;

use futures_util::future::try_join_all;
use shoal_auth::{AccessToken, ClientSecret, RefreshToken};
use shoal_pebblepad::{
    BasicUserInfo, ConfigureTokens as _, FileTokenStore, Group, GroupMember, Installation,
    MemoryTokenStore, OAuthApp, PebblePadClient, ServiceAccount, Target, TokenStore,
};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real = [
        "SHOAL_PEBBLEPAD_HOST",
        "SHOAL_PEBBLEPAD_CLIENT_ID",
        "SHOAL_PEBBLEPAD_CLIENT_SECRET",
        "SHOAL_PEBBLEPAD_ACCESS_TOKEN",
        "SHOAL_PEBBLEPAD_REFRESH_TOKEN",
        "SHOAL_PEBBLEPAD_TOKEN_FILE",
    ]
    .map(var);
    let mut emulator = None;
    let (host, id, secret, access, refresh, store): (_, _, _, _, _, Arc<dyn TokenStore>) =
        match real {
            [Some(h), Some(i), Some(s), Some(a), Some(r), Some(f)] => {
                (h, i, s, a, r, Arc::new(FileTokenStore::new(f)))
            }
            _ => {
                eprintln!("no SHOAL_PEBBLEPAD_* service account: using the testkit emulator");
                let pp = shoal_testkit::pebblepad::PebblePad::start_default().await?;
                let ep = pp.endpoints().clone();
                let pair = pp.service_account(std::time::Duration::ZERO);
                emulator = Some(pp);
                (
                    ep.host,
                    ep.client_id,
                    ep.client_secret,
                    pair.access_token,
                    pair.refresh_token,
                    Arc::new(MemoryTokenStore::new()),
                )
            }
        };
    let account = ServiceAccount::new(
        OAuthApp::new(id, ClientSecret::new(secret), ""),
        AccessToken::new(access),
        RefreshToken::new(refresh),
    );
    let client = PebblePadClient::builder(Installation::custom(&host)?)
        .service_account(account)
        .token_store(store)
        .build()?;
    let cohort = "SHOAL-EXAMPLE-2026";
    client
        .groups()
        .create(&Group::new("Shoal example cohort").custom_id(cohort))
        .send()
        .await?;
    // Concurrent calls share one limiter: none of them trips a limit.
    let users = (1..=5).map(|n| {
        let user = BasicUserInfo::new(format!("shoal.example.{n}"))
            .name("Example", format!("Student {n}"))
            .email(format!("student{n}@example.test"))
            .custom_id(format!("SX{n:04}"));
        let client = client.clone();
        async move { client.users().create(&user).send().await }
    });
    try_join_all(users).await?;
    let members: Vec<GroupMember> = (1..=5)
        .map(|n| GroupMember::custom_id(format!("SX{n:04}")))
        .collect();
    client
        .groups()
        .add_members(Target::custom_id(cohort), &members)
        .send()
        .await?;
    let listed = client
        .groups()
        .members(Target::custom_id(cohort))
        .send()
        .await?;
    let limits = client.rate_limits().await?;
    eprintln!(
        "{} members in {cohort}; {} calls, {} × 429",
        listed.len(),
        client.stats().calls,
        limits.rejections
    );
    if let Some(pp) = emulator {
        pp.shutdown().await;
    }
    Ok(())
}
