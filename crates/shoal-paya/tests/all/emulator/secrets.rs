//! With query placement, neither the API key nor the session token (nor the password) shows in
//! an error's `Display` or `Debug`, or in TRACE logs.

use std::sync::{Arc, Mutex};

use shoal_core::test_util::LogCapture;
use shoal_core::{Bytes, ManualClock, ReqwestTransport, Transport, TransportError};
use shoal_paya::{ConfigureClient as _, ErrorKind, NewContact};
use shoal_testkit::Fault;

use crate::support::create_err;

use super::{API_KEY, Auth, PASSWORD, builder, emulator, logins};

type Kept<T> = Arc<Mutex<Vec<T>>>;

/// A reqwest transport that also keeps every URI sent and every response body (to learn the
/// session tokens).
fn recording_transport() -> (impl Transport, Kept<Bytes>, Kept<String>) {
    let inner = Arc::new(ReqwestTransport::new().expect("reqwest"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let uris = Arc::new(Mutex::new(Vec::new()));
    let (b, u) = (bodies.clone(), uris.clone());
    let transport = move |req: http::Request<Bytes>| {
        let (inner, b, u) = (inner.clone(), b.clone(), u.clone());
        async move {
            u.lock().expect("uris").push(req.uri().to_string());
            let resp = inner.send(req).await?;
            b.lock().expect("bodies").push(resp.body().clone());
            Ok::<_, TransportError>(resp)
        }
    };
    (transport, bodies, uris)
}

#[tokio::test(flavor = "current_thread")]
async fn query_placed_secrets_stay_out_of_errors_debug_and_trace_logs() {
    // current_thread: the client, and the emulator, log on the capturing thread.
    let capture = LogCapture::start();

    let clock = ManualClock::new();
    let emu = emulator(&clock).await;
    let (key_transport, _, key_uris) = recording_transport();
    let key_client = builder(&emu, &clock, Auth::Query)
        .transport(key_transport)
        .build()
        .unwrap();
    let (session_transport, bodies, session_uris) = recording_transport();
    let session_client = builder(&emu, &clock, Auth::SessionInQuery)
        .transport(session_transport)
        .build()
        .unwrap();
    let loc = emu.endpoints().location_id.clone();
    let faults = emu.faults();

    let mut errors = Vec::new();
    faults.push(Fault::status(500).always().on_method("GET"));
    errors.push(key_client.contacts().list().send().await.unwrap_err());
    faults.clear();
    faults.push(Fault::status(500).on_method("POST").on_path("/v2/contacts"));
    let new = NewContact::new(&loc, "Leak").contact_api_id("crm-0001");
    errors.push(create_err(&key_client, new.clone()).await);
    errors.push(create_err(&key_client, new.clone()).await);
    let unknown = "000000000000000000000000";
    errors.push(key_client.contacts().get(unknown).send().await.unwrap_err());

    session_client
        .contacts()
        .list()
        .page_size(1)
        .send()
        .await
        .unwrap();
    faults.push(Fault::status(403).on_path("/v2/contacts"));
    errors.push(
        session_client
            .contacts()
            .get(unknown)
            .send()
            .await
            .unwrap_err(),
    );
    faults.push(Fault::status(401).times(2).on_path("/v2/contacts"));
    errors.push(session_client.contacts().list().send().await.unwrap_err());
    errors.push(create_err(&session_client, new).await);
    faults.push(Fault::status(500).always().on_method("DELETE"));
    errors.push(session_client.logout().await.unwrap_err());
    faults.clear();

    let kinds: Vec<ErrorKind> = errors.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::Server,
            ErrorKind::MaybeProcessed,
            ErrorKind::Validation,
            ErrorKind::NotFound,
            ErrorKind::Forbidden,
            ErrorKind::Unauthorized,
            ErrorKind::Validation,
            ErrorKind::Server
        ]
    );
    let tokens: Vec<String> = bodies
        .lock()
        .unwrap()
        .iter()
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .filter_map(|v| v["token"]["token"].as_str().map(str::to_string))
        .collect();
    assert_eq!(tokens.len(), 2, "one login, one re-login after the 401");
    assert_eq!(logins(&emu), 2);
    let key_uris = key_uris.lock().unwrap().clone();
    assert!(
        key_uris.iter().all(|u| u.contains(API_KEY)),
        "the key was in the query"
    );
    let session_uris = session_uris.lock().unwrap().clone();
    for t in &tokens {
        assert!(
            session_uris
                .iter()
                .any(|u| u.contains(&format!("access-token={t}"))),
            "the token {t} was in the query"
        );
    }

    let logs = capture.text();
    assert!(
        logs.contains("TRACE") && logs.contains("v2/contacts"),
        "TRACE logs were captured: {logs}"
    );
    let mut secrets: Vec<&str> = vec![API_KEY, PASSWORD];
    secrets.extend(tokens.iter().map(String::as_str));
    for err in &errors {
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("/v2/"), "{shown}");
        for s in &secrets {
            assert!(!shown.contains(s), "{s} leaked in {shown}");
        }
    }
    for s in &secrets {
        assert!(!logs.contains(s), "{s} leaked in the TRACE logs");
    }
    let clients = format!("{key_client:?} {session_client:?}");
    assert!(secrets.iter().all(|s| !clients.contains(s)), "{clients}");
}
