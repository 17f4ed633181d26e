//! The demo's Pearl Diver walk: loopback login, audiences, a large audience streamed while
//! one-second tokens rotate and the service hiccups (two 503s, a 429).

use super::*;

const V: &str = "Pearl Diver";

pub(super) async fn pearldiver(emulator: &PearlDiver, args: &DemoArgs, ui: Ui) -> CliResult<Row> {
    let started = now();
    let ep = emulator.endpoints().clone();
    let changes = Arc::new(AtomicU64::new(0));
    let counter = changes.clone();
    let client = PearlDiverClient::builder()
        .oauth(
            ep.client_id.clone(),
            ep.client_secret.as_str().into(),
            "http://127.0.0.1:0/callback",
        )
        .authorize_url(&ep.authorize_url)
        .token_url(&ep.token_url)
        .audience(Some(&ep.audience))
        .api_base(&ep.api_base)
        .ephemeral_tokens()
        .refresh_settings(RefreshSettings::new(
            Duration::from_millis(300),
            Duration::ZERO,
            UnknownExpiry::RefreshFirst,
        ))
        .on_token_change(Arc::new(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        }))
        .retry_policy(RetryPolicy::default().max_attempts(6))
        .build()
        .map_err(|e| step(V, "client")(e.into()))?;

    let login = client.login().map_err(|e| step(V, "login")(e.into()))?;
    let pending = login
        // Any free port: the emulator takes any loopback port; a real login uses the registered one.
        .loopback(
            LoopbackOptions::default()
                .redirect_uri("http://127.0.0.1:0/callback")
                .timeout(Duration::from_secs(30)),
        )
        .await
        .map_err(|e| step(V, "login")(e.into()))?;
    let url = pending.authorize_url().clone();
    let (browser, finished) = tokio::join!(http::follow_authorize(&url), pending.finish());
    browser.map_err(step(V, "login"))?;
    finished.map_err(|e| step(V, "login")(e.into()))?;
    say(
        ui,
        &format!(
            "Pearl Diver   logged in: loopback redirect on 127.0.0.1, authorization code + PKCE (S256), tokens live {}s",
            args.token_ttl.max(1)
        ),
    );

    let list = client
        .audiences()
        .list()
        .send()
        .await
        .map_err(|e| step(V, "list audiences")(e.into()))?;
    let names: Vec<String> = list
        .audiences
        .iter()
        .map(|a| format!("{} ({})", a.key, a.name.as_deref().unwrap_or("")))
        .collect();
    check(
        list.audiences.iter().any(|a| a.key == AUDIENCE),
        V,
        "list audiences",
        format!("audience {AUDIENCE} missing"),
    )?;
    say(
        ui,
        &format!("              audiences: {}", names.join(", ")),
    );

    let bar = ui.bar(
        args.records,
        "              {bar:40} {pos}/{len} records {per_sec} {msg}",
    );
    let mut pages = std::pin::pin!(
        client
            .audiences()
            .records(AUDIENCE, AudienceWindow::default())
            .raw()
            .by_page()
    );
    let (mut records, mut page_no, mut faults_pushed) = (0u64, 0u64, false);
    let stream_started = now();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| step(V, "stream the audience")(e.into()))?;
        records += page.items.len() as u64;
        page_no += 1;
        bar.set_position(records);
        bar.set_message(format!(
            "token rotations: {}",
            changes.load(Ordering::Relaxed).saturating_sub(1)
        ));
        if !faults_pushed && records.saturating_mul(2) >= args.records {
            // The service hiccups mid-stream: two 503s, then a 429 asking for one second.
            emulator
                .faults()
                .push(Fault::status(503).times(2).on_path("/v1/audiences"));
            emulator.faults().push(
                Fault::status(429)
                    .times(1)
                    .retry_after("1")
                    .on_path("/v1/audiences"),
            );
            faults_pushed = true;
        }
    }
    bar.finish_and_clear();
    let streamed = stream_started.elapsed();
    let refreshes = changes.load(Ordering::Relaxed).saturating_sub(1);
    let stats = client.pipeline().stats();
    let families = emulator.stats().families;
    check(
        records == args.records,
        V,
        "stream the audience",
        format!("got {records} records, expected {}", args.records),
    )?;
    check(
        families == 1,
        V,
        "token rotation",
        format!("the emulator saw {families} logins; rotation should need only one"),
    )?;
    check(
        emulator.traffic().refresh_reuse() == 0,
        V,
        "token rotation",
        "a rotated refresh token was presented again".into(),
    )?;
    let rate = records as f64 / streamed.as_secs_f64().max(0.001);
    say(
        ui,
        &format!(
            "              streamed {records} records in {page_no} pages in {} ({rate:.0}/s); access token rotated {refreshes} times underneath, {} retries, {} × 429 honoured",
            human_duration(streamed),
            stats.retries,
            stats.rate_limited
        ),
    );
    if refreshes == 0 {
        say(
            ui,
            "              (the stream ended before the first expiry: more --records shows rotation)",
        );
    }
    sync_into_sqlite(&client, args, ui).await?;
    let row = Row {
        vendor: V,
        records,
        calls: stats.calls
            + emulator.traffic().token_calls("authorization_code")
            + emulator.traffic().token_calls("refresh_token"),
        refreshes,
        retries: stats.retries,
        rate_limited: stats.rate_limited,
        elapsed_ms: started.elapsed().as_millis(),
    };
    Ok(row)
}

