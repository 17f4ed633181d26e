//! PebblePad's in-memory records and the v1.1 User and Group actions.
//!
//! Records are PascalCase JSON objects; unknown fields a client sends are kept, as the vendor's
//! bodies are only partly public.

use std::sync::{Mutex, MutexGuard};

use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::synth::Synth;
use crate::wire::{empty, json_response};

type Record = Map<String, Value>;

/// Which table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
    Grade,
    AppRef,
}

/// How an action addresses its record: PebblePad's `Id` or the institution's `CustomId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    Id,
    CustomId,
}

impl By {
    pub(crate) fn key(self) -> &'static str {
        match self {
            By::Id => "Id",
            By::CustomId => "CustomId",
        }
    }
}

#[derive(Default)]
pub(crate) struct Tables {
    pub users: Vec<Record>,
    pub groups: Vec<Record>,
    pub grades: Vec<Record>,
    pub apprefs: Vec<Record>,
    counter: u64,
}

pub(crate) struct Db {
    synth: Synth,
    inner: Mutex<Tables>,
}

/// A 400/404 with PebblePad's `{"errormessage": …}` body.
pub(crate) fn fail(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "errormessage": message }))
}

pub(crate) fn ok(value: Value) -> Response {
    json_response(StatusCode::OK, &value)
}

/// The body as a JSON object, or PebblePad's 400.
pub(crate) fn object(body: &[u8]) -> Result<Record, Box<Response>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Box::new(fail(
            StatusCode::BAD_REQUEST,
            "The request body must be a JSON object",
        ))),
    }
}

pub(crate) fn str_field<'a>(r: &'a Record, key: &str) -> Option<&'a str> {
    r.get(key).and_then(Value::as_str)
}

pub(crate) fn find(table: &[Record], key: &str, value: &str) -> Option<usize> {
    table.iter().position(|r| str_field(r, key) == Some(value))
}

/// A user as the API shows it: everything but the write-only `Password`.
fn public_user(u: &Record) -> Value {
    let mut u = u.clone();
    u.remove("Password");
    Value::Object(u)
}

