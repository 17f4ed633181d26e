//! Every number a server announces, brought into a range stated here and nowhere else.
//!
//! A client library's input is whatever the network delivers: `X-Rate-Limit: 4294967295`,
//! `expires_in: -1`, `Retry-After: 99999999999`. Each quantity has a documented range; values
//! outside it are clamped to its nearest end, text that is not a number is ignored (`None`), and
//! nothing here panics or allocates, so a header can never choose how much we allocate or how
//! far in the future we compute an instant.
//!
//! ```
//! use std::time::Duration;
//! use shoal_core::clamp;
//!
//! assert_eq!(clamp::integer("4294967295"), Some(4_294_967_295));
//! assert_eq!(clamp::rate_limit(4_294_967_295), clamp::MAX_RATE_LIMIT);
//! assert_eq!(clamp::rate_remaining(-3, 600), 0);
//! assert_eq!(clamp::token_expires_in(i128::MAX), clamp::MAX_TOKEN_EXPIRES_IN);
//! assert_eq!(clamp::session_expire(0), Duration::from_secs(60));
//! assert_eq!(clamp::integer("six"), None);
//! ```

use std::time::Duration;

/// The largest per-method limit per window: 1,000,000,000 calls (any more is "unlimited" in
/// practice, and keeps every count the limiter adds within `u32`/`u64` arithmetic).
pub const MAX_RATE_LIMIT: u32 = 1_000_000_000;
/// The smallest per-method limit: 1 (a limit of 0 would block a method for ever).
pub const MIN_RATE_LIMIT: u32 = 1;
/// The largest concurrency limit: 100,000 calls in flight.
pub const MAX_CONCURRENCY_LIMIT: u32 = 100_000;
/// The smallest concurrency limit: 1.
pub const MIN_CONCURRENCY_LIMIT: u32 = 1;
/// The longest `Retry-After` the limiter blocks a method for: one day. (The retry policy's own
/// cap, 60 s by default, turns a longer request into an error well before this.)
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);
/// The shortest rate window: 1 ms.
pub const MIN_WINDOW: Duration = Duration::from_millis(1);
/// The longest rate window: one day.
pub const MAX_WINDOW: Duration = Duration::from_secs(86_400);
/// The longest token lifetime (`expires_in`): 365 days. The shortest is 0 (already expired).
pub const MAX_TOKEN_EXPIRES_IN: Duration = Duration::from_secs(365 * 86_400);
/// The shortest session idle limit (`expire`, in minutes): 1 minute.
pub const MIN_SESSION_EXPIRE: Duration = Duration::from_secs(60);
/// The longest session idle limit: 1,440 minutes (one day).
pub const MAX_SESSION_EXPIRE: Duration = Duration::from_secs(1_440 * 60);

/// Reads a decimal integer as a server writes one: ASCII digits with an optional sign,
/// surrounded by optional whitespace. Digits beyond `i128` saturate (so a huge value clamps to
/// its quantity's maximum); anything else (`"6.5"`, `"0x10"`, `"六"`, `""`) is `None`.
pub fn integer(text: &str) -> Option<i128> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, digits) = match (t.strip_prefix('-'), t.strip_prefix('+')) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: i128 = 0;
    for b in digits.bytes() {
        n = n.saturating_mul(10).saturating_add(i128::from(b - b'0'));
    }
    Some(if negative { -n } else { n })
}

/// Reads a JSON number or numeric string as an integer: fractions truncate toward zero,
/// out-of-range floats saturate, NaN and non-numbers are `None`.
pub fn json_integer(value: &serde_json::Value) -> Option<i128> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| n.as_f64().filter(|f| !f.is_nan()).map(|f| f as i128)),
        serde_json::Value::String(s) => integer(s),
        _ => None,
    }
}

fn clamp_u32(n: i128, min: u32, max: u32) -> u32 {
    // In range after the clamp, so the conversion cannot fail.
    u32::try_from(n.clamp(i128::from(min), i128::from(max))).unwrap_or(max)
}

/// A per-method limit per window, in [`MIN_RATE_LIMIT`]`..=`[`MAX_RATE_LIMIT`].
pub fn rate_limit(n: i128) -> u32 {
    clamp_u32(n, MIN_RATE_LIMIT, MAX_RATE_LIMIT)
}

/// Calls remaining in the window, in `0..=limit` (the limit already clamped).
pub fn rate_remaining(n: i128, limit: u32) -> u32 {
    clamp_u32(n, 0, limit.min(MAX_RATE_LIMIT))
}

/// A concurrency limit, in [`MIN_CONCURRENCY_LIMIT`]`..=`[`MAX_CONCURRENCY_LIMIT`].
pub fn concurrency_limit(n: i128) -> u32 {
    clamp_u32(n, MIN_CONCURRENCY_LIMIT, MAX_CONCURRENCY_LIMIT)
}

/// Concurrent calls remaining, in `0..=`[`MAX_CONCURRENCY_LIMIT`].
pub fn concurrency_remaining(n: i128) -> u32 {
    clamp_u32(n, 0, MAX_CONCURRENCY_LIMIT)
}

/// A `Retry-After` wait, at most [`MAX_RETRY_AFTER`].
pub fn retry_after(wait: Duration) -> Duration {
    wait.min(MAX_RETRY_AFTER)
}

