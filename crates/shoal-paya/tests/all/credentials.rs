//! Each way of authenticating, as requests (snapshots): API key in headers, query or Basic, and
//! a session token's login, use and logout — with no secret in any snapshot.

use shoal_core::ManualClock;
use shoal_core::test_util::{CaptureTransport, Scripted};
use shoal_paya::{
    ApiKey, ConfigureClient as _, KeyPlacement, ParamPlacement, Password, PayaClient,
};

use crate::support::{API_KEY, CONTACT, contact_json, render, sandbox};

const PASSWORD: &str = "CANARY-PASSWORD-91x";
const TOKEN: &str = "CANARY-TOKEN-3pPzNQst";

fn contact() -> Scripted {
    Scripted::json(200, serde_json::json!({"contact": contact_json(1)}))
}

fn builder(transport: &CaptureTransport) -> shoal_paya::PayaClientBuilder {
    sandbox(&ManualClock::new()).transport(transport.clone())
}

#[tokio::test]
async fn api_key_in_headers_query_or_basic() {
    for (name, placement) in [
        ("headers", KeyPlacement::Headers),
        ("query", KeyPlacement::Query),
        ("basic", KeyPlacement::Basic),
    ] {
        let transport = CaptureTransport::new([contact()]);
        let client = builder(&transport)
            .api_key("user-1", ApiKey::new(API_KEY), placement)
            .build()
            .unwrap();
        client.contacts().get(CONTACT).send().await.unwrap();
        client.logout().await.unwrap(); // nothing to end for an API key
        let sent = transport.requests();
        assert_eq!(sent.len(), 1, "{name}");
        let shown = render(&sent[0]);
        assert!(!shown.contains(API_KEY), "{shown}");
        insta::assert_snapshot!(format!("auth_api_key_{name}"), shown);
    }
}

#[tokio::test]
async fn developer_id_can_go_in_the_query() {
    let transport = CaptureTransport::new([contact()]);
    let client = builder(&transport)
        .developer_id_placement(ParamPlacement::Query)
        .api_key("user-1", ApiKey::new(API_KEY), KeyPlacement::Headers)
        .build()
        .unwrap();
    client.contacts().get(CONTACT).send().await.unwrap();
    let sent = &transport.requests()[0];
    assert_eq!(sent.uri().query(), Some("developer-id=dev-shoal"));
    assert!(!sent.headers().contains_key("developer-id"));
}

#[tokio::test]
async fn a_session_logs_in_uses_the_token_and_logs_out() {
    let login = serde_json::json!({"token": {"id": "11e95f8ec39de8fbdb0a4f1c", "token": TOKEN, "expire": 15,
        "username": "clerk", "time": 1_700_000_000}});
    let transport =
        CaptureTransport::new([Scripted::json(200, login), contact(), Scripted::status(204)]);
    let client = builder(&transport)
        .session("clerk", Password::new(PASSWORD), "acme")
        .build()
        .unwrap();
    client.contacts().get(CONTACT).send().await.unwrap();
    client.logout().await.unwrap();
    let sent = transport.requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[1].headers()["access-token"],
        TOKEN,
        "the token from the login is used"
    );
    assert_eq!(sent[2].uri().path(), format!("/v2/token/{TOKEN}"));
    let names = [
        "auth_session_login",
        "auth_session_call",
        "auth_session_logout",
    ];
    for (name, request) in names.iter().zip(&sent) {
        assert_eq!(request.headers()["developer-id"], "dev-shoal", "{name}");
        let mut shown = render(request).replace(TOKEN, "{token}");
        shown = shown.replace(PASSWORD, "LEAKED");
        assert!(!shown.contains("LEAKED"), "{shown}");
        insta::assert_snapshot!(*name, shown);
    }
}

fn login(token: &str) -> Scripted {
    Scripted::json(
        200,
        serde_json::json!({"token": {"token": token, "expire": 15}}),
    )
}

fn session_client(transport: &CaptureTransport, clock: &ManualClock) -> PayaClient {
    sandbox(clock)
        .transport(transport.clone())
        .session("clerk", Password::new(PASSWORD), "acme")
        .build()
        .expect("client")
}

fn paths(transport: &CaptureTransport) -> Vec<String> {
    transport
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method(), r.uri().path()))
        .collect()
}

#[tokio::test]
async fn a_session_idle_for_16_minutes_logs_in_again_before_the_next_call() {
    let clock = ManualClock::new();
    let transport =
        CaptureTransport::new([login("TOKEN-A"), contact(), login("TOKEN-B"), contact()]);
    let client = session_client(&transport, &clock);
    client.contacts().get(CONTACT).send().await.unwrap();
    clock.advance(std::time::Duration::from_secs(16 * 60));
    client
        .contacts()
        .get(CONTACT)
        .send()
        .await
        .expect("the caller sees no error");
    let get = format!("GET /v2/contacts/{CONTACT}");
    assert_eq!(
        paths(&transport),
        [
            "POST /v2/token",
            get.as_str(),
            "POST /v2/token",
            get.as_str()
        ]
    );
    assert_eq!(transport.requests()[3].headers()["access-token"], "TOKEN-B");
}

#[tokio::test]
async fn one_401_mid_session_causes_one_login_and_a_replay() {
    let clock = ManualClock::new();
    let transport = CaptureTransport::new([
        login("TOKEN-A"),
        contact(),
        Scripted::status(401),
        login("TOKEN-B"),
        contact(),
    ]);
    let client = session_client(&transport, &clock);
    client.contacts().get(CONTACT).send().await.unwrap();
    clock.advance(std::time::Duration::from_secs(60));
    client
        .contacts()
        .get(CONTACT)
        .send()
        .await
        .expect("replayed with the new token");
    let logins = paths(&transport)
        .iter()
        .filter(|p| p.as_str() == "POST /v2/token")
        .count();
    assert_eq!(logins, 2, "one login at the start, one after the 401");
    assert_eq!(transport.requests().len(), 5);
    assert_eq!(transport.requests()[4].headers()["access-token"], "TOKEN-B");
}
