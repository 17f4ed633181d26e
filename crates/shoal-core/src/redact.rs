//! One redaction rule set for every `Debug`, tracing event, error message and fixture.
//!
//! Secrets are found by *name*: header names, query parameter names and body field names
//! (JSON keys or form keys). The [`Redactor::standard`] set covers the OAuth and API-key names
//! every Shoal client uses; vendor crates add theirs with the `with_*` builders.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, LazyLock};

use http::HeaderMap;
use serde_json::Value;
use url::Url;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

const HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "user-api-key",
    "access-token",
];

const FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "code",
    "code_verifier",
    "state",
    "token",
    "api_key",
    "user_api_key",
    "user-api-key",
    "access-token",
    "secret",
];

/// A set of names whose values are secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Redactor {
    headers: BTreeSet<String>,
    fields: BTreeSet<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("headers", &self.headers)
            .field("fields", &self.fields)
            .finish()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::standard().clone()
    }
}

static STANDARD: LazyLock<Redactor> = LazyLock::new(|| Redactor {
    headers: HEADERS.iter().map(|s| s.to_string()).collect(),
    fields: FIELDS.iter().map(|s| s.to_string()).collect(),
});

impl Redactor {
    /// The built-in rule set: authorization and API-key headers, and the OAuth, password and
    /// token fields (which apply to query parameters, form fields and JSON keys alike).
    pub fn standard() -> &'static Redactor {
        &STANDARD
    }

    /// A rule set with no names at all.
    pub fn empty() -> Self {
        Self {
            headers: BTreeSet::new(),
            fields: BTreeSet::new(),
        }
    }

    /// Adds a secret header name (case-insensitive).
    pub fn with_header(mut self, name: &str) -> Self {
        self.headers.insert(name.to_ascii_lowercase());
        self
    }

    /// Adds a secret field name: a query parameter, form field or JSON key (case-insensitive).
    pub fn with_field(mut self, name: &str) -> Self {
        self.fields.insert(name.to_ascii_lowercase());
        self
    }

    /// Shares this rule set.
    pub fn shared(self) -> Arc<Redactor> {
        Arc::new(self)
    }

    /// Whether a header of this name is secret.
    pub fn is_secret_header(&self, name: &str) -> bool {
        self.headers.contains(&name.to_ascii_lowercase())
    }

    /// Whether a query parameter, form field or JSON key of this name is secret.
    pub fn is_secret_field(&self, name: &str) -> bool {
        self.fields.contains(&name.to_ascii_lowercase())
    }

    /// The URL with secret query parameter values and any user-info password replaced.
    pub fn url(&self, url: &Url) -> String {
        let secret_query =
            url.query().is_some() && url.query_pairs().any(|(k, _)| self.is_secret_field(&k));
        if url.password().is_none() && !secret_query {
            return url.to_string();
        }
        let mut out = url.clone();
        if out.password().is_some() {
            let _ = out.set_password(Some(REDACTED));
        }
        if secret_query {
            let pairs = self.redacted_pairs(url.query_pairs());
            out.query_pairs_mut().clear().extend_pairs(pairs);
        }
        out.to_string()
    }

    /// A URL given as text: parsed and redacted, or wholly hidden when it does not parse.
    pub fn url_str(&self, url: &str) -> String {
        match Url::parse(url) {
            Ok(u) => self.url(&u),
            Err(_) => self.form(url),
        }
    }

    /// Header pairs in order, secret values replaced, for display: at most
    /// [`MAX_SHOWN_HEADERS`] of them (then one `…` pair counting the rest), each value cut at
    /// [`MAX_SHOWN_HEADER_VALUE`] bytes, so a server's huge headers never make a huge message.
    pub fn headers(&self, headers: &HeaderMap) -> Vec<(String, String)> {
        let mut shown: Vec<(String, String)> = headers
            .iter()
            .take(MAX_SHOWN_HEADERS)
            .map(|(name, value)| {
                let v = if self.is_secret_header(name.as_str()) {
                    REDACTED.to_string()
                } else {
                    truncate(
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        MAX_SHOWN_HEADER_VALUE,
                    )
                };
                (name.as_str().to_string(), v)
            })
            .collect();
        let more = headers.len().saturating_sub(MAX_SHOWN_HEADERS);
        if more > 0 {
            shown.push(("…".into(), format!("{more} more headers")));
        }
        shown
    }

    /// Replaces, in place and at any depth, the values of secret keys of a JSON value, and the
    /// secret `name=value` pairs inside its strings.
    pub fn json_value(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.is_secret_field(k) && !v.is_null() && !v.is_object() && !v.is_array() {
                        *v = Value::String(REDACTED.to_string());
                    } else {
                        self.json_value(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.json_value(v)),
            // Free text inside a value (a vendor message) can quote `access_token=…` too.
            Value::String(text) if text.contains('=') => *text = self.text(text),
            _ => {}
        }
    }

    /// Form pairs (a query or a body) with secret values replaced.
    fn redacted_pairs<'a>(
        &self,
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Vec<(String, String)> {
        pairs
            .map(|(k, v)| {
                let v = if self.is_secret_field(&k) {
                    REDACTED.to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect()
    }

    /// An `application/x-www-form-urlencoded` string with secret values replaced.
    pub fn form(&self, form: &str) -> String {
        let pairs = self.redacted_pairs(url::form_urlencoded::parse(form.as_bytes()));
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    /// Free text (an error message): the value of every `name=value` pair whose name is secret
    /// is replaced; everything else is left as written.
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(eq) = rest.find('=') {
            let (head, tail) = rest.split_at(eq);
            // A char index plus its width: a name may follow any character, `ß` or `«` included.
            let name_start = head
                .char_indices()
                .rev()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            out.push_str(head);
            out.push('=');
            let tail = &tail[1..];
            let value_end = tail
                .find(|c: char| c == '&' || c.is_whitespace())
                .unwrap_or(tail.len());
            if self.is_secret_field(&head[name_start..]) {
                out.push_str(REDACTED);
            } else {
                out.push_str(&tail[..value_end]);
            }
            rest = &tail[value_end..];
        }
        out.push_str(rest);
        out
    }

    /// A body for display: JSON redacted by key, anything else treated as a form; secrets gone
    /// either way. At most `limit` characters are kept.
    pub fn body(&self, body: &[u8], limit: usize) -> String {
        if body.is_empty() {
            return String::new();
        }
        let text = match serde_json::from_slice::<Value>(body) {
            Ok(mut v) => {
                self.json_value(&mut v);
                v.to_string()
            }
            Err(_) => {
                let s = String::from_utf8_lossy(body);
                if s.contains('=') {
                    self.form(&s)
                } else {
                    s.into_owned()
                }
            }
        };
        truncate(text, limit)
    }
}

/// Most headers [`Redactor::headers`] shows.
pub const MAX_SHOWN_HEADERS: usize = 32;
/// Most bytes of one header value [`Redactor::headers`] shows.
pub const MAX_SHOWN_HEADER_VALUE: usize = 256;

fn truncate(mut s: String, limit: usize) -> String {
    if s.len() > limit {
        let mut cut = limit;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    /// Issue 17: a 10,000-digit `Retry-After` made a 10 KB error message.
    #[test]
    fn huge_and_many_headers_are_shown_cut() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            HeaderValue::from_str(&"9".repeat(10_000)).unwrap(),
        );
        for i in 0..100 {
            headers.insert(
                http::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        let shown = Redactor::standard().headers(&headers);
        assert_eq!(shown.len(), MAX_SHOWN_HEADERS + 1);
        assert_eq!(shown[0].1.len(), MAX_SHOWN_HEADER_VALUE + '…'.len_utf8());
        assert_eq!(shown[MAX_SHOWN_HEADERS].1, "69 more headers");
    }

    #[test]
    fn standard_rules_hide_oauth_and_key_material() {
        let r = Redactor::standard();
        let url = Url::parse("https://h/x?user-api-key=K1&page=2&access-token=T1").unwrap();
        let shown = r.url(&url);
        assert!(!shown.contains("K1") && !shown.contains("T1"), "{shown}");
        assert!(shown.contains("page=2"));
        let form = r.form("grant_type=refresh_token&refresh_token=R1&client_secret=S1");
        assert!(!form.contains("R1") && !form.contains("S1"));
        assert!(form.contains("grant_type=refresh_token"));
    }

    #[test]
    fn body_redacts_nested_json_and_keeps_structure() {
        let body = br#"{"token":{"token":"abc","id":"1"},"items":[{"password":"p"}]}"#;
        let shown = Redactor::standard().body(body, 1000);
        assert!(
            !shown.contains("abc") && !shown.contains("\"p\""),
            "{shown}"
        );
        assert!(shown.contains("\"id\":\"1\""));
    }

    #[test]
    fn plain_text_is_left_alone_and_secret_pairs_are_not() {
        let r = Redactor::standard();
        assert_eq!(r.text("nope & done"), "nope & done");
        assert!(
            !r.text("bad request: password=hunter2&x=1")
                .contains("hunter2")
        );
    }

    #[test]
    fn body_is_truncated_on_a_char_boundary() {
        let shown = Redactor::standard().body("ééééé".as_bytes(), 3);
        assert_eq!(shown, "é…");
    }

    /// Regression (issue 17 #1): a multi-byte character right before a name's start.
    #[test]
    fn vendor_messages_with_non_ascii_before_an_equals_sign_are_kept_whole() {
        let r = Redactor::standard();
        for message in [
            "Feld Größe=10 ungültig",
            "Le champ «prénom»=vide",
            "ß=1",
            "«=»",
            "日本語=値 access_token=T0PSECRET",
        ] {
            let shown = r.text(message);
            assert!(!shown.contains("T0PSECRET"), "{shown}");
            if !message.contains("access_token") {
                assert_eq!(shown, message);
            }
        }
        assert_eq!(
            r.text("«prénom»·access_token=abc def"),
            format!("«prénom»·access_token={REDACTED} def"),
            "a name after a multi-byte character is still recognised"
        );
    }

    fn secret() -> impl Strategy<Value = String> {
        "[A-Za-z0-9._~+/-]{8,40}"
    }

    /// Any value a redaction can end at: full Unicode without the separators.
    fn unicode_secret() -> impl Strategy<Value = String> {
        "[^&\\s=]{8,40}"
    }

    proptest! {
        #[test]
        fn removes_any_secret_from_url_headers_and_json(s in secret(), other in "[a-z]{1,8}") {
            let r = Redactor::empty().with_header("x-secret").with_field("my_key");
            let mut url = Url::parse("https://example.test/p").unwrap();
            url.query_pairs_mut().append_pair(&other, "visible").append_pair("my_key", &s);
            prop_assert!(!r.url(&url).contains(&s));

            let mut headers = HeaderMap::new();
            headers.insert("x-secret", HeaderValue::from_str(&s).unwrap());
            headers.insert("x-other", HeaderValue::from_static("visible"));
            let shown = format!("{:?}", r.headers(&headers));
            prop_assert!(!shown.contains(&s));
            prop_assert!(shown.contains("visible"));

            let mut json = serde_json::json!({"a": [{"my_key": s.clone()}], "b": {"MY_KEY": s.clone()}});
            r.json_value(&mut json);
            prop_assert!(!json.to_string().contains(&s));
            let body = serde_json::to_vec(&serde_json::json!({"x": {"my_key": s.clone()}})).unwrap();
            prop_assert!(!r.body(&body, 10_000).contains(&s));
            let text = format!("refused: {other}=1 my_key={s}&x=2 done");
            prop_assert!(!r.text(&text).contains(&s));
            let kept = format!("{other}=1");
            prop_assert!(r.text(&text).contains(&kept));
        }

        #[test]
        fn any_unicode_text_is_redacted_without_panicking(text in any::<String>(), s in unicode_secret(), before in any::<String>()) {
            let r = Redactor::standard();
            // Without a secret name, text passes through unchanged.
            if !text.to_ascii_lowercase().contains("token") && !text.to_ascii_lowercase().contains("secret")
                && !text.to_ascii_lowercase().contains("key") && !text.to_ascii_lowercase().contains("password") {
                prop_assert_eq!(r.text(&text), text.clone());
            } else {
                let _ = r.text(&text);
            }
            // A secret after any text (ending on a separator so the name starts fresh).
            let message = format!("{before} access_token={s} {text}");
            prop_assert!(!r.text(&message).contains(&s), "{}", r.text(&message));
        }

        #[test]
        fn any_bytes_and_any_limit_make_a_display_body(body in proptest::collection::vec(any::<u8>(), 0..512), limit in any::<usize>()) {
            let r = Redactor::standard();
            let shown = r.body(&body, limit % 1024);
            prop_assert!(shown.len() <= limit % 1024 + '…'.len_utf8());
            let _ = r.form(&String::from_utf8_lossy(&body));
        }
    }
}