/// A rate window, in [`MIN_WINDOW`]`..=`[`MAX_WINDOW`].
pub fn window(window: Duration) -> Duration {
    window.clamp(MIN_WINDOW, MAX_WINDOW)
}

/// A token's `expires_in` (seconds), in `0..=`[`MAX_TOKEN_EXPIRES_IN`]: a negative lifetime is
/// an expired token, not an error.
pub fn token_expires_in(seconds: i128) -> Duration {
    let max = MAX_TOKEN_EXPIRES_IN.as_secs();
    Duration::from_secs(u64::try_from(seconds.clamp(0, i128::from(max))).unwrap_or(max))
}

/// A session's idle limit `expire` (minutes), in
/// [`MIN_SESSION_EXPIRE`]`..=`[`MAX_SESSION_EXPIRE`].
pub fn session_expire(minutes: i128) -> Duration {
    let (min, max) = (
        MIN_SESSION_EXPIRE.as_secs() / 60,
        MAX_SESSION_EXPIRE.as_secs() / 60,
    );
    let m = u64::try_from(minutes.clamp(i128::from(min), i128::from(max))).unwrap_or(max);
    Duration::from_secs(m * 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_are_read_strictly_and_saturate() {
        assert_eq!(integer(" 600 "), Some(600));
        assert_eq!(integer("+7"), Some(7));
        assert_eq!(integer("-1"), Some(-1));
        assert_eq!(
            integer("18446744073709551615"),
            Some(18_446_744_073_709_551_615)
        );
        assert_eq!(integer(&"9".repeat(400)), Some(i128::MAX));
        assert_eq!(integer(&format!("-{}", "9".repeat(400))), Some(-i128::MAX));
        for bad in ["", "-", "+", "6.5", "0x10", "1e3", "六", "٣", "1 2", "--1"] {
            assert_eq!(integer(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn json_numbers_truncate_and_saturate() {
        let v = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(json_integer(&v("3600")), Some(3600));
        assert_eq!(json_integer(&v("59.9")), Some(59));
        assert_eq!(json_integer(&v("-5")), Some(-5));
        assert_eq!(
            json_integer(&v("18446744073709551615")),
            Some(u64::MAX.into())
        );
        assert_eq!(json_integer(&v("1e300")), Some(i128::MAX));
        assert_eq!(json_integer(&v("\"42\"")), Some(42));
        assert_eq!(json_integer(&v("\"soon\"")), None);
        assert_eq!(json_integer(&v("true")), None);
        assert_eq!(json_integer(&v("null")), None);
    }

    #[test]
    fn each_quantity_has_its_range() {
        assert_eq!(rate_limit(0), 1);
        assert_eq!(rate_limit(-5), 1);
        assert_eq!(rate_limit(600), 600);
        assert_eq!(rate_limit(u32::MAX.into()), MAX_RATE_LIMIT);
        assert_eq!(rate_remaining(700, 600), 600);
        assert_eq!(rate_remaining(i128::MIN, 600), 0);
        assert_eq!(rate_remaining(5, u32::MAX), 5);
        assert_eq!(concurrency_limit(0), 1);
        assert_eq!(concurrency_limit(i128::MAX), MAX_CONCURRENCY_LIMIT);
        assert_eq!(concurrency_remaining(-1), 0);
        assert_eq!(retry_after(Duration::MAX), MAX_RETRY_AFTER);
        assert_eq!(retry_after(Duration::from_secs(2)), Duration::from_secs(2));
        assert_eq!(window(Duration::ZERO), MIN_WINDOW);
        assert_eq!(window(Duration::MAX), MAX_WINDOW);
        assert_eq!(token_expires_in(-1), Duration::ZERO);
        assert_eq!(token_expires_in(3600), Duration::from_secs(3600));
        assert_eq!(token_expires_in(i128::MAX), MAX_TOKEN_EXPIRES_IN);
        assert_eq!(session_expire(15), Duration::from_secs(900));
        assert_eq!(session_expire(-15), MIN_SESSION_EXPIRE);
        assert_eq!(session_expire(u64::MAX.into()), MAX_SESSION_EXPIRE);
    }

    proptest! {
        #[test]
        fn any_text_reads_without_panic(s in "\\PC{0,40}") {
            let _ = integer(&s);
        }

        #[test]
        fn every_u64_and_i64_round_trips_and_clamps(u in any::<u64>(), i in any::<i64>()) {
            prop_assert_eq!(integer(&u.to_string()), Some(i128::from(u)));
            prop_assert_eq!(integer(&i.to_string()), Some(i128::from(i)));
            let l = rate_limit(u.into());
            prop_assert!((MIN_RATE_LIMIT..=MAX_RATE_LIMIT).contains(&l));
            prop_assert!(rate_remaining(i.into(), l) <= l);
            prop_assert!(concurrency_limit(i.into()) <= MAX_CONCURRENCY_LIMIT);
            prop_assert!(token_expires_in(i.into()) <= MAX_TOKEN_EXPIRES_IN);
            let s = session_expire(u.into());
            prop_assert!(s >= MIN_SESSION_EXPIRE && s <= MAX_SESSION_EXPIRE);
        }
    }
}
