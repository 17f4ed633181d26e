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

use crate::support::{emulator, emulator_client, send_err, send_ok};

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

/// Three user creates by a client whose service-account token has expired; refreshed once.
async fn three_creates_with_an_expired_token(
    unknown: UnknownExpiry,
) -> (shoal_testkit::pebblepad::PebblePad, PebblePadClient) {
    let emu = emulator(RateLimits::default()).await;
    let client = expired_client(&emu, unknown).await;
    for n in 0..3 {
        let user = BasicUserInfo::new(format!("svc-{n}"));
        send_ok(client.users().create(&user)).await;
    }
    assert_eq!(emu.traffic().token_calls("refresh_token"), 1);
    (emu, client)
}

#[tokio::test]
async fn an_expired_service_account_token_is_refreshed_once_before_first_use() {
    let (emu, _client) = three_creates_with_an_expired_token(UnknownExpiry::RefreshFirst).await;
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
    let (emu, client) =
        three_creates_with_an_expired_token(UnknownExpiry::UseUntilUnauthorized).await;
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
    send_ok(client.users().create(&BasicUserInfo::new("after-login"))).await;
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
    let a = send_ok(u.create(&BasicUserInfo::new("ann").custom_id("S-A"))).await;
    let b = send_ok(u.create(&BasicUserInfo::new("bob").custom_id("S B/1"))).await;
    let dup = send_err(u.create(&BasicUserInfo::new("ann"))).await;
    assert!(dup.is_username_exists(), "{dup}");
    let (a_id, b_id) = (a.id.clone().unwrap(), b.id.clone().unwrap());
    let targets = [Target::id(a_id.clone()), Target::custom_id("S B/1")];
    let details = UserDetails::new()
        .set("Telephone", "01632 960000")
        .set("Town", "Leeds");
    for t in &targets {
        let user = send_ok(u.add_contact_details(t.clone(), &details)).await;
        assert_eq!(user.extra["ContactDetails"]["Town"], "Leeds");
        send_ok(u.add_other_details(t.clone(), &details)).await;
        let user = send_ok(u.delete_contact_details(t.clone(), &["Town"])).await;
        assert!(user.extra["ContactDetails"].get("Town").is_none());
        send_ok(u.delete_other_details(t.clone(), &["Town"])).await;
    }

    let g = c.groups();
    let group = send_ok(g.create(&Group::new("Cohort").custom_id("C-1"))).await;
    let group_targets = [
        Target::id(group.id.clone().unwrap()),
        Target::custom_id("C-1"),
    ];
    send_ok(g.add_members(group_targets[0].clone(), &[GroupMember::id(a_id.clone())])).await;
    send_ok(
        g.add_members(group_targets[1].clone(), &[GroupMember::custom_id("S B/1")])
            .impersonate("ann"),
    )
    .await;
    for t in &group_targets {
        assert_eq!(send_ok(g.members(t.clone())).await.len(), 2);
        send_ok(g.update(t.clone(), &Group::default().field("Description", "d"))).await;
    }
    send_ok(g.remove_members(group_targets[1].clone(), &[GroupMember::id(b_id.clone())])).await;
    assert_eq!(send_ok(g.members(group_targets[0].clone())).await.len(), 1);

    let gr = c.grades();
    let by_id = gr.import(
        IdKind::Id,
        &[Grade::for_user_id(a_id.clone(), "B").field("CustomId", "GR-A")],
    );
    assert_eq!(send_ok(by_id).await.len(), 1);
    let by_custom = gr.import(IdKind::CustomId, &[Grade::for_user_custom_id("S B/1", "A")]);
    let imported = send_ok(by_custom).await;
    assert_eq!(
        send_ok(gr.for_user(Target::id(a_id.clone()))).await[0]
            .grade
            .as_deref(),
        Some("B")
    );
    assert_eq!(
        send_ok(gr.for_user(Target::custom_id("S B/1"))).await.len(),
        1
    );
    let grade_targets = [
        Target::id(imported[0].id.clone().unwrap()),
        Target::custom_id("GR-A"),
    ];
    for t in &grade_targets {
        assert_eq!(send_ok(gr.get(t.clone())).await.len(), 1);
        let updated = send_ok(gr.update(t.clone(), &Grade::value("A*"))).await;
        assert_eq!(updated.grade.as_deref(), Some("A*"));
        send_ok(gr.recall(t.clone())).await;
    }
    for t in &group_targets[1..] {
        send_ok(g.delete(t.clone())).await;
    }
    for t in &targets {
        send_ok(u.delete(t.clone())).await;
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
    send_ok(a.create(&reference)).await;
    send_ok(a.update(&reference.clone().statement("Better"))).await;
    let got = send_ok(a.get("ref-1")).await;
    assert_eq!(got.statement.as_deref(), Some("Better"));
    assert_eq!(send_ok(a.for_application("app-9")).await.len(), 1);
    send_ok(a.delete("ref-1")).await;
    assert!(emu.application_references().is_empty());
    let impersonated = send_err(
        c.groups()
            .members(Target::id("nope"))
            .impersonate("no-such-user"),
    )
    .await;
    assert_eq!(impersonated.status().map(|s| s.as_u16()), Some(403));
    let sent = emu.traffic().requests();
    assert_eq!(
        sent.last().unwrap().header("x-impersonateuser"),
        Some("no-such-user")
    );
}

/// What a client's transport sent to the token endpoint: (`Authorization` header, form body).
type TokenTap = std::sync::Arc<std::sync::Mutex<Vec<(Option<String>, String)>>>;

/// An OAuth client of the emulator for `app`, over the reqwest transport with a tap that keeps
/// each token request's `Authorization` header and body as the client sent them.
fn tapped_oauth_client(
    ep: &shoal_testkit::pebblepad::PebblePadEndpoints,
    app: shoal_pebblepad::OAuthApp,
) -> (PebblePadClient, TokenTap) {
    use shoal_pebblepad::ConfigureClient as _;
    let tap = TokenTap::default();
    let inner = shoal_core::ReqwestTransport::new().unwrap();
    let seen = tap.clone();
    let transport = move |req: http::Request<shoal_core::Bytes>| {
        if req.uri().path().ends_with("/TokenEndpoint") {
            let auth = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap().to_string());
            let body = String::from_utf8(req.body().to_vec()).unwrap();
            seen.lock().unwrap().push((auth, body));
        }
        let inner = inner.clone();
        async move { inner.send(req).await }
    };
    let client = PebblePadClient::builder(shoal_pebblepad::Installation::custom(&ep.host).unwrap())
        .oauth(app)
        .token_store(std::sync::Arc::new(shoal_auth::MemoryTokenStore::new()))
        .transport(transport)
        .build()
        .unwrap();
    (client, tap)
}

