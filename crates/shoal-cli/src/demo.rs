//! `shoal demo`: the whole SDK on the built-in emulators, walked through as a user would — a
//! Pearl Diver login and a large audience streamed while tokens rotate, a paced PebblePad burst,
//! a Paya contact's life with a session token — ending with a summary table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, future::join_all};
use serde_json::json;
use shoal::auth::{AccessToken, LoopbackOptions, RefreshSettings, RefreshToken, UnknownExpiry};
use shoal::core::{Clock, RetryPolicy, SystemClock};
use shoal::paya::{
    ContactField, ContactUpdate, Environment, NewContact, Password, PayaClient, PayaErrorExt,
};
use shoal::pearldiver::{AudienceWindow, PearlDiverClient};
use shoal::pebblepad::{
    BasicUserInfo, Group, GroupMember, Installation, OAuthApp, PebblePad, ServiceAccount, Target,
};
use shoal_testkit::Fault;
use shoal_testkit::paya::{Paya, PayaConfig};
use shoal_testkit::pearldiver::{AudienceSpec, PearlDiver, PearlDiverConfig};
use shoal_testkit::pebblepad::{PebblePad as PebblePadEmulator, PebblePadConfig, RateLimits};

use crate::args::DemoArgs;
use crate::exit::{CliError, CliResult, Failure};
use crate::ui::{Ui, human_duration};
use crate::{config, http};

const AUDIENCE: u64 = 42;
const USERS: usize = 20;
const READS: usize = 100;

/// One vendor's line in the summary table.
#[derive(Debug, Default, serde::Serialize)]
struct Row {
    vendor: &'static str,
    records: u64,
    calls: u64,
    refreshes: u64,
    retries: u64,
    rate_limited: u64,
    elapsed_ms: u128,
}

fn now() -> Instant {
    SystemClock.now()
}

/// A failed step: which one and why.
fn step(vendor: &str, what: &str) -> impl FnOnce(CliError) -> CliError {
    let at = format!("{vendor} / {what}");
    move |e| CliError {
        message: format!("{at}: {}", e.message),
        ..e
    }
}

fn check(ok: bool, vendor: &str, what: &str, why: String) -> CliResult {
    if ok {
        Ok(())
    } else {
        Err(CliError::new(
            Failure::Service,
            format!("{vendor} / {what}: {why}"),
        ))
    }
}

fn say(ui: Ui, line: &str) {
    if !ui.json {
        println!("{line}");
    }
}

/// Runs the demo; exit 0 only if every step did what it says.
pub async fn run(args: DemoArgs, ui: Ui) -> CliResult {
    let started = now();
    say(
        ui,
        "Shoal demo: three services emulated on 127.0.0.1 — no account, no network.\n",
    );
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for result in [
        pearldiver(&args, ui).await,
        pebblepad(ui).await,
        paya(ui).await,
    ] {
        match result {
            Ok(row) => rows.push(row),
            Err(e) => {
                say(ui, &format!("  FAILED  {e}"));
                failures.push(e);
            }
        }
    }
    let total = started.elapsed();
    let mut table = format!(
        "\n{:<14}{:>9}{:>7}{:>11}{:>9}{:>7}{:>10}",
        "service", "records", "calls", "refreshes", "retries", "429s", "elapsed"
    );
    for r in &rows {
        table.push_str(&format!(
            "\n{:<14}{:>9}{:>7}{:>11}{:>9}{:>7}{:>10}",
            r.vendor,
            r.records,
            r.calls,
            r.refreshes,
            r.retries,
            r.rate_limited,
            human_duration(Duration::from_millis(
                u64::try_from(r.elapsed_ms).unwrap_or(u64::MAX)
            ))
        ));
    }
    let sum = |f: fn(&Row) -> u64| rows.iter().map(f).sum::<u64>();
    table.push_str(&format!(
        "\n{:<14}{:>9}{:>7}{:>11}{:>9}{:>7}{:>10}",
        "total",
        sum(|r| r.records),
        sum(|r| r.calls),
        sum(|r| r.refreshes),
        sum(|r| r.retries),
        sum(|r| r.rate_limited),
        human_duration(total)
    ));
    let failed: Vec<String> = failures.iter().map(|e| e.message.clone()).collect();
    let verdict = if failed.is_empty() {
        "\nEvery step did what it says."
    } else {
        "\nSome steps failed (above)."
    };
    ui.print(
        &format!("{table}{verdict}"),
        &json!({"ok": failed.is_empty(), "services": rows, "elapsed_ms": total.as_millis(), "failures": failed}),
    );
    match failures.into_iter().next() {
        None => Ok(()),
        Some(first) if failed.len() > 1 => Err(CliError::new(
            first.kind,
            format!("{} steps failed; first: {}", failed.len(), first.message),
        )),
        Some(first) => Err(first),
    }
}

