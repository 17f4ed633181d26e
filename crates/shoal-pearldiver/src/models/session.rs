//! A record's website [`Session`]s, with their [`Utm`] tags and [`Visit`]s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datetime::LenientDateTime;

/// One website session of a person.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The site visited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The device used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The referring page (the HTTP header's spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referer: Option<String>,
    /// Campaign tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm: Option<Utm>,
    /// Page views in the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visits: Option<Vec<Visit>>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// UTM campaign tags of a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Utm {
    /// `utm_medium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// `utm_campaign`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// `utm_term`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    /// `utm_content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `utm_source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page view.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Visit {
    /// When the page was viewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<LenientDateTime>,
    /// The full URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// The URL path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The query string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn a_session_decodes_with_visits_and_tags() {
        let json = json!({
            "site": "example.test", "device": "mobile", "referer": "https://search.test/",
            "utm": {"medium": "cpc", "source": "newsletter", "id": "u-9"},
            "visits": [
                {"time": "2025-03-01T09:30:00Z", "pageUrl": "https://example.test/p?q=1",
                 "path": "/p", "host": "example.test", "queryString": "q=1"},
                {"time": "sometime", "dwellMs": 1200}
            ]
        });
        let session: Session = serde_json::from_value(json.clone()).unwrap();
        let visits = session.visits.as_ref().unwrap();
        assert_eq!(
            visits[0].time.as_ref().and_then(|t| t.offset_date_time()),
            Some(datetime!(2025-03-01 09:30:00 UTC))
        );
        assert_eq!(
            visits[1].time,
            Some(LenientDateTime::Unparsed("sometime".into()))
        );
        assert_eq!(visits[1].extra["dwellMs"], 1200);
        assert_eq!(session.utm.as_ref().unwrap().extra["id"], "u-9");
        assert_eq!(serde_json::to_value(&session).unwrap(), json);
    }
}