/// Standard base64 with padding (RFC 4648), for the expected `Authorization: Basic` value.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Plays the browser: the authorize page redirects (the user approves); the `Location`.
async fn approve(url: &str) -> String {
    let browser = shoal_core::ReqwestTransport::new().unwrap();
    let get = http::Request::get(url)
        .body(shoal_core::Bytes::new())
        .unwrap();
    let answer = browser.send(get).await.unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    answer.headers()["location"].to_str().unwrap().to_string()
}

/// After a login: a call, a forced rotation, and a call on the rotated access token.
async fn call_refresh_call(client: &PebblePadClient, name: &str) {
    let first = client
        .credential()
        .unwrap()
        .record()
        .await
        .unwrap()
        .unwrap();
    send_ok(
        client
            .users()
            .create(&BasicUserInfo::new(format!("{name}-1"))),
    )
    .await;
    let rotated = client.credential().unwrap().force_refresh().await.unwrap();
    use shoal_auth::ExposeSecret as _;
    let secret =
        |t: &Option<shoal_auth::RefreshToken>| t.as_ref().unwrap().expose_secret().to_string();
    assert_ne!(
        secret(&rotated.refresh_token),
        secret(&first.refresh_token),
        "{name}: the refresh rotated"
    );
    send_ok(
        client
            .users()
            .create(&BasicUserInfo::new(format!("{name}-2"))),
    )
    .await;
}

