//! A record's website [`Session`]s, with their [`Utm`] tags and [`Visit`]s.

use super::datetime::LenientDateTime;

model! {
    /// One website session of a person.
    pub struct Session {
        /// The site visited.
        pub site: Option<String>,
        /// The device used.
        pub device: Option<String>,
        /// The referring page (the HTTP header's spelling).
        pub referer: Option<String>,
        /// Campaign tags.
        pub utm: Option<Utm>,
        /// Page views in the session.
        pub visits: Option<Vec<Visit>>,
    }
}

model! {
    /// UTM campaign tags of a session.
    pub struct Utm {
        /// `utm_medium`.
        pub medium: Option<String>,
        /// `utm_campaign`.
        pub campaign: Option<String>,
        /// `utm_term`.
        pub term: Option<String>,
        /// `utm_content`.
        pub content: Option<String>,
        /// `utm_source`.
        pub source: Option<String>,
    }
}

model! {
    /// One page view.
    pub struct Visit {
        /// When the page was viewed.
        pub time: Option<LenientDateTime>,
        /// The full URL.
        pub page_url: Option<String>,
        /// The URL path.
        pub path: Option<String>,
        /// The host name.
        pub host: Option<String>,
        /// The query string.
        pub query_string: Option<String>,
    }
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