async fn pearldiver(args: &DemoArgs, ui: Ui) -> CliResult<Row> {
    const V: &str = "Pearl Diver";
    let started = now();
    let emulator = PearlDiver::start(PearlDiverConfig {
        access_token_ttl: Duration::from_secs(args.token_ttl.max(1)),
        audiences: vec![
            AudienceSpec::new(AUDIENCE, "All visitors, last 90 days", args.records),
            AudienceSpec::new(17, "Website visitors — Boston", 2_500),
        ],
        preissued_refresh_token: None,
        ..Default::default()
    })
    .await
    .map_err(|e| CliError::io("cannot start the Pearl Diver emulator", e))?;
    let ep = emulator.endpoints().clone();
    let conn = crate::args::PearlDiverConn {
        client_id: Some(ep.client_id.clone()),
        client_secret: Some(ep.client_secret.as_str().into()),
        auth_url: Some(ep.authorize_url.clone()),
        token_url: Some(ep.token_url.clone()),
        api_url: Some(ep.api_base.clone()),
        scope: None,
        audience_param: Some(ep.audience.clone()),
        token_file: None,
    };
    let changes = Arc::new(AtomicU64::new(0));
    let counter = changes.clone();
    let client = PearlDiverClient::builder()
        .oauth_config(config::pearldiver_oauth(&conn)?)
        .api_base(&ep.api_base)
        .refresh_settings(RefreshSettings::new(
            Duration::from_millis(300),
            Duration::ZERO,
            UnknownExpiry::RefreshFirst,
        ))
        .on_token_change(Arc::new(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        }))
        .retry_policy(RetryPolicy {
            max_attempts: 6,
            ..RetryPolicy::default()
        })
        .build()
        .map_err(|e| step(V, "client")(e.into()))?;

    let login = client.login().map_err(|e| step(V, "login")(e.into()))?;
    let pending = login
        .loopback(LoopbackOptions::default().timeout(Duration::from_secs(30)))
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
        if !faults_pushed && records * 2 >= args.records {
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
    emulator.shutdown().await;
    Ok(row)
}

