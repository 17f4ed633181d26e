//! End to end against the testkit emulator: service accounts with an expired access token,
//! the authorization-code login, impersonation, and every twin action by id and by custom id.

use shoal_auth::ConfigureTokens as _;
use std::time::Duration;

use shoal_auth::{RefreshSettings, UnknownExpiry};
use shoal_core::Transport;
use shoal_pebblepad::{
    ApplicationReference, BasicUserInfo, Grade, Group, GroupMember, IdKind, Impersonate as _,
    PebblePadClient, PebblePadErrorExt, Target, UserDetails,
};
use shoal_testkit::pebblepad::RateLimits;

use crate::support::{emulator, emulator_client};

fn settings(unknown: UnknownExpiry) -> RefreshSettings {
    RefreshSettings::new(Duration::from_secs(60), Duration::ZERO, unknown)
}

async fn expired_client(
    emu: &shoal_testkit::pebblepad::PebblePad,
    unknown: UnknownExpiry,
) -> PebblePadClient {
    let pair = emu.service_account(Duration::from_secs(3600 + 60));
    emulator_client(
        emu,
        Some((pair.access_token, pair.refresh_token)),
        settings(unknown),
    )
    .await
}

#[tokio::test]
async fn an_expired_service_account_token_is_refreshed_once_before_first_use() {
    let emu = emulator(RateLimits::default()).await;
    let client = expired_client(&emu, UnknownExpiry::RefreshFirst).await;
    for n in 0..3 {
        let user = BasicUserInfo::new(format!("svc-{n}"));
        client.users().create(&user).send().await.unwrap();
    }
    assert_eq!(emu.traffic().token_calls("refresh_token"), 1);
    let unauthorized = emu
        .traffic()
        .requests()
        .iter()
        .filter(|r| r.status == Some(401))
        .count();
    assert_eq!(unauthorized, 0);
    assert_eq!(emu.users().len(), 3 + 3);
}

#[tokio::test]
async fn an_expired_service_account_token_used_until_401_refreshes_once_and_replays() {
    let emu = emulator(RateLimits::default()).await;
    let client = expired_client(&emu, UnknownExpiry::UseUntilUnauthorized).await;
    for n in 0..3 {
        let user = BasicUserInfo::new(format!("svc-{n}"));
        client.users().create(&user).send().await.unwrap();
    }
    assert_eq!(emu.traffic().token_calls("refresh_token"), 1);
    let creates = emu.traffic().matching("POST", "/api/1.1/User/Create");
    let statuses: Vec<_> = creates.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(401), Some(200), Some(200), Some(200)]);
    assert_eq!(client.stats().auth_replays, 1);
}

#[tokio::test]
async fn authorization_code_login_uses_basic_and_british_endpoints() {
    let emu = emulator(RateLimits::default()).await;
    let ep = emu.endpoints().clone();
    let app = shoal_pebblepad::OAuthApp::new(
        ep.client_id.clone(),
        shoal_auth::ClientSecret::new(ep.client_secret.clone()),
        ep.redirect_uri.clone(),
    );
    let client = PebblePadClient::builder(shoal_pebblepad::Installation::custom(&ep.host).unwrap())
        .oauth(app)
        .token_store(std::sync::Arc::new(shoal_auth::MemoryTokenStore::new()))
        .build()
        .unwrap();
    let login = client.login().unwrap();
    let pending = login.authorize();
    assert!(
        pending
            .url()
            .path()
            .ends_with("/login/OAuth2/AuthorisationEndpoint")
    );
    assert!(!pending.url().as_str().contains("code_challenge"));
    let browser = shoal_core::ReqwestTransport::new().unwrap();
    let answer = browser
        .send(
            http::Request::get(pending.url().as_str())
                .body(shoal_core::Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    login.complete(&pending, &location).await.unwrap();
    client
        .users()
        .create(&BasicUserInfo::new("after-login"))
        .send()
        .await
        .unwrap();
    let token = emu
        .traffic()
        .matching("POST", "/login/OAuth2/TokenEndpoint");
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].header("authorization"), Some("[redacted]"));
    assert!(
        !token[0].body.contains("client_id="),
        "Basic, not the body: {}",
        token[0].body
    );
    assert_eq!(emu.traffic().token_calls("authorization_code"), 1);
}

