//! The browser leg of a login: show the authorize URL, open the system browser on it (through
//! the `opener` crate, which hands the URL over whole on every platform), say what we wait for.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use shoal::auth::{Login, LoopbackOptions};

use crate::exit::CliResult;
use crate::ui::Ui;

/// A loopback login: listens on `redirect_uri`, [`show`]s the authorize URL, waits up to `wait`
/// for the redirect, and saves the tokens (a new family) before they are used.
pub async fn loopback_login(
    login: Login,
    vendor: &str,
    redirect_uri: &str,
    wait: Duration,
    patience: &str,
    no_browser: bool,
) -> CliResult {
    let options = LoopbackOptions::default()
        .redirect_uri(redirect_uri)
        .timeout(wait);
    let pending = login.loopback(options).await?;
    show(
        vendor,
        pending.authorize_url().as_str(),
        pending.redirect_uri(),
        patience,
        no_browser,
    );
    pending.finish().await?;
    Ok(())
}

/// Says where a finished login saved its tokens.
pub fn logged_in(ui: Ui, vendor: &str, token_file: &Path) {
    let path = token_file.display().to_string();
    ui.print(
        &format!("Logged in to {vendor}; tokens saved to {path}"),
        &json!({"logged_in": true, "token_file": path}),
    );
}

/// Prints the URL to stderr (never to logs: it carries the `state`) and, unless `no_browser`,
/// opens it.
pub fn show(vendor: &str, url: &str, redirect_uri: &str, patience: &str, no_browser: bool) {
    eprintln!("Open this URL in a browser to log in to {vendor}:");
    eprintln!("{url}");
    if !no_browser {
        if let Err(e) = opener::open_browser(url) {
            eprintln!("(no browser could be started: {e}; open the URL above yourself)");
        }
    }
    eprintln!("Waiting for the redirect to {redirect_uri} ({patience})…");
}