async fn pebblepad(ui: Ui) -> CliResult<Row> {
    const V: &str = "PebblePad";
    let started = now();
    let limits = RateLimits {
        get: 40,
        post: 10,
        put: 10,
        delete: 10,
        concurrency: 4,
        window: Duration::from_secs(1),
    };
    let emulator = PebblePadEmulator::start(PebblePadConfig {
        limits,
        ..Default::default()
    })
    .await
    .map_err(|e| CliError::io("cannot start the PebblePad emulator", e))?;
    let ep = emulator.endpoints().clone();
    let (Some(access), Some(refresh)) = (
        ep.service_access_token.clone(),
        ep.service_refresh_token.clone(),
    ) else {
        return Err(CliError::new(
            Failure::Internal,
            "PebblePad / service account: the emulator issued no tokens",
        ));
    };
    let account = ServiceAccount::new(
        OAuthApp::new(ep.client_id.clone(), ep.client_secret.as_str().into(), ""),
        AccessToken::new(access),
        RefreshToken::new(refresh),
    );
    let installation = Installation::custom(&ep.host).map_err(|e| step(V, "client")(e.into()))?;
    let client = PebblePad::builder(installation)
        .service_account(account)
        .window(limits.window)
        .build()
        .await
        .map_err(|e| step(V, "client")(e.into()))?;
    say(
        ui,
        &format!(
            "\nPebblePad     service account; limits {} GET, {} POST per second, {} concurrent",
            limits.get, limits.post, limits.concurrency
        ),
    );

    let group = client
        .groups()
        .create(&Group::new("Demo cohort").custom_id("DEMO-1"))
        .send()
        .await
        .map_err(|e| step(V, "create a group")(e.into()))?;
    let ticker = live_limits(client.clone(), ui);
    let creates = (0..USERS).map(|i| {
        let user = BasicUserInfo::new(format!("demo.student{i:02}"))
            .name("Demo", format!("Student {i:02}"))
            .email(format!("demo.student{i:02}@example.test"))
            .custom_id(format!("S{i:05}"));
        let client = client.clone();
        async move { client.users().create(&user).send().await }
    });
    let created = join_all(creates).await;
    let failed = created.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = created.into_iter().find(|r| r.is_err()) {
        ticker.abort();
        return Err(
            step(V, "create users")(CliError::from(e)).hint(format!("{failed} of {USERS} failed"))
        );
    }
    let members: Vec<GroupMember> = (0..USERS)
        .map(|i| GroupMember::custom_id(format!("S{i:05}")))
        .collect();
    client
        .groups()
        .add_members(Target::custom_id("DEMO-1"), &members)
        .send()
        .await
        .map_err(|e| step(V, "add members")(e.into()))?;
    let reads = (0..READS).map(|_| {
        let client = client.clone();
        async move {
            client
                .groups()
                .members(Target::custom_id("DEMO-1"))
                .send()
                .await
        }
    });
    let read = join_all(reads).await;
    ticker.abort();
    let mut sizes = Vec::new();
    for r in read {
        sizes.push(r.map_err(|e| step(V, "read members")(e.into()))?.len());
    }
    check(
        sizes.iter().all(|n| *n == USERS),
        V,
        "read members",
        format!("expected {USERS} members in every read, got {sizes:?}"),
    )?;
    let stats = client.stats();
    let seen_429 = emulator.traffic().rate_limited();
    check(
        seen_429 == 0,
        V,
        "pacing",
        format!("the emulator answered 429 {seen_429} times; pacing should avoid every one"),
    )?;
    say(
        ui,
        &format!(
            "              {USERS} users created concurrently, added to group {}, {READS} concurrent reads: {} calls, zero 429s, in {}",
            group.id.as_deref().unwrap_or("DEMO-1"),
            stats.calls,
            human_duration(started.elapsed())
        ),
    );
    let row = Row {
        vendor: V,
        records: USERS as u64,
        calls: stats.calls,
        refreshes: emulator.traffic().token_calls("refresh_token"),
        retries: stats.retries,
        rate_limited: seen_429,
        elapsed_ms: started.elapsed().as_millis(),
    };
    emulator.shutdown().await;
    Ok(row)
}

/// Prints the limiter's view (limit, server's remaining, in flight) while a burst runs.
fn live_limits(client: PebblePad, ui: Ui) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = String::new();
        loop {
            SystemClock.sleep(Duration::from_millis(250)).await;
            let Ok(status) = client.rate_limits().await else {
                continue;
            };
            let show = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
            let methods: Vec<String> = status
                .methods
                .iter()
                .filter(|(m, _)| m.as_str() == "GET" || m.as_str() == "POST")
                .map(|(m, s)| {
                    format!(
                        "{m} {}/{} remaining",
                        show(s.server_remaining),
                        show(s.limit)
                    )
                })
                .collect();
            let line = format!(
                "              live: {}; concurrency limit {}",
                methods.join(", "),
                show(status.concurrency_limit)
            );
            if line != last {
                say(ui, &line);
                last = line;
            }
        }
    })
}