impl Db {
    pub(crate) fn seeded(seed: u64, users: u64) -> Self {
        let db = Self {
            synth: Synth::new(seed),
            inner: Mutex::new(Tables::default()),
        };
        {
            let mut t = db.lock();
            for i in 0..users {
                let p = db.synth.person(i);
                let id = db.guid(&mut t);
                t.users.push(user_record(&id, &p));
            }
        }
        db
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Tables> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh GUID (8-4-4-4-12 hex) from the seed.
    pub(crate) fn guid(&self, t: &mut Tables) -> String {
        t.counter += 1;
        self.synth.guid(21, t.counter)
    }

    pub(crate) fn snapshot(&self, kind: Kind) -> Vec<Value> {
        let t = self.lock();
        let table = match kind {
            Kind::User => &t.users,
            Kind::Group => &t.groups,
            Kind::Grade => &t.grades,
            Kind::AppRef => &t.apprefs,
        };
        table
            .iter()
            .map(|r| {
                if kind == Kind::User {
                    public_user(r)
                } else {
                    Value::Object(r.clone())
                }
            })
            .collect()
    }

    pub(crate) fn active_username(&self, name: &str) -> bool {
        let t = self.lock();
        find(&t.users, "Username", name)
            .is_some_and(|i| str_field(&t.users[i], "Status") == Some("Active"))
    }
}

/// A synthetic `BasicUserInfo`.
pub(crate) fn user_record(id: &str, p: &crate::synth::Person) -> Record {
    let v = json!({
        "Id": id,
        "CustomId": format!("STU{:05}", p.index),
        "Username": format!("{}.{}{}", p.first_name, p.last_name, p.index).to_ascii_lowercase(),
        "Forename": p.first_name,
        "Surname": p.last_name,
        "Email": p.email,
        "Expiry": "2030-09-28T08:00:00Z",
        "Notes": "",
        "Status": "Active",
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `POST 1.1/User/Create/`.
pub(crate) fn user_create(db: &Db, body: &[u8]) -> Response {
    let mut rec = match object(body) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    let mut t = db.lock();
    let Some(username) = str_field(&rec, "Username")
        .filter(|u| !u.is_empty())
        .map(str::to_string)
    else {
        return fail(StatusCode::BAD_REQUEST, "Username is required");
    };
    if t.users
        .iter()
        .any(|u| str_field(u, "Username").is_some_and(|x| x.eq_ignore_ascii_case(&username)))
    {
        return fail(StatusCode::BAD_REQUEST, "Username already exists");
    }
    if let Some(c) = str_field(&rec, "CustomId").filter(|c| !c.is_empty()) {
        if find(&t.users, "CustomId", c).is_some() {
            return fail(StatusCode::BAD_REQUEST, "CustomId already exists");
        }
    }
    let id = db.guid(&mut t);
    rec.insert("Id".into(), json!(id));
    rec.entry("Status").or_insert(json!("Active"));
    let out = public_user(&rec);
    t.users.push(rec);
    ok(out)
}

fn with_user(db: &Db, by: By, id: &str, f: impl FnOnce(&mut Record)) -> Response {
    let mut t = db.lock();
    match find(&t.users, by.key(), id) {
        Some(i) => {
            f(&mut t.users[i]);
            ok(public_user(&t.users[i]))
        }
        None => fail(StatusCode::NOT_FOUND, "User not found"),
    }
}

/// `DELETE 1.1/User/Delete/{id}`: only marks the user.
pub(crate) fn user_delete(db: &Db, by: By, id: &str) -> Response {
    let resp = with_user(db, by, id, |u| {
        u.insert("Status".into(), json!("MarkedForDeletion"));
    });
    if resp.status().is_success() {
        empty(StatusCode::OK)
    } else {
        resp
    }
}

/// `PUT 1.1/User/Add{Contact,Other}Details/{id}`: merges the body into that section.
pub(crate) fn user_add_details(db: &Db, by: By, id: &str, section: &str, body: &[u8]) -> Response {
    let add = match object(body) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    with_user(db, by, id, |u| {
        let entry = u.entry(section).or_insert_with(|| json!({}));
        if let Value::Object(m) = entry {
            m.extend(add);
        } else {
            *entry = Value::Object(add);
        }
    })
}

/// `PUT 1.1/User/Delete{Contact,Other}Details/{id}`: removes the named keys (body: array of
/// names), or the whole section when the body is empty.
pub(crate) fn user_delete_details(
    db: &Db,
    by: By,
    id: &str,
    section: &str,
    body: &[u8],
) -> Response {
    let keys: Option<Vec<String>> = serde_json::from_slice(body).ok();
    with_user(db, by, id, |u| match keys {
        Some(keys) => {
            if let Some(Value::Object(m)) = u.get_mut(section) {
                keys.iter().for_each(|k| {
                    m.remove(k);
                });
            }
        }
        None => {
            u.remove(section);
        }
    })
}

/// `POST 1.1/Group/Create/`.
pub(crate) fn group_create(db: &Db, body: &[u8]) -> Response {
    let mut rec = match object(body) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    if str_field(&rec, "Name").is_none_or(str::is_empty) {
        return fail(StatusCode::BAD_REQUEST, "Name is required");
    }
    let mut t = db.lock();
    if let Some(c) = str_field(&rec, "CustomId").filter(|c| !c.is_empty()) {
        if find(&t.groups, "CustomId", c).is_some() {
            return fail(StatusCode::BAD_REQUEST, "CustomId already exists");
        }
    }
    let id = db.guid(&mut t);
    rec.insert("Id".into(), json!(id));
    rec.insert("Members".into(), json!([]));
    t.groups.push(rec.clone());
    ok(Value::Object(rec))
}

/// Group actions addressed by `Id` or `CustomId`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GroupAction {
    Update,
    Delete,
    GetMembers,
    AddMembers,
    RemoveMembers,
}

/// Resolves member references (user `Id`, `CustomId` or `Username`, bare or in objects).
fn member_ids(t: &Tables, body: &[u8]) -> Result<Vec<String>, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| "The request body must be a JSON array".to_string())?;
    let items = match v {
        Value::Array(a) => a,
        Value::Object(mut m) => match m.remove("Members") {
            Some(Value::Array(a)) => a,
            _ => return Err("Members must be an array".into()),
        },
        _ => return Err("The request body must be a JSON array".into()),
    };
    items
        .iter()
        .map(|item| {
            let refs: Vec<&str> = match item {
                Value::String(s) => vec![s.as_str()],
                Value::Object(o) => ["Id", "CustomId", "Username"]
                    .iter()
                    .filter_map(|k| str_field(o, k))
                    .collect(),
                _ => vec![],
            };
            refs.iter()
                .find_map(|r| {
                    ["Id", "CustomId", "Username"]
                        .iter()
                        .find_map(|k| find(&t.users, k, r))
                })
                .and_then(|i| str_field(&t.users[i], "Id").map(str::to_string))
                .ok_or_else(|| format!("User not found: {}", refs.first().copied().unwrap_or("?")))
        })
        .collect()
}

pub(crate) fn group_action(
    db: &Db,
    action: GroupAction,
    by: By,
    id: &str,
    body: &[u8],
) -> Response {
    let mut t = db.lock();
    let Some(gi) = find(&t.groups, by.key(), id) else {
        return fail(StatusCode::NOT_FOUND, "Group not found");
    };
    match action {
        GroupAction::Update => {
            let upd = match object(body) {
                Ok(r) => r,
                Err(e) => return *e,
            };
            for (k, v) in upd {
                if k != "Id" && k != "Members" {
                    t.groups[gi].insert(k, v);
                }
            }
            ok(Value::Object(t.groups[gi].clone()))
        }
        GroupAction::Delete => {
            t.groups.remove(gi);
            empty(StatusCode::OK)
        }
        GroupAction::GetMembers => {
            let ids: Vec<String> = members(&t.groups[gi]);
            let list: Vec<Value> = ids
                .iter()
                .filter_map(|m| find(&t.users, "Id", m))
                .map(|i| public_user(&t.users[i]))
                .collect();
            ok(Value::Array(list))
        }
        GroupAction::AddMembers | GroupAction::RemoveMembers => {
            let given = match member_ids(&t, body) {
                Ok(ids) => ids,
                Err(m) => return fail(StatusCode::BAD_REQUEST, &m),
            };
            let mut current = members(&t.groups[gi]);
            if matches!(action, GroupAction::AddMembers) {
                given.into_iter().for_each(|m| {
                    if !current.contains(&m) {
                        current.push(m)
                    }
                });
            } else {
                current.retain(|m| !given.contains(m));
            }
            t.groups[gi].insert("Members".into(), json!(current));
            empty(StatusCode::OK)
        }
    }
}

fn members(group: &Record) -> Vec<String> {
    group
        .get("Members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
