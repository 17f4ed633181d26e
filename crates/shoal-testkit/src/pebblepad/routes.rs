//! PebblePad's routes: the OAuth2 endpoints, the unauthenticated `Info/GetRateLimits`, and the
//! v1.1 actions behind the bearer check.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, post, put};

use super::PpState;
use super::auth;
use super::grades::{GradeQuery, appref_read, appref_write, grade_change, grade_get, grade_import};
use super::resources::{
    By, Db, GroupAction, group_action, group_create, user_add_details, user_create, user_delete,
    user_delete_details,
};
use crate::wire::json_response;

type St = Arc<PpState>;

/// An action taking the path id and the body: `id!(|db, id, body| …)`.
macro_rules! id {
    (|$db:ident, $id:ident, $body:ident| $e:expr) => {
        |State(st): State<St>, Path($id): Path<String>, $body: Bytes| async move {
            let $db = &st.db;
            let $id = $id.as_str();
            let $body = &$body[..];
            $e
        }
    };
}

/// An action taking only the body: `body!(|db, body| …)`.
macro_rules! body {
    (|$db:ident, $body:ident| $e:expr) => {
        move |State(st): State<St>, $body: Bytes| async move {
            let $db = &st.db;
            let $body = &$body[..];
            $e
        }
    };
}

/// Adds `path` and `path/` (the vendor documents create actions with a trailing slash).
fn both(r: Router<St>, path: &str, m: MethodRouter<St>) -> Router<St> {
    r.route(path, m.clone()).route(&format!("{path}/"), m)
}

/// Adds a [`both`] POST `{base}/{action}` per `(action, flag)`, answered by `f(db, flag, body)`.
fn posts(
    mut r: Router<St>,
    base: &str,
    actions: [(&str, bool); 2],
    f: fn(&Db, bool, &[u8]) -> Response,
) -> Router<St> {
    for (action, flag) in actions {
        r = both(
            r,
            &format!("{base}/{action}"),
            post(body!(|db, b| f(db, flag, b))),
        );
    }
    r
}

fn twins(
    r: Router<St>,
    base: &str,
    action: &str,
    id: MethodRouter<St>,
    custom: MethodRouter<St>,
) -> Router<St> {
    r.route(&format!("{base}/{action}/{{id}}"), id)
        .route(&format!("{base}/{action}OnCustomId/{{id}}"), custom)
}

fn users(r: Router<St>) -> Router<St> {
    const U: &str = "/api/1.1/User";
    let r = both(
        r,
        &format!("{U}/Create"),
        post(body!(|db, b| user_create(db, b))),
    );
    let r = twins(
        r,
        U,
        "Delete",
        delete(id!(|db, id, _b| user_delete(db, By::Id, id))),
        delete(id!(|db, id, _b| user_delete(db, By::CustomId, id))),
    );
    let mut r = r;
    for (action, section, add) in [
        ("AddContactDetails", "ContactDetails", true),
        ("AddOtherDetails", "OtherDetails", true),
        ("DeleteContactDetails", "ContactDetails", false),
        ("DeleteOtherDetails", "OtherDetails", false),
    ] {
        let handler = move |by: By| {
            put(
                move |State(st): State<St>, Path(id): Path<String>, b: Bytes| async move {
                    if add {
                        user_add_details(&st.db, by, &id, section, &b)
                    } else {
                        user_delete_details(&st.db, by, &id, section, &b)
                    }
                },
            )
        };
        r = twins(r, U, action, handler(By::Id), handler(By::CustomId));
    }
    r
}

fn groups(mut r: Router<St>) -> Router<St> {
    const G: &str = "/api/1.1/Group";
    r = both(
        r,
        &format!("{G}/Create"),
        post(body!(|db, b| group_create(db, b))),
    );
    for (action, a) in [
        ("Update", GroupAction::Update),
        ("Delete", GroupAction::Delete),
        ("GetMembers", GroupAction::GetMembers),
        ("AddMembers", GroupAction::AddMembers),
        ("RemoveMembers", GroupAction::RemoveMembers),
    ] {
        let route = move |by: By| {
            let h = move |State(st): State<St>, Path(id): Path<String>, b: Bytes| async move {
                group_action(&st.db, a, by, &id, &b)
            };
            match a {
                GroupAction::Delete => delete(h),
                GroupAction::GetMembers => get(h),
                _ => put(h),
            }
        };
        r = twins(r, G, action, route(By::Id), route(By::CustomId));
    }
    r
}

fn grades(r: Router<St>) -> Router<St> {
    const G: &str = "/api/1.1/Grade";
    let r = twins(
        r,
        G,
        "Get",
        get(id!(|db, id, _b| grade_get(db, GradeQuery::Id, id))),
        get(id!(|db, id, _b| grade_get(db, GradeQuery::CustomId, id))),
    );
    let r = r
        .route(
            &format!("{G}/GetOnUserId/{{id}}"),
            get(id!(|db, id, _b| grade_get(db, GradeQuery::UserId, id))),
        )
        .route(
            &format!("{G}/GetOnCustomUserId/{{id}}"),
            get(id!(|db, id, _b| grade_get(
                db,
                GradeQuery::CustomUserId,
                id
            ))),
        );
    let r = posts(
        r,
        G,
        [("Import", false), ("ImportOnCustomUserId", true)],
        grade_import,
    );
    let r = twins(
        r,
        G,
        "Recall",
        put(id!(|db, id, b| grade_change(db, By::Id, id, true, b))),
        put(id!(|db, id, b| grade_change(db, By::CustomId, id, true, b))),
    );
    twins(
        r,
        G,
        "Update",
        put(id!(|db, id, b| grade_change(db, By::Id, id, false, b))),
        put(id!(|db, id, b| grade_change(
            db,
            By::CustomId,
            id,
            false,
            b
        ))),
    )
}

fn apprefs(r: Router<St>) -> Router<St> {
    const D: &str = "/api/1.1/di/ApplicationReference";
    let r = posts(r, D, [("Create", false), ("Update", true)], appref_write);
    r.route(
        &format!("{D}/Get/{{id}}"),
        get(id!(|db, id, _b| appref_read(db, "id", id, false))),
    )
    .route(
        &format!("{D}/GetOnApplicationId/{{id}}"),
        get(id!(|db, id, _b| appref_read(
            db,
            "applicationid",
            id,
            false
        ))),
    )
    .route(
        &format!("{D}/Delete/{{id}}"),
        delete(id!(|db, id, _b| appref_read(db, "id", id, true))),
    )
}

/// The whole installation.
pub(crate) fn router(st: St) -> Router {
    let api = apprefs(grades(groups(users(Router::new())))).route_layer(
        axum::middleware::from_fn_with_state(st.clone(), auth::require_bearer),
    );
    Router::new()
        .route("/login/OAuth2/AuthorisationEndpoint", get(auth::authorise))
        .route("/login/OAuth2/TokenEndpoint", post(auth::token))
        .route(
            "/api/1.1/Info/GetRateLimits",
            get(|State(st): State<St>| async move {
                json_response(http::StatusCode::OK, &st.limits.get().to_json())
            }),
        )
        .merge(api)
        .with_state(st)
}
