//! Paya contact field rules, answering 422 `{"errors": {field: [messages]}}` the way the vendor's
//! (Yii-based) API words them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Field errors, keyed by field name.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Clone, Copy)]
enum Rule {
    /// String with a character count in `min..=max`.
    Len(usize, usize),
    /// Exactly n digits.
    Digits(usize),
    /// Zip: 4–12 of letters, digits, space, dash.
    Zip,
    /// `yyyy-mm-dd`.
    Date,
    /// `"1"`/`"0"`, 1/0 or a boolean.
    Flag,
    /// 0 (popup) or 1–4 (banners).
    HeaderType,
}

/// Writable contact fields and their limits (`location_id` is create-only).
const RULES: &[(&str, Rule)] = &[
    ("location_id", Rule::Len(24, 36)),
    ("last_name", Rule::Len(1, 64)),
    ("first_name", Rule::Len(0, 64)),
    ("company_name", Rule::Len(0, 64)),
    ("account_number", Rule::Len(0, 32)),
    ("contact_api_id", Rule::Len(0, 36)),
    ("email", Rule::Len(5, 64)),
    ("address", Rule::Len(0, 255)),
    ("city", Rule::Len(0, 100)),
    ("state", Rule::Len(2, 2)),
    ("zip", Rule::Zip),
    ("home_phone", Rule::Digits(10)),
    ("cell_phone", Rule::Digits(10)),
    ("office_phone", Rule::Digits(10)),
    ("office_ext_phone", Rule::Len(0, 10)),
    ("contact_balance", Rule::Len(0, 12)),
    ("contact_c1", Rule::Len(0, 128)),
    ("contact_c2", Rule::Len(0, 128)),
    ("contact_c3", Rule::Len(0, 128)),
    ("date_of_birth", Rule::Date),
    ("email_trx_receipt", Rule::Flag),
    ("header_message", Rule::Len(0, 250)),
    ("header_message_type", Rule::HeaderType),
];

/// Every writable field name, in the vendor's order.
pub fn writable_fields() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|(f, _)| *f)
}

/// `last_name` → `Last Name`, as the vendor's messages label fields.
pub fn label(field: &str) -> String {
    field
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(field: &str, rule: Rule, v: &Value) -> Result<Value, String> {
    let l = label(field);
    let text = || match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("{l} must be a string.")),
    };
    match rule {
        Rule::Len(min, max) => {
            let s = text()?;
            let n = s.chars().count();
            if min == max && n != min {
                Err(format!("{l} should contain {min} characters."))
            } else if n < min {
                Err(format!("{l} should contain at least {min} characters."))
            } else if n > max {
                Err(format!("{l} should contain at most {max} characters."))
            } else {
                Ok(Value::String(s))
            }
        }
        Rule::Digits(n) => {
            let s = text()?;
            if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
                Ok(Value::String(s))
            } else {
                Err(format!("{l} should contain {n} digits."))
            }
        }
        Rule::Zip => {
            let s = text()?;
            let ok = (4..=12).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
            if ok {
                Ok(Value::String(s))
            } else {
                Err(format!("{l} is invalid."))
            }
        }
        Rule::Date => {
            let s = text()?;
            let b = s.as_bytes();
            let shape = b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
            let valid = shape && {
                let m: u32 = s[5..7].parse().unwrap_or(0);
                let d: u32 = s[8..10].parse().unwrap_or(0);
                (1..=12).contains(&m) && (1..=31).contains(&d)
            };
            if valid {
                Ok(Value::String(s))
            } else {
                Err(format!("The format of {l} is invalid."))
            }
        }
        Rule::Flag => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s == "1" || s == "0" => Ok(Value::Bool(s == "1")),
            Value::Number(n) if n.as_u64() == Some(1) || n.as_u64() == Some(0) => {
                Ok(Value::Bool(n.as_u64() == Some(1)))
            }
            _ => Err(format!("{l} must be either \"1\" or \"0\".")),
        },
        Rule::HeaderType => {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            };
            match n {
                Some(n) if n <= 4 => Ok(Value::from(n)),
                _ => Err(format!("{l} is invalid.")),
            }
        }
    }
}

/// Checks a contact body; on success, the normalized writable fields (unknown ones dropped).
pub fn validate(
    body: &Map<String, Value>,
    create: bool,
) -> Result<Map<String, Value>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out = Map::new();
    for (field, rule) in RULES {
        let v = body.get(*field);
        let required = create && matches!(*field, "location_id" | "last_name");
        match v {
            None | Some(Value::Null) if required => {
                errors
                    .entry(field.to_string())
                    .or_default()
                    .push(format!("{} cannot be blank.", label(field)));
            }
            None => {}
            Some(_) if !create && *field == "location_id" => {
                errors
                    .entry(field.to_string())
                    .or_default()
                    .push("Location Id can only be set on create.".into());
            }
            Some(Value::Null) if *field == "last_name" => {
                errors
                    .entry(field.to_string())
                    .or_default()
                    .push("Last Name cannot be blank.".into());
            }
            Some(Value::Null) => {
                out.insert(field.to_string(), Value::Null);
            }
            Some(v) => match check(field, *rule, v) {
                Ok(v) => {
                    out.insert(field.to_string(), v);
                }
                Err(m) => errors.entry(field.to_string()).or_default().push(m),
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn create_requires_location_and_last_name() {
        let e = validate(&map(json!({})), true).unwrap_err();
        assert_eq!(e["location_id"], vec!["Location Id cannot be blank."]);
        assert_eq!(e["last_name"], vec!["Last Name cannot be blank."]);
    }

    #[test]
    fn limits_and_flags() {
        let body = json!({"location_id": "a".repeat(24), "last_name": "x".repeat(65), "state": "MAS",
            "zip": "12", "home_phone": "555", "date_of_birth": "1990-13-01", "email_trx_receipt": "1"});
        let e = validate(&map(body), true).unwrap_err();
        for f in ["last_name", "state", "zip", "home_phone", "date_of_birth"] {
            assert!(e.contains_key(f), "{f}: {e:?}");
        }
        assert!(!e.contains_key("email_trx_receipt"));
        let ok = validate(
            &map(json!({"email_trx_receipt": "0", "header_message_type": 4})),
            false,
        )
        .unwrap();
        assert_eq!(ok["email_trx_receipt"], false);
    }
}
