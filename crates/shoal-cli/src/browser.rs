//! The browser leg of a login: show the authorize URL, open the system browser on it (through
//! the `opener` crate, which hands the URL over whole on every platform), say what we wait for.

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
