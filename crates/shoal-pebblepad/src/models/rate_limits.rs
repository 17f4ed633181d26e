//! The answer of `GET 1.1/Info/GetRateLimits` *(shape assumed: `shared/api/pebblepad.md`
//! "Rate and concurrency limits")*, read leniently, and its translation into shoal-core's
//! [`RateLimits`].

use std::collections::BTreeMap;
use std::time::Duration;

use shoal_core::RateLimits;

record! {
    /// One method's limit.
    #[derive(PartialEq, Eq)]
    #[serde(rename_all = "PascalCase")]
    pub struct MethodLimit {
        /// `GET`, `POST`, `PUT`, `DELETE`.
        pub method: String,
        /// Calls allowed per window.
        pub limit: u32,
    }
}

record! {
    /// What `GetRateLimits` reports. The shape — `RateLimits` of `{Method, Limit}`,
    /// `ConcurrencyLimit`, `WindowSeconds` — is *assumed* (`shared/api/pebblepad.md` "Rate and
    /// concurrency limits"): every part is optional, anything else is kept in `extra`, and a body
    /// that cannot be read leaves the client pacing from response headers (see
    /// [`Discovery`](crate::Discovery)).
    ///
    /// ```
    /// use shoal_pebblepad::RateLimitsInfo;
    /// let info: RateLimitsInfo = serde_json::from_str(
    ///     r#"{"RateLimits":[{"Method":"GET","Limit":600}],
    ///         "ConcurrencyLimit":10,"WindowSeconds":60}"#,
    /// )?;
    /// let limits = info.to_core();
    /// assert_eq!(limits.per_method["GET"], 600);
    /// assert_eq!(limits.concurrency, Some(10));
    /// # Ok::<_, serde_json::Error>(())
    /// ```
    #[derive(PartialEq)]
    #[serde(rename_all = "PascalCase")]
    pub struct RateLimitsInfo {
        /// Per-method limits.
        pub rate_limits: Vec<MethodLimit>,
        /// Concurrent calls allowed across all methods.
        pub concurrency_limit: Option<u32>,
        /// The window length in seconds (a minute unless said otherwise).
        pub window_seconds: Option<u64>,
        ..
    }
}

impl RateLimitsInfo {
    /// The limits in shoal-core's terms (methods upper-cased; a zero window is ignored).
    pub fn to_core(&self) -> RateLimits {
        let per_method: BTreeMap<String, u32> = self
            .rate_limits
            .iter()
            .filter(|m| !m.method.trim().is_empty())
            .map(|m| (m.method.trim().to_ascii_uppercase(), m.limit))
            .collect();
        RateLimits::new(
            per_method,
            self.concurrency_limit,
            self.window_seconds
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_translates() {
        let info: RateLimitsInfo = serde_json::from_str(
            r#"{"RateLimits": [{"Method": "GET", "Limit": 600}, {"Method": "post", "Limit": 120},
                               {"Method": "PUT", "Limit": 120}, {"Method": "DELETE", "Limit": 60}],
                "ConcurrencyLimit": 10, "WindowSeconds": 60}"#,
        )
        .unwrap();
        let core = info.to_core();
        assert_eq!(core.per_method.len(), 4);
        assert_eq!(core.per_method["POST"], 120);
        assert_eq!(core.window, Some(Duration::from_secs(60)));
    }

    #[test]
    fn missing_parts_are_unknown_not_zero() {
        let core = serde_json::from_str::<RateLimitsInfo>("{}")
            .unwrap()
            .to_core();
        assert!(core.per_method.is_empty());
        assert_eq!(core.concurrency, None);
        assert_eq!(core.window, None);
    }
}
