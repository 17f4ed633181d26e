//! serde_with adapters for Paya's odd wire formats: flags as `"1"`/`"0"` or booleans, Unix-second
//! timestamps as numbers or strings, and strings that sometimes arrive as numbers.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};
use serde_with::{DeserializeAs, SerializeAs};
use time::OffsetDateTime;

/// `DeserializeAs<$value>` for `$adapter` through a visitor of any self-describing value: the
/// `visit_*` methods say what it accepts, `$expecting` what an error says was expected.
macro_rules! deserialize_any_as {
    ($adapter:ident => $value:ty, $expecting:literal, { $($visit:item)* }) => {
        impl<'de> DeserializeAs<'de, $value> for $adapter {
            fn deserialize_as<D: Deserializer<'de>>(deserializer: D) -> Result<$value, D::Error> {
                struct Any;
                impl Visitor<'_> for Any {
                    type Value = $value;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    $($visit)*
                }
                deserializer.deserialize_any(Any)
            }
        }
    };
}

/// A flag documented as `"1"`/`"0"` and returned as a boolean: reads `true`/`false`, `1`/`0`
/// and `"1"`/`"0"` (also `"true"`/`"false"`); writes the documented `"1"`/`"0"`.
#[derive(Debug, Clone, Copy)]
pub struct FlagOneZero;

impl SerializeAs<bool> for FlagOneZero {
    fn serialize_as<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if *value { "1" } else { "0" })
    }
}

deserialize_any_as!(FlagOneZero => bool, r#"a boolean, 0/1 or "0"/"1""#, {
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
});

/// A Unix timestamp in seconds, as a number or a numeric string, read as an `OffsetDateTime`
/// (UTC) and written back as a number.
#[derive(Debug, Clone, Copy)]
pub struct UnixSeconds;

impl SerializeAs<OffsetDateTime> for UnixSeconds {
    fn serialize_as<S: Serializer>(
        value: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.unix_timestamp())
    }
}

deserialize_any_as!(UnixSeconds => OffsetDateTime, "Unix seconds as a number or a numeric string", {
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<OffsetDateTime, E> {
        OffsetDateTime::from_unix_timestamp(v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<OffsetDateTime, E> {
        let v = i64::try_from(v).map_err(E::custom)?;
        self.visit_i64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<OffsetDateTime, E> {
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(E::invalid_value(de::Unexpected::Float(v), &self));
        }
        self.visit_i64(v as i64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<OffsetDateTime, E> {
        let secs: i64 = v
            .trim()
            .parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))?;
        self.visit_i64(secs)
    }
});

/// A string that some responses send as a number (`contact_balance`, `header_message_type`
/// style values): numbers are kept as their decimal text.
#[derive(Debug, Clone, Copy)]
pub struct LenientString;

impl SerializeAs<String> for LenientString {
    fn serialize_as<S: Serializer>(value: &String, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value)
    }
}

deserialize_any_as!(LenientString => String, "a string or a number", {
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
});

/// A small number sent as a number or a numeric string (`header_message_type`, `0`/`"0"`),
/// written as a number.
#[derive(Debug, Clone, Copy)]
pub struct LenientU8;

impl SerializeAs<u8> for LenientU8 {
    fn serialize_as<S: Serializer>(value: &u8, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(*value)
    }
}

impl<'de> DeserializeAs<'de, u8> for LenientU8 {
    fn deserialize_as<D: Deserializer<'de>>(deserializer: D) -> Result<u8, D::Error> {
        let text = LenientString::deserialize_as(deserializer)?;
        text.trim()
            .parse()
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&text), &"a number 0-255"))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_with::serde_as;

    use super::*;

    #[serde_as]
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Probe {
        #[serde_as(as = "FlagOneZero")]
        flag: bool,
        #[serde_as(as = "UnixSeconds")]
        at: OffsetDateTime,
        #[serde_as(as = "LenientString")]
        text: String,
        #[serde_as(as = "LenientU8")]
        small: u8,
    }

    #[test]
    fn flags_times_and_numbers_read_every_documented_form() {
        for (flag, expected) in [
            ("true", true),
            ("false", false),
            ("\"1\"", true),
            ("\"0\"", false),
            ("1", true),
        ] {
            let json = format!(r#"{{"flag":{flag},"at":1700000000,"text":"x","small":0}}"#);
            let p: Probe = serde_json::from_str(&json).unwrap();
            assert_eq!(p.flag, expected, "{flag}");
        }
        let p: Probe =
            serde_json::from_str(r#"{"flag":true,"at":"1700000000","text":12.5,"small":"3"}"#)
                .unwrap();
        assert_eq!(p.at.unix_timestamp(), 1_700_000_000);
        assert_eq!(p.text, "12.5");
        assert_eq!(p.small, 3);
    }

    #[test]
    fn writes_the_documented_forms() {
        let p = Probe {
            flag: true,
            at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            text: "7".into(),
            small: 2,
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"flag":"1","at":1700000000,"text":"7","small":2}"#
        );
    }

    #[test]
    fn refuses_what_is_not_a_flag_or_a_time() {
        assert!(
            serde_json::from_str::<Probe>(r#"{"flag":"yes","at":1,"text":"","small":0}"#).is_err()
        );
        assert!(serde_json::from_str::<Probe>(r#"{"flag":2,"at":1,"text":"","small":0}"#).is_err());
        assert!(
            serde_json::from_str::<Probe>(r#"{"flag":true,"at":"soon","text":"","small":0}"#)
                .is_err()
        );
    }
}
