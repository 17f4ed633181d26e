//! Paya contacts: wrapped create/update bodies, partial `PUT`, `update_if_exists` and tombstones
//! (409 Gone).

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value, json};

use super::validate::{FieldErrors, label, validate, writable_fields};
use super::{Contact, PayaState};
use crate::synth::Synth;
use crate::wire::{empty, form_map, json_response};

type Fields = Map<String, Value>;

/// Query parameters that are not column filters (and credentials never echoed into links).
pub(crate) const RESERVED: &[&str] = &[
    "page",
    "page_size",
    "sort",
    "expand",
    "developer-id",
    "user-id",
    "user-api-key",
    "access-token",
    "update_if_exists",
];
pub(crate) const SECRET: &[&str] = &["user-id", "user-api-key", "access-token"];
pub(crate) const READ_ONLY: &[&str] = &["id", "created_ts", "modified_ts", "created_user_id"];

/// `http://{Host}` of the request, for `_links`.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// A contact as the API returns it: every field (null when unset), read-only fields, `_links`,
/// and any `expand`ed relations.
pub fn contact_json(base: &str, fields: &Fields, expand: &[&str]) -> Value {
    let mut out = Map::new();
    let id = fields.get("id").cloned().unwrap_or(Value::Null);
    out.insert("id".into(), id.clone());
    for f in writable_fields() {
        out.insert(f.into(), fields.get(f).cloned().unwrap_or(Value::Null));
    }
    for f in &READ_ONLY[1..] {
        out.insert((*f).into(), fields.get(*f).cloned().unwrap_or(Value::Null));
    }
    let user = json!({"id": fields.get("created_user_id"), "username": "ava.example", "first_name": "Ava", "last_name": "Example"});
    for e in expand {
        match *e {
            "created_user" | "user" => out.insert((*e).into(), user.clone()),
            "notes" => out.insert("notes".into(), json!([])),
            "location" => out.insert(
                "location".into(),
                json!({"id": fields.get("location_id"), "name": "Example Labs HQ"}),
            ),
            _ => None,
        };
    }
    let href = format!("{base}/v2/contacts/{}", id.as_str().unwrap_or_default());
    out.insert("_links".into(), json!({"self": {"href": href}}));
    Value::Object(out)
}

pub(crate) fn lock(st: &PayaState) -> MutexGuard<'_, (Vec<Contact>, u64)> {
    st.contacts.lock().unwrap_or_else(|e| e.into_inner())
}

fn new_id(st: &PayaState, counter: &mut u64) -> String {
    *counter += 1;
    st.synth.hex(71, *counter, 24)
}

/// Synthetic contact `i` of `n` (created `n - i` hours before `now`), as stored.
pub(crate) fn synthetic_contact(
    synth: &Synth,
    i: u64,
    n: u64,
    now: i64,
    id: &str,
    location_id: &str,
    user_id: &str,
) -> Fields {
    let p = synth.person(i);
    let ts = now - ((n - i) as i64) * 3600;
    let v = json!({
        "id": id, "location_id": location_id, "first_name": p.first_name, "last_name": p.last_name,
        "email": p.email, "cell_phone": p.phone, "address": p.street, "city": p.city, "state": p.state,
        "zip": p.zip, "contact_api_id": format!("crm-{i:04}"), "email_trx_receipt": i % 2 == 0,
        "created_ts": ts, "modified_ts": ts, "created_user_id": user_id,
    });
    match v {
        Value::Object(fields) => fields,
        _ => Map::new(),
    }
}

/// Creates the configured number of synthetic contacts.
pub(crate) fn seed(st: &PayaState) {
    let now = st.common.unix_now();
    let mut g = lock(st);
    let n = st.cfg.seed_contacts;
    for i in 0..n {
        let id = new_id(st, &mut g.1);
        let fields = synthetic_contact(
            &st.synth,
            i,
            n,
            now,
            &id,
            &st.locations[0].id,
            &st.cfg.user_id,
        );
        g.0.push(Contact {
            fields,
            deleted: false,
        });
    }
}

pub(crate) fn unprocessable(errors: FieldErrors) -> Response {
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({ "errors": errors }),
    )
}

pub(crate) fn one(errors: &mut FieldErrors, field: &str, msg: String) {
    errors.entry(field.into()).or_default().push(msg);
}

pub(crate) fn expand_list(query: &HashMap<String, String>) -> Vec<&str> {
    query
        .get("expand")
        .map(|e| e.split(',').filter(|x| !x.is_empty()).collect())
        .unwrap_or_default()
}

#[allow(clippy::result_large_err)] // the error is the response itself
fn wrapped(st: &PayaState, body: &[u8]) -> Result<Fields, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut m)) => Ok(match m.remove("contact") {
            Some(Value::Object(c)) => c,
            _ => Map::new(),
        }),
        _ => Err(st.common.error(400)),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
        || v.is_some_and(|v| v.as_u64() == Some(1) || v.as_str() == Some("1"))
}

fn single(status: StatusCode, base: &str, fields: &Fields, expand: &[&str]) -> Response {
    json_response(
        status,
        &json!({ "contact": contact_json(base, fields, expand) }),
    )
}

