//! `shoal sandbox` answers plain HTTP requests written from the vendor docs' own examples, as
//! curl (or any other language) would send them.

use base64::Engine as _;

use crate::support::{Sandbox, enc, http, query_param};

#[test]
fn pearldiver_code_exchange_refresh_and_bearer_get() {
    let sandbox = Sandbox::start(1_000);
    let (id, secret) = (
        sandbox.var("SHOAL_PEARLDIVER_CLIENT_ID"),
        sandbox.var("SHOAL_PEARLDIVER_CLIENT_SECRET"),
    );
    // The redirect URI the sandbox registered (and wrote to its env file).
    let redirect = sandbox.var("SHOAL_PEARLDIVER_REDIRECT_URI");
    let redirect = redirect.as_str();
    // 1. The browser is sent to the authorize endpoint.
    let authorize = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&state=xyz&scope={}&audience=pearldiverapi",
        sandbox.var("SHOAL_PEARLDIVER_AUTH_URL"),
        enc(&id),
        enc(redirect),
        enc("openid profile email offline_access")
    );
    let answer = http("GET", &authorize, &[], "");
    assert!((300..400).contains(&answer.status), "{answer:?}");
    let location = answer.header("location").unwrap();
    assert!(location.starts_with(redirect), "{location}");
    assert_eq!(query_param(location, "state").as_deref(), Some("xyz"));
    let code = query_param(location, "code").unwrap();
    // 3. Exchange: form POST, client credentials in the body, audience in the token URL's query.
    let token_url = format!(
        "{}?audience=pearldiverapi",
        sandbox.var("SHOAL_PEARLDIVER_TOKEN_URL")
    );
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let body = format!(
        "grant_type=authorization_code&code={}&client_id={}&client_secret={}&redirect_uri={}",
        enc(&code),
        enc(&id),
        enc(&secret),
        enc(redirect)
    );
    let exchanged = http("POST", &token_url, &form, &body);
    assert_eq!(exchanged.status, 200, "{exchanged:?}");
    let tokens = exchanged.json();
    assert!(
        tokens["token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("bearer")
    );
    assert!(tokens["expires_in"].as_u64().unwrap() > 0);
    // 5. Refresh: a new access token and a new refresh token.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
        enc(refresh),
        enc(&id),
        enc(&secret)
    );
    let refreshed = http("POST", &token_url, &form, &body).json();
    assert_ne!(
        refreshed["refresh_token"], tokens["refresh_token"],
        "rotated"
    );
    // 4. Bearer GET.
    let bearer = format!("Bearer {}", refreshed["access_token"].as_str().unwrap());
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Accept", "application/json"),
        ("Content-Type", "application/json"),
    ];
    let list = http(
        "GET",
        &format!("{}/audiences", sandbox.var("SHOAL_PEARLDIVER_API_URL")),
        &headers,
        "",
    );
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(list.json()["audiences"][0]["key"], 17);
    // The rotated-away refresh token is dead.
    let reuse = http(
        "POST",
        &token_url,
        &form,
        &format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
            enc(refresh),
            enc(&id),
            enc(&secret)
        ),
    );
    assert!(matches!(reuse.status, 400 | 403), "{reuse:?}");
    assert_eq!(reuse.json()["error"], "invalid_grant");
}

#[test]
fn paya_key_in_headers_and_query_and_the_token_method() {
    let sandbox = Sandbox::start(1_000);
    let base = sandbox.var("SHOAL_PAYA_BASE_URL");
    let (dev, user, key) = (
        sandbox.var("SHOAL_PAYA_DEVELOPER_ID"),
        sandbox.var("SHOAL_PAYA_USER_ID"),
        sandbox.var("SHOAL_PAYA_API_KEY"),
    );
    let in_headers = http(
        "GET",
        &format!("{base}/v2/contacts?page_size=20"),
        &[
            ("developer-id", &dev),
            ("user-id", &user),
            ("user-api-key", &key),
            ("Content-Type", "application/json"),
        ],
        "",
    );
    assert_eq!(in_headers.status, 200, "{in_headers:?}");
    assert_eq!(in_headers.json()["meta"]["pagination"]["totalCount"], 57);
    let in_query = http(
        "GET",
        &format!(
            "{base}/v2/contacts?developer-id={}&user-id={}&user-api-key={}",
            enc(&dev),
            enc(&user),
            enc(&key)
        ),
        &[],
        "",
    );
    assert_eq!(in_query.status, 200, "{in_query:?}");
    assert!(in_query.json()["contacts"].as_array().is_some());
    let wrong = http(
        "GET",
        &format!("{base}/v2/contacts"),
        &[
            ("developer-id", &dev),
            ("user-id", &user),
            ("user-api-key", "nope"),
        ],
        "",
    );
    assert_eq!(wrong.status, 401);
    // Method 2: POST /v2/token with a flat body; the answer is wrapped; expire is in minutes.
    let login = serde_json::json!({
        "username": sandbox.var("SHOAL_PAYA_USERNAME"),
        "password": sandbox.var("SHOAL_PAYA_PASSWORD"),
        "domain": sandbox.var("SHOAL_PAYA_DOMAIN"),
    });
    let answer = http(
        "POST",
        &format!("{base}/v2/token"),
        &[("developer-id", &dev), ("Content-Type", "application/json")],
        &login.to_string(),
    );
    assert!((200..300).contains(&answer.status), "{answer:?}");
    let token = answer.json()["token"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(answer.json()["token"]["expire"], 15);
    let with_token = |method: &str, path: &str| {
        let headers = [("developer-id", dev.as_str()), ("access-token", &token)];
        http(method, &format!("{base}{path}"), &headers, "")
    };
    let locations = with_token("GET", "/v2/locationinfos");
    assert_eq!(locations.status, 200, "{locations:?}");
    let logout = with_token("DELETE", &format!("/v2/token/{token}"));
    assert_eq!(logout.status, 204, "{logout:?}");
}

#[test]
fn pebblepad_limits_without_auth_and_a_basic_auth_refresh() {
    let sandbox = Sandbox::start(1_000);
    let host = sandbox.var("SHOAL_PEBBLEPAD_HOST");
    let limits = http(
        "GET",
        &format!("{host}/api/1.1/Info/GetRateLimits"),
        &[],
        "",
    );
    assert_eq!(limits.status, 200, "{limits:?}");
    assert!(limits.json()["RateLimits"].as_array().is_some());
    assert!(
        limits.header("X-Rate-Limit").is_some(),
        "{:?}",
        limits.headers
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        sandbox.var("SHOAL_PEBBLEPAD_CLIENT_ID"),
        sandbox.var("SHOAL_PEBBLEPAD_CLIENT_SECRET")
    ));
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        enc(&sandbox.var("SHOAL_PEBBLEPAD_REFRESH_TOKEN"))
    );
    let refreshed = http(
        "POST",
        &format!("{host}/login/OAuth2/TokenEndpoint"),
        &[
            ("Authorization", &format!("Basic {basic}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    );
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    assert!(
        refreshed.json()["token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("bearer")
    );
}