/// PebblePad's two kinds of OAuth app against one emulator that registers both: the public app
/// (no secret) logs in through the loopback listener and sends `client_id` in the token
/// requests' bodies, never an `Authorization` header; the confidential app logs in through the
/// authorize redirect and authenticates with HTTP Basic, the raw `id:secret`, and no body
/// `client_id`. Each then calls the API, rotates, and calls again on the new token.
#[tokio::test]
async fn public_and_confidential_apps_log_in_refresh_and_call_each_authenticating_its_own_way() {
    const TOKEN_PATH: &str = "/login/OAuth2/TokenEndpoint";
    let emu =
        shoal_testkit::pebblepad::PebblePad::start(shoal_testkit::pebblepad::PebblePadConfig {
            redirect_uris: shoal_testkit::RedirectUris::any_loopback_port(),
            ..Default::default()
        })
        .await
        .unwrap();
    let ep = emu.endpoints().clone();
    let public_id = ep.public_client_id.clone().expect("a public client");

    // The public app: loopback login on any port, then refresh and calls.
    let (public, public_tap) = tapped_oauth_client(
        &ep,
        shoal_pebblepad::OAuthApp::public(public_id.clone(), ep.redirect_uri.clone()),
    );
    let pending = public
        .login()
        .unwrap()
        .loopback(
            shoal_pebblepad::LoopbackOptions::default()
                .redirect_uri("http://127.0.0.1:0/callback")
                .timeout(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    let url = pending.authorize_url().to_string();
    assert!(url.contains(&format!("client_id={public_id}")), "{url}");
    // PebblePad documents no PKCE and answers unknown parameters with `invalid_request`.
    assert!(!url.contains("code_challenge"), "{url}");
    let location = approve(&url).await;
    assert!(location.starts_with(pending.redirect_uri()), "{location}");
    let browser = shoal_core::ReqwestTransport::new().unwrap();
    let callback = browser
        .send(
            http::Request::get(&location)
                .body(shoal_core::Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(callback.status(), 200);
    pending.finish().await.unwrap();
    call_refresh_call(&public, "public").await;
    let public_seen = emu.traffic().matching("POST", TOKEN_PATH);

    // The confidential app: the authorize redirect completed by hand, then refresh and calls.
    let (confidential, confidential_tap) = tapped_oauth_client(
        &ep,
        shoal_pebblepad::OAuthApp::new(
            ep.client_id.clone(),
            shoal_auth::ClientSecret::new(ep.client_secret.clone()),
            ep.redirect_uri.clone(),
        ),
    );
    let login = confidential.login().unwrap();
    let request = login.authorize();
    let location = approve(request.url().as_str()).await;
    login.complete(&request, &location).await.unwrap();
    call_refresh_call(&confidential, "confidential").await;
    let all_seen = emu.traffic().matching("POST", TOKEN_PATH);
    let confidential_seen = &all_seen[public_seen.len()..];

    // What the emulator saw: two token calls per app, every one answered 200.
    assert_eq!(public_seen.len(), 2);
    assert_eq!(confidential_seen.len(), 2);
    for (seen, grant) in public_seen
        .iter()
        .chain(confidential_seen)
        .zip(["authorization_code", "refresh_token"].repeat(2))
    {
        assert_eq!(seen.status, Some(200), "{seen:?}");
        assert!(
            seen.body.contains(&format!("grant_type={grant}")),
            "{}",
            seen.body
        );
    }
    for seen in &public_seen {
        assert_eq!(seen.header("authorization"), None, "public: no Basic");
        assert!(
            seen.body.contains(&format!("client_id={public_id}")),
            "public: client_id in the body: {}",
            seen.body
        );
    }
    for seen in confidential_seen {
        assert!(
            seen.header("authorization").is_some(),
            "confidential: Basic"
        );
        assert!(
            !seen.body.contains("client_id="),
            "confidential: not in the body: {}",
            seen.body
        );
    }
    // What the clients sent, unredacted: no header at all, or Basic of the raw `id:secret`.
    let public_sent = public_tap.lock().unwrap().clone();
    assert_eq!(public_sent.len(), 2);
    assert!(
        public_sent.iter().all(|(auth, _)| auth.is_none()),
        "{public_sent:?}"
    );
    let basic = format!(
        "Basic {}",
        base64(format!("{}:{}", ep.client_id, ep.client_secret).as_bytes())
    );
    let confidential_sent = confidential_tap.lock().unwrap().clone();
    assert_eq!(confidential_sent.len(), 2);
    for (auth, body) in &confidential_sent {
        assert_eq!(auth.as_deref(), Some(basic.as_str()));
        assert!(!body.contains("client_secret"), "the secret only in Basic");
    }
    assert_eq!(emu.traffic().token_calls("refresh_token"), 2);
    assert_eq!(emu.traffic().invalid_grants(), 0);
    let created: Vec<String> = emu
        .users()
        .iter()
        .filter_map(|u| u["Username"].as_str().map(str::to_string))
        .filter(|u| u.starts_with("public-") || u.starts_with("confidential-"))
        .collect();
    assert_eq!(
        created,
        ["public-1", "public-2", "confidential-1", "confidential-2"]
    );
}