/// Keeps the audience in a throwaway SQLite file: a full first run, then an incremental one.
async fn sync_into_sqlite(client: &PearlDiverClient, args: &DemoArgs, ui: Ui) -> CliResult {
    use shoal_sync::{AudienceSelection, DbUrl, SyncOptions, Syncer};
    const S: &str = "sync into SQLite";
    let dir =
        tempfile::tempdir().map_err(|e| CliError::io("cannot make a temporary directory", e))?;
    let db = DbUrl::sqlite(dir.path().join("pearldiver.db"));
    let started = now();
    let syncer = Syncer::open(client.clone(), &db, SyncOptions::default())
        .await
        .map_err(|e| step(V, S)(e.into()))?;
    let selection = AudienceSelection::Keys(vec![AUDIENCE]);
    let first = syncer
        .sync(&selection)
        .await
        .map_err(|e| step(V, S)(e.into()))?;
    check(
        first.ok && first.totals.inserted == args.records,
        V,
        S,
        format!(
            "inserted {} of {} records",
            first.totals.inserted, args.records
        ),
    )?;
    let took = started.elapsed();
    let again = syncer
        .sync(&selection)
        .await
        .map_err(|e| step(V, S)(e.into()))?;
    check(
        again.ok && again.totals.inserted == 0,
        V,
        S,
        format!("a second run inserted {} records", again.totals.inserted),
    )?;
    say(
        ui,
        &format!(
            "              synced {} records into SQLite in {} (page and cursor committed together); a second run was incremental: {} inserted, {} unchanged",
            first.totals.inserted,
            human_duration(took),
            again.totals.inserted,
            again.totals.unchanged
        ),
    );
    Ok(())
}

/// The demo's Pearl Diver: `records` records in audience [`AUDIENCE`], short-lived tokens, no
/// pre-issued token (the walk logs in), any loopback port for the redirect.
pub(super) fn config(args: &DemoArgs) -> PearlDiverConfig {
    PearlDiverConfig {
        access_token_ttl: Duration::from_secs(args.token_ttl.max(1)),
        audiences: vec![
            AudienceSpec::new(AUDIENCE, "All visitors, last 90 days", args.records),
            AudienceSpec::new(17, "Website visitors — Boston", 2_500),
        ],
        preissued_refresh_token: None,
        redirect_uris: shoal_testkit::RedirectUris::any_loopback_port(),
        ..Default::default()
    }
}
