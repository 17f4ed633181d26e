//! Hostile pages from a scripted transport: records that are not objects, lack an id, repeat
//! one, hold U+0000 or are huge follow the skip rule; full Unicode lands unchanged.

use shoal_core::ConfigureClient as _;
use std::sync::Arc;

use proptest::prelude::*;
use shoal_auth::{AccessToken, StaticToken};
use shoal_core::http::{Request, Response};
use shoal_core::{Bytes, ManualClock, RetryPolicy, TransportError};
use shoal_pearldiver::PearlDiverClient;
use shoal_sync::{AudienceSelection, DbUrl, SyncOptions, Syncer};

use crate::incremental::sqlite_db;
use crate::support::{dump, scalar};

/// A client whose server answers the audience list with audience 5, and audience 5 with the
/// pages given (each a JSON array of records, as text), chained by page tokens.
pub fn scripted_client(clock: &ManualClock, pages: Vec<String>) -> PearlDiverClient {
    let pages = Arc::new(pages);
    let transport = move |req: Request<Bytes>| {
        let pages = pages.clone();
        async move {
            let path = req.uri().path().to_owned();
            let query = req.uri().query().unwrap_or_default().to_owned();
            let body = if path.ends_with("/audiences") {
                r#"{"audiences":[{"key":5,"name":"Hostile — ünïcødé 🐚"}]}"#.to_owned()
            } else {
                let n: usize = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("pageToken=p"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let next = if n + 1 < pages.len() {
                    format!(r#","pageToken":"p{}""#, n + 1)
                } else {
                    String::new()
                };
                format!(r#"{{"key":5,"name":"x","records":{}{next}}}"#, pages[n])
            };
            Ok::<_, TransportError>(
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(Bytes::from(body))
                    .unwrap(),
            )
        }
    };
    PearlDiverClient::builder()
        .api_base("http://127.0.0.1:9/v1")
        .authenticator(Arc::new(StaticToken::new(AccessToken::new("t"))))
        .transport(transport)
        .clock(clock.shared())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

pub async fn hostile_records_follow_the_skip_rule(db: &DbUrl) {
    let clock = ManualClock::new();
    let big = format!(r#"{{"id":"big","pad":"{}"}}"#, "x".repeat(70_000));
    let page1 = format!(
        r#"[{{"id":"ok-1","firstName":"Zoë 🐚","email":"a\u0000b","sessions":[{{"site":"\u0000"}}]}},
            5, null, [], {{"id":""}}, {{"firstName":"no id"}}, {{"id":{{"x":1}}}}, {big},
            {{"id":"ok-1","firstName":"Zoë 🐚","email":"later"}}]"#
    );
    let page2 = r#"[{"id":"ok-2","company":"not an object","phones":{"weird":true},"firstName":7},
                    {"id":"ünï😀","lastName":"\ud83d\ude00 \u202e rtl","company":{"name":"Ⓐcme"}},
                    {"id":42,"email":"numeric id"}]"#
        .to_owned();
    let client = scripted_client(&clock, vec![page1, page2]);
    let syncer = Syncer::open(
        client,
        db,
        SyncOptions::default()
            .clock(clock.shared())
            .max_record_bytes(64 * 1024),
    )
    .await
    .unwrap();
    let summary = syncer.sync(&AudienceSelection::All).await.unwrap();
    assert!(summary.ok, "{summary:?}");
    let t = summary.totals;
    assert_eq!((t.pages, t.records, t.inserted, t.skipped), (2, 12, 4, 7));
    let rows = dump(db).await;
    let ids: Vec<&str> = rows.iter().map(|r| r[1].as_deref().unwrap()).collect();
    assert_eq!(ids, ["42", "ok-1", "ok-2", "ünï😀"]);
    let ok1 = &rows[1];
    assert_eq!(ok1[4].as_deref(), Some("later"), "the later copy wins");
    assert_eq!(ok1[2].as_deref(), Some("Zoë 🐚"));
    let ok2 = &rows[2];
    assert_eq!(ok2[2], None, "a number is not a first name");
    assert_eq!(ok2[8].as_deref(), Some(r#""not an object""#));
    assert_eq!(ok2[6].as_deref(), Some(r#"{"weird":true}"#));
    assert_eq!(ok2[5], None, "no company name from a string company");
    let uni = &rows[3];
    assert_eq!(uni[3].as_deref(), Some("😀 \u{202e} rtl"));
    assert_eq!(uni[5].as_deref(), Some("Ⓐcme"));
    let name = scalar(db, "SELECT name FROM audiences").await;
    assert_eq!(name.as_deref(), Some("Hostile — ünïcødé 🐚"));
}

#[tokio::test]
async fn sqlite_hostile_records_follow_the_skip_rule() {
    let (_dir, db) = sqlite_db();
    hostile_records_follow_the_skip_rule(&db).await;
}

#[tokio::test]
async fn a_nul_in_a_text_column_becomes_a_replacement_character() {
    let (_dir, db) = sqlite_db();
    let clock = ManualClock::new();
    let client = scripted_client(&clock, vec![r#"[{"id":"n","email":"a\u0000b"}]"#.into()]);
    let s = Syncer::open(client, &db, SyncOptions::default().clock(clock.shared()))
        .await
        .unwrap();
    assert!(s.sync(&AudienceSelection::All).await.unwrap().ok);
    assert_eq!(dump(&db).await[0][4].as_deref(), Some("a\u{FFFD}b"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_unicode_lands_in_sqlite_as_sent(
        id in "\\PC{1,30}",
        first in any::<String>(),
        company in any::<String>(),
    ) {
        prop_assume!(!id.contains('\0'));
        let record = serde_json::json!({"id": id, "firstName": first, "company": {"name": company}});
        let page = serde_json::json!([record]).to_string();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let rows = rt.block_on(async {
            let (_dir, db) = sqlite_db();
            let clock = ManualClock::new();
            let s = Syncer::open(scripted_client(&clock, vec![page]), &db, SyncOptions::default().clock(clock.shared()))
                .await
                .unwrap();
            assert!(s.sync(&AudienceSelection::All).await.unwrap().ok);
            dump(&db).await
        });
        let fix = |s: &str| s.replace('\0', "\u{FFFD}");
        prop_assert_eq!(rows.len(), 1);
        prop_assert_eq!(rows[0][1].as_deref(), Some(id.as_str()));
        prop_assert_eq!(rows[0][2].clone(), Some(fix(&first)));
        prop_assert_eq!(rows[0][5].clone(), Some(fix(&company)));
        let raw: serde_json::Value = serde_json::from_str(rows[0][10].as_deref().unwrap()).unwrap();
        prop_assert_eq!(raw, record);
    }
}
