//! The documented field limits, checked before anything is sent; each failure is an
//! [`Error::InvalidInput`] naming the field and the limit.

use shoal_core::Error;

use super::fields::{FieldRule, FieldValue};
use time::Date;
use time::macros::format_description;

/// The result of one check.
pub(crate) type Check = Result<(), Error>;

fn chars(value: &str) -> usize {
    value.chars().count()
}

/// `min..=max` characters.
pub(crate) fn length(field: &str, value: &str, min: usize, max: usize) -> Check {
    let n = chars(value);
    if n < min || n > max {
        let limit = if min == max {
            format!("must be exactly {min} characters")
        } else if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min} to {max} characters")
        };
        return Err(Error::invalid(field, format!("{limit} (got {n})")));
    }
    Ok(())
}

/// An id: 24 to 36 characters.
pub(crate) fn id(field: &str, value: &str) -> Check {
    length(field, value, 24, 36)
}

/// Exactly `n` digits (a phone number: 10).
pub(crate) fn digits(field: &str, value: &str, n: usize) -> Check {
    if chars(value) != n || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            field,
            format!(
                "must be exactly {n} digits (got {} characters)",
                chars(value)
            ),
        ));
    }
    Ok(())
}

/// A state: exactly 2 letters.
pub(crate) fn state(field: &str, value: &str) -> Check {
    if chars(value) != 2 || !value.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(Error::invalid(field, "must be exactly 2 letters"));
    }
    Ok(())
}

/// A zip code: 4 to 12 letters, digits, spaces or dashes.
pub(crate) fn zip(field: &str, value: &str) -> Check {
    length(field, value, 4, 12)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        return Err(Error::invalid(
            field,
            "may contain only letters, digits, spaces and dashes",
        ));
    }
    Ok(())
}

/// An e-mail address: 5 to 64 characters with an `@`.
pub(crate) fn email(field: &str, value: &str) -> Check {
    length(field, value, 5, 64)?;
    if !value.contains('@') {
        return Err(Error::invalid(field, "must be an e-mail address (no @)"));
    }
    Ok(())
}

/// A calendar date written `yyyy-mm-dd`.
pub(crate) fn date(field: &str, value: &str) -> Check {
    let format = format_description!("[year]-[month]-[day]");
    if value.len() != 10 || Date::parse(value, &format).is_err() {
        return Err(Error::invalid(
            field,
            format!("must be a date written yyyy-mm-dd (got {value:?})"),
        ));
    }
    Ok(())
}

/// A number within `min..=max`.
pub(crate) fn range(field: &str, value: u32, min: u32, max: u32) -> Check {
    if value < min || value > max {
        return Err(Error::invalid(
            field,
            format!("must be {min} to {max} (got {value})"),
        ));
    }
    Ok(())
}

impl FieldRule {
    /// Checks `value` for the field `field` against this rule.
    pub fn check(self, field: &str, value: &FieldValue) -> Check {
        let text = match (self, value) {
            (FieldRule::Flag, FieldValue::Flag(_)) => return Ok(()),
            (FieldRule::HeaderType, FieldValue::Number(n)) => {
                return range(field, u32::from(*n), 0, 4);
            }
            (FieldRule::Flag | FieldRule::HeaderType, other) => {
                return Err(Error::invalid(
                    field,
                    format!(
                        "expects a {}, got {:?}",
                        if self == FieldRule::Flag {
                            "flag"
                        } else {
                            "number"
                        },
                        other.to_text()
                    ),
                ));
            }
            (_, FieldValue::Text(text)) => text.as_str(),
            (_, other) => {
                return Err(Error::invalid(
                    field,
                    format!("expects text, got {:?}", other.to_text()),
                ));
            }
        };
        match self {
            FieldRule::None => Err(Error::invalid(field, "is set by the server only")),
            FieldRule::Id => id(field, text),
            FieldRule::Length { min, max } => length(field, text, min, max),
            FieldRule::Digits(n) => digits(field, text, n),
            FieldRule::State => state(field, text),
            FieldRule::Zip => zip(field, text),
            FieldRule::Email => email(field, text),
            FieldRule::Date => date(field, text),
            FieldRule::Flag | FieldRule::HeaderType => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn field_of(check: Check) -> Option<String> {
        match check {
            Err(Error::InvalidInput { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn each_rule_names_the_field_and_the_limit() {
        let err = length("last_name", "", 1, 64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid last_name: must be 1 to 64 characters (got 0)"
        );
        assert_eq!(
            field_of(digits("cell_phone", "555-1234", 10)).as_deref(),
            Some("cell_phone")
        );
        assert!(digits("cell_phone", "5551234567", 10).is_ok());
        assert!(
            state("state", "NY").is_ok()
                && state("state", "N1").is_err()
                && state("state", "NYC").is_err()
        );
        assert!(zip("zip", "SW1A 1AA").is_ok() && zip("zip", "12345-6789").is_ok());
        assert!(
            zip("zip", "123").is_err()
                && zip("zip", "12_45").is_err()
                && zip("zip", "1234567890123").is_err()
        );
        assert!(
            email("email", "a@b.c").is_ok()
                && email("email", "a@b").is_err()
                && email("email", "abcdef").is_err()
        );
        assert!(date("date_of_birth", "1990-02-28").is_ok());
        for bad in ["1990-2-28", "28-02-1990", "1990-02-30", "19900228"] {
            assert!(date("date_of_birth", bad).is_err(), "{bad}");
        }
        assert!(
            range("header_message_type", 5, 0, 4).is_err()
                && range("header_message_type", 4, 0, 4).is_ok()
        );
        assert!(
            id("location_id", &"a".repeat(23)).is_err()
                && id("location_id", &"a".repeat(24)).is_ok()
        );
    }

    proptest! {
        #[test]
        fn length_accepts_exactly_the_range(n in 0usize..80, min in 0usize..10, span in 0usize..40) {
            let max = min + span;
            let value = "é".repeat(n);
            prop_assert_eq!(length("f", &value, min, max).is_ok(), (min..=max).contains(&n));
        }

        #[test]
        fn zips_of_the_allowed_alphabet_pass(z in "[A-Za-z0-9 -]{4,12}") {
            prop_assert!(zip("zip", &z).is_ok());
        }
    }
}
