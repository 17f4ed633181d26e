//! Property: any record JSON built from the documented fields plus arbitrary unknown fields
//! decodes and re-encodes to an equal JSON value.

use proptest::prelude::*;
use serde_json::{Map, Value};
use shoal_pearldiver::{Audience, Record};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn json_any() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn text() -> BoxedStrategy<Value> {
    ".{0,16}".prop_map(Value::from).boxed()
}

fn int() -> BoxedStrategy<Value> {
    any::<i64>().prop_map(Value::from).boxed()
}

/// A date-time as the vendor might send it: valid in various forms, or any text or number.
fn date_time() -> BoxedStrategy<Value> {
    prop_oneof![
        (
            2000i32..2100,
            1u8..13,
            1u8..29,
            0u8..24,
            0u8..60,
            0u8..60,
            prop::option::of(0u32..1_000_000),
            0usize..4
        )
            .prop_map(|(y, mo, d, h, mi, s, frac, zone)| {
                let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
                let zone = ["Z", "+02:00", "-0530", ""][zone];
                Value::from(format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}"
                ))
            }),
        ".{0,20}".prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
    ]
    .boxed()
}

/// An object with any subset of the documented fields plus up to three unknown ones.
fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let names: Vec<&'static str> = fields.iter().map(|(n, _)| *n).collect();
    let documented: Vec<_> = fields
        .into_iter()
        .map(|(name, s)| prop::option::of(s).prop_map(move |v| v.map(|v| (name.to_string(), v))))
        .collect();
    let extra = prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,10}", json_any(), 0..4)
        .prop_map(move |m| {
            m.into_iter()
                .filter(|(k, _)| !names.contains(&k.as_str()))
                .collect::<Vec<_>>()
        });
    (documented, extra)
        .prop_map(|(documented, extra)| {
            let map: Map<String, Value> = documented.into_iter().flatten().chain(extra).collect();
            Value::Object(map)
        })
        .boxed()
}

fn array(s: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop::collection::vec(s, 0..3).prop_map(Value::from).boxed()
}

/// Documented text fields, by name.
fn texts(names: &[&'static str]) -> Vec<(&'static str, BoxedStrategy<Value>)> {
    names.iter().map(|&name| (name, text())).collect()
}

fn phone() -> BoxedStrategy<Value> {
    let mut fields = texts(&["phoneType", "number", "validationStatus", "extension"]);
    fields.extend([("lastSeen", date_time()), ("order", int())]);
    object(fields)
}

fn address() -> BoxedStrategy<Value> {
    object(texts(&[
        "addressType",
        "address1",
        "address2",
        "city",
        "state",
        "zip",
        "zip4",
    ]))
}

fn company() -> BoxedStrategy<Value> {
    let mut fields = texts(&[
        "name",
        "domain",
        "industry",
        "sic1",
        "sic2",
        "sic3",
        "linkedIn",
        "revenue",
        "employeeCount",
    ]);
    fields.push(("companyCount", int()));
    object(fields)
}

fn session() -> BoxedStrategy<Value> {
    let utm = object(texts(&["medium", "campaign", "term", "content", "source"]));
    let mut visit = vec![("time", date_time())];
    visit.extend(texts(&["pageUrl", "path", "host", "queryString"]));
    let mut fields = texts(&["site", "device", "referer"]);
    fields.extend([("utm", utm), ("visits", array(object(visit)))]);
    object(fields)
}

fn record() -> BoxedStrategy<Value> {
    let mut fields = texts(&["id", "firstName", "lastName", "email"]);
    fields.extend([
        ("phones", array(phone())),
        ("addresses", array(address())),
        ("company", company()),
        ("sessions", array(session())),
    ]);
    object(fields)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_record_round_trips_without_loss(json in record()) {
        let text = serde_json::to_string(&json).unwrap();
        let expected: Value = serde_json::from_str(&text).unwrap();
        let record: Record = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(serde_json::to_value(&record).unwrap(), expected);
    }

    #[test]
    fn a_page_of_records_round_trips(records in prop::collection::vec(record(), 0..4), token in prop::option::of("[A-Za-z0-9=]{1,20}")) {
        let mut page = serde_json::json!({"key": 17, "name": "Boston", "records": records});
        if let Some(token) = token {
            page["pageToken"] = token.into();
        }
        let text = serde_json::to_string(&page).unwrap();
        let expected: Value = serde_json::from_str(&text).unwrap();
        let decoded: Audience = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(serde_json::to_value(&decoded).unwrap(), expected);
    }
}
