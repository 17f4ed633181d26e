//! The standalone sandbox: all three emulators with ready credentials.

use reqwest::StatusCode;
use shoal_testkit::{Sandbox, SandboxConfig, SandboxInfo};

use crate::common::{client, status};

#[tokio::test]
async fn sandbox_starts_all_three_with_working_credentials() {
    let sb = Sandbox::start(SandboxConfig::ephemeral()).await.unwrap();
    let info = sb.info();
    let round: SandboxInfo = serde_json::from_str(&serde_json::to_string(&info).unwrap()).unwrap();
    assert_eq!(round, info);
    let shown = info.to_string();
    assert!(shown.contains(&info.pearldiver.api_base) && shown.contains(&info.paya.user_api_key));

    let pd = &info.pearldiver;
    let refresh = client()
        .post(format!("{}?audience={}", pd.token_url, pd.audience))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", pd.refresh_token.as_deref().unwrap()),
            ("client_id", &pd.client_id),
            ("client_secret", &pd.client_secret),
        ]);
    assert_eq!(status(refresh).await, StatusCode::OK);

    let pp = &info.pebblepad;
    let grades = client()
        .get(format!("{}1.1/Grade/Get/x", pp.api_base))
        .bearer_auth(pp.service_access_token.as_deref().unwrap());
    assert_eq!(status(grades).await, StatusCode::OK);

    let py = &info.paya;
    let locations = client()
        .get(format!("{}/v2/locationinfos", py.base_url))
        .header("developer-id", &py.developer_id)
        .header("user-id", &py.user_id)
        .header("user-api-key", &py.user_api_key);
    assert_eq!(status(locations).await, StatusCode::OK);
    sb.shutdown().await;
}

#[tokio::test]
async fn sandbox_registers_and_reports_its_redirect_uris() {
    let mut config = SandboxConfig::ephemeral();
    config.pebblepad.redirect_uris =
        shoal_testkit::RedirectUris::exact(["http://127.0.0.1:8799/pp"]);
    let sb = Sandbox::start(config).await.unwrap();
    let info = sb.info();
    assert_eq!(
        info.pearldiver.redirect_uri,
        shoal_testkit::DEFAULT_REDIRECT_URI
    );
    assert_eq!(info.pebblepad.redirect_uri, "http://127.0.0.1:8799/pp");
    assert!(info.to_string().contains("http://127.0.0.1:8799/pp"));
    let pp = &info.pebblepad;
    let authorise = |redirect: &'static str| {
        client()
            .get(format!("{}AuthorisationEndpoint", pp.oauth_base))
            .query(&[
                ("client_id", pp.client_id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", redirect),
            ])
            .send()
    };
    assert_eq!(
        authorise("http://127.0.0.1:8799/pp")
            .await
            .unwrap()
            .status(),
        StatusCode::FOUND
    );
    assert_eq!(
        authorise(shoal_testkit::DEFAULT_REDIRECT_URI)
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    sb.shutdown().await;
}