async fn paya(ui: Ui) -> CliResult<Row> {
    const V: &str = "Paya Connect";
    let started = now();
    let emulator = Paya::start(PayaConfig::default())
        .await
        .map_err(|e| CliError::io("cannot start the Paya emulator", e))?;
    let ep = emulator.endpoints().clone();
    let client = PayaClient::builder(
        Environment::custom(&ep.base_url).map_err(|e| step(V, "client")(e.into()))?,
    )
    .developer_id(ep.developer_id.clone())
    .session(
        ep.username.clone(),
        Password::new(ep.password.clone()),
        ep.domain.clone(),
    )
    .build()
    .map_err(|e| step(V, "client")(e.into()))?;
    let contacts = client.contacts();
    let new = NewContact::new(ep.location_id.clone(), "Lovelace")
        .first_name("Ada")
        .email("ada@example.test")
        .contact_api_id("demo-0001");
    let created = contacts
        .create(new)
        .send()
        .await
        .map_err(|e| step(V, "create a contact")(e.into()))?;
    let id = created.id.clone().unwrap_or_default();
    say(
        ui,
        &format!("\nPaya Connect  session token from POST /v2/token; created contact {id}"),
    );
    let listed: Vec<_> = contacts
        .list()
        .filter(ContactField::ContactApiId, "demo-0001")
        .send()
        .await
        .map_err(|e| step(V, "list contacts")(e.into()))?
        .items;
    check(
        listed.iter().any(|c| c.id.as_deref() == Some(id.as_str())),
        V,
        "list contacts",
        "the new contact is not listed".into(),
    )?;
    let update = ContactUpdate::new()
        .email("ada.lovelace@example.test")
        .city("London");
    contacts
        .update(id.clone(), update)
        .send()
        .await
        .map_err(|e| step(V, "update the contact")(e.into()))?;
    let read = contacts
        .get(id.clone())
        .send()
        .await
        .map_err(|e| step(V, "read the contact back")(e.into()))?;
    check(
        read.email.as_deref() == Some("ada.lovelace@example.test"),
        V,
        "update the contact",
        format!("email is {:?}", read.email),
    )?;
    contacts
        .delete(id.clone())
        .send()
        .await
        .map_err(|e| step(V, "delete the contact")(e.into()))?;
    match contacts.get(id.clone()).send().await {
        Err(e) if e.is_not_found() || e.is_deleted() => {}
        Err(e) => return Err(step(V, "delete the contact")(e.into())),
        Ok(_) => {
            return Err(CliError::new(
                Failure::Service,
                format!("{V} / delete the contact: still readable"),
            ));
        }
    }
    client
        .logout()
        .await
        .map_err(|e| step(V, "logout")(e.into()))?;
    let traffic = emulator.traffic();
    let logouts = traffic
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.starts_with("/v2/token/"))
        .count();
    check(
        logouts == 1,
        V,
        "logout",
        format!("expected one DELETE /v2/token/…, saw {logouts}"),
    )?;
    let stats = client.pipeline().stats();
    say(
        ui,
        &format!(
            "              listed, updated, read back, deleted (404 after), logged out: {} calls",
            traffic.requests().len()
        ),
    );
    let row = Row {
        vendor: V,
        records: 1,
        calls: traffic.requests().len() as u64,
        refreshes: traffic.count("POST", "/v2/token") as u64,
        retries: stats.retries,
        rate_limited: stats.rate_limited,
        elapsed_ms: started.elapsed().as_millis(),
    };
    emulator.shutdown().await;
    Ok(row)
}
