//! Session tokens: sliding idle expiry, re-login before the next call after 16 idle minutes,
//! one re-login on a 401, and logout.

use std::time::Duration;

use shoal_core::ManualClock;
use shoal_paya::ErrorKind;
use shoal_testkit::{Fault, RecordedRequest};

use super::{Auth, client, emulator, logins, start};

#[tokio::test]
async fn a_session_idle_for_16_minutes_logs_in_again_before_the_next_call() {
    let (clock, emu, client) = start(Auth::Session).await;
    let contacts = client.contacts();
    let first = contacts.list().page_size(1).send().await.unwrap();
    let id = first.items[0].id.clone().unwrap();
    assert_eq!((logins(&emu), emu.live_sessions()), (1, 1));

    // Every success renews the 15 minutes: 2 × 13 minutes apart needs no new login.
    for _ in 0..2 {
        clock.advance(Duration::from_secs(13 * 60));
        contacts.get(&id).send().await.unwrap();
    }
    assert_eq!(logins(&emu), 1, "the idle clock slides");

    clock.advance(Duration::from_secs(16 * 60));
    assert_eq!(emu.live_sessions(), 0, "the emulator let the session die");
    let read = contacts.get(&id).send().await.unwrap();
    assert_eq!(read.id.as_deref(), Some(id.as_str()));
    assert_eq!(logins(&emu), 2, "logged in again before the call");
    assert_eq!(emu.live_sessions(), 1);
    let refused: Vec<_> = emu
        .traffic()
        .requests()
        .into_iter()
        .filter(|r| r.status != Some(200) && r.status != Some(201))
        .collect();
    assert!(refused.is_empty(), "no call was refused: {refused:#?}");
    let order: Vec<String> = emu
        .traffic()
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let read_path = format!("GET /v2/contacts/{id}");
    assert_eq!(
        order[order.len() - 2..],
        ["POST /v2/token", read_path.as_str()],
        "{order:#?}"
    );
    assert_eq!(client.pipeline().stats().auth_replays, 0);
}

#[tokio::test]
async fn one_injected_401_mid_session_means_one_login_and_one_replay() {
    let (_clock, emu, client) = start(Auth::Session).await;
    let page = client.contacts().list().page_size(1).send().await.unwrap();
    let id = page.items[0].id.clone().unwrap();
    let path = format!("/v2/contacts/{id}");
    emu.faults().push(Fault::status(401).on_path(&path));
    let read = client.contacts().get(&id).send().await.unwrap();
    assert_eq!(read.id.as_deref(), Some(id.as_str()));
    assert_eq!(logins(&emu), 2);
    let statuses: Vec<_> = emu
        .traffic()
        .matching("GET", &path)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(401), Some(200)]);
    assert_eq!(client.pipeline().stats().auth_replays, 1);
    assert!(emu.faults().pending().is_empty());

    // A second 401 right after the re-login is not chased with a third login.
    emu.faults()
        .push(Fault::status(401).times(2).on_path(&path));
    let err = client.contacts().get(&id).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert_eq!(logins(&emu), 3, "exactly one re-login per 401ed call");
    assert_eq!(emu.traffic().count("GET", &path), 4);
}

#[tokio::test]
async fn a_session_the_server_forgot_is_renewed_once_on_its_401() {
    // The emulator's clock runs ahead of the client's: the server ends the session while the
    // client still believes it alive, so the next call is a genuine 401.
    let (client_clock, server_clock) = (ManualClock::new(), ManualClock::new());
    let emu = emulator(&server_clock).await;
    let client = client(&emu, &client_clock, Auth::Session);
    let page = client.contacts().list().page_size(2).send().await.unwrap();
    assert_eq!(page.items.len(), 2);
    server_clock.advance(Duration::from_secs(16 * 60));
    assert_eq!(emu.live_sessions(), 0);
    let again = client.contacts().list().page_size(2).send().await.unwrap();
    assert_eq!(again.items, page.items);
    let statuses: Vec<_> = emu
        .traffic()
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    let s = |m: &str, c: u16| (m.to_string(), Some(c));
    assert_eq!(
        statuses,
        [
            s("POST", 201),
            s("GET", 200),
            s("GET", 401),
            s("POST", 201),
            s("GET", 200)
        ]
    );
    assert_eq!(client.pipeline().stats().auth_replays, 1);
    assert_eq!(emu.live_sessions(), 1);
}

#[tokio::test]
async fn logout_deletes_the_token_on_the_server() {
    let (_clock, emu, client) = start(Auth::Session).await;
    client.contacts().list().page_size(1).send().await.unwrap();
    assert_eq!(emu.live_sessions(), 1);
    client.logout().await.unwrap();
    assert_eq!(emu.live_sessions(), 0);
    let deletes: Vec<RecordedRequest> = emu
        .traffic()
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1);
    let token = deletes[0]
        .path
        .strip_prefix("/v2/token/")
        .expect("DELETE /v2/token/{token}");
    assert_eq!(token.len(), 16, "{}", deletes[0].path);
    assert_eq!(deletes[0].status, Some(204));
    assert!(deletes[0].body.is_empty());
    assert!(deletes[0].header("developer-id").is_some());
    // The token deleted is the one the calls used: a later call needs a new login.
    client.logout().await.unwrap();
    assert_eq!(
        emu.traffic().count("DELETE", &deletes[0].path),
        1,
        "nothing to end"
    );
    client.contacts().list().page_size(1).send().await.unwrap();
    assert_eq!(logins(&emu), 2);
    assert_eq!(emu.live_sessions(), 1);
}
