//! Every record of one Pearl Diver audience, as NDJSON on stdout (a count on stderr).
//!
//! ```sh
//! cargo run -p shoal-pearldiver --example export_audience > audience.ndjson
//! ```
//!
//! With `SHOAL_PEARLDIVER_CLIENT_ID`, `SHOAL_PEARLDIVER_CLIENT_SECRET` and
//! `SHOAL_PEARLDIVER_TOKEN_FILE` (the token file `shoal pearldiver login` wrote) set, it reads the
//! real service — `SHOAL_PEARLDIVER_AUDIENCE` picks the audience, else the first one listed.
//! Without them it starts the testkit's Pearl Diver emulator and reads that: no account needed.

use std::io::Write as _;
use std::sync::Arc;

use futures_util::TryStreamExt as _;
use shoal_auth::{AccessToken, RefreshToken, TokenRecord};
use shoal_pearldiver::{
    AudienceWindow, ClientSecret, ConfigureTokens as _, FileTokenStore, MemoryTokenStore,
    PearlDiverClient,
};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real = (
        var("SHOAL_PEARLDIVER_CLIENT_ID"),
        var("SHOAL_PEARLDIVER_CLIENT_SECRET"),
        var("SHOAL_PEARLDIVER_TOKEN_FILE"),
    );
    // Kept alive until the end: the emulator stops when dropped.
    let mut emulator = None;
    let client = match real {
        (Some(id), Some(secret), Some(tokens)) => PearlDiverClient::builder()
            .oauth(
                id,
                ClientSecret::new(secret),
                shoal_auth::DEFAULT_REDIRECT_URI,
            )
            .token_store(Arc::new(FileTokenStore::new(tokens)))
            .build()?,
        _ => {
            eprintln!("no SHOAL_PEARLDIVER_* credentials: using the testkit emulator");
            let pd = shoal_testkit::pearldiver::PearlDiver::start_default().await?;
            let ep = pd.endpoints().clone();
            let issued = pd.mint_tokens();
            let tokens = MemoryTokenStore::with_record(TokenRecord::unknown_age(
                AccessToken::new(issued.access_token),
                RefreshToken::new(issued.refresh_token),
            ));
            emulator = Some(pd);
            PearlDiverClient::builder()
                .oauth(
                    ep.client_id,
                    ClientSecret::new(ep.client_secret),
                    ep.redirect_uri,
                )
                .auth_server(&ep.auth_base)
                .api_base(&ep.api_base)
                .token_store(Arc::new(tokens))
                .build()?
        }
    };
    let key = match var("SHOAL_PEARLDIVER_AUDIENCE") {
        Some(key) => key.parse()?,
        None => {
            let list = client.audiences().list().send().await?;
            list.audiences.first().ok_or("no audience to export")?.key
        }
    };
    // Raw records: each one's JSON exactly as the service sent it, unknown fields included.
    let mut pages = client
        .audiences()
        .records(key, AudienceWindow::last_days(90)?)
        .raw()
        .by_page();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut count = 0usize;
    while let Some(page) = pages.try_next().await? {
        for record in &page.items {
            writeln!(out, "{}", record.get())?;
        }
        count += page.items.len();
    }
    out.flush()?;
    eprintln!("audience {key}: {count} records");
    if let Some(pd) = emulator {
        pd.shutdown().await;
    }
    Ok(())
}
