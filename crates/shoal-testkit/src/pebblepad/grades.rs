//! PebblePad's v1.1 Grade actions and Data Island application references.

use http::StatusCode;
use serde_json::{Value, json};

use super::resources::{By, Db, fail, find, object, ok, str_field};
use crate::wire::empty;
use axum::response::Response;

/// Which grades a `Get…` action selects.
#[derive(Debug, Clone, Copy)]
pub(crate) enum GradeQuery {
    Id,
    CustomId,
    UserId,
    CustomUserId,
}

/// `GET 1.1/Grade/Get…/{id}`: always an array.
pub(crate) fn grade_get(db: &Db, q: GradeQuery, id: &str) -> Response {
    let t = db.lock();
    let key = match q {
        GradeQuery::Id => "Id",
        GradeQuery::CustomId => "CustomId",
        GradeQuery::UserId => "UserId",
        GradeQuery::CustomUserId => "CustomUserId",
    };
    let list: Vec<Value> = t
        .grades
        .iter()
        .filter(|g| str_field(g, key) == Some(id))
        .map(|g| Value::Object(g.clone()))
        .collect();
    ok(Value::Array(list))
}

/// `POST 1.1/Grade/Import/` (by `UserId`) or `ImportOnCustomUserId/` (by `CustomUserId`).
pub(crate) fn grade_import(db: &Db, by_custom_user: bool, body: &[u8]) -> Response {
    let items = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(a)) => a,
        Ok(Value::Object(o)) => vec![Value::Object(o)],
        _ => {
            return fail(
                StatusCode::BAD_REQUEST,
                "The request body must be a JSON array of grades",
            );
        }
    };
    let mut t = db.lock();
    let mut created = Vec::new();
    for item in items {
        let Value::Object(mut g) = item else {
            return fail(StatusCode::BAD_REQUEST, "Each grade must be an object");
        };
        let user_key = if by_custom_user {
            "CustomUserId"
        } else {
            "UserId"
        };
        let user = str_field(&g, user_key)
            .and_then(|u| find(&t.users, if by_custom_user { "CustomId" } else { "Id" }, u));
        let Some(ui) = user else {
            return fail(StatusCode::BAD_REQUEST, "User not found");
        };
        if !g.contains_key("Grade") {
            return fail(StatusCode::BAD_REQUEST, "Grade is required");
        }
        let user_id = str_field(&t.users[ui], "Id")
            .unwrap_or_default()
            .to_string();
        let custom_user = t.users[ui].get("CustomId").cloned().unwrap_or(Value::Null);
        let id = db.guid(&mut t);
        g.insert("Id".into(), json!(id));
        g.insert("UserId".into(), json!(user_id));
        g.insert("CustomUserId".into(), custom_user);
        g.entry("Status").or_insert(json!("Released"));
        created.push(Value::Object(g.clone()));
        t.grades.push(g);
    }
    ok(Value::Array(created))
}

/// `PUT 1.1/Grade/Recall/{id}` and `PUT 1.1/Grade/Update/{id}` (changes only `Grade`).
pub(crate) fn grade_change(db: &Db, by: By, id: &str, recall: bool, body: &[u8]) -> Response {
    let new_grade = if recall {
        None
    } else {
        match object(body) {
            Ok(o) => match o.get("Grade") {
                Some(g) => Some(g.clone()),
                None => return fail(StatusCode::BAD_REQUEST, "Grade is required"),
            },
            Err(e) => return *e,
        }
    };
    let mut t = db.lock();
    let Some(i) = find(&t.grades, by.key(), id) else {
        return fail(StatusCode::NOT_FOUND, "Grade not found");
    };
    match new_grade {
        Some(g) => t.grades[i].insert("Grade".into(), g),
        None => t.grades[i].insert("Status".into(), json!("Recalled")),
    };
    ok(Value::Object(t.grades[i].clone()))
}

const APPREF_FIELDS: &[&str] = &[
    "id",
    "applicationid",
    "name",
    "organisation",
    "post",
    "statement",
];

/// `POST 1.1/di/ApplicationReference/Create` and `…/Update`: 200 with no body.
pub(crate) fn appref_write(db: &Db, update: bool, body: &[u8]) -> Response {
    let rec = match object(body) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    let Some(id) = rec.get("id").and_then(|v| {
        v.as_str()
            .map(str::to_string)
            .or_else(|| v.as_i64().map(|n| n.to_string()))
    }) else {
        return fail(StatusCode::BAD_REQUEST, "id is required");
    };
    let mut t = db.lock();
    let existing = t
        .apprefs
        .iter()
        .position(|r| r.get("id").is_some_and(|v| id_eq(v, &id)));
    match (update, existing) {
        (false, Some(_)) => fail(
            StatusCode::BAD_REQUEST,
            "An application reference with this id already exists",
        ),
        (true, None) => fail(StatusCode::NOT_FOUND, "Application reference not found"),
        (false, None) => {
            if !rec.contains_key("applicationid") {
                return fail(StatusCode::BAD_REQUEST, "applicationid is required");
            }
            t.apprefs.push(rec);
            empty(StatusCode::OK)
        }
        (true, Some(i)) => {
            t.apprefs[i].extend(rec);
            empty(StatusCode::OK)
        }
    }
}

fn id_eq(v: &Value, id: &str) -> bool {
    match v {
        Value::String(s) => s == id,
        Value::Number(n) => n.to_string() == id,
        _ => false,
    }
}

/// `GET …/Get/{id}`, `GET …/GetOnApplicationId/{id}` and `DELETE …/Delete/{id}`.
pub(crate) fn appref_read(db: &Db, key: &str, id: &str, delete: bool) -> Response {
    let mut t = db.lock();
    if key == "applicationid" {
        let list: Vec<Value> = t
            .apprefs
            .iter()
            .filter(|r| r.get("applicationid").is_some_and(|v| id_eq(v, id)))
            .map(|r| Value::Object(r.clone()))
            .collect();
        return ok(Value::Array(list));
    }
    let Some(i) = t
        .apprefs
        .iter()
        .position(|r| r.get("id").is_some_and(|v| id_eq(v, id)))
    else {
        return fail(StatusCode::NOT_FOUND, "Application reference not found");
    };
    if delete {
        t.apprefs.remove(i);
        return empty(StatusCode::OK);
    }
    let mut r = t.apprefs[i].clone();
    for f in APPREF_FIELDS {
        r.entry(*f).or_insert(Value::Null);
    }
    ok(Value::Object(r))
}
