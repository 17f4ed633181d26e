//! The demo's Paya Connect walk: a contact created, listed, updated, read back and deleted on
//! a session token, then the session ended.

use super::*;

pub(super) async fn paya(emulator: &Paya, ui: Ui) -> CliResult<Row> {
    const V: &str = "Paya Connect";
    let started = now();
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
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Gone) => {}
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
    Ok(row)
}