/// `POST /v2/contacts`: 201; 422 when `contact_api_id` exists unless `update_if_exists=1`.
pub(crate) async fn create(
    State(st): State<Arc<PayaState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let query = form_map(q.as_deref().unwrap_or_default());
    let mut contact = match wrapped(&st, &body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let upsert = truthy(contact.remove("update_if_exists").as_ref())
        || query.get("update_if_exists").is_some_and(|v| v == "1");
    let api_id = contact
        .get("contact_api_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let base = base_url(&headers);
    let now = st.common.unix_now();
    let mut g = lock(&st);
    if upsert && api_id.is_none() {
        return unprocessable(FieldErrors::from([(
            "contact_api_id".into(),
            vec![format!("{} cannot be blank.", label("contact_api_id"))],
        )]));
    }
    let existing = api_id.as_deref().and_then(|a| {
        g.0.iter().position(|c| {
            !c.deleted && c.fields.get("contact_api_id").and_then(Value::as_str) == Some(a)
        })
    });
    if let Some(i) = existing {
        if !upsert {
            return unprocessable(FieldErrors::from([(
                "contact_api_id".into(),
                vec!["Contact Api Id has already been taken.".into()],
            )]));
        }
        contact.remove("location_id");
        return match validate(&contact, false) {
            Ok(fields) => {
                let rec = &mut g.0[i].fields;
                rec.extend(fields);
                rec.insert("modified_ts".into(), json!(now));
                single(StatusCode::OK, &base, rec, &expand_list(&query))
            }
            Err(e) => unprocessable(e),
        };
    }
    let mut fields = match validate(&contact, true) {
        Ok(f) => f,
        Err(e) => return unprocessable(e),
    };
    let loc = fields
        .get("location_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !st.locations.iter().any(|l| l.id == loc) {
        let mut e = FieldErrors::new();
        one(&mut e, "location_id", "Location Id is invalid.".into());
        return unprocessable(e);
    }
    let id = new_id(&st, &mut g.1);
    fields.insert("id".into(), json!(id));
    fields.insert("created_ts".into(), json!(now));
    fields.insert("modified_ts".into(), json!(now));
    fields.insert("created_user_id".into(), json!(st.cfg.user_id));
    let resp = single(StatusCode::CREATED, &base, &fields, &expand_list(&query));
    g.0.push(Contact {
        fields,
        deleted: false,
    });
    resp
}

/// Index of a contact by id: `Ok(i)`, or the 404 / 409 (deleted) to answer.
fn locate(st: &PayaState, contacts: &[Contact], id: &str) -> Result<usize, StatusCode> {
    let _ = st;
    match contacts
        .iter()
        .position(|c| c.fields.get("id").and_then(Value::as_str) == Some(id))
    {
        Some(i) if contacts[i].deleted => Err(StatusCode::CONFLICT),
        Some(i) => Ok(i),
        None => Err(StatusCode::NOT_FOUND),
    }
}

/// `GET /v2/contacts/{id}`.
pub(crate) async fn read(
    State(st): State<Arc<PayaState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = form_map(q.as_deref().unwrap_or_default());
    let g = lock(&st);
    match locate(&st, &g.0, &id) {
        Ok(i) => single(
            StatusCode::OK,
            &base_url(&headers),
            &g.0[i].fields,
            &expand_list(&query),
        ),
        Err(s) => st.common.error(s.as_u16()),
    }
}

/// `PUT /v2/contacts/{id}`: partial update.
pub(crate) async fn update(
    State(st): State<Arc<PayaState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let contact = match wrapped(&st, &body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut g = lock(&st);
    let i = match locate(&st, &g.0, &id) {
        Ok(i) => i,
        Err(s) => return st.common.error(s.as_u16()),
    };
    let fields = match validate(&contact, false) {
        Ok(f) => f,
        Err(e) => return unprocessable(e),
    };
    if let Some(a) = fields.get("contact_api_id").and_then(Value::as_str) {
        let taken = g.0.iter().enumerate().any(|(j, c)| {
            j != i
                && !c.deleted
                && c.fields.get("contact_api_id").and_then(Value::as_str) == Some(a)
        });
        if taken {
            return unprocessable(FieldErrors::from([(
                "contact_api_id".into(),
                vec!["Contact Api Id has already been taken.".into()],
            )]));
        }
    }
    let now = st.common.unix_now();
    let rec = &mut g.0[i].fields;
    rec.extend(fields);
    rec.insert("modified_ts".into(), json!(now));
    single(StatusCode::OK, &base_url(&headers), rec, &[])
}

/// `DELETE /v2/contacts/{id}`: 204, or 404 when unknown or already deleted.
pub(crate) async fn remove(State(st): State<Arc<PayaState>>, Path(id): Path<String>) -> Response {
    let mut g = lock(&st);
    match locate(&st, &g.0, &id) {
        Ok(i) => {
            g.0[i].deleted = true;
            empty(StatusCode::NO_CONTENT)
        }
        Err(_) => st.common.error(404),
    }
}
