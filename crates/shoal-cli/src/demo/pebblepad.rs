//! The demo's PebblePad walk: a burst of concurrent provisioning and reads paced under the
//! installation's limits, with the limiter's view printed live.

use super::*;

pub(super) async fn pebblepad(emulator: &PebblePadEmulator, ui: Ui) -> CliResult<Row> {
    const V: &str = "PebblePad";
    let started = now();
    let limits = emulator_limits();
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
    let client = PebblePadClient::builder(installation)
        .service_account(account)
        .ephemeral_tokens()
        .window(limits.window)
        .build()
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
    Ok(row)
}

/// Prints the limiter's view (limit, server's remaining, in flight) while a burst runs.
fn live_limits(client: PebblePadClient, ui: Ui) -> tokio::task::JoinHandle<()> {
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

/// The demo's PebblePad limits: small, so the burst has to be paced.
pub(super) fn emulator_limits() -> RateLimits {
    RateLimits {
        get: 40,
        post: 10,
        put: 10,
        delete: 10,
        concurrency: 4,
        window: Duration::from_secs(1),
    }
}