#[tokio::test]
async fn every_action_by_id_and_by_custom_id_reaches_the_record() {
    let emu = emulator(RateLimits::default()).await;
    let c = emulator_client(&emu, None, RefreshSettings::default()).await;
    let u = c.users();
    let a = u
        .create(&BasicUserInfo::new("ann").custom_id("S-A"))
        .send()
        .await
        .unwrap();
    let b = u
        .create(&BasicUserInfo::new("bob").custom_id("S B/1"))
        .send()
        .await
        .unwrap();
    let dup = u
        .create(&BasicUserInfo::new("ann"))
        .send()
        .await
        .unwrap_err();
    assert!(dup.is_username_exists(), "{dup}");
    let (a_id, b_id) = (a.id.clone().unwrap(), b.id.clone().unwrap());
    let targets = [Target::id(a_id.clone()), Target::custom_id("S B/1")];
    let details = UserDetails::new()
        .set("Telephone", "01632 960000")
        .set("Town", "Leeds");
    for t in &targets {
        let user = u
            .add_contact_details(t.clone(), &details)
            .send()
            .await
            .unwrap();
        assert_eq!(user.extra["ContactDetails"]["Town"], "Leeds");
        u.add_other_details(t.clone(), &details)
            .send()
            .await
            .unwrap();
        let user = u
            .delete_contact_details(t.clone(), &["Town"])
            .send()
            .await
            .unwrap();
        assert!(user.extra["ContactDetails"].get("Town").is_none());
        u.delete_other_details(t.clone(), &["Town"])
            .send()
            .await
            .unwrap();
    }

    let g = c.groups();
    let group = g
        .create(&Group::new("Cohort").custom_id("C-1"))
        .send()
        .await
        .unwrap();
    let group_targets = [
        Target::id(group.id.clone().unwrap()),
        Target::custom_id("C-1"),
    ];
    g.add_members(group_targets[0].clone(), &[GroupMember::id(a_id.clone())])
        .send()
        .await
        .unwrap();
    g.add_members(group_targets[1].clone(), &[GroupMember::custom_id("S B/1")])
        .impersonate("ann")
        .send()
        .await
        .unwrap();
    for t in &group_targets {
        assert_eq!(g.members(t.clone()).send().await.unwrap().len(), 2);
        g.update(t.clone(), &Group::default().field("Description", "d"))
            .send()
            .await
            .unwrap();
    }
    g.remove_members(group_targets[1].clone(), &[GroupMember::id(b_id.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        g.members(group_targets[0].clone())
            .send()
            .await
            .unwrap()
            .len(),
        1
    );

    let gr = c.grades();
    let by_id = gr.import(
        IdKind::Id,
        &[Grade::for_user_id(a_id.clone(), "B").field("CustomId", "GR-A")],
    );
    assert_eq!(by_id.send().await.unwrap().len(), 1);
    let by_custom = gr.import(IdKind::CustomId, &[Grade::for_user_custom_id("S B/1", "A")]);
    let imported = by_custom.send().await.unwrap();
    assert_eq!(
        gr.for_user(Target::id(a_id.clone())).send().await.unwrap()[0]
            .grade
            .as_deref(),
        Some("B")
    );
    assert_eq!(
        gr.for_user(Target::custom_id("S B/1"))
            .send()
            .await
            .unwrap()
            .len(),
        1
    );
    let grade_targets = [
        Target::id(imported[0].id.clone().unwrap()),
        Target::custom_id("GR-A"),
    ];
    for t in &grade_targets {
        assert_eq!(gr.get(t.clone()).send().await.unwrap().len(), 1);
        let updated = gr
            .update(t.clone(), &Grade::value("A*"))
            .send()
            .await
            .unwrap();
        assert_eq!(updated.grade.as_deref(), Some("A*"));
        gr.recall(t.clone()).send().await.unwrap();
    }
    for t in &group_targets[1..] {
        g.delete(t.clone()).send().await.unwrap();
    }
    for t in &targets {
        u.delete(t.clone()).send().await.unwrap();
    }
    let statuses: Vec<_> = emu
        .users()
        .iter()
        .filter_map(|u| u["Status"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| *s == "MarkedForDeletion")
            .count(),
        2
    );
    assert!(emu.groups().is_empty());

    let custom_paths = emu
        .traffic()
        .requests()
        .iter()
        .filter(|r| r.path.contains("OnCustomId/") || r.path.contains("OnCustomUserId"))
        .count();
    assert!(custom_paths >= 13, "{custom_paths}");
}

#[tokio::test]
async fn application_references_round_trip() {
    let emu = emulator(RateLimits::default()).await;
    let c = emulator_client(&emu, None, RefreshSettings::default()).await;
    let a = c.application_references();
    let reference = ApplicationReference::new("ref-1", "app-9")
        .name("Dr A")
        .statement("Good");
    a.create(&reference).send().await.unwrap();
    a.update(&reference.clone().statement("Better"))
        .send()
        .await
        .unwrap();
    let got = a.get("ref-1").send().await.unwrap();
    assert_eq!(got.statement.as_deref(), Some("Better"));
    assert_eq!(a.for_application("app-9").send().await.unwrap().len(), 1);
    a.delete("ref-1").send().await.unwrap();
    assert!(emu.application_references().is_empty());
    let impersonated = c
        .groups()
        .members(Target::id("nope"))
        .impersonate("no-such-user")
        .send()
        .await
        .unwrap_err();
    assert_eq!(impersonated.status().map(|s| s.as_u16()), Some(403));
    let sent = emu.traffic().requests();
    assert_eq!(
        sent.last().unwrap().header("x-impersonateuser"),
        Some("no-such-user")
    );
}
